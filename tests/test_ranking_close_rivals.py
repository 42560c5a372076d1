"""A rival scoring nearly as high as the top lowers its confidence; whether the engine answers at
all depends on the call graph and on whether the top accounts for the alarm
(agent/ranking/scoring.py `support`).

Abstaining says "no root cause is supported, the alarm may be false". With no call graph, two
failing dependencies that both fit what paged tie by construction (nothing says which calls
which): that is no sign of a false alarm, so the engineer gets an answer, at a low confidence,
with the rival named. A tie on a recorded graph, or a top that accounts for none of the alarm,
is still no answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agent.ranking import rank
from domain.findings import MetricDetails
from domain.models import Edge, Evidence, Finding, Resource, Topology, Trigger
from tests.graphless import assumed_scope

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
TRIGGER = Trigger(
    alarm_name="web-latency", resource="web", namespace="Test", metric="Latency",
    statistic="Sum", threshold=10, comparison="GreaterThanThreshold", state_change_time=T0 + timedelta(minutes=5),
)


def _shift(resource: str, metric: str, before: float, after: float, minute: float, lasted: float | None = None,
           score: float = 0.99) -> Finding:
    """A sustained metric shift from `minute`; `lasted`: minutes until it ended (data run on to minute 30)."""
    signal = f"Test/{metric} Sum"
    start = T0 + timedelta(minutes=minute)
    ended = {} if lasted is None else {"until": start + timedelta(minutes=lasted), "observed_until": T0 + timedelta(minutes=30)}
    return Finding(
        id=Finding.make_id("metric", resource, signal), domain="application", kind="metric", resource=resource,
        signal=signal, summary=f"{signal} on {resource} {before} -> {after}", onset=start,
        score=score, direction="up" if after > before else "down",
        evidence=Evidence(baseline_value=before, incident_value=after,
                          details=MetricDetails(metric=metric, stat="Sum", period_s=60, **ended)),
    )


def _tied() -> list[Finding]:
    # web's latency rises by 200; api's and db's each by 100, a minute earlier: each accounts for
    # half of web's. With no call graph both are assumed dependencies of web and nothing says
    # whether api calls db: each fits the alarm as well as the other. A cache's evictions rose
    # after web's trouble began (so they explain none of it): one more anomaly to account for.
    return [
        _shift("web", "Latency", 100, 300, 2),
        _shift("api", "Latency", 50, 150, 1),
        _shift("db", "Latency", 5, 105, 1),
        _shift("cache", "Evictions", 0, 50, 4),
    ]


RESOURCES = ["web", "api", "db", "cache"]


def test_two_dependencies_the_evidence_cannot_tell_apart_give_an_answer_naming_both() -> None:
    ranking = rank(_tied(), assumed_scope(T0, "web", RESOURCES), TRIGGER)
    assert not ranking.abstained, ranking.abstain_reason
    top, second = ranking.hypotheses[0], ranking.hypotheses[1]
    assert {top.resource, second.resource} == {"api", "db"}
    # The answer is not oversold: one of two, read as such, with the other named to check too.
    assert top.confidence < 0.75
    assert second.resource in top.reasoning and "check both" in top.reasoning


def test_a_tie_reads_less_sure_than_the_same_dependency_alone() -> None:
    alone = rank([f for f in _tied() if f.resource != "db"], assumed_scope(T0, "web", RESOURCES), TRIGGER)
    tied = rank(_tied(), assumed_scope(T0, "web", RESOURCES), TRIGGER)
    assert alone.hypotheses[0].resource == "api" and not alone.abstained
    assert tied.hypotheses[0].confidence < alone.hypotheses[0].confidence
    assert "check both" not in alone.hypotheses[0].reasoning


def test_with_a_recorded_call_graph_a_tie_stays_no_answer() -> None:
    # The map is recorded: web calls api and db, neither calls the other. The graph and the
    # timing had every chance to tell them apart and did not: the evidence itself is ambiguous.
    topology = Topology(
        resources=[Resource(id=r, type="service") for r in RESOURCES],
        edges=[Edge(caller="web", callee=r) for r in ("api", "db", "cache")],
    )
    scope = assumed_scope(T0, "web", RESOURCES).model_copy(update={"topology": topology, "call_graph": "recorded"})
    ranking = rank(_tied(), scope, TRIGGER)
    assert {h.resource for h in ranking.hypotheses[:2]} == {"api", "db"}
    assert ranking.abstained


def test_a_top_that_accounts_for_none_of_the_alarm_beside_a_close_rival_is_no_answer() -> None:
    # No call graph. web's latency rose and ended by itself (a blip); worker's errors rose after
    # web's trouble began and go on. worker leads (web is discounted as over), but it accounts for
    # nothing that paged, and web, the alarm's own blip, scores nearly as high: no root cause is
    # supported.
    findings = [_shift("web", "Latency", 100, 400, 0, lasted=6), _shift("worker", "Errors", 0, 60, 3, score=1.0)]
    ranking = rank(findings, assumed_scope(T0, "web", ["web", "worker"]), TRIGGER)
    assert ranking.hypotheses[0].resource == "worker"
    assert ranking.abstained
