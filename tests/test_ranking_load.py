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


def test_a_dependency_only_busier_since_its_caller_sent_more_is_doing_the_extra_work_not_failing() -> None:
    # checkout's own request volume rose from 09:59 and its latency a little later; db's CPU
    # rose from 10:00, and nothing else on db: no call to it got slower or failed. db is
    # working harder for checkout's extra requests: the surge is the story, not db.
    surge = [_metric("checkout", "Requests", -1, traffic=True), _metric("checkout", "Latency", 0.5), _metric("db", "CPUUtilization", 0)]
    ranking = rank(surge, _scope(), TRIGGER)
    top = ranking.hypotheses[0]
    assert (top.resource, top.cause) == ("checkout", "traffic")
    db = next(h for h in ranking.hypotheses if h.resource == "db")
    assert "checkout" in db.reasoning and "sent clearly more requests" in db.reasoning
    # Without the rise in demand, db's CPU is a fault of db's own that checkout's latency follows.
    assert rank(SHARED_DB_FAILS, _scope(), TRIGGER).hypotheses[0].resource == "db"


def test_a_dependency_whose_calls_got_slower_under_its_callers_surge_keeps_its_score() -> None:
    # The same surge, but db's reads got slower too: the extra requests ran out of capacity at db.
    surge = [_metric("checkout", "Requests", -1, traffic=True), _metric("checkout", "Latency", 0.5), _metric("db", "CPUUtilization", 0)]
    busy = {h.resource: h.evidence_score for h in rank(surge, _scope(), TRIGGER).hypotheses}
    slower = rank([*surge, _metric("db", "ReadLatency", 0)], _scope(), TRIGGER)
    assert slower.hypotheses[0].resource == "db"
    assert "sent clearly more requests" not in slower.hypotheses[0].reasoning
    assert slower.hypotheses[0].evidence_score > busy["db"]
