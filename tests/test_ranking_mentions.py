"""With no call graph, a resource calls what the logs of its trouble name (agent/ranking/mentions.py).

Resources alb (alarmed), api, db and web, and no edge between them: every resource is assumed
to be a dependency of alb, and nothing says whether api calls db.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agent.ranking import rank
from agent.ranking.mentions import named_calls
from agent.state import Scope
from domain.findings import LogDetails, MetricDetails
from domain.models import Evidence, Finding, Trigger
from tests.graphless import assumed_scope

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
TRIGGER = Trigger(
    alarm_name="alb-5xx", resource="alb", namespace="AWS/ApplicationELB", metric="HTTPCode_Target_5XX_Count",
    statistic="Sum", threshold=10, comparison="GreaterThanThreshold", state_change_time=T0 + timedelta(minutes=5),
)
RESOURCES = ["alb", "api", "db", "web"]


def _scope() -> Scope:
    return assumed_scope(T0, "alb", RESOURCES)


def _shift(resource: str, metric: str, before: float, after: float, minute: float, stat: str = "Average") -> Finding:
    signal = f"Test/{metric} {stat}"
    return Finding(
        id=Finding.make_id("metric", resource, signal), domain="application", kind="metric", resource=resource,
        signal=signal, summary=f"{signal} on {resource} {before} -> {after}", onset=T0 + timedelta(minutes=minute),
        score=0.99, direction="up" if after > before else "down",
        evidence=Evidence(baseline_value=before, incident_value=after, details=MetricDetails(metric=metric, stat=stat)),
    )


def _log(resource: str, template: str, *, test: str = "new", direction: str = "up", samples: list[str] | None = None) -> Finding:
    signal = f"log {test} {template}"
    return Finding(
        id=Finding.make_id("log", resource, signal), domain="application", kind="log", resource=resource, signal=signal,
        summary=f"{resource} logs '{template}'", onset=T0 + timedelta(minutes=1), score=0.99, direction=direction,
        evidence=Evidence(sample_logs=samples or [], details=LogDetails(test=test, template=template)),
    )


# The alarm at alb; api fails from minute 1; db is slower from minute 0.
SHIFTS = [
    _shift("alb", "HTTPCode_Target_5XX_Count", 0, 30, 2, stat="Sum"),
    _shift("api", "Errors", 0, 40, 1, stat="Sum"),
    _shift("db", "Latency", 10, 60, 0),
]


def test_a_dependency_that_the_failing_service_names_in_its_new_log_lines_is_ranked_its_cause() -> None:
    named = rank([*SHIFTS, _log("api", "Slow call to db: <*> ms (threshold <*> ms)")], _scope(), TRIGGER)
    assert named.hypotheses[0].resource == "db"
    # Nothing named: api and db are alike as alb's assumed dependencies, and api's larger relative
    # shift puts it first.
    assert rank(SHIFTS, _scope(), TRIGGER).hypotheses[0].resource == "api"


def test_a_name_is_read_only_as_a_whole_token() -> None:
    # "db-replica" is another host, not db; "db:5432" and "db.internal" are db.
    other = _log("api", "Slow call to db-replica: <*> ms")
    assert rank([*SHIFTS, other], _scope(), TRIGGER).hypotheses[0].resource == "api"
    assert named_calls([_log("api", "connect to db:5432 refused")], RESOURCES)[0].callee == "db"
    assert named_calls([_log("api", "timeout reading from db.internal")], RESOURCES)[0].callee == "db"


def test_only_the_lines_of_the_resources_trouble_name_its_calls() -> None:
    # A template that stopped (a request log from web that vanished) and one whose share of calls
    # fell say nothing of what the resource calls when it fails.
    stopped = _log("api", "request from web done", test="stopped", direction="down")
    assert named_calls([stopped], RESOURCES) == []
    # An error rate's sample lines are its trouble: "upstream api responded 503" in web's.
    rate = _log("web", "", test="error_rate", samples=["upstream api responded 503"])
    assert [(e.caller, e.callee) for e in named_calls([rate], RESOURCES)] == [("web", "api")]
    # A resource that is not in the incident, or naming itself, draws no edge.
    assert named_calls([_log("api", "api retrying call to billing")], RESOURCES) == []


def test_a_named_call_into_the_alarmed_resource_is_not_drawn() -> None:
    # With no call graph alb is assumed to call everything; an edge back into it (api's error
    # names alb, the load balancer that sent the request) would make alb its own dependency.
    findings = [*SHIFTS, _log("api", "request via alb failed: Slow call to db"), _log("db", "alb health check failing")]
    assert rank(findings, _scope(), TRIGGER).hypotheses[0].resource == "db"
