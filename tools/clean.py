"""Drop telemetry the analyses must not count: non-finite metric values and repeated records.

A recorder or log shipper that delivers the same record twice (at-least-once delivery,
replayed batches) would otherwise double the rates of whichever resource it ships, and a
single `inf` would dominate every mean it enters. Each function returns the frame and a
note for the engineer (None when nothing was dropped); the input frame is returned as it
is when it is already clean, so large shared frames are not copied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METRIC_POINT_KEY = ["resource", "namespace", "metric", "stat", "dimensions", "timestamp"]
LOG_RECORD_KEY = ["timestamp", "resource", "log_group", "log_stream", "message"]


def clean_metric_points(frame: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """`frame` without non-finite values and with each (series, timestamp) point once."""
    if frame.empty or "value" not in frame:
        return frame, None
    finite = np.isfinite(frame["value"].to_numpy(dtype="float64", na_value=np.nan))
    key = [c for c in METRIC_POINT_KEY if c in frame]
    repeated = frame.duplicated(subset=key, keep="first").to_numpy()
    keep = finite & ~repeated
    if keep.all():
        return frame, None
    parts = []
    if (~finite).any():
        parts.append(f"ignored {int((~finite).sum())} non-finite metric value(s) (inf or NaN)")
    if (repeated & finite).any():
        parts.append(f"counted {int((repeated & finite).sum())} duplicate metric point(s) once")
    return frame[keep], "; ".join(parts)


def distinct_log_records(frame: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """`frame` with identical (timestamp, stream, message) records counted once."""
    key = [c for c in LOG_RECORD_KEY if c in frame]
    if frame.empty or not key:
        return frame, None
    repeated = frame.duplicated(subset=key, keep="first")
    count = int(repeated.sum())
    if not count:
        return frame, None
    return frame[~repeated.to_numpy()], f"counted {count} repeated log record(s) once (same time, stream and message)"
