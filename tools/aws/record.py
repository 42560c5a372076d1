"""Record what an investigation read into a bundle, redacted, so a real incident becomes an eval case.

`RecordingSource` wraps any `TelemetrySource` and keeps every successful answer; `write_recording`
merges them (the same point read twice is kept once) and writes a bundle through
`tools.bundle.writer`. Replaying that bundle reads exactly what the live run read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from domain.models import ChangeEvent, Edge, HealthEvent, Resource, TimeWindow, Topology, Trigger
from tools.atomic import atomic_directory
from tools.bundle.format import IncidentManifest
from tools.bundle.writer import write_bundle
from tools.envelope import ToolResult
from tools.redact import redact_text, redact_value
from tools.source import TelemetrySource


class RecordingSource(TelemetrySource):
    """Delegates to `inner` and remembers every successful answer."""

    def __init__(self, inner: TelemetrySource):
        self.inner = inner
        self.name = f"recording of {inner.name}"
        self.frames: dict[str, list[pd.DataFrame]] = {"metrics": [], "logs": [], "spans": []}
        self.changes_seen: dict[str, ChangeEvent] = {}
        self.health_seen: dict[str, HealthEvent] = {}
        self.topology_seen: Topology | None = None

    def _keep(self, kind: str, result: ToolResult[pd.DataFrame]) -> ToolResult[pd.DataFrame]:
        if result.ok and result.data is not None and len(result.data):
            self.frames[kind].append(result.data)
        return result

    def topology(self) -> ToolResult[Topology]:
        result = self.inner.topology()
        if result.ok and result.data is not None:
            self.topology_seen = result.data
        return result

    def metrics(self, window: TimeWindow, resources: Sequence[str] | None = None) -> ToolResult[pd.DataFrame]:
        return self._keep("metrics", self.inner.metrics(window, resources))

    def logs(self, window: TimeWindow, resources: Sequence[str] | None = None, *, limit: int = 200_000) -> ToolResult[pd.DataFrame]:
        return self._keep("logs", self.inner.logs(window, resources, limit=limit))

    def spans(self, window: TimeWindow, resources: Sequence[str] | None = None, *, limit: int = 500_000) -> ToolResult[pd.DataFrame]:
        return self._keep("spans", self.inner.spans(window, resources, limit=limit))

    def changes(self, window: TimeWindow) -> ToolResult[list[ChangeEvent]]:
        result = self.inner.changes(window)
        for event in result.data or []:
            self.changes_seen[event.id] = event
        return result

    def health(self, window: TimeWindow) -> ToolResult[list[HealthEvent]]:
        result = self.inner.health(window)
        for event in result.data or []:
            self.health_seen[event.id] = event
        return result

    @property
    def region(self) -> str | None:
        return self.inner.region

    def __getattr__(self, name: str) -> Any:  # usage() and friends of the wrapped source
        return getattr(self.inner, name)


_KEYS = {
    "metrics": ["resource", "namespace", "metric", "stat", "dimensions", "timestamp"],
    "logs": ["timestamp", "log_group", "log_stream", "message"],
    "spans": ["trace_id", "span_id"],
}
_TEXT = {
    "metrics": ["resource", "dimensions"],
    "logs": ["resource", "log_group", "log_stream", "message", "trace_id"],
    "spans": ["trace_id", "span_id", "parent_id", "service", "operation"],
}


def merged_frame(kind: str, frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    if not frames:
        return None
    frame = pd.concat(frames, ignore_index=True).drop_duplicates(subset=_KEYS[kind], keep="first")
    for column in _TEXT[kind]:
        frame[column] = [redact_text(v) if isinstance(v, str) else v for v in frame[column]]
    return frame.reset_index(drop=True)


def _redact_topology(topology: Topology) -> Topology:
    return Topology(
        resources=[
            Resource(id=redact_text(r.id), type=r.type, attributes={k: redact_value(v, k) for k, v in r.attributes.items()})
            for r in topology.resources
        ],
        edges=[Edge(caller=redact_text(e.caller), callee=redact_text(e.callee)) for e in topology.edges],
    )


def _redact_change(event: ChangeEvent) -> ChangeEvent:
    return event.model_copy(update={
        "resource": None if event.resource is None else redact_text(event.resource),
        "actor": None if event.actor is None else redact_text(event.actor),
        "parameters": redact_value(event.parameters),
    })


def _redact_health(event: HealthEvent) -> HealthEvent:
    return event.model_copy(update={
        "id": redact_text(event.id),
        "affected_resources": [redact_text(r) for r in event.affected_resources],
        "description": redact_text(event.description),
    })


def write_recording(
    out: Path, recorder: RecordingSource, trigger: Trigger, window: TimeWindow, baseline: TimeWindow | None, *, title: str | None = None
) -> Path:
    """Write what `recorder` saw as a bundle at `out`; every text field is redacted."""
    redacted_trigger = trigger.model_copy(update={"resource": redact_text(trigger.resource), "alarm_name": redact_text(trigger.alarm_name)})
    stamp = trigger.state_change_time.strftime("%Y%m%dT%H%MZ")
    manifest = IncidentManifest(
        id=f"recorded-{redacted_trigger.alarm_name}-{stamp}".replace(" ", "-"),
        title=title or f"Recorded: alarm {redacted_trigger.alarm_name} at {trigger.state_change_time.isoformat()}",
        description=f"Recorded by `investigator record` from {redact_text(recorder.inner.name)}; secrets redacted.",
        trigger=redacted_trigger,
        window=window,
        baseline=baseline,
        topology=_redact_topology(recorder.topology_seen or Topology()),
    )
    # Into a temporary directory renamed at the end: a recording killed midway leaves no
    # bundle under `out` that would validate and replay to a different cause.
    with atomic_directory(out) as partial:
        write_bundle(
            partial,
            manifest,
            metrics=merged_frame("metrics", recorder.frames["metrics"]),
            logs=merged_frame("logs", recorder.frames["logs"]),
            spans=merged_frame("spans", recorder.frames["spans"]),
            changes=[_redact_change(e) for e in sorted(recorder.changes_seen.values(), key=lambda e: e.time)],
            health=[_redact_health(e) for e in sorted(recorder.health_seen.values(), key=lambda e: e.start)],
        )
    return out
