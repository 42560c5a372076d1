"""A `TelemetrySource` that replays a recorded bundle."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import pandas as pd

from domain.models import ChangeEvent, HealthEvent, TimeWindow, Topology
from tools.bundle.format import CHANGES, HEALTH, LOGS, METRICS, SPANS, IncidentManifest
from tools.bundle.validate import load_manifest
from tools.envelope import ToolResult
from tools.source import LOG_COLUMNS, METRIC_COLUMNS, SPAN_COLUMNS, TelemetrySource, empty_frame


def _read_frame(path: Path, columns: list[str], time_columns: Sequence[str]) -> pd.DataFrame:
    if not path.is_file():
        return empty_frame(columns)
    frame = pd.read_parquet(path)
    for column in time_columns:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def _in_window(frame: pd.DataFrame, column: str, window: TimeWindow) -> pd.DataFrame:
    """The rows of `frame` in `window`; `frame` itself when that is all of them.

    Not copying matters at scale: three domain nodes read the same million-row frames at
    once, and pandas' copy-on-write keeps the shared frame safe from their changes.
    """
    mask = (frame[column] >= pd.Timestamp(window.start)) & (frame[column] <= pd.Timestamp(window.end))
    return frame if bool(mask.all()) else frame[mask]


def _for_resources(frame: pd.DataFrame, column: str, resources: Sequence[str] | None) -> pd.DataFrame:
    if resources is None:
        return frame
    wanted = set(resources)
    if set(frame[column].unique()) <= wanted:
        return frame
    return frame[frame[column].isin(list(wanted))]


class BundleSource(TelemetrySource):
    """Reads a validated bundle directory; frames are loaded once, on first use."""

    def __init__(self, path: Path, manifest: IncidentManifest | None = None):
        self.path = path
        self.manifest = manifest or load_manifest(path)
        self.name = f"bundle {path.name}"

    @cached_property
    def _metrics(self) -> pd.DataFrame:
        frame = _read_frame(self.path / METRICS, METRIC_COLUMNS, ["timestamp"])
        # A few hundred distinct names repeated over millions of points: as categories the
        # key columns take a few bytes a row instead of a string each, in every copy made.
        for column in ("resource", "namespace", "metric", "stat", "dimensions"):
            if column in frame:
                frame[column] = frame[column].astype("category")
        return frame

    @cached_property
    def _logs(self) -> pd.DataFrame:
        return _read_frame(self.path / LOGS, LOG_COLUMNS, ["timestamp"])

    @cached_property
    def _spans(self) -> pd.DataFrame:
        return _read_frame(self.path / SPANS, SPAN_COLUMNS, ["start", "end"])

    def _jsonl(self, name: str, model: type) -> list:
        path = self.path / name
        if not path.is_file():
            return []
        return [model.model_validate(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    @property
    def region(self) -> str | None:
        return self.manifest.region

    def topology(self) -> ToolResult[Topology]:
        return ToolResult.success("topology", self.manifest.topology, {"bundle": str(self.path)})

    def metrics(self, window: TimeWindow, resources: Sequence[str] | None = None) -> ToolResult[pd.DataFrame]:
        frame = _for_resources(self._metrics, "resource", resources)
        frame = _in_window(frame, "timestamp", window)
        query = {"window": [window.start.isoformat(), window.end.isoformat()], "resources": resources and list(resources)}
        return ToolResult.success("metrics", frame, query, empty=frame.empty)

    def logs(self, window: TimeWindow, resources: Sequence[str] | None = None, *, limit: int = 200_000) -> ToolResult[pd.DataFrame]:
        frame = _for_resources(self._logs, "resource", resources)
        frame = _in_window(frame, "timestamp", window)
        query = {"window": [window.start.isoformat(), window.end.isoformat()], "limit": limit}
        if len(frame) > limit:
            # An even sample keeps rates and templates comparable across the window.
            sampled = frame.iloc[:: -(-len(frame) // limit)]
            note = f"sampled {len(sampled)} of {len(frame)} log records evenly; narrow the window or resources for all"
            return ToolResult.success("logs", sampled, query, truncated=True, note=note)
        return ToolResult.success("logs", frame, query, empty=frame.empty)

    def spans(self, window: TimeWindow, resources: Sequence[str] | None = None, *, limit: int = 500_000) -> ToolResult[pd.DataFrame]:
        frame = self._spans
        frame = _in_window(frame, "start", window)
        if resources is not None:
            # Keep whole traces that touch the resources, so caller/callee pairs stay intact.
            traces = frame.loc[frame["service"].isin(list(resources)), "trace_id"].unique()
            frame = frame[frame["trace_id"].isin(traces)]
        query = {"window": [window.start.isoformat(), window.end.isoformat()], "limit": limit}
        if len(frame) > limit:
            step = -(-len(frame) // limit)
            keep = frame["trace_id"].drop_duplicates().iloc[::step]
            sampled = frame[frame["trace_id"].isin(keep)]
            note = f"sampled {len(sampled)} of {len(frame)} spans by whole trace; narrow the window for all"
            return ToolResult.success("spans", sampled, query, truncated=True, note=note)
        return ToolResult.success("spans", frame, query, empty=frame.empty)

    def changes(self, window: TimeWindow) -> ToolResult[list[ChangeEvent]]:
        events = [e for e in self._jsonl(CHANGES, ChangeEvent) if window.contains(e.time)]
        return ToolResult.success("changes", events, {"window": [window.start.isoformat(), window.end.isoformat()]}, empty=not events)

    def health(self, window: TimeWindow) -> ToolResult[list[HealthEvent]]:
        events = [
            e for e in self._jsonl(HEALTH, HealthEvent)
            if e.start <= window.end and (e.end is None or e.end >= window.start)
        ]
        return ToolResult.success("health", events, {"window": [window.start.isoformat(), window.end.isoformat()]}, empty=not events)
