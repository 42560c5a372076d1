"""Trace analysis: blame the deepest span whose own time or own errors changed.

- Exclusive (self) time of a span = its duration minus the time covered by its children,
  so a slow dependency does not make every caller look slow.
- An own error is an error/fault span none of whose children failed: the failure started
  there rather than being passed up.
- The network view: for a call whose caller-side span has exactly one child in another
  service, gap = caller-side duration - callee-side duration is the time spent between the
  two (network, proxies, queues). A gap that grows while the callee's own time stays normal
  is a network problem on that edge. Where the caller records the call itself (a database
  or API subsegment), there is no gap to measure: calls on one edge that slowed while the
  callee's other callers saw no change are that edge's delay.

Each signal is compared with the baseline spans of the same service (or edge) by a robust
z-score of the incident median against the baseline distribution, like the metric analysis,
and error rates by a smoothed binomial z-score.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd

from domain.findings import TraceDetails
from domain.models import Evidence, Finding
from tools.analysis.call_graph import with_caller
from tools.analysis.metrics import Z_ONSET, z_to_score

_NORMAL = NormalDist()
MIN_SPANS = 5  # fewer incident spans than this for a service say nothing reliable


def _prepare(spans: pd.DataFrame) -> pd.DataFrame:
    frame = spans[["trace_id", "span_id", "parent_id", "service", "start", "end", "error", "fault"]].copy()
    frame["duration"] = (frame["end"] - frame["start"]).dt.total_seconds().clip(lower=0.0)
    frame["failed"] = frame["error"].astype(bool) | frame["fault"].astype(bool)
    children = frame[frame["parent_id"].notna()]
    child_stats = children.groupby(["trace_id", "parent_id"]).agg(
        child_time=("duration", "sum"),
        child_failed=("failed", "any"),
        child_count=("duration", "size"),
    )
    frame = frame.join(child_stats, on=["trace_id", "span_id"])
    frame["child_time"] = frame["child_time"].fillna(0.0)
    frame["child_failed"] = frame["child_failed"].astype("boolean").fillna(False).astype(bool)
    frame["child_count"] = frame["child_count"].fillna(0).astype(int)
    # Children that overlap each other can sum past the parent: clip at zero.
    frame["self_time"] = (frame["duration"] - frame["child_time"]).clip(lower=0.0)
    frame["own_error"] = frame["failed"] & ~frame["child_failed"]
    return frame


def _edges(frame: pd.DataFrame) -> pd.DataFrame:
    """Caller-side span joined with its only child when that child is in another service."""
    parents = frame[frame["child_count"] == 1][["trace_id", "span_id", "service", "duration"]]
    children = frame[frame["parent_id"].notna()][["trace_id", "parent_id", "service", "duration", "self_time", "start"]]
    pairs = children.merge(
        parents, left_on=["trace_id", "parent_id"], right_on=["trace_id", "span_id"], suffixes=("_callee", "_caller")
    )
    pairs = pairs[pairs["service_callee"] != pairs["service_caller"]]
    pairs["gap"] = (pairs["duration_caller"] - pairs["duration_callee"]).clip(lower=0.0)
    return pairs


def _reference(baseline: pd.Series) -> tuple[float, float] | None:
    """The baseline's median and robust spread, None when it has too few spans to say."""
    values = baseline.dropna().to_numpy(dtype=float)
    if len(values) < MIN_SPANS:
        return None
    median = float(np.median(values))
    deviation = np.abs(values - median)
    scale = max(1.4826 * float(np.median(deviation)), 1.2533 * float(deviation.mean()), 0.01 * abs(median), 1e-6)
    return median, scale


def _shift(values: np.ndarray, reference: tuple[float, float] | None) -> float:
    if reference is None or len(values) < MIN_SPANS:
        return 0.0
    return (float(np.median(values)) - reference[0]) / reference[1]


def _robust_shift(incident: pd.Series, baseline: pd.Series) -> float:
    """How many baseline robust standard deviations the incident median sits above the baseline median."""
    return _shift(incident.dropna().to_numpy(dtype=float), _reference(baseline))


