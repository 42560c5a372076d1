"""Run an investigation: the functions the CLI, the eval and the console call.

`stream()` is the primitive: a generator of small typed events, one per node as it finishes
(with the findings, hypotheses and notes that node added), then one `Completed` event with
the assembled Investigation; `collect(stream(...))` is the one-shot form. The runner
holds no process-global state: the graph, the context and (for stored investigations) the
checkpointer are made per call, so a worker pool or a console can run many side by side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.models import Finding, Hypothesis, Investigation, TimeWindow, Trigger
from domain.settings import Settings
from agent.graph import build_graph
from agent.reasoners.base import Reasoner
from agent.state import Context, InvestigationInput
from tools.source import TelemetrySource


class NodeFinished(BaseModel):
    """One node's contribution, as soon as it finished."""

    kind: Literal["node"] = "node"
    node: str
    findings: list[Finding] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        """A short progress line: "network: 3 findings", "hypothesize: 2 hypotheses"."""
        parts = []
        if self.findings:
            parts.append(f"{len(self.findings)} finding{'s' if len(self.findings) != 1 else ''}")
        if self.hypotheses:
            parts.append(f"{len(self.hypotheses)} hypothes{'es' if len(self.hypotheses) != 1 else 'is'}")
        if self.node in ("network", "infrastructure", "application") and not self.findings:
            parts.append("no findings")
        return f"{self.node}: {', '.join(parts)}" if parts else f"{self.node} done"


class Completed(BaseModel):
    """The investigation is assembled (and, when stored, waiting for review)."""

    kind: Literal["completed"] = "completed"
    investigation: Investigation


Event = NodeFinished | Completed
ProgressCallback = Callable[[NodeFinished], None]


def investigation_id(trigger: Trigger) -> str:
    """Stable per alarm occurrence, so a rerun of the same incident keeps its id."""
    key = f"{trigger.alarm_name}|{trigger.resource}|{trigger.state_change_time.isoformat()}"
    return "inv-" + hashlib.sha1(key.encode()).hexdigest()[:10]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def run_context(
    source: TelemetrySource, clock: Callable[[], datetime], settings: Settings | None, reasoner: Reasoner | None,
) -> Context:
    """The run's dependencies: the caller's settings (the CLI's, the console's), else the defaults
    (a library caller's environment is not read)."""
    return Context(source=source, clock=clock, settings=settings or Settings.defaults(), reasoner=reasoner)


def events(graph: Any, payload: Any, *, context: Context, config: dict | None = None) -> Iterator[Event]:
    """Drive `graph` with `payload` (an input or a resume Command) and translate its updates."""
    for update in graph.stream(payload, config=config, context=context, stream_mode="updates"):
        for node, delta in update.items():
            if node == "__interrupt__" or not isinstance(delta, dict):
                continue
            yield NodeFinished(
                node=node,
                findings=delta.get("findings") or [],
                hypotheses=delta.get("hypotheses") or [],
                notes=delta.get("notes") or [],
            )
            if node == "report":
                yield Completed(investigation=delta["investigation"])


def stream(
    source: TelemetrySource,
    trigger: Trigger,
    window: TimeWindow | None = None,
    baseline: TimeWindow | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    settings: Settings | None = None,
    reasoner: Reasoner | None = None,
) -> Iterator[Event]:
    """Investigate `trigger` against `source` (nothing stored), yielding each node's update as it
    finishes; `reasoner` words the hypotheses (default: the deterministic one)."""
    context = run_context(source, clock or (lambda: trigger.state_change_time), settings, reasoner)
    payload = InvestigationInput(
        investigation_id=investigation_id(trigger), trigger=trigger, window=window, baseline=baseline,
        started_at=utc_now(),
    )
    yield from events(build_graph(), payload, context=context)


def collect(stream_of_events: Iterator[Event], on_progress: ProgressCallback | None = None) -> Investigation:
    """The Investigation at the end of a stream; `on_progress` hears every node on the way."""
    final = None
    for event in stream_of_events:
        if isinstance(event, NodeFinished):
            if on_progress is not None:
                on_progress(event)
        else:
            final = event.investigation
    if final is None:
        raise RuntimeError("the investigation ended without a result")
    return final


def open_bundle(path: Path) -> tuple[TelemetrySource, dict[str, Any]]:
    """A recorded bundle's source and the arguments `stream()` takes for it."""
    from tools.bundle.source import BundleSource

    source = BundleSource(path)
    manifest = source.manifest
    end = manifest.window.end
    return source, {
        "trigger": manifest.trigger, "window": manifest.window, "baseline": manifest.baseline,
        "clock": lambda: end,
    }


def investigate_bundle(
    path: Path, *, settings: Settings | None = None, on_progress: ProgressCallback | None = None,
    reasoner: Reasoner | None = None,
) -> Investigation:
    """Replay a recorded bundle: its trigger, window and baseline, read through BundleSource."""
    source, args = open_bundle(path)
    return collect(stream(source, **args, settings=settings, reasoner=reasoner), on_progress)
