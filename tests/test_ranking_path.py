"""The propagation path on hand-built topologies and findings: does each hop carry the right
finding and onset, and is every hop that fails a check marked?

Clock: alarm at 10:05 on the load balancer `alb`; onsets are minutes after 10:00. Scores are
hand-picked (0.5 and above is anomalous). The expected paths are worked out by hand in each test.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agent.ranking import rank
from agent.ranking.candidates import collect
from agent.ranking.path import checked_path, describe
from agent.state import Scope
from domain.findings import ChangeDetails, MetricDetails
from domain.models import Edge, Evidence, Finding, Hypothesis, PathHop, Resource, TimeWindow, Topology, Trigger

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
TRIGGER = Trigger(
    alarm_name="alb-5xx", resource="alb", namespace="AWS/ApplicationELB", metric="HTTPCode_Target_5XX_Count",
    statistic="Sum", threshold=10, comparison="GreaterThanThreshold", state_change_time=T0 + timedelta(minutes=5),
)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _topology(edges: list[tuple[str, str]]) -> Topology:
    ids = sorted({r for edge in edges for r in edge})
    return Topology(resources=[Resource(id=i) for i in ids], edges=[Edge(caller=a, callee=b) for a, b in edges])


def _scope(topology: Topology) -> Scope:
    return Scope(
        incident=TimeWindow(start=T0 - timedelta(hours=1), end=T0 + timedelta(minutes=30)),
        baseline=TimeWindow(start=T0 - timedelta(hours=4), end=T0 - timedelta(hours=1)),
        entry="alb", resources=["alb", *sorted(topology.downstream("alb"))], topology=topology,
    )


def _metric(resource: str, metric: str, score: float, onset_minute: float) -> Finding:
    signal = f"Test/{metric} Average"
    return Finding(
        id=Finding.make_id("metric", resource, signal), domain="application", kind="metric", resource=resource,
        signal=signal, summary=f"{signal} on {resource} shifted", onset=_at(onset_minute), score=score, direction="up",
        evidence=Evidence(baseline_value=1.0, incident_value=2.0, details=MetricDetails(metric=metric)),
    )


def _path(edges: list[tuple[str, str]], findings: list[Finding], root: str) -> list[PathHop]:
    topology = _topology(edges)
    return checked_path(topology, root, "alb", collect(findings, _scope(topology)))


def _marks(path: list[PathHop]) -> list[tuple[str, bool, bool, bool]]:
    return [(h.resource, h.edge, h.significant, h.in_time) for h in path]


CHAIN = [("alb", "api"), ("api", "db")]


def test_a_clean_cascade_checks_on_every_hop_with_each_hops_strongest_finding_and_onset() -> None:
    # db slows at 10:00, api errors at 10:01, the alb's 5xx at 10:02: each hop no earlier than the one below.
    db_latency, db_weak = _metric("db", "Latency", 0.95, 0), _metric("db", "CPU", 0.6, 3)
    api, alb = _metric("api", "Errors", 0.9, 1), _metric("alb", "5xx", 0.9, 2)
    path = _path(CHAIN, [db_latency, db_weak, api, alb], "db")
    assert [h.resource for h in path] == ["db", "api", "alb"]
    assert [h.finding_id for h in path] == [db_latency.id, api.id, alb.id]
    assert [h.onset for h in path] == [_at(0), _at(1), _at(2)]
    assert all(h.ok for h in path)
    assert describe(path) == "db (10:00) -> api (10:01) -> alb (10:02)"


def test_a_hop_that_began_before_the_hop_below_it_is_marked_late_cause_early_effect() -> None:
    # api shifts 5 minutes before db: more than the 2-minute tolerance, so db cannot have caused it.
    path = _path(CHAIN, [_metric("db", "Latency", 0.9, 0), _metric("api", "Errors", 0.9, -5),
                         _metric("alb", "5xx", 0.9, 2)], "db")
    assert _marks(path) == [("db", True, True, True), ("api", True, True, False), ("alb", True, True, True)]
    assert not path[1].ok
    assert "api (09:55) ✗ starts before db" in describe(path)


def test_onsets_within_the_tolerance_count_as_simultaneous() -> None:
    # api one minute before db: clocks and 1-minute metrics blur that much, so it is not a violation.
    path = _path(CHAIN, [_metric("db", "Latency", 0.9, 0), _metric("api", "Errors", 0.9, -1),
                         _metric("alb", "5xx", 0.9, 2)], "db")
    assert all(h.in_time for h in path)


def test_a_hop_without_a_shift_is_marked_and_the_timing_above_it_is_checked_against_the_hop_below() -> None:
    # api shows nothing; the alb began 4 minutes before db, which the silent api cannot excuse.
    path = _path(CHAIN, [_metric("db", "Latency", 0.9, 0), _metric("alb", "5xx", 0.9, -4)], "db")
    assert _marks(path) == [("db", True, True, True), ("api", True, False, True), ("alb", True, True, False)]
    assert path[1].finding_id is None and path[1].onset is None
    assert describe(path) == "db (10:00) -> api ✗ no shift -> alb (09:56) ✗ starts before db"


def test_a_finding_below_the_anomaly_threshold_is_no_shift() -> None:
    path = _path(CHAIN, [_metric("db", "Latency", 0.9, 0), _metric("api", "Errors", 0.3, 1),
                         _metric("alb", "5xx", 0.9, 2)], "db")
    assert not path[1].significant


def test_a_root_the_entry_does_not_reach_gets_a_two_hop_path_with_its_missing_edge_marked() -> None:
    # `queue` is outside the topology: its findings still count, but no call links it to the alb.
    path = _path(CHAIN, [_metric("queue", "Depth", 0.9, 0), _metric("alb", "5xx", 0.9, 2)], "queue")
    assert _marks(path) == [("queue", False, True, True), ("alb", True, True, True)]
    assert not path[0].ok and path[1].ok
    assert describe(path) == "queue (10:00) ✗ no edge to alb -> alb (10:02)"


def test_the_entry_as_root_has_a_one_hop_path() -> None:
    alb = _metric("alb", "5xx", 0.9, 2)
    path = _path(CHAIN, [alb, _metric("db", "Latency", 0.9, 0)], "alb")
    assert [(h.resource, h.finding_id, h.ok) for h in path] == [("alb", alb.id, True)]


def test_the_route_through_anomalous_resources_wins_over_a_silent_one_even_when_longer() -> None:
    # Two routes from db to the alb: through `a` (silent, 3 hops) or through b1 -> b2 (both shifted, 4 hops).
    edges = [("alb", "a"), ("a", "db"), ("alb", "b1"), ("b1", "b2"), ("b2", "db")]
    findings = [_metric("db", "Latency", 0.9, 0), _metric("b2", "Errors", 0.9, 1), _metric("b1", "Errors", 0.9, 1),
                _metric("alb", "5xx", 0.9, 2)]
    path = _path(edges, findings, "db")
    assert [h.resource for h in path] == ["db", "b2", "b1", "alb"]
    assert all(h.ok for h in path)


def test_between_equally_anomalous_routes_the_shorter_wins() -> None:
    edges = [("alb", "a"), ("a", "db"), ("alb", "b1"), ("b1", "b2"), ("b2", "db")]
    findings = [_metric(r, "Errors", 0.9, 1) for r in ("a", "b1", "b2")] + [_metric("db", "Latency", 0.9, 0),
                                                                           _metric("alb", "5xx", 0.9, 2)]
    assert [h.resource for h in _path(edges, findings, "db")] == ["db", "a", "alb"]


def test_a_cycle_in_the_topology_does_not_trap_the_walk() -> None:
    edges = [("alb", "api"), ("api", "db"), ("db", "api")]
    path = _path(edges, [_metric("db", "Latency", 0.9, 0), _metric("alb", "5xx", 0.9, 2)], "db")
    assert [h.resource for h in path] == ["db", "api", "alb"]


def test_ok_is_derived_from_the_three_checks_and_survives_a_round_trip() -> None:
    hop = PathHop(resource="db", edge=True, significant=True, in_time=False, ok=True)
    assert hop.ok is False
    stored = Hypothesis.model_validate_json(
        Hypothesis(id="H-db", resource="db", cause="component", confidence=0.5, title="t", reasoning="r",
                   path=[hop]).model_dump_json())
    assert stored.path == [hop]


def test_a_hypothesis_stored_before_paths_existed_still_loads() -> None:
    old = {"id": "H-db", "resource": "db", "cause": "component", "confidence": 0.5, "title": "t", "reasoning": "r"}
    assert Hypothesis.model_validate(old).path == []


def test_the_ranking_gives_every_hypothesis_its_path() -> None:
    topology = _topology(CHAIN)
    findings = [_metric("db", "Latency", 0.95, 0), _metric("api", "Errors", 0.9, 1), _metric("alb", "5xx", 0.9, 2)]
    ranking = rank(findings, _scope(topology), TRIGGER)
    paths = {h.resource: [hop.resource for hop in h.path] for h in ranking.hypotheses}
    assert ranking.hypotheses[0].resource == "db"
    assert paths["db"] == ["db", "api", "alb"]
    assert all(p[0] == r and p[-1] == "alb" for r, p in paths.items())
    assert paths.get("alb", ["alb"]) == ["alb"]


def test_a_changed_root_without_telemetry_has_its_change_as_the_hop_finding() -> None:
    # A security group with no metrics of its own changes at 10:00; the db behind it fails from
    # 10:01 and the alarm at 10:02: the change is the root's evidence, not a hop "with no shift".
    topology = _topology([("alb", "api"), ("api", "sg")])
    change = Finding(
        id=Finding.make_id("change", "sg", "evt-1"), domain="network", kind="change", resource="sg",
        signal="AuthorizeSecurityGroupIngress", summary="sg rules changed", onset=_at(0), score=0.8,
        evidence=Evidence(details=ChangeDetails(event_id="evt-1", change_kind="configuration")),
    )
    findings = [change, _metric("api", "Errors", 0.9, 1), _metric("alb", "5xx", 0.9, 2)]
    ranking = rank(findings, _scope(topology), TRIGGER, observed={"api", "alb"})
    sg = next(h for h in ranking.hypotheses if h.resource == "sg")
    assert [(hop.resource, hop.finding_id, hop.significant) for hop in sg.path][0] == ("sg", change.id, True)
