"""Constraint checks: limits whose meaning is absolute, not relative to a baseline.

An expired certificate is expired whether or not it was already expired an hour ago, and a
baseline comparison cannot see it when the whole window sits past the expiry. These rules
read the value itself. They are vocabulary about metric names (ACM's DaysToExpiry and the
like), not about any service.
"""

from __future__ import annotations

import re

import pandas as pd

from domain.findings import ConstraintKind, MetricDetails
from domain.models import Evidence, Finding, TimeWindow, Topology

_EXPIRY = re.compile(r"days_?to_?expir|daystoexpir|time_?to_?expir|expires_?in", re.IGNORECASE)
_HEADROOM = re.compile(r"free|available|remaining|headroom|balance", re.IGNORECASE)
EXHAUSTED = 0.02  # headroom below 2 % of its normal level is used up
AT_LIMIT = 0.95  # usage at 95 % of a limit recorded on the resource is at the limit

# Words that name a violated hard limit, in what an analysis read (a metric's name, a log
# line, an exception, an AWS Health event type): vocabulary of limits, not of any service.
_NAMED: list[tuple[re.Pattern[str], ConstraintKind]] = [
    (re.compile(r"expir|certificate", re.IGNORECASE), "expiry"),
    (re.compile(r"exhaust|no space|disk full|storage full|out of capacity|insufficient", re.IGNORECASE), "exhausted"),
    (re.compile(r"throttl", re.IGNORECASE), "throttling"),
    (re.compile(r"limit|quota|exceed|too many|reserved|max_?conn", re.IGNORECASE), "limit"),
]


def constraint_named(*texts: str | None) -> ConstraintKind | None:
    """The kind of hard limit that `texts` name (first rule wins), None when they name none."""
    text = " ".join(t for t in texts if t)
    return next((kind for pattern, kind in _NAMED if pattern.search(text)), None)


def constraint_findings(
    frame: pd.DataFrame, incident: TimeWindow, baseline: list[TimeWindow] | None = None, topology: Topology | None = None
) -> list[Finding]:
    """Expiries, used-up headroom and usage at a limit recorded on the resource."""
    if frame.empty:
        return []
    found = _expiry_findings(frame, incident)
    if baseline:
        found += _headroom_findings(frame, incident, baseline)
    if topology is not None:
        found += _limit_findings(frame, incident, topology)
    return found


def _expiry_findings(frame: pd.DataFrame, incident: TimeWindow) -> list[Finding]:
    names = [m for m in frame["metric"].unique() if _EXPIRY.search(str(m))]
    if not names:
        return []
    ts = frame["timestamp"]
    rows = frame[frame["metric"].isin(names) & (ts >= pd.Timestamp(incident.start)) & (ts <= pd.Timestamp(incident.end))]
    findings = []
    for (resource, metric), series in rows.groupby(["resource", "metric"]):
        series = series.sort_values("timestamp")
        expired = series[series["value"] <= 0]
        soon = series[series["value"] <= 1]
        if soon.empty:  # "soon" (<= 1 day) includes the expired (<= 0)
            continue
        hit = expired if not expired.empty else soon
        state = "has expired" if not expired.empty else "expires within a day"
        signal = f"{metric} {'expired' if not expired.empty else 'expiring'}"
        # Expiry metrics are often daily: one point in the window has no sampling period.
        period = series["timestamp"].diff().dt.total_seconds().median()
        findings.append(Finding(
            # One id whether the value is seen expiring or (with more data) expired.
            id=Finding.make_id("metric", str(resource), f"{metric} expiry"),
            domain="infrastructure", kind="metric", resource=str(resource), signal=signal,
            summary=f"{resource} {state}: {metric} = {hit['value'].iloc[0]:g} at {hit['timestamp'].iloc[0]:%H:%M} UTC",
            onset=hit["timestamp"].iloc[0].to_pydatetime(),
            score=0.95 if not expired.empty else 0.6,
            direction="down",
            evidence=Evidence(
                incident_value=float(hit["value"].iloc[0]), unit="days",
                details=MetricDetails(
                    namespace=_namespace(series), metric=str(metric), constraint="expiry", limit_reached=True,
                    period_s=int(period) if pd.notna(period) else 0,
                ),
            ),
        ))
    return findings