# The shares of the incident spans (the latest ones) a network gap is also looked for in. A
# delay that begins late in a long window moves the median of the window's calls little or
# not at all, though every call since its onset is slow; the metric analysis finds the onset
# of a run, and this is the trace analysis' counterpart. The smallest tail keeps a tenth of
# the spans (and at least MIN_SPANS): the median of that many baseline-like spans stays well
# within one robust sd of the baseline's, so looking at several tails does not turn noise
# into a shift. (A service's own time is still measured over the whole window: scanning it
# as well found many more late self-time shifts, and the cause category, read from a
# candidate's strongest findings, then went wrong on 11 of 130 game days.)
TAIL_SHARES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)


def _tail_shift(spans: pd.DataFrame, column: str, baseline: pd.Series) -> tuple[float, pd.DataFrame]:
    """The robust shift of `column` over the latest spans that show it best, and those spans.

    Tails are compared by shift x sqrt(spans), as a scan for a change in the mean weighs a
    longer stretch more: a shift as large over more spans is better evidence, so a window
    slow throughout keeps all its spans and a late fault keeps the stretch since its onset.
    Picking the best of several tails is several tests: the shift a tail shows is corrected
    for their number (Bonferroni, `_looked_at`), and never counts for less than the whole
    window's own shift."""
    ordered = spans[spans[column].notna()].sort_values("start")
    values = ordered[column].to_numpy(dtype=float)
    reference = _reference(baseline)  # once: every tail is measured against the same baseline
    count = len(values)
    whole = _shift(values, reference)
    best, best_z, best_size, looks = whole * math.sqrt(count), whole, count, 1
    for share in TAIL_SHARES[1:]:
        size = int(round(count * share))
        if size < MIN_SPANS:
            break
        looks += 1
        z = _shift(values[count - size:], reference)
        if z * math.sqrt(size) > best:
            best, best_z, best_size = z * math.sqrt(size), z, size
    if best_size == count:
        return whole, ordered
    return max(whole, _looked_at(best_z, looks)), ordered.iloc[count - best_size:]


def _looked_at(z: float, looks: int) -> float:
    """The z-score whose one-sided p-value is `looks` times that of `z` (Bonferroni)."""
    if z <= 0 or looks <= 1:
        return z
    p = min(0.5, looks * _NORMAL.cdf(-z))
    # Past z of about 8 the tail probability underflows to 0, where the correction is negligible.
    return max(0.0, -_NORMAL.inv_cdf(p)) if p > 0 else z


