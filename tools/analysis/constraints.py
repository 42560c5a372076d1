"""Constraint checks: limits whose meaning is absolute, not relative to a baseline.

An expired certificate is expired whether or not it was already expired an hour ago, and a
baseline comparison cannot see it when the whole window sits past the expiry. These rules
read the value itself. They are vocabulary about metric names (ACM's DaysToExpiry and the
like), not about any service.
"""

from __future__ import annotations

import re

import pandas as pd

from agent.domain import Evidence, Finding, TimeWindow

_EXPIRY = re.compile(r"days_?to_?expir|daystoexpir|time_?to_?expir|expires_?in", re.IGNORECASE)


def constraint_findings(frame: pd.DataFrame, incident: TimeWindow) -> list[Finding]:
    """Findings for resources past (or within a day of) an expiry during the incident."""
    if frame.empty:
        return []
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
        if expired.empty and soon.empty:
            continue
        hit = expired if not expired.empty else soon
        state = "has expired" if not expired.empty else "expires within a day"
        signal = f"{metric} {'expired' if not expired.empty else 'expiring'}"
        findings.append(Finding(
            id=Finding.make_id("metric", str(resource), signal),
            domain="infrastructure", kind="metric", resource=str(resource), signal=signal,
            summary=f"{resource} {state}: {metric} = {hit['value'].iloc[0]:g} at {hit['timestamp'].iloc[0]:%H:%M} UTC",
            onset=hit["timestamp"].iloc[0].to_pydatetime(),
            score=0.95 if not expired.empty else 0.6,
            direction="down",
            evidence=Evidence(
                incident_value=float(hit["value"].iloc[0]), unit="days",
                details={"metric": str(metric), "stat": "", "constraint": "expiry"},
            ),
        ))
    return findings
