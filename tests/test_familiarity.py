"""An incident unlike the calibration data reads less confident, says why, and keeps its ranking.

Builds on the hand-built cascade of tests/test_ranking.py (alb -> api -> db, db first).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from agent.calibration import DEFAULT_SIGNAL_COST, SIGNAL_COSTS, calibrated
from agent.ranking import rank
from agent.ranking.familiarity import familiarity
from domain.findings import LogDetails, MetricDetails
from domain.models import Evidence, Finding
from tests.test_ranking import ALARM_METRIC, TRIGGER, _at, _cascade, _metric, _scope, _topology


@pytest.fixture(autouse=True)
def _every_signal_costs(monkeypatch):
    """Every signal at the documented default cost, whatever the last fit found."""
    for signal in SIGNAL_COSTS:
        monkeypatch.setitem(SIGNAL_COSTS, signal, DEFAULT_SIGNAL_COST)


def _log(resource: str, score: float, onset_minute: float) -> Finding:
    signal = "log errors"
    return Finding(
        id=Finding.make_id("log", resource, signal), domain="application", kind="log", resource=resource, signal=signal,
        summary=f"errors in the logs of {resource}", onset=_at(onset_minute), score=score, direction="up",
        evidence=Evidence(details=LogDetails()),
    )


def _familiar():
    """The cascade with logs beside the metrics: several kinds of evidence, the alarmed series
    in the data, a baseline an hour before the incident."""
    findings, scope = _cascade()
    return findings + [_log("db", 0.8, 0), _log("api", 0.7, 1)], scope


def _stale(scope):
    """The same scope with the baseline three days before the incident."""
    shift = timedelta(days=3)
    return scope.model_copy(update={"baseline": scope.baseline.model_copy(
        update={"start": scope.baseline.start - shift, "end": scope.baseline.end - shift})})


def test_a_familiar_incident_shows_no_signal_and_keeps_the_plain_calibrated_confidence():
    findings, scope = _familiar()
    assert familiarity(findings, scope, TRIGGER).signals == []
    ranking = rank(findings, scope, TRIGGER)
    for h in ranking.hypotheses:
        assert h.unfamiliar == []
        assert h.confidence == calibrated(h.evidence_score)
        assert "Confidence lowered" not in h.reasoning


def test_each_signal_is_read_from_the_findings_and_scope():
    findings, scope = _familiar()
    metrics_only = [f for f in findings if f.kind == "metric"]
    assert familiarity(metrics_only, scope, TRIGGER).signals == ["one_modality"]
    assert familiarity([findings[0], findings[3]], scope, TRIGGER).signals == ["few_findings"]  # a metric and a log
    other_alarm = TRIGGER.model_copy(update={"metric": "TargetResponseTime"})
    assert familiarity(findings, scope, other_alarm).signals == ["alarm_series_missing"]
    assert familiarity(findings, _stale(scope), TRIGGER).signals == ["stale_baseline"]
    later = scope.model_copy(update={"baseline": scope.baseline.model_copy(
        update={"start": scope.incident.end + timedelta(days=2), "end": scope.incident.end + timedelta(days=3)})})
    assert familiarity(findings, later, TRIGGER).stale_baseline
    unmapped = scope.model_copy(update={"topology": scope.topology.model_copy(update={"edges": []})})
    assert familiarity(findings, unmapped, TRIGGER).signals == ["no_call_graph"]
    traced = scope.model_copy(update={"call_graph": "traced"})
    assert familiarity(findings, traced, TRIGGER).signals == ["no_call_graph"]


def test_an_alarmed_series_that_did_not_shift_is_in_the_data_but_is_no_symptom():
    findings, scope = _familiar()
    quiet = Finding(
        id=Finding.make_id("metric", "alb", "alarmed"), domain="application", kind="metric", resource="alb",
        signal=f"{ALARM_METRIC} (alarmed metric)", summary="the alarmed metric shows no sustained shift", score=0.1,
        evidence=Evidence(details=MetricDetails(metric=ALARM_METRIC, alarm_metric_normal=True)),
    )
    without_alarm_finding = [f for f in findings if f.resource != "alb"]
    assert familiarity(without_alarm_finding, scope, TRIGGER).alarm_series_missing
    seen = familiarity(without_alarm_finding + [quiet], scope, TRIGGER)
    assert not seen.alarm_series_missing
    # Two shifted metrics: the observation about the alarmed series does not count as a third symptom.
    sparse = [f for f in without_alarm_finding if f.kind == "metric"] + [quiet]
    assert familiarity(sparse, scope, TRIGGER).few_findings


def test_an_unfamiliar_incident_reads_less_confident_with_the_same_order_and_abstention_and_says_why():
    findings, scope = _familiar()
    other_alarm = TRIGGER.model_copy(update={"metric": "TargetResponseTime"})
    familiar = rank(findings, scope, TRIGGER)
    unfamiliar = rank(findings, _stale(scope), other_alarm)
    assert [h.resource for h in unfamiliar.hypotheses] == [h.resource for h in familiar.hypotheses]
    assert unfamiliar.abstained == familiar.abstained
    assert [h.evidence_score for h in unfamiliar.hypotheses] == [h.evidence_score for h in familiar.hypotheses]
    for before, after in zip(familiar.hypotheses, unfamiliar.hypotheses):
        assert after.confidence < before.confidence
        assert after.unfamiliar == ["alarm_series_missing", "stale_baseline"]
        assert after.reasoning.startswith(before.reasoning)
        why = after.reasoning[len(before.reasoning):].strip()
        assert why.count(".") == 1 and why.endswith(".")  # one sentence, naming both reasons
        assert "alarmed series is not in the data" in why and "baseline is more than a day away" in why
    confidences = [h.confidence for h in unfamiliar.hypotheses]
    assert confidences == sorted(confidences, reverse=True)


def test_a_weak_lead_stays_a_weak_lead_when_the_incident_is_unfamiliar():
    topology = _topology([("alb", "api"), ("api", "db")])
    findings = [_metric("db", "ReadLatency", 0.55, 0)]
    familiar = rank(findings, _scope(topology), TRIGGER)
    unfamiliar = rank(findings, _stale(_scope(topology)), TRIGGER)
    assert familiar.abstained and unfamiliar.abstained and familiar.hypotheses
    assert [h.resource for h in unfamiliar.hypotheses] == [h.resource for h in familiar.hypotheses]


def test_a_signal_the_fit_found_costless_is_not_blamed_in_the_reasoning():
    findings, scope = _familiar()
    shown = familiarity(findings, _stale(scope), TRIGGER)
    assert shown.sentence({"stale_baseline": 0.0}) is None
    assert calibrated(0.7, unfamiliar=["stale_baseline"], costs={"stale_baseline": 0.0}) == calibrated(0.7)
