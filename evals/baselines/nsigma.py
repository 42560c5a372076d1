"""The n-sigma baseline: rank resources by the largest robust z-score of any of their series.

For every metric series (resource, namespace, metric, statistic, dimensions):

    z = max over incident points of |x - median(normal)| / (1.4826 * MAD(normal))

where MAD is the median absolute deviation of the normal period (1.4826 * MAD estimates the
standard deviation of normal data). A resource's score is its largest z. No topology, no
onset search, no caps: it is the plain statistic the engine has to beat.

When more than half the normal points are equal (a sparse counter: mostly 0, now and then 1),
the MAD is 0 and says nothing about the spread; the standard deviation of the normal period is
the scale then. When the normal period has no spread at all (a counter that was always 0), any
departure scores infinity and no departure scores 0. Ties (two infinities, say) are broken by the larger
relative change |x - median| / max(|median|, 1), then by name, so the order is deterministic.
A series needs MIN_NORMAL_POINTS normal points and one incident point to be scored.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evals.baselines.windows import normal_and_incident
from tools.bundle.format import IncidentManifest
from tools.source import TelemetrySource

MAD_TO_SIGMA = 1.4826
MIN_NORMAL_POINTS = 3
KEY = ["resource", "namespace", "metric", "stat", "dimensions"]


def _frame(source: TelemetrySource, window) -> pd.DataFrame:
    result = source.metrics(window)
    if not result.ok or result.data is None or result.data.empty:
        return pd.DataFrame(columns=[*KEY, "timestamp", "value"])
    frame = result.data[[*KEY, "timestamp", "value"]].copy()
    for column in KEY:
        frame[column] = frame[column].astype(str)  # categories from different reads do not join
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame[np.isfinite(frame["value"])]


def series_scores(source: TelemetrySource, manifest: IncidentManifest) -> pd.DataFrame:
    """One row per scored series: KEY columns, `z` and `relative` (the largest relative change)."""
    normal_window, incident_window = normal_and_incident(manifest)
    if normal_window is None or incident_window is None:
        return pd.DataFrame(columns=[*KEY, "z", "relative"])
    normal = _frame(source, normal_window)
    incident = _frame(source, incident_window)
    stats = normal.groupby(KEY, observed=True)["value"].agg(median="median", count="size", std="std").reset_index()
    normal = normal.merge(stats[[*KEY, "median"]], on=KEY)
    normal["abs_dev"] = (normal["value"] - normal["median"]).abs()
    mad = normal.groupby(KEY, observed=True)["abs_dev"].median().rename("mad").reset_index()
    stats = stats.merge(mad, on=KEY)
    stats = stats[stats["count"] >= MIN_NORMAL_POINTS]
    joined = incident.merge(stats, on=KEY)
    if joined.empty:
        return pd.DataFrame(columns=[*KEY, "z", "relative"])
    deviation = (joined["value"] - joined["median"]).abs()
    scale = (MAD_TO_SIGMA * joined["mad"]).where(joined["mad"] > 0, joined["std"].fillna(0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(scale > 0, deviation / scale, np.where(deviation > 0, math.inf, 0.0))
    joined["z"] = z
    joined["relative"] = deviation / np.maximum(joined["median"].abs(), 1.0)
    return joined.groupby(KEY, observed=True).agg(z=("z", "max"), relative=("relative", "max")).reset_index()


def rank(source: TelemetrySource, manifest: IncidentManifest) -> list[str]:
    """Resources with at least one scored series, largest z first."""
    scores = series_scores(source, manifest)
    if scores.empty:
        return []
    best = scores.groupby("resource").agg(z=("z", "max"), relative=("relative", "max")).reset_index()
    best = best.sort_values(["z", "relative", "resource"], ascending=[False, False, True], kind="mergesort")
    return list(best["resource"])
