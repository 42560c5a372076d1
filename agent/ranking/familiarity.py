"""Signs that an incident is unlike the data the confidence map was fitted on.

The map (agent/calibration.py) was fitted on incidents with evidence from several sources, a
handful of findings, the alarmed series in the data and a baseline close to the incident. When
one of these does not hold, the same evidence score is less reliable, so each signal lowers the
confidence by its cost (fitted by evals.calibrate) and the reasoning says why in one sentence.
The signals belong to the incident, not to one hypothesis: all hypotheses are lowered alike, so
their order is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, Field

from agent.calibration import SIGNAL_COSTS
from agent.ranking.candidates import metric, quiet_alarm
from agent.ranking.thresholds import SYMPTOM_KINDS
from agent.state import Scope
from domain.models import Finding, TimeWindow, Trigger, UnfamiliarSignal

FEW_FINDINGS = 3  # fewer symptom findings than this is thin evidence for any ranking
STALE_AFTER = timedelta(days=1)  # as agent/nodes/domains.py tells the metric analysis

_WHY: dict[UnfamiliarSignal, str] = {
    "one_modality": "the evidence comes from one kind of telemetry only",
    "few_findings": "there are few findings",
    "alarm_series_missing": "the alarmed series is not in the data",
    "stale_baseline": "the baseline is more than a day away from the incident",
    "no_call_graph": "the recorded topology has no calls for the alarmed resource",
}


class Familiarity(BaseModel):
    """Which signs of an unfamiliar incident the findings and scope show."""

    one_modality: bool = Field(description="symptoms of at most one kind (e.g. metrics only, no logs or traces)")
    few_findings: bool = Field(description=f"fewer than {FEW_FINDINGS} symptom findings")
    alarm_series_missing: bool = Field(description="no finding or observation about the alarmed series")
    stale_baseline: bool = Field(description="the baseline is more than a day before or after the incident")
    no_call_graph: bool = Field(
        default=False, description="the recorded topology has no calls for the alarmed resource: they were read from the "
                                   "traces (which show no zones, configurations or permissions) or assumed"
    )

    @property
    def signals(self) -> list[UnfamiliarSignal]:
        return [name for name in _WHY if getattr(self, name)]

    def sentence(self, costs: Mapping[str, float] | None = None) -> str | None:
        """One sentence naming the signals that lowered the confidence; None when none did."""
        table = SIGNAL_COSTS if costs is None else costs
        costly = [_WHY[s] for s in self.signals if table.get(s, 0.0) < 0.0]
        if not costly:
            return None
        reasons = costly[0] if len(costly) == 1 else ", ".join(costly[:-1]) + " and " + costly[-1]
        return f"Confidence lowered because this incident is unlike the data it was calibrated on: {reasons}."


def stale(baseline: TimeWindow, incident: TimeWindow) -> bool:
    """A baseline recorded more than a day away from the incident (before or after)."""
    return baseline.end < incident.start - STALE_AFTER or baseline.start > incident.end + STALE_AFTER


def familiarity(findings: list[Finding], scope: Scope, trigger: Trigger) -> Familiarity:
    symptoms = [f for f in findings if f.kind in SYMPTOM_KINDS and not quiet_alarm(f)]
    # The metric analysis writes a finding for an alarmed series that shifted and an observation
    # for one that did not; neither means the series was not in the data.
    alarm_seen = any(
        f.resource == trigger.resource and (details := metric(f)) is not None and details.metric == trigger.metric
        for f in findings
    )
    return Familiarity(
        one_modality=len({f.kind for f in symptoms}) <= 1,
        few_findings=len(symptoms) < FEW_FINDINGS,
        alarm_series_missing=not alarm_seen,
        stale_baseline=stale(scope.baseline, scope.incident),
        no_call_graph=scope.call_graph != "recorded" or not scope.topology.maps(trigger.resource),
    )
