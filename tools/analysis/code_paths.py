"""Code paths cut short (or lengthened): log lines written per call, before and after a split.

A service that starts throwing part-way through a request stops writing the log lines that
would have followed, often without logging anything new: its error rate says nothing, but
each call now leaves fewer lines. Joining logs to spans by trace id, per service and entry
operation (so a change in the request mix does not count), the lines written per call are
compared between calls that started before the split and calls after it, with a
Mann-Whitney test (normal approximation). Its two-sided p-value, corrected for the number
of (service, operation) groups tested (Bonferroni), is scored like the log findings:
score = 1 / (1 + p_adj / 0.05), so 0.5 at the significance level.

Needs log lines that carry trace ids and at least `MIN_CALLS` calls on each side.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd

from agent.domain import Evidence, Finding
from tools.analysis.logs import ALPHA, score_from_p

MIN_CALLS = 3


def mann_whitney_z(after: np.ndarray, before: np.ndarray) -> float:
    """Mann-Whitney z of `after` against `before` (positive: `after` larger)."""
    n1, n2 = len(after), len(before)
    if n1 < MIN_CALLS or n2 < MIN_CALLS:
        return 0.0
    ranks = pd.Series(np.r_[after, before]).rank().to_numpy()
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    sd = math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    return (u - n1 * n2 / 2) / sd


def _calls(spans: pd.DataFrame, logs: pd.DataFrame) -> pd.DataFrame:
    """One row per (trace, service): the service's entry operations, its calls, its log lines."""
    parents = spans[["trace_id", "span_id", "service"]].rename(columns={"span_id": "parent_id", "service": "parent_service"})
    joined = spans[["trace_id", "parent_id", "service", "operation", "start"]].merge(parents, on=["trace_id", "parent_id"], how="left")
    entry = joined[joined["parent_service"].isna() | (joined["parent_service"] != joined["service"])]
    calls = entry.groupby(["trace_id", "service"]).agg(
        operations=("operation", lambda ops: "|".join(sorted(set(map(str, ops))))),
        calls=("operation", "size"),
        start=("start", "min"),
    )
    lines = logs[logs["trace_id"].notna()].groupby(["trace_id", "resource"]).size().rename("lines")
    lines.index = lines.index.set_names(["trace_id", "service"])
    calls = calls.join(lines, how="left").fillna({"lines": 0}).reset_index()
    calls["per_call"] = calls["lines"] / calls["calls"]
    return calls


def code_path_findings(logs: pd.DataFrame, spans: pd.DataFrame, *, split: datetime) -> list[Finding]:
    """Services whose calls write a different number of log lines after `split` than before."""
    if logs.empty or spans.empty or logs["trace_id"].notna().sum() == 0:
        return []
    calls = _calls(spans, logs)
    # Only services that log with trace ids at all can say anything.
    calls = calls[calls["service"].isin(logs.loc[logs["trace_id"].notna(), "resource"].unique())]
    trace_start = calls.groupby("trace_id")["start"].transform("min")
    calls["after"] = trace_start >= pd.Timestamp(split)
    strongest: dict[str, tuple[float, str, pd.DataFrame, pd.DataFrame]] = {}
    tests = 0
    for (service, operations), group in calls.groupby(["service", "operations"]):
        before, after = group[~group["after"]], group[group["after"]]
        tests += int(len(before) >= MIN_CALLS and len(after) >= MIN_CALLS)
        z = mann_whitney_z(after["per_call"].to_numpy(), before["per_call"].to_numpy())
        if abs(z) > abs(strongest.get(service, (0.0,))[0]):
            strongest[service] = (z, str(operations), before, after)
    findings = []
    for service, (z, operations, before, after) in strongest.items():
        p_adj = min(1.0, math.erfc(abs(z) / math.sqrt(2)) * max(tests, 1))
        if p_adj > ALPHA:
            continue
        fewer = z < 0
        usual, now = float(before["per_call"].median()), float(after["per_call"].median())
        outside = after[after["per_call"] < before["per_call"].min()] if fewer else after[after["per_call"] > before["per_call"].max()]
        onset = (outside if len(outside) else after)["start"].min()
        signal = f"log lines per call {'down' if fewer else 'up'}: {operations[:80]}"
        findings.append(Finding(
            id=Finding.make_id("log", str(service), signal),
            domain="application", kind="log", resource=str(service), signal=signal,
            summary=(
                f"{service} writes {'fewer' if fewer else 'more'} log lines per call of {operations[:60]} "
                f"({usual:.1f} -> {now:.1f}; {'a code path cut short' if fewer else 'a new code path'}, "
                f"{abs(z):.1f} sd, {len(after)} calls vs {len(before)} before)"
            ),
            onset=onset.to_pydatetime(), score=round(score_from_p(p_adj), 4), direction="down" if fewer else "up",
            evidence=Evidence(
                baseline_value=usual, incident_value=now, unit="lines/call",
                trace_ids=[str(t) for t in (outside if len(outside) else after)["trace_id"].head(3)],
                details={"z": round(z, 2), "p_value_corrected": float(f"{p_adj:.3g}"), "tests": tests, "calls_before": len(before), "calls_after": len(after), "operations": operations[:200]},
            ),
        ))
    return findings
