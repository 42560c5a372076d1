"""High-resolution metrics, analysed per minute.

A series stored every second (CloudWatch high-resolution metrics, 1 to 30 s) is mostly noise
point by point: an error count of 0, 1 or 3 per second, a two-point "run" that lasts two
seconds. The metric analysis reads a sustained shift as MIN_RUN abnormal points in a row and
compares sizes between resources point for point, so at one second a two-second blip would
count as much as a two-minute shift, and a count summed over a second would be set against
one summed over a minute. Every high-resolution series (points 30 s apart or closer) is
therefore aggregated to it first, as CloudWatch itself keeps such data after three hours:
Sum and SampleCount add up, Maximum and Minimum keep their extreme, and every other
statistic (Average, percentiles) is averaged over the minute. Baseline and incident points
are aggregated alike, so their comparison stays like with like.
"""

from __future__ import annotations

import pandas as pd

STANDARD_PERIOD_S = 60
# CloudWatch's high-resolution periods are 1, 5, 10 and 30 s: a series whose points come at
# most this far apart is one. (Standard series whose timestamps jitter around a minute are not.)
HIGH_RESOLUTION_S = 30
SERIES_KEY = ["resource", "namespace", "metric", "stat", "dimensions"]
_ADDS_UP = {"sum", "samplecount"}


def _how(stat: str) -> str:
    lowered = stat.lower()
    if lowered in _ADDS_UP:
        return "sum"
    if lowered in ("maximum", "max"):
        return "max"
    if lowered in ("minimum", "min"):
        return "min"
    return "mean"


def standard_resolution(frame: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """`frame` with every series finer than a minute aggregated per minute, and a note saying
    how many were (None when none was). The frame is returned as it is when no series is."""
    if frame.empty or not {"timestamp", "value", *SERIES_KEY} <= set(frame.columns):
        return frame, None
    # A series finer than a minute has points off the minute: most frames have none, and are
    # returned at the cost of one pass over the timestamps.
    stamps = frame["timestamp"]
    off_minute = (stamps.dt.second != 0) | (stamps.dt.microsecond != 0)
    if not off_minute.any():
        return frame, None
    ordered = frame.sort_values([*SERIES_KEY, "timestamp"], kind="stable").reset_index(drop=True)
    gaps = ordered.groupby(SERIES_KEY, sort=False, dropna=False)["timestamp"].diff().dt.total_seconds()
    period = gaps.groupby([ordered[k] for k in SERIES_KEY], sort=False, dropna=False).transform("median")
    fine = (period <= HIGH_RESOLUTION_S).to_numpy()
    if not fine.any():
        return frame, None
    high = ordered[fine]
    # Columns that describe a series rather than a point (a unit, say) stay as they are.
    keys = [*SERIES_KEY, *(c for c in frame.columns if c not in (*SERIES_KEY, "timestamp", "value"))]
    minute = high["timestamp"].dt.floor(f"{STANDARD_PERIOD_S}s")
    parts = []
    for how, rows in high.groupby(high["stat"].map(_how), sort=False):
        grouped = rows.groupby([*(rows[k] for k in keys), minute.loc[rows.index]], sort=False, dropna=False)["value"]
        parts.append(grouped.agg(how).reset_index())
    aggregated = pd.concat(parts, ignore_index=True)[list(frame.columns)]
    series = high.groupby(SERIES_KEY, sort=False, dropna=False).ngroups
    note = f"{series} high-resolution series (points {HIGH_RESOLUTION_S} s apart or closer) analysed per minute"
    return pd.concat([ordered[~fine], aggregated], ignore_index=True), note
