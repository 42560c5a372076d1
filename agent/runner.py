"""Run an investigation: the one function the CLI, the eval and the console call."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from domain.models import Investigation, TimeWindow, Trigger
from domain.settings import Settings
from agent.graph import build_graph
from agent.reasoners.base import Reasoner
from agent.state import Context, InvestigationInput
from tools.source import TelemetrySource

ProgressCallback = Callable[[str], None]


def investigation_id(trigger: Trigger) -> str:
    """Stable per alarm occurrence, so a rerun of the same incident keeps its id."""
    key = f"{trigger.alarm_name}|{trigger.resource}|{trigger.state_change_time.isoformat()}"
    return "inv-" + hashlib.sha1(key.encode()).hexdigest()[:10]


def investigate(
    source: TelemetrySource,
    trigger: Trigger,
    window: TimeWindow | None = None,
    baseline: TimeWindow | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    settings: Settings | None = None,
    on_progress: ProgressCallback | None = None,
    reasoner: Reasoner | None = None,
) -> Investigation:
    """Investigate `trigger` against `source`; `on_progress` hears each node as it finishes;
    `reasoner` words the hypotheses (default: the deterministic one).

    `settings` default to `Settings.defaults()`: a library caller's environment is not read."""
    graph = build_graph()
    context = Context(
        source=source, clock=clock or (lambda: trigger.state_change_time), settings=settings or Settings.defaults(),
        reasoner=reasoner,
    )
    payload = InvestigationInput(
        investigation_id=investigation_id(trigger), trigger=trigger, window=window, baseline=baseline
    )
    final = None
    for update in graph.stream(payload, context=context, stream_mode="updates"):
        for node, delta in update.items():
            if on_progress is not None:
                on_progress(node)
            if node == "report":
                final = delta["investigation"]
    assert final is not None, "the graph always ends in the report node"
    return final


def investigate_bundle(
    path: Path, *, settings: Settings | None = None, on_progress: ProgressCallback | None = None,
    reasoner: Reasoner | None = None,
) -> Investigation:
    """Replay a recorded bundle: its trigger, window and baseline, read through BundleSource."""
    from tools.bundle.source import BundleSource

    source = BundleSource(path)
    manifest = source.manifest
    return investigate(
        source, manifest.trigger, manifest.window, manifest.baseline,
        clock=lambda: manifest.window.end, settings=settings, on_progress=on_progress, reasoner=reasoner,
    )