def _bernoulli_ll(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Log-likelihood of k flagged spans of n at their own rate k / n (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, k / np.maximum(n, 1.0), 0.0)
        hit = np.where(k > 0, k * np.log(np.where(rate > 0, rate, 1.0)), 0.0)
        miss = np.where(n - k > 0, (n - k) * np.log(np.where(rate < 1, 1.0 - rate, 1.0)), 0.0)
    return hit + miss


def _rise(spans: pd.DataFrame, flagged: pd.Series, normal_rate: float | None) -> tuple[pd.Timestamp, float | None]:
    """When the share of flagged spans (failed, or slower than the baseline's 99th percentile)
    rose from its normal rate: the change point of a Bernoulli model in which the spans before
    it keep `normal_rate` (the baseline's share) and those from it on have a higher rate of
    their own (maximum likelihood), at the first flagged span from there.

    The first flagged span of the window is no onset: one normal span in a hundred is slower
    than the baseline's 99th percentile, and a service that always fails a few calls fails one
    early in any window. A window already at the higher rate from its start splits at its start.
    Without a baseline rate (no baseline spans), the first flagged span.

    Also the seconds since the last unflagged span before it (None when there is none): with
    sampled traces the shift began somewhere in between, so the onset may look that late."""
    ordered = spans.assign(_flag=flagged.astype(bool)).sort_values("start", kind="stable")
    x = ordered["_flag"].to_numpy(dtype=float)
    starts = ordered["start"]
    if not x.any():
        return starts.min(), None
    first = int(np.argmax(x > 0))
    if normal_rate is None or not 0.0 < normal_rate < 1.0:
        return _with_normal_before(starts, x, first)
    n = len(x)
    cut = np.arange(n + 1, dtype=float)  # spans before the change point
    k1 = np.concatenate([[0.0], np.cumsum(x)])
    k2, n2 = k1[-1] - k1, n - cut
    ll = k1 * math.log(normal_rate) + (cut - k1) * math.log(1.0 - normal_rate) + _bernoulli_ll(k2, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        higher = (n2 > 0) & (k2 / np.maximum(n2, 1.0) > normal_rate)
    ll = np.where(higher, ll, -np.inf)
    best = int(np.argmax(ll)) if np.isfinite(ll).any() else first
    later = np.flatnonzero(x[best:] > 0)
    return _with_normal_before(starts, x, best + int(later[0]) if len(later) else first)


def _with_normal_before(starts: pd.Series, flags: np.ndarray, at: int) -> tuple[pd.Timestamp, float | None]:
    """The start of span `at`, and the seconds since the last unflagged span before it."""
    normal = np.flatnonzero(flags[:at] == 0)
    if not len(normal):
        return starts.iloc[at], None
    return starts.iloc[at], max(0.0, (starts.iloc[at] - starts.iloc[int(normal[-1])]).total_seconds())


def _share_above(values: pd.Series, threshold: float) -> float | None:
    """The smoothed share of `values` above `threshold`, None with no values."""
    if len(values) == 0:
        return None
    return (float((values > threshold).sum()) + 1.0) / (len(values) + 2.0)


def _rate_z(k_inc: int, n_inc: int, k_base: int, n_base: int) -> float:
    """Smoothed binomial z-score of an error-rate increase."""
    if n_inc < MIN_SPANS:
        return 0.0
    p0 = (k_base + 1.0) / (n_base + 2.0)
    expected = n_inc * p0
    return (k_inc - expected) / math.sqrt(max(expected * (1.0 - p0), 1e-9))


def _prepared(incident: pd.DataFrame, baseline: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    inc = _prepare(incident)
    base = _prepare(baseline) if not baseline.empty else inc.iloc[0:0]
    return inc, base


def service_trace_findings(incident: pd.DataFrame, baseline: pd.DataFrame) -> list[Finding]:
    """Findings on services whose own latency or own errors changed."""
    if incident.empty:
        return []
    inc, base = _prepared(incident, baseline)
    findings: list[Finding] = []

    base_by_service = dict(tuple(base.groupby("service")))
    for service, spans in inc.groupby("service"):
        reference = base_by_service.get(service, base.iloc[0:0])
        z_time = _robust_shift(spans["self_time"], reference["self_time"])
        if z_time >= Z_ONSET:
            limit = reference["self_time"].quantile(0.99) if len(reference) else None
            slow = spans[spans["self_time"] > limit] if limit is not None else spans
            onset, normal_s = (_rise(spans, spans["self_time"] > limit, _share_above(reference["self_time"], limit))
                               if limit is not None else (spans["start"].min(), None))
            base_ms = float(reference["self_time"].median()) * 1000
            inc_ms = float(spans["self_time"].median()) * 1000
            signal = "trace self time"
            findings.append(Finding(
                id=Finding.make_id("trace", str(service), signal),
                domain="application", kind="trace", resource=str(service), signal=signal,
                summary=f"{service} spends longer in its own code: median self time {base_ms:.1f} ms -> {inc_ms:.1f} ms ({z_time:.1f} robust sd)",
                onset=onset.to_pydatetime(), score=round(z_to_score(z_time), 4), direction="up",
                evidence=Evidence(
                    baseline_value=base_ms, incident_value=inc_ms, unit="ms",
                    trace_ids=[str(t) for t in slow.sort_values("self_time", ascending=False)["trace_id"].head(3)],
                    details=TraceDetails(test="self_time", z=round(z_time, 2), spans=len(spans), seen_normal_s=normal_s),
                ),
            ))
        k_inc, n_inc = int(spans["own_error"].sum()), len(spans)
        k_base, n_base = int(reference["own_error"].sum()), len(reference)
        z_err = _rate_z(k_inc, n_inc, k_base, n_base)
        if z_err >= Z_ONSET and k_inc > 0:
            failed = spans[spans["own_error"]]
            err_onset, err_normal_s = _rise(spans, spans["own_error"], (k_base + 1.0) / (n_base + 2.0) if n_base else None)
            signal = "trace own errors"
            base_rate = k_base / n_base if n_base else 0.0
            findings.append(Finding(
                id=Finding.make_id("trace", str(service), signal),
                domain="application", kind="trace", resource=str(service), signal=signal,
                summary=f"{service} fails in its own spans: {k_inc}/{n_inc} ({k_inc / n_inc:.1%}) vs {base_rate:.1%} in the baseline",
                onset=err_onset.to_pydatetime(),
                score=round(z_to_score(min(z_err, 50.0)), 4), direction="up",
                evidence=Evidence(
                    baseline_value=base_rate, incident_value=k_inc / n_inc, unit="ratio",
                    trace_ids=[str(t) for t in failed["trace_id"].head(3)],
                    details=TraceDetails(test="own_errors", z=round(z_err, 2), errors=k_inc, spans=n_inc, seen_normal_s=err_normal_s,
                                         rejected=int((failed["error"].astype(bool) & ~failed["fault"].astype(bool)).sum())),
                ),
            ))

    return findings


def edge_trace_findings(incident: pd.DataFrame, baseline: pd.DataFrame) -> list[Finding]:
    """Findings on calls that lose time between caller and callee (the network view)."""
    if incident.empty or baseline.empty:
        return []
    inc, base = _prepared(incident, baseline)
    inc_edges, base_edges = _edges(inc), _edges(base)
    if inc_edges.empty or base_edges.empty:
        return []
    findings = []
    base_groups = dict(tuple(base_edges.groupby(["service_caller", "service_callee"])))
    suspects = []
    for (caller, callee), calls in inc_edges.groupby(["service_caller", "service_callee"]):
        reference = base_groups.get((caller, callee))
        if reference is None:
            continue
        z_gap, since = _tail_shift(calls, "gap", reference["gap"])
        z_callee = _robust_shift(since["self_time"], reference["self_time"])
        # The time between the two grew while the callee's own time did not.
        if z_gap >= Z_ONSET and z_callee < Z_ONSET:
            suspects.append((caller, callee, since, reference, z_gap))
    callers_per_callee: dict[str, set[str]] = {}
    callees_per_caller: dict[str, set[str]] = {}
    for caller, callee, *_ in suspects:
        callers_per_callee.setdefault(callee, set()).add(caller)
        callees_per_caller.setdefault(caller, set()).add(callee)
    for caller, callee, calls, reference, z_gap in suspects:
        # The gap is the caller-side span's own time, which is either the network or the
        # caller's own code. It is the network to the callee when several callers see it, or
        # when the caller's other spans kept their usual self time. When one caller loses
        # time towards several callees that no other caller sees slow, the caller is what
        # they have in common (starved of CPU, threads, or its own network): no callee is blamed.
        if len(callers_per_callee[callee]) < 2:
            if len(callees_per_caller[caller]) >= 2 or not _caller_otherwise_normal(inc, base, caller, calls):
                continue
        findings.append(_edge_finding(
            str(caller), str(callee), "network_gap", calls, reference, z_gap,
            "calls {caller} -> {callee} lose time between the services: median gap {base_ms:.1f} ms -> "
            "{inc_ms:.1f} ms while {callee}'s own time is unchanged",
        ))
    return _late_senders_own_calls(findings + _edge_latency_findings(inc, base))


def _late_senders_own_calls(findings: list[Finding]) -> list[Finding]:
    """The edge findings less those on the calls of a service whose own callers get its answers late.

    A delay in what one service sends (a degraded interface, tc netem) shows on every edge it
    is an end of: its callers lose time waiting for its answers, and its own calls to its
    dependencies take longer. The second looks like each dependency's network, but the service
    is what those edges have in common, and its callers' findings already name it: its
    dependencies are not blamed for it. A delay on one edge into a dependency leaves the edges
    above it as they were (the caller's own span holds the slow call), so it is kept."""
    late = {f.resource for f in findings}
    return [f for f in findings if not (isinstance(d := f.evidence.details, TraceDetails) and d.caller in late)]


def _edge_latency_findings(inc: pd.DataFrame, base: pd.DataFrame) -> list[Finding]:
    """Calls on one edge that got slower while the callee served its other callers as before.

    A callee's span as one caller sees it (its duration less its own children) holds the time
    that edge adds: the network path, and a database or API call recorded on the caller's side.
    When only one caller's calls slowed, the callee's median over all its calls barely moves,
    and a delay that began late in the window moves the window's median less still: the calls
    are split by caller and scanned over their latest stretches (`_tail_shift`, corrected for
    the looks). The contrast with the other callers over the same minutes is what makes it the
    edge: a callee slow for every caller is its own time (`service_trace_findings`)."""
    inc_calls, base_calls = with_caller(inc), with_caller(base)
    if inc_calls.empty or base_calls.empty:
        return []
    base_groups = dict(tuple(base_calls.groupby(["caller", "service"])))
    findings = []
    for callee, spans in inc_calls.groupby("service"):
        if spans["caller"].nunique() < 2:
            continue  # one caller: its calls are all of the callee's, measured by the callee's own time
        for caller, calls in spans.groupby("caller"):
            reference = base_groups.get((caller, callee))
            if reference is None:
                continue
            z, since = _tail_shift(calls, "self_time", reference["self_time"])
            if z < Z_ONSET or not _others_kept_time(inc_calls, base_calls, str(callee), str(caller), since["start"].min()):
                continue
            findings.append(_edge_finding(
                str(caller), str(callee), "edge_latency", since, reference, z,
                "calls {caller} -> {callee} got slower: median {base_ms:.1f} ms -> {inc_ms:.1f} ms "
                "({z:.1f} robust sd) while {callee}'s calls from its other callers kept their time",
            ))
    return findings


_EDGE_MEASURE = {"network_gap": ("gap", "network gap"), "edge_latency": ("self_time", "edge latency")}


def _edge_finding(
    caller: str, callee: str, test: str, calls: pd.DataFrame, reference: pd.DataFrame, z: float, summary: str,
) -> Finding:
    """A network finding on `callee` about its calls from `caller`, whose measure (the gap between
    the two spans, or the callee's own time on that edge) shifted by `z`; `summary` is formatted
    with caller, callee, base_ms, inc_ms and z."""
    column, name = _EDGE_MEASURE[test]
    base_ms = float(reference[column].median()) * 1000
    inc_ms = float(calls[column].median()) * 1000
    signal = f"{name} from {caller}"
    limit = reference[column].quantile(0.99)
    slow = calls[calls[column] > limit]
    onset, normal_s = (_rise(calls, calls[column] > limit, _share_above(reference[column], limit))
                       if len(slow) else (calls["start"].min(), None))
    return Finding(
        id=Finding.make_id("trace", callee, signal),
        domain="network", kind="trace", resource=callee, signal=signal,
        summary=summary.format(caller=caller, callee=callee, base_ms=base_ms, inc_ms=inc_ms, z=z),
        onset=onset.to_pydatetime(),
        score=round(z_to_score(z), 4), direction="up",
        evidence=Evidence(
            baseline_value=base_ms, incident_value=inc_ms, unit="ms",
            trace_ids=[str(t) for t in slow.sort_values(column, ascending=False)["trace_id"].head(3)],
            details=TraceDetails(test=test, z=round(z, 2), calls=len(calls), caller=caller, seen_normal_s=normal_s),
        ),
    )


def _others_kept_time(inc_calls: pd.DataFrame, base_calls: pd.DataFrame, callee: str, caller: str, since) -> bool:
    """Whether `callee`'s calls from its other callers, since `since`, kept their baseline time."""
    other = inc_calls[(inc_calls["service"] == callee) & (inc_calls["caller"] != caller) & (inc_calls["start"] >= since)]
    reference = base_calls[(base_calls["service"] == callee) & (base_calls["caller"] != caller)]
    if len(other) < MIN_SPANS or len(reference) < MIN_SPANS:
        return False
    return _robust_shift(other["self_time"], reference["self_time"]) < Z_ONSET


def _caller_otherwise_normal(inc: pd.DataFrame, base: pd.DataFrame, caller: str, calls: pd.DataFrame) -> bool:
    # The caller's other spans over the same minutes as the slow calls (since their first).
    call_spans = set(zip(calls["trace_id"], calls["span_id"]))
    mine = inc[(inc["service"] == caller) & (inc["start"] >= calls["start"].min())]
    keys = list(zip(mine["trace_id"], mine["span_id"]))
    other = mine[[k not in call_spans for k in keys]]
    reference = base[base["service"] == caller]
    if len(other) < MIN_SPANS or len(reference) < MIN_SPANS:
        return False
    return _robust_shift(other["self_time"], reference["self_time"]) < Z_ONSET