def _in(frame: pd.DataFrame, window: TimeWindow) -> pd.Series:
    return (frame["timestamp"] >= pd.Timestamp(window.start)) & (frame["timestamp"] <= pd.Timestamp(window.end))


def _namespace(series: pd.DataFrame) -> str:
    return str(series["namespace"].iloc[0] or "") if "namespace" in series and len(series) else ""


def _constraint(
    resource: str, signal: str, summary: str, onset, value: float, kind: ConstraintKind, metric: str, namespace: str
) -> Finding:
    return Finding(
        id=Finding.make_id("metric", resource, signal), domain="infrastructure", kind="metric", resource=resource,
        signal=signal, summary=summary, onset=onset.to_pydatetime(), score=0.95, direction="up" if kind == "limit" else "down",
        evidence=Evidence(incident_value=value, details=MetricDetails(namespace=namespace, metric=metric, constraint=kind, limit_reached=True)),
    )


def _headroom_findings(frame: pd.DataFrame, incident: TimeWindow, baseline: list[TimeWindow]) -> list[Finding]:
    """Free-space-like metrics (FreeStorageSpace, ...) that fell to almost nothing."""
    names = [m for m in frame["metric"].unique() if _HEADROOM.search(str(m))]
    rows = frame[frame["metric"].isin(names)]
    if rows.empty:
        return []
    normal = rows[pd.concat([_in(rows, w) for w in baseline], axis=1).any(axis=1)]
    usual = normal.groupby(["resource", "metric"])["value"].median()
    findings = []
    for (resource, metric), series in rows[_in(rows, incident)].groupby(["resource", "metric"]):
        level = usual.get((resource, metric))
        if level is None or level <= 0:
            continue
        low = series[series["value"] <= EXHAUSTED * level].sort_values("timestamp")
        if low.empty:
            continue
        findings.append(_constraint(
            str(resource), f"{metric} exhausted",
            f"{resource} ran out of {metric}: {low['value'].iloc[0]:.4g} at {low['timestamp'].iloc[0]:%H:%M} UTC "
            f"(usually {level:.4g})", low["timestamp"].iloc[0], float(low["value"].iloc[0]), "exhausted", str(metric), _namespace(low),
        ))
    return findings


def _limit_findings(frame: pd.DataFrame, incident: TimeWindow, topology: Topology) -> list[Finding]:
    """Usage at a limit recorded on the resource (attribute `max_<name>` or `<name>_limit`)."""
    findings = []
    rows = frame[_in(frame, incident)]
    for resource in topology.resources:
        for key, raw in resource.attributes.items():
            stem = key[4:] if key.startswith("max_") else key[:-6] if key.endswith("_limit") else None
            try:
                limit = float(raw)
            except ValueError:
                continue
            if not stem or limit <= 0:
                continue
            stem_text = stem.replace("_", "").lower()
            mine = rows[(rows["resource"] == resource.id)
                        & rows["metric"].str.lower().str.replace("_", "").str.contains(stem_text, regex=False)]
            at_limit = mine[mine["value"] >= AT_LIMIT * limit].sort_values("timestamp")
            if at_limit.empty:
                continue
            metric = str(at_limit["metric"].iloc[0])
            findings.append(_constraint(
                resource.id, f"{metric} at its limit",
                f"{resource.id} {metric} reached {at_limit['value'].iloc[0]:.4g} of its limit {limit:g} ({key}) "
                f"at {at_limit['timestamp'].iloc[0]:%H:%M} UTC", at_limit["timestamp"].iloc[0],
                float(at_limit["value"].iloc[0]), "limit", metric, _namespace(at_limit),
            ))
    return findings
