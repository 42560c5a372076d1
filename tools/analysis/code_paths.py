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

The same join says which calls failed where a service's spans carry no error status: a call
in which the service logged an error line (`failing_call_findings`). The share of its calls that fail is
compared with the baseline's (one-sided Fisher exact test). A share of calls needs no allowance
for traffic, which the log rate tests must make, so a handful of failing calls out of a few dozen
is evidence even over a window of minutes and a baseline of one.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd

from domain.findings import LogDetails
from domain.models import Evidence, Finding
from tools.analysis.logs import ALPHA, _is_error, _rise_onset, score_from_p, tarone_count

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


# Every word `_is_error` can fire on contains one of these (case-insensitively): a cheap,
# vectorised pre-filter, so the exact per-line test only runs on the few lines that might match.
_ERROR_HINT = r"(?i)err|fatal|severe|crit|panic|emerg|alert|exception|traceback|caused by|throwable|stack ?trace|fail|refused|unreachable|timed out|timeout"


def _error_lines(messages: pd.Series) -> np.ndarray:
    """Which log lines are errors (`logs._is_error`), without a Python call for every line."""
    text = messages.astype(str)
    hint = text.str.contains(_ERROR_HINT, regex=True).to_numpy(dtype=bool)
    errors = np.zeros(len(text), dtype=bool)
    candidates = np.flatnonzero(hint)
    errors[candidates] = [_is_error(line) for line in text.to_numpy()[candidates]]
    return errors


def _entry_operations(entry: pd.DataFrame) -> dict[tuple, str]:
    """(trace, service) -> its distinct entry operations, sorted and joined by "|".

    A plain loop over the sorted rows: a per-group pandas call costs ~40 us, and a trace set has
    hundreds of thousands of (trace, service) pairs.
    """
    ops = entry[["trace_id", "service", "operation"]].astype({"operation": str}).drop_duplicates()
    ops = ops.sort_values(["trace_id", "service", "operation"], kind="stable")
    joined: dict[tuple, str] = {}
    for trace, service, operation in zip(ops["trace_id"].to_numpy(), ops["service"].to_numpy(), ops["operation"].to_numpy()):
        key = (trace, service)
        joined[key] = f"{joined[key]}|{operation}" if key in joined else operation
    return joined


def _calls(spans: pd.DataFrame, logs: pd.DataFrame) -> pd.DataFrame:
    """One row per (trace, service): the service's entry operations, its calls, its log lines."""
    parents = spans[["trace_id", "span_id", "service"]].rename(columns={"span_id": "parent_id", "service": "parent_service"})
    joined = spans[["trace_id", "parent_id", "service", "operation", "start"]].merge(parents, on=["trace_id", "parent_id"], how="left")
    entry = joined[joined["parent_service"].isna() | (joined["parent_service"] != joined["service"])]
    calls = entry.groupby(["trace_id", "service"]).agg(calls=("operation", "size"), start=("start", "min"))
    operations = _entry_operations(entry)
    calls["operations"] = [operations[key] for key in calls.index]
    traced = logs[logs["trace_id"].notna()]
    traced = traced.assign(error=_error_lines(traced["message"]))
    lines = traced.groupby(["trace_id", "resource"]).agg(lines=("message", "size"), errors=("error", "sum"))
    lines.index = lines.index.set_names(["trace_id", "service"])
    calls = calls.join(lines, how="left").fillna({"lines": 0, "errors": 0}).reset_index()
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
            id=Finding.make_id("log", str(service), f"lines per call {operations}"),
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
                details=LogDetails(
                    test="lines_per_call", z=round(z, 2), p_value_corrected=float(f"{p_adj:.3g}"), tests=tests,
                    calls_before=len(before), calls_after=len(after), operations=operations[:200],
                ),
            ),
        ))
    return findings


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_greater(k_after: int, n_after: int, k_before: int, n_before: int) -> float:
    """One-sided Fisher exact p: at least `k_after` of the k_after + k_before failures fall among
    the `n_after` calls when failures are spread over all calls alike (hypergeometric tail)."""
    total, failed = n_after + n_before, k_after + k_before
    denominator = _log_choose(total, failed)
    top = min(failed, n_after)
    terms = [
        _log_choose(n_after, k) + _log_choose(n_before, failed - k) - denominator
        for k in range(k_after, top + 1) if failed - k <= n_before
    ]
    return min(1.0, sum(math.exp(t) for t in terms))


