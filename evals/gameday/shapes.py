"""Recordings shaped like real ones: what real incident data has and the simulator's default lacks.

The default bundle is tidy: a 60-minute window before the alarm, the normal period right
before it, every metric at one-minute resolution, the alarmed series present. Real recordings
are not: the recording starts with the fault already in effect, the only normal data is from
another day, metrics come at five-minute or one-second periods, the alarmed metric was never
exported, tracing was off (no spans, and no call graph to go by), only metrics were exported. A
scenario asks for these through `Injection.shape`; `apply` reshapes the rendered telemetry after
the fault, the distractors and the alarm are decided.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np
import pandas as pd

from domain.models import ChangeEvent, TimeWindow, Trigger
from evals.gameday import logs as log_renderer
from evals.gameday import metrics as metric_renderer
from evals.gameday import spans as span_renderer
from evals.gameday.app import APP_NAMESPACE
from evals.gameday.scenario import Injection
from evals.gameday.sim import Simulation

BASELINE_MINUTES = 60  # of the far-away normal period
FIVE_MINUTES = 300


@dataclass
class Recording:
    window: TimeWindow
    baseline: TimeWindow
    metrics: pd.DataFrame
    logs: pd.DataFrame
    spans: pd.DataFrame
    changes: list[ChangeEvent]


def apply(inj: Injection, recording: Recording, trigger: Trigger, alarm_minute: int, base_rps: float) -> Recording:
    shape = inj.shape
    if shape.resolution_s == FIVE_MINUTES:
        recording = replace(recording, metrics=five_minute(recording.metrics, trigger))
    elif shape.resolution_s == 1:
        recording = replace(recording, metrics=one_second(recording.metrics, inj.rng))
    if shape.drop_alarm_series:
        m = recording.metrics
        alarmed = (m.resource == trigger.resource) & (m.metric == trigger.metric) & (m.stat == trigger.statistic)
        recording = replace(recording, metrics=m[~alarmed].reset_index(drop=True))
    if shape.no_tracing or shape.metrics_only:
        recording = replace(recording, spans=recording.spans.iloc[0:0])
    if shape.metrics_only:
        recording = replace(recording, logs=recording.logs.iloc[0:0])
    if shape.window_opens_after_onset:
        recording = _opens_after_onset(inj, recording, alarm_minute)
    if shape.baseline_days_away is not None:
        recording = _far_baseline(inj, recording, shape.baseline_days_away, base_rps)
    return recording


def _keep(recording: Recording, spans: list[TimeWindow]) -> Recording:
    """Only the telemetry inside `spans` (the recorder captured nothing in between)."""

    def inside(times: pd.Series) -> pd.Series:
        mask = pd.Series(False, index=times.index)
        for w in spans:
            mask |= (times >= pd.Timestamp(w.start)) & (times <= pd.Timestamp(w.end))
        return mask

    m, lg, sp = recording.metrics, recording.logs, recording.spans
    return replace(recording, metrics=m[inside(m.timestamp)].reset_index(drop=True),
                   logs=lg[inside(lg.timestamp)].reset_index(drop=True), spans=sp[inside(sp.start)].reset_index(drop=True))


def _opens_after_onset(inj: Injection, recording: Recording, alarm_minute: int) -> Recording:
    """The window opens one or more minutes after the onset; the normal period ends well before it."""
    sim, o = inj.sim, inj.onset
    opens = o + int(inj.rng.integers(1, max(2, alarm_minute - o)))
    gap = int(inj.rng.integers(10, 40))
    window = TimeWindow(start=sim.times[opens], end=recording.window.end)
    baseline = TimeWindow(start=sim.times[0], end=sim.times[max(20, o - gap)])
    kept = _keep(recording, [baseline, window])
    return replace(kept, window=window, baseline=baseline)


def _far_baseline(inj: Injection, recording: Recording, days: float, base_rps: float) -> Recording:
    """The normal period is an hour of the same system, fault-free, `days` before the incident."""
    sim = inj.sim
    start = sim.start - timedelta(days=days)
    start = start.replace(second=0, microsecond=0)
    other = Simulation(sim.app, start, BASELINE_MINUTES, inj.rng, base_rps)
    other.run()
    traces = span_renderer.render(other, BASELINE_MINUTES)
    metrics = metric_renderer.render(other).frame(BASELINE_MINUTES)
    logs = log_renderer.render(other, BASELINE_MINUTES, traces)
    baseline = TimeWindow(start=other.times[0], end=other.times[-1])
    window = recording.window
    kept = _keep(recording, [window])
    return replace(kept, baseline=baseline,
                   metrics=pd.concat([metrics, kept.metrics], ignore_index=True),
                   logs=pd.concat([logs, kept.logs], ignore_index=True),
                   spans=pd.concat([traces, kept.spans], ignore_index=True))


_AGGREGATE = {"Sum": "sum", "Maximum": "max", "Minimum": "min", "Average": "mean", "SampleCount": "sum"}


def five_minute(metrics: pd.DataFrame, trigger: Trigger) -> pd.DataFrame:
    """Every series at a five-minute period, as a basic-monitoring export has them; the alarmed
    series stays at one minute (the alarm was evaluated on it). A percentile over five minutes is
    not derivable from one-minute percentiles; the largest one-minute value stands in (an upper bound).
    """
    alarmed = (metrics.resource == trigger.resource) & (metrics.metric == trigger.metric) & (metrics.stat == trigger.statistic)
    rest = metrics[~alarmed].copy()
    rest["timestamp"] = rest["timestamp"].dt.floor("5min")
    keys = ["resource", "namespace", "metric", "stat", "dimensions", "timestamp"]
    parts = []
    for stat, group in rest.groupby("stat", sort=True):
        how = _AGGREGATE.get(str(stat), "max")
        parts.append(group.groupby(keys, sort=False, observed=True)["value"].agg(how).reset_index())
    return pd.concat([*parts, metrics[alarmed]], ignore_index=True)[list(metrics.columns)]


def one_second(metrics: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The application's own service-level metrics at one-second resolution (CloudWatch
    high-resolution custom metrics); AWS metrics stay at one minute. Counts are Poisson per
    second at the minute's rate; a one-second p99 rests on few requests, so it is far noisier.
    Per-zone application series are not published at high resolution and are left out.
    """
    app = metrics.namespace == APP_NAMESPACE
    zonal = metrics.dimensions.str.contains("AvailabilityZone")
    high = metrics[app & ~zonal]
    rows = np.repeat(np.arange(len(high)), 60)
    expanded = high.iloc[rows].reset_index(drop=True)
    expanded["timestamp"] = expanded["timestamp"] + pd.to_timedelta(np.tile(np.arange(60), len(high)), unit="s")
    per_minute = expanded["value"].to_numpy()
    counts = expanded["stat"].isin(["Sum", "SampleCount"]).to_numpy()
    values = np.where(counts, rng.poisson(np.clip(per_minute, 0, None) / 60.0).astype(float),
                      np.round(per_minute * rng.lognormal(0.0, 0.25, len(per_minute)), 1))
    expanded["value"] = values
    return pd.concat([metrics[~app], expanded], ignore_index=True)
