"""Metric shift against a baseline, with robust statistics.

For every series (resource, namespace, metric, stat, dimensions):
- the baseline's centre is its median and its spread the largest of 1.4826*MAD, 1.2533*mean
  absolute deviation and 0.1 % of |median| (so a flat baseline does not make float noise
  infinitely surprising, and a mostly-zero error count still has a spread);
- each incident point gets a robust z-score in the direction that is bad for that metric;
- the evidence is the strongest *sustained* run of points beyond `Z_ONSET` (at least
  `MIN_RUN` points, or every point when the incident has fewer), whose first point is the
  onset. A single spike is not an incident.
- a tail percentile (p95, p99) whose baseline held fewer calls per period than it needs is
  not tested (`_estimable_tail`): the slowest of two calls is no p99;
- a series only the incident has (a canary's new revision) is measured against its sibling's
  baseline, a failure count as failures per request (new_series.py).

Everything is vectorised over series, so 10,000 series of 240 points take well under a
second.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd

from domain.findings import MetricDetails, PerRequest
from domain.models import Evidence, Finding, SeriesSketch, TimeWindow
from tools.analysis.constraints import constraint_named
from tools.analysis.new_series import namespace_of, parsed_dimensions, with_new_partition_rates, with_sibling_references
from tools.analysis.semantics import bad_direction, is_percentage, is_traffic, metric_domain

KEY = ["resource", "namespace", "metric", "stat", "dimensions"]
Z_ONSET = 3.0  # a point this many robust standard deviations out is abnormal (p < 0.0015 one-sided)
MIN_RUN = 2  # consecutive abnormal points that make a sustained shift
Z_CAP = 50.0
MIN_BASELINE_POINTS = 3
SHORT_BASELINE_NOISE = 0.10  # relative spread assumed when the baseline has fewer points than that
PERCENT = 100.0  # the upper bound of a percentage
MAX_FINDINGS_PER_RESOURCE = 5
RECOVERED_BEFORE_ALARM = pd.Timedelta(minutes=5)  # a run over this long before the alarm is history
PARTITION_DOMINANCE = 1.5  # a partition's shift must exceed every sibling's by this factor


def z_to_score(z: float) -> float:
    """Map a robust z-score to an anomaly strength in [0, 1].

    Logistic, centred on z = 4 (score 0.5: a sustained shift clearly past the onset
    threshold) with scale 1, so z = 3 -> 0.27, z = 6 -> 0.88, z = 8 -> 0.98.
    """
    return 1.0 / (1.0 + math.exp(-(z - 4.0)))


def _dimensions(row: pd.Series) -> dict[str, str]:
    return parsed_dimensions(row["dimensions"])


def per_metric(
    namespaces: pd.Series | pd.Index, metrics: pd.Series | pd.Index, read: Callable[..., object], dtype: type = object
) -> np.ndarray:
    """`read(metric, namespace)` for every row, called once per distinct (namespace, metric).

    Each column is factorised on its own and the pair keyed by integers, looked up in an array
    (no sort): factorising the pairs as a MultiIndex takes seconds over millions of rows.
    """
    ns_codes, ns_values = pd.factorize(namespaces)
    metric_codes, metric_values = pd.factorize(metrics)
    width = len(metric_values) + 1
    key = (ns_codes.astype(np.int64) + 1) * width + (metric_codes.astype(np.int64) + 1)
    present = np.zeros((len(ns_values) + 1) * width, dtype=bool)
    present[key] = True
    lookup = np.zeros(len(present), dtype=dtype)
    for pair in np.flatnonzero(present):
        ns_code, metric_code = divmod(int(pair), width)
        namespace = ns_values[ns_code - 1] if ns_code > 0 else None
        metric = metric_values[metric_code - 1] if metric_code > 0 else ""
        lookup[pair] = read(str(metric), namespace_of(namespace))
    return lookup[key]


def _series_label(row: pd.Series) -> str:
    dims = _dimensions(row)
    dim_text = "".join(f" {k}={v}" for k, v in sorted(dims.items()))
    namespace = f"{row['namespace']}/" if row["namespace"] else ""
    return f"{namespace}{row['metric']} {row['stat']}{dim_text}"


def _within(ts: pd.Series, windows: TimeWindow | list[TimeWindow]) -> pd.Series:
    """Rows whose timestamp falls in any of `windows`."""
    mask = pd.Series(False, index=ts.index)
    for w in windows if isinstance(windows, list) else [windows]:
        mask |= (ts >= pd.Timestamp(w.start)) & (ts <= pd.Timestamp(w.end))
    return mask


def _baseline_stats(base: pd.DataFrame) -> pd.DataFrame:
    grouped = base.groupby(KEY, sort=False)["value"]
    median = grouped.median().rename("median")
    count = grouped.size().rename("n")
    bounded = ((grouped.min() >= 0) & (grouped.max() <= PERCENT)).rename("bounded")
    base = base.join(median, on=KEY)
    base["absdev"] = (base["value"] - base["median"]).abs()
    dev = base.groupby(KEY, sort=False)["absdev"]
    mad = dev.median().rename("mad")
    mean_ad = dev.mean().rename("mean_ad")
    stats = pd.concat([median, mad, mean_ad, count, bounded], axis=1)
    stats["scale"] = np.maximum.reduce([
        1.4826 * stats["mad"].to_numpy(),
        1.2533 * stats["mean_ad"].to_numpy(),
        0.001 * stats["median"].abs().to_numpy(),
        np.full(len(stats), 1e-9),
    ])
    # One or two normal points give a level but no spread: assume the series varies by
    # SHORT_BASELINE_NOISE of its level, a loose reference rather than none at all. A
    # percentage varies by that share of what lies between it and its nearer bound: an
    # availability of 99.6 % is 0.4 % of errors, which vary by a fraction of 0.4 points, not of
    # 99.6 (assuming the latter would hide a fall to 90 %).
    short = stats["n"] < MIN_BASELINE_POINTS
    level = stats["median"].abs()
    named = per_metric(stats.index.get_level_values("namespace"), stats.index.get_level_values("metric"),
                       is_percentage, bool)
    percent = stats["bounded"].to_numpy(dtype=bool) & named
    room = np.where(percent, np.minimum(level, PERCENT - level), level)
    # Yet a share of n requests moves in steps of 100/n: one failed call in five is 20 points.
    calls = _calls_per_resource(base)
    resources = pd.Series(stats.index.get_level_values("resource"))
    volume = resources.map(calls).to_numpy(dtype=float)
    resolution = np.where(percent & (volume > 0), PERCENT / volume, 0.0)
    spread = np.maximum(SHORT_BASELINE_NOISE * room, np.nan_to_num(resolution))
    stats.loc[short, "scale"] = np.maximum(stats.loc[short, "scale"], spread[short.to_numpy()])
    return stats.drop(columns="bounded")


def _estimable_tail(stats: pd.DataFrame, counts: dict[str, float]) -> np.ndarray:
    """Whether each baseline series can serve as a reference (False only for a tail percentile
    that the baseline's request count cannot estimate).

    A percentile pq over n calls is an order statistic: with fewer than 1 / (1 - q) calls in a
    period (20 for p95, 100 for p99) it is the slowest of a handful of calls, and the slowest
    of n calls grows with n. Such a baseline says nothing about the tail: when the resource is
    then called forty times as often, its "p99" rises although no call got slower. The
    resource's other statistics (its average, its median) still test the same latency. The
    count is the baseline's median request count per period (`baseline_calls`), so resources
    without a counted traffic metric are never filtered.

    Only the upper tail (q above one half) grows with the number of calls; a median or a lower
    percentile of a few calls is noisy but not biased upward, so it is tested. p100 is the
    maximum, which no count makes a percentile: it is left to be read as one.
    """
    stat = pd.Series(stats.index.get_level_values("stat"), dtype=str)
    q = pd.to_numeric(stat.str.extract(_TAIL, expand=False), errors="coerce").to_numpy() / 100.0
    volume = pd.Series(stats.index.get_level_values("resource")).map(counts).to_numpy(dtype=float)
    tail = (q > 0.5) & (q < 1)  # NaN (not a percentile) compares False
    needed = np.zeros(len(q))
    # Rounded: 1 / (1 - 0.9) is 10.000000000000002 in floating point, and ten calls do make a p90.
    needed[tail] = np.round(1.0 / (1.0 - q[tail]), 6)
    return ~(np.isfinite(volume) & (volume < needed))


def _directional_z(frame: pd.DataFrame) -> np.ndarray:
    raw = (frame["value"].to_numpy() - frame["median"].to_numpy()) / frame["scale"].to_numpy()
    direction = frame["bad"].to_numpy()
    z = np.where(direction == "up", raw, np.where(direction == "down", -raw, np.abs(raw)))
    return np.clip(z, -Z_CAP, Z_CAP)


def metric_findings(
    frame: pd.DataFrame,
    *,
    incident: TimeWindow,
    baseline: TimeWindow | list[TimeWindow],
    alarm_time: datetime,
    named_resources: set[str] | None = None,
    stale_baseline: bool = False,
    earliest_onset: datetime | None = None,
    calls_per_period: dict[str, float] | None = None,
) -> list[Finding]:
    """Findings for every series that shifted in a sustained way during `incident`.

    `stale_baseline`: the baseline was recorded far from the incident (days or months), so a
    series may differ from it for reasons that have nothing to do with the incident. Then a
    shift must also stand against the series' own points just before the alarm (see
    `_against_pre_alarm`): what changed must have changed now.

    `named_resources`: resource ids that a dimension value may name (an Availability Zone,
    a target group...). When a series family moved under one such value only, while its
    siblings under the other values did not, that resource gets a finding of its own
    (see `_partition_findings`): a gray failure in one zone looks like this.

    Runs that end before `incident` starts, or that start after `alarm_time` plus a quarter of
    the incident window, are ignored: the first is history, the second an after-effect.
    `earliest_onset`: when the alarm tells how early the fault can have begun, a run already
    under way before then is history too (another fault's tail, or noise), not this fault.
    `calls_per_period`: each resource's baseline calls per period (`baseline_calls`), when the
    traffic metrics are not in `frame` itself; a tail percentile they cannot estimate is skipped.
    """
    if frame.empty:
        return []
    ts = frame["timestamp"]
    base = frame[_within(ts, baseline)]
    inc = frame[_within(ts, incident)]
    if base.empty or inc.empty:
        return []
    base, inc = with_new_partition_rates(base, inc, KEY)
    stats = _baseline_stats(base)
    stats = stats[_estimable_tail(stats, calls_per_period if calls_per_period is not None else baseline_calls(frame, baseline))]
    stats = with_sibling_references(stats, inc, KEY)
    inc = inc.join(stats, on=KEY, how="inner")
    if inc.empty:
        return []
    inc = inc.sort_values(KEY + ["timestamp"], kind="stable").reset_index(drop=True)
    inc["bad"] = per_metric(inc["namespace"], inc["metric"], bad_direction)
    # A level someone sets (provisioned capacity, a desired count) has no bad direction: a
    # change to it is a change event, which the change history reports, not an anomaly.
    inc = inc[inc["bad"] != "none"].reset_index(drop=True)
    if inc.empty:
        return []
    inc["z"] = _directional_z(inc)

    group_id = inc.groupby(KEY, sort=False).ngroup().to_numpy()
    abnormal = inc["z"].to_numpy() >= Z_ONSET
    # A run is a maximal stretch of abnormal points within one series.
    boundary = np.r_[True, (group_id[1:] != group_id[:-1]) | (abnormal[1:] != abnormal[:-1])]
    inc["run"] = np.cumsum(boundary)
    inc["abnormal"] = abnormal
    points_per_series = inc.groupby(group_id)["value"].transform("size").to_numpy()
    runs = inc[abnormal].groupby("run").agg(
        start=("timestamp", "first"),
        end=("timestamp", "last"),
        length=("z", "size"),
        z=("z", "median"),
        value=("value", "median"),
        first_index=("z", lambda s: s.index[0]),
        **({"requests": ("requests", "median")} if "requests" in inc.columns else {}),
    )
    if runs.empty:
        return []
    needed = np.minimum(MIN_RUN, points_per_series[runs["first_index"].to_numpy()])
    late = pd.Timestamp(alarm_time) + (pd.Timestamp(incident.end) - pd.Timestamp(incident.start)) / 4
    runs = runs[(runs["length"] >= needed) & (runs["start"] <= late) & _present_at_alarm(runs, inc, group_id, alarm_time)]
    if earliest_onset is not None:
        runs = runs[runs["start"] >= pd.Timestamp(earliest_onset)]
    if runs.empty:
        return []
    counted = [c for c in ("counted_metric", "counted_stat") if c in inc.columns]
    runs = runs.join(inc.loc[runs["first_index"], KEY + ["median", "scale", "bad", *counted]].set_index(runs.index))
    if stale_baseline:
        runs = _against_pre_alarm(runs, inc, alarm_time)
        if runs.empty:
            return []
    # Strongest run per series: by median z, longer runs breaking ties.
    runs = runs.sort_values(["z", "length"], ascending=False).drop_duplicates(KEY)

    periods = _periods(inc)
    # The end of each series' data: a run that ended well before it was seen to recover.
    observed_until = {key: (t + pd.Timedelta(seconds=periods.get(key, 60))).to_pydatetime()
                      for key, t in inc.groupby(KEY, sort=False)["timestamp"].max().items()}
    series_of: dict[str, tuple] = {}  # finding id -> the KEY of the series it is about
    findings: list[Finding] = _partition_findings(runs, inc, named_resources or set(), periods, observed_until, series_of)
    calls = _calls_per_resource(inc)
    for _, run in runs.iterrows():
        label = _series_label(run)
        reporters = _reporters(run["resource"], run["dimensions"], named_resources or set())
        z = float(run["z"])
        up = run["value"] >= run["median"]
        direction = "up" if up else "down"
        # Less activity on a metric with no bad direction (connections, bytes) is a
        # consequence of trouble elsewhere more often than a cause: treat it as traffic.
        namespace = namespace_of(run["namespace"])
        traffic = is_traffic(run["metric"], namespace) or (run["bad"] == "both" and not up)
        finding_id = Finding.make_id("metric", run["resource"], label)
        series_of[finding_id] = tuple(run[k] for k in KEY)
        findings.append(Finding(
            id=finding_id,
            domain=metric_domain(run["metric"], namespace),
            kind="metric",
            resource=run["resource"],
            signal=label,
            summary=(
                f"{label} went {direction} from {run['median']:.4g} to {run['value']:.4g} "
                f"({z:.1f} robust sd) for {int(run['length'])} points from {run['start']:%H:%M} UTC"
            ),
            onset=run["start"].to_pydatetime(),
            score=round(z_to_score(z), 4),
            direction=direction,
            evidence=Evidence(
                baseline_value=float(run["median"]),
                incident_value=float(run["value"]),
                details=MetricDetails(
                    namespace=str(run["namespace"] or ""),
                    metric=str(run["metric"]),
                    stat=str(run["stat"]),
                    dimensions=_dimensions(run),
                    z=round(z, 2),
                    points=int(run["length"]),
                    traffic=bool(traffic),
                    period_s=periods.get(tuple(run[k] for k in KEY), 60),
                    until=_until(run, periods),
                    observed_until=observed_until[tuple(run[k] for k in KEY)],
                    calls=round(calls[run["resource"]], 4) if run["resource"] in calls else None,
                    reported_by=reporters,
                    constraint=constraint_named(str(run["metric"])),
                    per_request=_per_request(run),
                ),
            ),
        ))
    return _with_series(_strongest_per_resource(findings), series_of, inc)


def _per_request(run: pd.Series) -> PerRequest | None:
    """What a rate per request was built from (`with_new_partition_rates`), None for any other series."""
    requests = run.get("requests")
    if not isinstance(run.get("counted_metric"), str) or requests is None or not np.isfinite(requests):
        return None
    return PerRequest(metric=run["counted_metric"], stat=str(run["counted_stat"]), requests=round(float(requests), 4))


def _present_at_alarm(runs: pd.DataFrame, inc: pd.DataFrame, group_id: np.ndarray, alarm_time: datetime) -> np.ndarray:
    """Runs still going on when the alarm evaluated: a shift that was over well before the
    alarm fired (an earlier blip, the tail of an earlier incident) is not what it saw.

    The last abnormal point covers one sampling period, and an alarm looks back over a few
    periods before it fires: RECOVERED_BEFORE_ALARM allows for that. `inc` is sorted by
    series and time, `group_id` numbers its series.
    """
    series = pd.Series(group_id, index=inc.index)
    step = inc["timestamp"].diff().where(series.eq(series.shift()))
    period = step.groupby(series).median()
    run_period = period.reindex(group_id[runs["first_index"].to_numpy()]).fillna(pd.Timedelta(minutes=1))
    covered_until = runs["end"] + pd.Series(run_period.to_numpy(), index=runs.index)
    return (covered_until >= pd.Timestamp(alarm_time) - RECOVERED_BEFORE_ALARM).to_numpy()


def _against_pre_alarm(runs: pd.DataFrame, inc: pd.DataFrame, alarm_time: datetime) -> pd.DataFrame:
    """Keep runs that also stand out against the series' own points before the run began.

    With a baseline far from the incident, a series may differ from it for reasons that have
    nothing to do with the incident; what the incident changed must have changed at the run's
    onset. The reference is the median of the series' points before the run's first point,
    leaving out the last of them when there are several (it may already hold the onset). Not
    the points before the alarm: a real alarm fires minutes after the onset (its evaluation
    periods), so those already hold the fault, and the real cause would be thrown away.

    A run that starts with the window has no points of its own before it: then the reference
    is the points before the alarm (as much as the window holds of "just before"), which keeps a
    level that has differed for days from passing for the incident's onset. The run's z
    becomes the smaller of the two.
    """
    times = np.sort(inc["timestamp"].unique())
    period = pd.Timedelta(np.median(np.diff(times))) if len(times) > 1 else pd.Timedelta(minutes=1)
    points = inc[KEY + ["timestamp", "value"]]
    keyed = runs[KEY + ["start"]].reset_index(names="run_id")
    before = keyed.merge(points, on=KEY)
    before = before[before["timestamp"] < before["start"] - period / 2]
    pre_run = _reference(before, "run_id")
    pre_alarm_points = points[points["timestamp"] < pd.Timestamp(alarm_time) - period / 2]
    pre_alarm = keyed.merge(pre_alarm_points, on=KEY)
    reference = pre_run.combine_first(_reference(pre_alarm, "run_id"))
    runs = runs.assign(pre=reference.reindex(runs.index).to_numpy())
    has_pre = runs["pre"].notna()
    raw = (runs["value"] - runs["pre"]) / runs["scale"]
    z_pre = np.where(runs["bad"] == "up", raw, np.where(runs["bad"] == "down", -raw, raw.abs()))
    runs = runs.assign(z=np.where(has_pre, np.minimum(runs["z"], z_pre), runs["z"]))
    return runs[~has_pre | (z_pre >= Z_ONSET)].drop(columns="pre")


def _reference(points: pd.DataFrame, by: str) -> pd.Series:
    """Median value per `by` group, leaving out each group's last point when it has several."""
    if points.empty:
        return pd.Series(dtype=float)
    ordered = points.sort_values("timestamp")
    position = ordered.groupby(by, sort=False).cumcount(ascending=False)
    count = ordered.groupby(by, sort=False)["value"].transform("size")
    return ordered[(position > 0) | (count == 1)].groupby(by)["value"].median()


def _periods(inc: pd.DataFrame) -> dict[tuple, int]:
    """Sampling period of each series in seconds (the median gap between its points)."""
    gaps = inc.groupby(KEY, sort=False)["timestamp"].diff().dt.total_seconds()
    return {key: int(value) for key, value in gaps.groupby([inc[k] for k in KEY], sort=False).median().dropna().items()}


_CALL_WORDS = re.compile(r"request|invocation|calls|workload", re.IGNORECASE)
_TAIL = re.compile(r"^[pP](\d+(?:\.\d+)?)$")  # a percentile statistic: p95, p99.9
_COUNT_STATS = {"sum", "samplecount"}  # statistics that count calls per period (not a rate)


def baseline_calls(frame: pd.DataFrame, baseline: TimeWindow | list[TimeWindow]) -> dict[str, float]:
    """Median calls per period of each resource over `baseline`, from its traffic metrics
    summed per period (a rate such as operations per second is not a count). Periods without a
    call are left out: a percentile has no point in them, so they say nothing of how many calls
    its points were computed over."""
    if frame.empty:
        return {}
    # Cheapest test first: the frame holds every series of the scope (millions of points).
    stats = frame["stat"].astype(str)
    counted = stats.isin({s for s in stats.unique() if s.lower() in _COUNT_STATS})
    base = frame[counted & _within(frame["timestamp"], baseline)]
    return _typical_calls(base[base["value"] > 0])


def _calls_per_resource(inc: pd.DataFrame) -> dict[str, float]:
    """Typical request volume of each resource in the incident window, from its traffic metrics.

    The ranker weighs a dependency's slowdown by how often it is called per call of its
    caller: means add up over calls.
    """
    return {r: v for r, v in _typical_calls(inc).items() if v > 0}


def _typical_calls(points: pd.DataFrame) -> dict[str, float]:
    """Per resource, the largest median over its call-volume series (requests, invocations) in `points`."""
    calls = per_metric(points["namespace"], points["metric"], lambda m, ns: bool(_CALL_WORDS.search(m)) and is_traffic(m, ns), bool)
    rows = points[calls]
    if rows.empty:
        return {}
    per_series = rows.groupby(KEY)["value"].median()
    return {str(r): float(v) for r, v in per_series.groupby(level="resource").max().items()}


def _reporters(resource: str, dimensions: str, named: set[str]) -> list[str]:
    """Other named resources a series' dimensions name (a client-side metric such as
    `DependencyErrors Service=<caller>` names the resource that measured it)."""
    return sorted({v for v in parsed_dimensions(dimensions).values() if v in named and v != resource})


def _partition(resource: str, dimensions: str, named: set[str]) -> tuple[str | None, str]:
    """(the named resource a dimension value points at, the other dimensions as text)."""
    dims = parsed_dimensions(dimensions)
    hits = [k for k, v in dims.items() if v in named and v != resource]
    if len(hits) != 1:
        return None, dimensions
    key = hits[0]
    rest = {k: v for k, v in dims.items() if k != key}
    return dims[key], json.dumps(rest, sort_keys=True)


def _until(run: pd.Series, periods: dict[tuple, int]) -> datetime:
    """The end of what the run's last abnormal point covers: when it was last seen abnormal."""
    period = periods.get(tuple(run[k] for k in KEY), 60)
    return (run["end"] + pd.Timedelta(seconds=period)).to_pydatetime()


def _partition_findings(
    runs: pd.DataFrame, inc: pd.DataFrame, named: set[str], periods: dict[tuple, int], observed_until: dict[tuple, datetime],
    series_of: dict[str, tuple],
) -> list[Finding]:
    """Findings on a named partition (e.g. a zone) whose series alone moved within a family."""
    if not named:
        return []
    series = inc[KEY].drop_duplicates()
    parts = [_partition(r, d, named) for r, d in zip(series["resource"], series["dimensions"])]
    series = series.assign(part=[p for p, _ in parts], rest=[r for _, r in parts])
    series = series[series["part"].notna()]
    if series.empty:
        return []
    moved = runs.reset_index(drop=True).merge(series, on=KEY)
    moved["delta"] = (moved["value"] - moved["median"]).abs()
    findings = []
    family = ["resource", "namespace", "metric", "stat", "rest"]
    present = series.groupby(family)["part"].nunique()
    for key, group in moved.groupby(family):
        if present.get(key, 0) < 2:
            continue
        group = group.sort_values("delta", ascending=False)
        # Calls cross partitions, so a zonal fault leaks into its siblings: the partition is
        # singled out when it moved clearly more (PARTITION_DOMINANCE x) than any sibling.
        if len(group) > 1 and group["delta"].iloc[0] < PARTITION_DOMINANCE * group["delta"].iloc[1]:
            continue
        run = row = group.iloc[0]
        part, z = str(row["part"]), float(run["z"])
        signal = f"{row['namespace']}/{row['metric']} {row['stat']} of {row['resource']} only in {part}"
        finding_id = Finding.make_id("metric", part, signal)
        series_of[finding_id] = tuple(run[k] for k in KEY)
        findings.append(Finding(
            id=finding_id,
            domain="infrastructure", kind="metric", resource=part, signal=signal,
            summary=(
                f"{row['resource']} {row['metric']} {row['stat']} moved only in {part}: {run['median']:.4g} -> "
                f"{run['value']:.4g} ({z:.1f} robust sd) from {run['start']:%H:%M} UTC; its other partitions stayed normal"
            ),
            onset=run["start"].to_pydatetime(), score=round(z_to_score(z), 4),
            direction="up" if run["value"] >= run["median"] else "down",
            evidence=Evidence(
                baseline_value=float(run["median"]), incident_value=float(run["value"]),
                details=MetricDetails(
                    namespace=str(row["namespace"] or ""), metric=str(row["metric"]), stat=str(row["stat"]),
                    dimensions=_dimensions(row), z=round(z, 2), traffic=is_traffic(str(row["metric"]), namespace_of(row["namespace"])),
                    via=str(row["resource"]), period_s=periods.get(tuple(run[k] for k in KEY), 60),
                    until=_until(run, periods), observed_until=observed_until[tuple(run[k] for k in KEY)],
                    constraint=constraint_named(str(row["metric"])),
                ),
            ),
        ))
    return findings


def _with_series(findings: list[Finding], series_of: dict[str, tuple], inc: pd.DataFrame) -> list[Finding]:
    """Attach to each finding the sketch of its series over the incident window (`inc`, sorted
    by series and time, with the baseline's `median` and `scale` joined)."""
    if not findings:
        return findings
    rows_of = inc.groupby(KEY, sort=False).indices
    for finding in findings:
        rows = rows_of.get(series_of.get(finding.id))
        if rows is not None:
            finding.evidence.series = sketch(inc.iloc[rows])
    return findings


def sketch(points: pd.DataFrame) -> SeriesSketch:
    """One series' points (`timestamp`, `value`, and its baseline's `median` and `scale`) as a
    picture of at most SeriesSketch.MAX_POINTS points: longer series are averaged over equal
    time buckets, which keeps a sustained shift and its onset where they are. The band is what
    the analysis counts as normal: the baseline's centre +- Z_ONSET robust spreads."""
    median, scale = float(points["median"].iloc[0]), float(points["scale"].iloc[0])
    ts, values = points["timestamp"], points["value"].astype(float)
    if len(points) > SeriesSketch.MAX_POINTS:
        bucket = pd.cut(ts.astype("int64"), SeriesSketch.MAX_POINTS, labels=False)
        grouped = pd.DataFrame({"t": ts.to_numpy(), "v": values.to_numpy(), "b": bucket.to_numpy()}).groupby("b")
        ts, values = grouped["t"].first(), grouped["v"].mean()
    return SeriesSketch(
        timestamps=[t.to_pydatetime() for t in pd.to_datetime(ts)],
        values=[round(float(v), 6) for v in values],
        band_low=median - Z_ONSET * scale, band_high=median + Z_ONSET * scale, centre=median,
    )


def _strongest_per_resource(findings: list[Finding]) -> list[Finding]:
    # Strongest first, and among equally strong ones a metric not yet kept first: the same
    # metric in five zones says less than five metrics (scores saturate, so ties are common).
    kept: dict[str, list[Finding]] = {}
    seen: set[tuple[str, str]] = set()
    ordered = sorted(findings, key=lambda f: -f.score)
    ranked = []
    for finding in ordered:
        key = (finding.resource, _metric_of(finding))
        ranked.append((-round(finding.score, 2), key in seen, finding))
        seen.add(key)
    for _, _, finding in sorted(ranked, key=lambda r: r[:2]):
        bucket = kept.setdefault(finding.resource, [])
        if len(bucket) < MAX_FINDINGS_PER_RESOURCE:
            bucket.append(finding)
    return [f for bucket in kept.values() for f in bucket]


def alarm_metric_observation(
    frame: pd.DataFrame, findings: list[Finding], *, resource: str, metric: str, incident: TimeWindow,
    baseline: TimeWindow | list[TimeWindow],
) -> Finding | None:
    """When the alarmed metric shows no sustained shift, say so as an observation.

    The ranker uses it to tell a false alarm from an incident: if the metric that paged is
    within its baseline range, there is no change for a root cause to explain. None when the
    alarmed series is anomalous (a regular finding covers it) or absent from the data.
    """
    if any(f.resource == resource and _metric_of(f) == metric for f in findings):
        return None
    series = frame[(frame["resource"] == resource) & (frame["metric"] == metric)]
    if series.empty:
        return None
    ts = series["timestamp"]
    base = series[_within(ts, baseline)]
    inc = series[_within(ts, incident)]
    if base.empty or inc.empty:
        return None
    stats = _baseline_stats(base)
    inc = inc.join(stats, on=KEY, how="inner")
    if inc.empty:
        return None
    namespace = namespace_of(inc["namespace"].iloc[0])
    inc = inc.assign(bad=bad_direction(metric, namespace))
    z = float(np.max(_directional_z(inc)))
    label = f"{metric} (alarmed metric)"
    echoed = _echoed(inc.assign(z=_directional_z(inc)), findings, resource=resource, metric=metric, namespace=namespace)
    first = series.iloc[0]
    return Finding(
        id=Finding.make_id("metric", resource, label),
        domain=metric_domain(metric, namespace), kind="metric", resource=resource, signal=label,
        summary=f"the alarmed metric {metric} on {resource} shows no sustained shift from its baseline (largest point {z:.1f} robust sd)",
        score=round(z_to_score(z), 4),
        evidence=Evidence(details=MetricDetails(
            namespace=str(first["namespace"] or ""), metric=metric, stat=str(first["stat"]), dimensions=_dimensions(first),
            z=round(z, 2), alarm_metric_normal=True, echoes=echoed,
        )),
    )


ECHO_Z = 1.0  # the alarmed metric must be worse than its usual noise (one robust sd) to echo a shift


def _echoed(
    alarmed: pd.DataFrame, findings: list[Finding], *, resource: str, metric: str, namespace: str | None
) -> list[str]:
    """Resources whose shift of the alarmed metric the alarmed series echoes, though too faintly
    to be a shift of its own.

    An aggregate such as a front end's availability dilutes a failure of one of its dependencies
    by that dependency's share of its requests: 4 % errors on a dependency that serves a fifth of
    the requests is a 0.8 % dip at the top, within the noise. The dip is still there, in the
    alarm's direction and at the points where the dependency moved the same metric and statistic:
    at most of them (the dependency's weaker edges of the run may vanish in the dilution) and
    at MIN_RUN at least (one coinciding point is a blip). A false alarm's blip has no such
    counterpart: the dependencies that moved did so at other points. `alarmed`: the incident
    points of the alarmed series with their directional z.
    """
    bad = bad_direction(metric, namespace)
    echoed = []
    for f in findings:
        details = f.evidence.details
        if (f.resource == resource or not isinstance(details, MetricDetails) or details.metric != metric
                or f.onset is None or details.until is None or f.score < 0.5 or (bad != "both" and f.direction != bad)):
            continue
        stamps = alarmed["timestamp"]
        points = alarmed[(alarmed["stat"] == details.stat) & (stamps >= pd.Timestamp(f.onset))
                         & (stamps < pd.Timestamp(details.until))]
        echoing = int((points["z"] >= ECHO_Z).sum())
        if echoing >= MIN_RUN and echoing * 2 > len(points):
            echoed.append(f.resource)
    return sorted(set(echoed))


def _metric_of(finding: Finding) -> str | None:
    details = finding.evidence.details
    return details.metric if isinstance(details, MetricDetails) else None
