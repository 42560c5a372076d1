"""A noisy neighbour: another caller of a shared dependency sends more requests just before it
fails (agent/ranking/load.py, Scope.neighbours).

Topology: alb -> checkout -> db, and catalog -> db outside what the alarm depends on. The
alarm is on checkout at 10:05; db fails from 10:00.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agent.nodes.scope import neighbours
from agent.ranking import rank
from agent.state import Scope
from domain.findings import MetricDetails
from domain.models import Edge, Evidence, Finding, Resource, TimeWindow, Topology, Trigger

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
TRIGGER = Trigger(
    alarm_name="checkout-latency", resource="checkout", namespace="App", metric="Latency", statistic="p99",
    threshold=200, comparison="GreaterThanThreshold", state_change_time=T0 + timedelta(minutes=5),
)
EDGES = [("alb", "checkout"), ("checkout", "db"), ("catalog", "db"), ("checkout", "zone-a"), ("catalog", "zone-a")]


def _topology() -> Topology:
    ids = sorted({r for edge in EDGES for r in edge})
    return Topology(
        resources=[Resource(id=i, type="AWS::EC2::AvailabilityZone" if i.startswith("zone") else "service") for i in ids],
        edges=[Edge(caller=a, callee=b) for a, b in EDGES],
    )


def _scope() -> Scope:
    topology = _topology()
    resources = ["checkout", *sorted(topology.downstream("checkout"))]
    return Scope(
        incident=TimeWindow(start=T0 - timedelta(hours=1), end=T0 + timedelta(minutes=30)),
        baseline=TimeWindow(start=T0 - timedelta(hours=4), end=T0 - timedelta(hours=1)),
        entry="checkout", resources=resources, neighbours=neighbours(topology, "checkout", resources), topology=topology,
    )


def _metric(resource: str, metric: str, minute: float, *, traffic: bool = False, score: float = 0.99) -> Finding:
    signal = f"App/{metric} Sum"
    return Finding(
        id=Finding.make_id("metric", resource, signal), domain="application", kind="metric", resource=resource,
        signal=signal, summary=f"{signal} on {resource} went up", onset=T0 + timedelta(minutes=minute), score=score,
        direction="up",
        evidence=Evidence(baseline_value=100.0, incident_value=210.0, details=MetricDetails(metric=metric, traffic=traffic)),
    )


SHARED_DB_FAILS = [_metric("checkout", "Latency", 0.5), _metric("db", "CPUUtilization", 0)]


def test_the_other_callers_of_a_dependency_are_neighbours_but_not_the_entrys_callers_or_a_zones() -> None:
    assert _scope().neighbours == ["catalog"]
    # alb calls the entry itself (it sends the alarm's traffic), and every resource placed in a
    # zone "calls" it: neither makes a neighbour.
    assert neighbours(_topology(), "checkout", ["checkout", "db"]) == ["catalog"]


def test_a_neighbour_whose_requests_rose_before_the_shared_dependency_failed_is_the_cause() -> None:
    findings = [*SHARED_DB_FAILS, _metric("catalog", "Requests", -1, traffic=True)]
    ranking = rank(findings, _scope(), TRIGGER)
    top = ranking.hypotheses[0]
    assert (top.resource, top.cause) == ("catalog", "traffic")
    assert [hop.resource for hop in top.path] == ["catalog", "db", "checkout"]
    assert all(hop.ok for hop in top.path)
    assert "likeliest reason db fails" in top.reasoning
    db = next(h for h in ranking.hypotheses if h.resource == "db")
    assert "catalog" in db.reasoning and db.evidence_score < top.evidence_score


def test_a_neighbour_that_sent_more_only_after_the_dependency_failed_explains_nothing() -> None:
    # Requests rising five minutes after db began to fail: retries or a backlog, a consequence.
    findings = [*SHARED_DB_FAILS, _metric("catalog", "Requests", 5, traffic=True)]
    ranking = rank(findings, _scope(), TRIGGER)
    assert ranking.hypotheses[0].resource == "db"
    assert "catalog" not in [h.resource for h in ranking.hypotheses]


def test_a_neighbour_is_not_blamed_when_the_alarms_own_side_sent_more_too() -> None:
    # checkout's own request volume rose as well: the load is general, not the neighbour's.
    findings = [*SHARED_DB_FAILS, _metric("catalog", "Requests", -1, traffic=True),
                _metric("checkout", "Requests", -1, traffic=True)]
    ranking = rank(findings, _scope(), TRIGGER)
    assert "catalog" not in [h.resource for h in ranking.hypotheses]


def test_a_neighbour_that_fails_itself_is_not_a_candidate() -> None:
    # catalog's own errors are catalog's problem, outside what the alarm depends on.
    findings = [*SHARED_DB_FAILS, _metric("catalog", "Errors", -1)]
    ranking = rank(findings, _scope(), TRIGGER)
    assert ranking.hypotheses[0].resource == "db"
    assert "catalog" not in [h.resource for h in ranking.hypotheses]
