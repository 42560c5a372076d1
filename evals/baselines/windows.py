"""Where the baselines look: the normal period and the part of the window after the likely onset."""

from __future__ import annotations

from datetime import timedelta

from domain.models import TimeWindow
from tools.bundle.format import IncidentManifest

# When the alarm does not say how long before it the fault can have begun, the same 15 minutes
# the engine assumes (agent/nodes/scope.py): alarms fire a few evaluation periods after the onset.
DEFAULT_LOOKBACK = timedelta(minutes=15)


def onset_estimate(manifest: IncidentManifest):
    """The earliest time the fault can have begun: the alarm minus its lookback."""
    trigger = manifest.trigger
    lookback = DEFAULT_LOOKBACK if trigger.onset_lookback_s is None else timedelta(seconds=max(0.0, trigger.onset_lookback_s))
    return trigger.state_change_time - lookback


def normal_and_incident(manifest: IncidentManifest) -> tuple[TimeWindow | None, TimeWindow | None]:
    """(normal period, incident period); either is None when the bundle leaves no room for it.

    The normal period is the bundle's `baseline` when it has one, otherwise the part of the
    window before the estimated onset. The incident period runs from the estimated onset (or
    the window's start, if later) to the window's end.
    """
    window = manifest.window
    onset = max(onset_estimate(manifest), window.start)
    incident = TimeWindow(start=onset, end=window.end) if onset < window.end else None
    if manifest.baseline is not None:
        return manifest.baseline, incident
    normal = TimeWindow(start=window.start, end=onset - timedelta(microseconds=1)) if onset - window.start > timedelta(seconds=1) else None
    return normal, incident
