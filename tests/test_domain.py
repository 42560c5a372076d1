"""The domain model rejects nonsense early and means the same thing however it is written."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from domain.models import Edge, Finding, Hypothesis, Resource, TimeWindow, Topology, Trigger

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


class TestTimeWindow:
    def test_end_before_start_is_rejected_with_a_message(self) -> None:
        with pytest.raises(ValidationError) as caught:
            TimeWindow(start=T0, end=T0 - timedelta(minutes=5))
        assert "empty" in str(caught.value)

    def test_zero_length_window_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match="empty"):
            TimeWindow(start=T0, end=T0)

    def test_naive_datetimes_are_read_as_utc(self) -> None:
        window = TimeWindow(start=datetime(2024, 5, 1, 12, 0), end=datetime(2024, 5, 1, 13, 0))
        assert window.start == T0
        assert window.start.tzinfo is not None and window.start.utcoffset() == timedelta(0)
        assert window.duration == timedelta(hours=1)

    def test_other_offsets_are_converted_to_utc(self) -> None:
        paris = timezone(timedelta(hours=2))
        window = TimeWindow(start=datetime(2024, 5, 1, 14, 0, tzinfo=paris), end=datetime(2024, 5, 1, 15, 0, tzinfo=paris))
        assert window.start == T0
        assert window.start.utcoffset() == timedelta(0)

    def test_iso_strings_with_z_are_accepted(self) -> None:
        window = TimeWindow.model_validate({"start": "2024-05-01T12:00:00Z", "end": "2024-05-01T12:30:00Z"})
        assert window.start == T0
        assert window.contains(datetime(2024, 5, 1, 12, 15))  # naive moment, read as UTC
        assert not window.contains(T0 + timedelta(hours=1))


class TestTopology:
    @pytest.fixture
    def topology(self) -> Topology:
        # alb -> api -> db -> cache -> api (a cycle through api), and api -> queue; batch is unrelated.
        ids = ["alb", "api", "db", "cache", "queue", "batch"]
        edges = [("alb", "api"), ("api", "db"), ("db", "cache"), ("cache", "api"), ("api", "queue")]
        return Topology(
            resources=[Resource(id=i) for i in ids],
            edges=[Edge(caller=a, callee=b) for a, b in edges],
        )

    def test_downstream_follows_caller_to_callee_and_survives_a_cycle(self, topology: Topology) -> None:
        assert topology.downstream("alb") == {"api", "db", "cache", "queue"}
        # api reaches itself through the cycle; a resource is not its own dependency.
        assert topology.downstream("api") == {"db", "cache", "queue"}
        assert topology.downstream("queue") == set()

    def test_upstream_follows_callee_to_caller(self, topology: Topology) -> None:
        assert topology.upstream("queue") == {"api", "alb", "cache", "db"}
        assert topology.upstream("alb") == set()
        assert topology.upstream("batch") == set()

    def test_direct_neighbours(self, topology: Topology) -> None:
        assert sorted(topology.callees("api")) == ["db", "queue"]
        assert sorted(topology.callers("api")) == ["alb", "cache"]
        assert topology.get("db") == Resource(id="db")
        assert topology.get("nope") is None


def _trigger(comparison: str | None) -> Trigger:
    return Trigger(alarm_name="a", resource="alb", metric="m", comparison=comparison, state_change_time=T0)


@pytest.mark.parametrize(
    ("comparison", "expected"),
    [
        ("GreaterThanThreshold", True),
        ("GreaterThanOrEqualToThreshold", True),
        ("LessThanThreshold", False),
        ("LessThanOrEqualToThreshold", False),
        (None, None),
    ],
)
def test_trigger_expects_increase(comparison: str | None, expected: bool | None) -> None:
    assert _trigger(comparison).expects_increase is expected


def test_trigger_rejects_an_unknown_comparison() -> None:
    with pytest.raises(ValidationError):
        _trigger("GreaterThanUpperThreshold")


def test_trigger_time_naive_is_utc() -> None:
    trigger = Trigger(alarm_name="a", resource="alb", metric="m", state_change_time=datetime(2024, 5, 1, 12, 0))
    assert trigger.state_change_time == T0


class TestFindingIds:
    def test_same_observation_same_id(self) -> None:
        assert Finding.make_id("metric", "api", "Latency p99") == Finding.make_id("metric", "api", "Latency p99")

    def test_any_part_changes_the_id(self) -> None:
        ids = {
            Finding.make_id("metric", "api", "Latency p99"),
            Finding.make_id("trace", "api", "Latency p99"),
            Finding.make_id("metric", "db", "Latency p99"),
            Finding.make_id("metric", "api", "Latency p50"),
        }
        assert len(ids) == 4

    def test_parts_cannot_be_shuffled_into_a_collision(self) -> None:
        assert Finding.make_id("metric", "ab", "c") != Finding.make_id("metric", "a", "bc")

    def test_id_names_its_kind(self) -> None:
        assert Finding.make_id("change", "api", "deploy").startswith("change-")

    def test_score_outside_0_1_is_rejected(self) -> None:
        base = dict(id="x", domain="application", kind="metric", resource="api", signal="s", summary="s")
        Finding(**base, score=0.0)
        Finding(**base, score=1.0)
        with pytest.raises(ValidationError):
            Finding(**base, score=1.5)
        with pytest.raises(ValidationError):
            Finding(**{**base, "domain": "database"}, score=0.5)


class TestHypothesis:
    BASE = dict(id="H-api", resource="api", cause="change", title="t", reasoning="r")

    @pytest.mark.parametrize("confidence", [0.0, 0.42, 1.0])
    def test_confidence_in_bounds_is_accepted(self, confidence: float) -> None:
        assert Hypothesis(**self.BASE, confidence=confidence).confidence == confidence

    @pytest.mark.parametrize("confidence", [-0.01, 1.01, 42])
    def test_confidence_out_of_bounds_is_rejected(self, confidence: float) -> None:
        with pytest.raises(ValidationError, match="confidence"):
            Hypothesis(**self.BASE, confidence=confidence)

    def test_cause_must_be_one_of_the_five_or_unknown(self) -> None:
        with pytest.raises(ValidationError, match="cause"):
            Hypothesis(**{**self.BASE, "cause": "gremlins"}, confidence=0.5)

    def test_unknown_fields_are_refused(self) -> None:
        with pytest.raises(ValidationError):
            Hypothesis(**self.BASE, confidence=0.5, confidance=0.6)