def failing_call_findings(
    logs: pd.DataFrame, spans: pd.DataFrame, base_logs: pd.DataFrame, base_spans: pd.DataFrame, *, splits: list[datetime],
) -> list[Finding]:
    """Services a larger share of whose calls log an error than before.

    Before: the baseline's calls and the incident window's calls older than the split. `splits`
    are the candidate onsets (one when the onset is known; the minutes up to the alarm when it
    is only known to come before it): each is tried and the p-value is multiplied by their
    number (Bonferroni), so an onset a minute before the alarm is found without its own failing
    calls joining the reference. Only calls in which the service logged at all count on either
    side: a call without lines says nothing about its failing, and a service whose logs were
    not kept in the baseline is not compared."""
    if logs.empty or spans.empty or logs["trace_id"].notna().sum() == 0 or not splits:
        return []
    window = _calls(spans, logs)
    window["start"] = window.groupby("trace_id")["start"].transform("min")
    window = window[window["lines"] > 0]
    base = _calls(base_spans, base_logs) if not base_spans.empty and not base_logs.empty else window.iloc[0:0]
    base = base[base["lines"] > 0]
    # Spans that carry an error status say themselves which calls failed (the trace analysis
    # reads them): only services whose spans never do are judged by their logs.
    flagged = pd.concat([spans, base_spans])
    flagged = set(flagged.loc[flagged["error"].astype(bool) | flagged["fault"].astype(bool), "service"])
    # Counts only: (failed, all) usual calls per service, and each service's calls in time order
    # with a running count of failures, so every split is two lookups rather than a filter.
    usual_counts = base.assign(failed=base["errors"] > 0).groupby("service")["failed"].agg(["sum", "size"])
    split_times = [pd.Timestamp(split) for split in splits]
    tests = []
    for service, calls in window.groupby("service"):
        if service in flagged:
            continue
        calls = calls.sort_values("start", kind="stable")
        k_usual, n_usual = (int(v) for v in usual_counts.loc[service]) if service in usual_counts.index else (0, 0)
        failed_so_far = np.r_[0, np.cumsum((calls["errors"] > 0).to_numpy())]
        best = None
        for split in split_times:
            n_early = int(calls["start"].searchsorted(split, side="left"))
            k_early = int(failed_so_far[n_early])
            n_after, k_after = len(calls) - n_early, int(failed_so_far[-1]) - k_early
            n_before, k_before = n_usual + n_early, k_usual + k_early
            if n_after < MIN_CALLS or n_before < MIN_CALLS or k_after * n_before <= k_before * n_after:
                continue
            failed = k_after + k_before
            # The smallest p these margins allow: every failure among the incident's calls.
            p_min = fisher_greater(min(failed, n_after), n_after, failed - min(failed, n_after), n_before) * len(splits)
            p = fisher_greater(k_after, n_after, k_before, n_before) * len(splits)
            if best is None or p < best[0]:
                best = (p, p_min, calls.iloc[n_early:], k_before, n_before)
        if best is not None:
            tests.append((str(service), *best))
    # Bonferroni over Tarone's count of the services whose counts could reach significance.
    k = tarone_count([t[2] for t in tests])
    findings = []
    for service, p, _, after, k_before, n_before in tests:
        p_adj = min(1.0, p * k)
        if p_adj > ALPHA:
            continue
        failing = after[after["errors"] > 0]
        share_before, share_after = k_before / n_before, len(failing) / len(after)
        onset = failing["start"].min() if k_before == 0 else _rise_onset(failing["start"], after["start"].min(), after["start"].max())
        signal = "calls logging errors"
        findings.append(Finding(
            id=Finding.make_id("log", service, signal),
            domain="application", kind="log", resource=service, signal=signal,
            summary=(
                f"{service} logs an error in {len(failing)} of {len(after)} calls ({share_after:.0%}) vs "
                f"{k_before} of {n_before} ({share_before:.0%}) before"
            ),
            onset=onset.to_pydatetime(), score=round(score_from_p(p_adj), 4), direction="up",
            evidence=Evidence(
                baseline_value=share_before, incident_value=share_after, unit="ratio",
                trace_ids=[str(t) for t in failing["trace_id"].head(3)],
                details=LogDetails(
                    test="calls_with_errors", p_value_corrected=float(f"{p_adj:.3g}"), tests=k * len(splits),
                    calls_before=n_before, calls_after=len(after),
                ),
            ),
        ))
    return findings
