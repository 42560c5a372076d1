"""Typed details of a finding, one model per finding kind (a discriminated union on `kind`).

These are the facts an analysis hands to the ranker, the renderers and the console links:
real datetimes, lists and enums, never facts to be recovered from the human-readable
summary. Every field has a default so that a finding built without details (a hand-made
finding, an old bundle) still gets the details of its kind (see `Finding` in domain/models.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.times import as_utc

ConstraintKind = Literal["expiry", "exhausted", "limit", "throttling"]
"""A hard limit the evidence shows violated: an expiry passed, headroom used up, usage at a
limit (quota, connection cap, reserved concurrency) or requests throttled."""

ChangeKind = Literal["deploy", "configuration", "permission", "network", "scaling", "certificate", "other"]

LogTest = Literal["new", "spike", "error_rate", "stopped", "silent", "lines_per_call", "calls_with_errors"]
"""Which test found a log anomaly: a template new in the incident, more frequent, the
resource's error rate, a template that stopped, a resource that went silent, log lines per
call of a code path, or the share of calls that log an error."""

TraceTest = Literal["self_time", "own_errors", "network_gap", "edge_latency"]


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PerRequest(_Details):
    """What a rate per request was built from (a canary revision's errors over its requests,
    see tools/analysis/new_series.py): enough to turn its shift back into a count per period,
    which is what a caller's failure count can be compared with."""

    metric: str = Field(description="the counted metric (Errors)")
    stat: str = Field(description="its statistic (Sum)")
    requests: float = Field(description="the partition's typical requests per period while the rate was abnormal")


class MetricDetails(_Details):
    """A shift of one metric series (or an observation about the alarmed series)."""

    kind: Literal["metric"] = "metric"
    namespace: str = ""
    metric: str = ""
    stat: str = ""
    dimensions: dict[str, str] = Field(default_factory=dict)
    period_s: int | None = Field(default=None, description="sampling period of the series")
    z: float | None = Field(default=None, description="robust z-score of the shift, in the metric's bad direction")
    points: int | None = Field(default=None, description="abnormal points in the run")
    traffic: bool = Field(default=False, description="the metric measures request volume (load), not failure")
    until: datetime | None = Field(default=None, description="end of what the last abnormal point covers")
    observed_until: datetime | None = Field(default=None, description="end of the series' data")
    calls: float | None = Field(default=None, description="typical request volume of the resource per period")
    reported_by: list[str] = Field(default_factory=list, description="other resources the series' dimensions name (client-side metric)")
    via: str | None = Field(default=None, description="the resource whose partition (e.g. zone) alone moved")
    constraint: ConstraintKind | None = Field(default=None, description="the hard limit the metric names or checks")
    limit_reached: bool = Field(
        default=False, description="an absolute check saw the limit reached (expired, headroom used up, at a recorded limit)"
    )
    alarm_metric_normal: bool = Field(default=False, description="the alarmed metric shows no sustained shift")
    echoes: list[str] = Field(default_factory=list, description="dependencies whose shift the alarmed series echoed faintly")
    per_request: PerRequest | None = Field(default=None, description="the count and requests a rate per request was built from")


    @field_validator("until", "observed_until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class LogDetails(_Details):
    """A log anomaly: a template's rate, a resource's error rate or silence, or a code path."""

    kind: Literal["log"] = "log"
    test: LogTest | None = None
    log_group: str | None = Field(default=None, description="the log group read, when the source knows it")
    template_key: str | None = Field(
        default=None, description="stable key of the template: its first line as masked, which more data does not change"
    )
    template: str | None = Field(default=None, description="the mined template text (grows more general with more data)")
    error: bool = Field(default=False, description="the template is an error line (error level, an exception, a failure word)")
    exception_class: str | None = None
    exception_message: str | None = None
    constraint: ConstraintKind | None = None
    baseline_count: int | None = None
    incident_count: int | None = None
    baseline_minutes: float | None = None
    incident_minutes: float | None = None
    p_value: float | None = None
    p_value_corrected: float | None = None
    tests: int | None = Field(default=None, description="the multiple-testing count the p-value was corrected for")
    reference: str | None = Field(default=None, description="what the incident was compared with")
    z: float | None = None
    operations: str | None = Field(default=None, description="the code path (operations of a call), for per-call tests")
    calls_before: int | None = None
    calls_after: int | None = None


class TraceDetails(_Details):
    kind: Literal["trace"] = "trace"
    test: TraceTest | None = None
    z: float | None = None
    spans: int | None = None
    errors: int | None = None
    calls: int | None = Field(default=None, description="calls on the edge in the incident window")
    caller: str | None = Field(default=None, description="the calling service, for a network gap")
    rejected: int | None = Field(
        default=None, description="of the own errors, those answered as the caller's fault (client errors: 4xx, denied, not found)"
    )
    seen_normal_s: float | None = Field(
        default=None, description="seconds between the last normal span before the onset and the onset: traces are "
                                  "sampled, so the shift began somewhere in that interval",
    )


class ChangeDetails(_Details):
    kind: Literal["change"] = "change"
    event_id: str = ""
    change_kind: ChangeKind = "other"
    event_name: str = ""
    source: str = ""
    actor: str | None = None
    minutes_before_onset: float | None = None
    automatic: bool = Field(default=False, description="an autoscaler's own action: a reaction to load, never a cause")


class HealthDetails(_Details):
    kind: Literal["health"] = "health"
    event_id: str = ""
    event_type_code: str = ""
    service: str = ""
    category: str = ""
    region: str | None = None
    availability_zone: str | None = None
    status: str = ""
    constraint: ConstraintKind | None = None


class GapDetails(_Details):
    """A source that could not be read."""

    kind: Literal["gap"] = "gap"
    tool: str = ""
    status: str = ""
    error: str = ""


FindingDetails = Annotated[
    Union[MetricDetails, LogDetails, TraceDetails, ChangeDetails, HealthDetails, GapDetails],
    Field(discriminator="kind"),
]

DETAILS_OF_KIND: dict[str, type[_Details]] = {
    "metric": MetricDetails, "log": LogDetails, "trace": TraceDetails,
    "change": ChangeDetails, "health": HealthDetails, "gap": GapDetails,
}
