"""With no call graph, a resource at a hard limit may be what the other failing resources call
(agent/ranking/candidates.py `limit_calls`).

Resources web (alarmed on its errors), api and db, and no edge between them: each is assumed
to be a dependency of web, and nothing says whether api calls db. db's storage is used up;
api's requests fail, as many as web's (so api alone could account for web's errors).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agent.ranking import rank
from agent.state import Scope
from domain.findings import MetricDetails
from domain.models import Evidence, Finding, Trigger
from tests.graphless import assumed_scope

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
TRIGGER = Trigger(
    alarm_name="web-errors", resource="web", namespace="Test", metric="Errors",
    statistic="Sum", threshold=10, comparison="GreaterThanThreshold", state_change_time=T0 + timedelta(minutes=5),
)
RESOURCES = ["web", "api", "db"]


def _scope() -> Scope:
    return assumed_scope(T0, "web", RESOURCES)


def _shift(resource: str, metric: str, before: float, after: float, minute: float, score: float = 0.99,
           **details: object) -> Finding:
    signal = f"Test/{metric} Sum"
    return Finding(
        id=Finding.make_id("metric", resource, signal), domain="application", kind="metric", resource=resource,
        signal=signal, summary=f"{signal} on {resource} {before} -> {after}", onset=T0 + timedelta(minutes=minute),
        score=score, direction="up" if after > before else "down",
        evidence=Evidence(baseline_value=before, incident_value=after,
                          details=MetricDetails(metric=metric, stat="Sum", period_s=60, **details)),
    )


def _findings(storage_full_at: float) -> list[Finding]:
    return [
        _shift("web", "Errors", 0, 40, 2),
        _shift("api", "Errors", 0, 40, 1),
        # Used up: read from the value (2 % of its usual level), not against a baseline.
        _shift("db", "FreeStorageSpace", 2e9, 3e7, storage_full_at, score=0.95, constraint="exhausted", limit_reached=True),
    ]


def test_a_dependency_at_a_hard_limit_before_the_failing_caller_is_ranked_its_cause() -> None:
    # api's errors account for all of web's, and api (from zero: the larger relative shift) would
    # win the tie between two assumed dependencies of web; but db's storage ran out a minute
    # before api began failing, and a used-up limit fails whoever depends on it: api is read as
    # its possible caller, a victim.
    ranking = rank(_findings(storage_full_at=0), _scope(), TRIGGER)
    assert ranking.hypotheses[0].resource == "db"
    assert not ranking.abstained


def test_a_limit_reached_after_the_caller_was_already_failing_does_not_take_its_failure() -> None:
    # The storage ran out ten minutes after api's errors began: api cannot have failed because
    # of it, so no call from api to db is assumed and api keeps its place.
    ranking = rank(_findings(storage_full_at=11), _scope(), TRIGGER)
    assert ranking.hypotheses[0].resource == "api"


def test_a_resource_failing_before_the_limit_was_reached_does_not_stand_between_it_and_the_alarm() -> None:
    # api has failed a little since long before (an unrelated fault); db's storage runs out at
    # minute 0 and web's errors follow. An assumed call from api to db would put api on db's way
    # up to web, and db explains nothing of api (it began later), so it would explain nothing of
    # web either: no such call is assumed, and db stays the cause of what paged.
    findings = [
        _shift("web", "Errors", 0, 40, 1),
        _shift("api", "Errors", 0, 5, -20),
        _shift("db", "FreeStorageSpace", 2e9, 3e7, 0, score=0.95, constraint="exhausted", limit_reached=True),
    ]
    assert rank(findings, _scope(), TRIGGER).hypotheses[0].resource == "db"
