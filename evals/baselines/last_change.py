"""The last-change baseline: the resource changed most recently before the alarm comes first.

"What changed?" is the first question on call. This baseline answers it literally: every
change event (deploy, configuration, permissions, scaling) with a resource, from the start of
the bundle's normal period (or window) up to the alarm, newest first; each resource counts
once, at its most recent change. No topology, no judgement of whether the change could matter.
"""

from __future__ import annotations

from domain.models import TimeWindow
from tools.bundle.format import IncidentManifest
from tools.source import TelemetrySource


def rank(source: TelemetrySource, manifest: IncidentManifest) -> list[str]:
    alarm = manifest.trigger.state_change_time
    start = min(manifest.window.start, manifest.baseline.start) if manifest.baseline else manifest.window.start
    if alarm <= start:
        return []
    result = source.changes(TimeWindow(start=start, end=alarm))
    events = [e for e in (result.data or []) if e.resource and e.time <= alarm] if result.ok else []
    ranked: list[str] = []
    for event in sorted(events, key=lambda e: (e.time, e.id), reverse=True):
        if event.resource not in ranked:
            ranked.append(event.resource)
    return ranked
