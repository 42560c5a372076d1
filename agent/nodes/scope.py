"""Scope: the incident window, the baseline and the neighbourhood of the alarmed resource."""

from __future__ import annotations

from datetime import timedelta

from langgraph.runtime import Runtime

from domain.models import TimeWindow, Topology, Trigger
from tools.analysis.call_graph import calls_from_spans
from tools.source import TelemetrySource
from agent.state import Context, InvestigationState, Scope

# Alarms fire after a few evaluation periods: the fault usually began up to this long before.
ONSET_LOOKBACK = timedelta(minutes=15)
DEFAULT_BEFORE = timedelta(minutes=60)
DEFAULT_AFTER = timedelta(minutes=15)
DEFAULT_BASELINE = timedelta(hours=3)


def onset_lookback(trigger: Trigger) -> timedelta:
    """How long before the alarm the fault can have begun: the alarm's own, when it says."""
    if trigger.onset_lookback_s is None:
        return ONSET_LOOKBACK
    return timedelta(seconds=max(0.0, trigger.onset_lookback_s))


def decide_windows(
    alarm_time, window: TimeWindow | None, baseline: TimeWindow | None, now
) -> tuple[TimeWindow, TimeWindow]:
    """(incident, baseline) windows from what the caller gave and the alarm time."""
    if window is None:
        end = min(alarm_time + DEFAULT_AFTER, max(now, alarm_time + timedelta(minutes=1)))
        window = TimeWindow(start=alarm_time - DEFAULT_BEFORE, end=end)
    if baseline is not None:
        return window, baseline
    # No separate normal period: the part of the window before the likely onset is the baseline.
    split = alarm_time - ONSET_LOOKBACK
    if split - window.start >= ONSET_LOOKBACK and split < window.end:
        return TimeWindow(start=split, end=window.end), TimeWindow(start=window.start, end=split)
    if window.start < alarm_time < window.end:
        # A short recording: all we have of normal operation is what came before the alarm.
        return window, TimeWindow(start=window.start, end=alarm_time - timedelta(seconds=1))
    return window, TimeWindow(start=window.start - DEFAULT_BASELINE, end=window.start)


def neighbourhood(topology: Topology, entry: str) -> list[str]:
    """The entry resource and everything downstream of it; all resources when it is not mapped."""
    if not topology.maps(entry):
        return [entry, *sorted(topology.ids() - {entry})]
    return [entry, *sorted(topology.downstream(entry))]


def neighbours(topology: Topology, entry: str, resources: list[str]) -> list[str]:
    """The other callers of what the entry depends on (a sibling service that uses the same
    database): a noisy neighbour's load is a cause that lies outside the entry's dependencies.
    The entry's own callers are not neighbours: they send the alarm's traffic. An Availability
    Zone is a placement rather than a service that is called: every resource in it would be
    its "caller", so zones bring in no neighbours."""
    inside = set(resources)
    placements = {r.id for r in topology.zones()}
    return sorted({
        caller for resource in inside - placements - {entry} for caller in topology.callers(resource)
        if caller not in inside
    })


def _with_traced_calls(source: TelemetrySource, topology: Topology, incident: TimeWindow) -> tuple[Topology, str | None]:
    """The topology with the calls its spans in the incident window show, when it has none for the
    entry (a recording without a service map): traces are what a service map is drawn from."""
    result = source.spans(incident)
    if not result.ok or result.data is None:
        return topology, None
    known = {(e.caller, e.callee) for e in topology.edges}
    traced = [e for e in calls_from_spans(result.data, topology.ids()) if (e.caller, e.callee) not in known]
    if not traced:
        return topology, None
    note = f"the topology has no calls for the alarmed resource: {len(traced)} calls between resources were read from the traces"
    return topology.model_copy(update={"edges": [*topology.edges, *traced]}), note


def scope(state: InvestigationState, runtime: Runtime[Context]) -> dict:
    source = runtime.context.source
    notes: list[str] = []
    result = source.topology()
    topology = result.data if result.ok and result.data is not None else Topology()
    if not result.ok:
        notes.append(f"topology unavailable ({result.status}: {result.error}); looking at every resource")
    incident, baseline = decide_windows(
        state.trigger.state_change_time, state.window, state.baseline, runtime.context.clock()
    )
    entry = state.trigger.resource
    call_graph = "recorded"
    if not topology.maps(entry):
        topology, note = _with_traced_calls(source, topology, incident)
        notes.extend([note] if note else [])
        call_graph = "traced" if topology.maps(entry) else "assumed"
    split = state.trigger.state_change_time - ONSET_LOOKBACK
    pre_incident = (
        TimeWindow(start=incident.start, end=split)
        if split - incident.start >= ONSET_LOOKBACK and not (baseline.start <= incident.start < baseline.end)
        else None
    )
    resources = neighbourhood(topology, entry)
    if not topology.maps(entry) and len(resources) > 1:
        notes.append(
            f"the call graph does not connect {entry} to any resource: every resource is looked at and taken as a "
            "possible dependency of it (paths are marked as having no known edge)"
        )
    return {
        "scope": Scope(
            incident=incident, baseline=baseline, pre_incident=pre_incident, entry=entry,
            resources=resources, neighbours=neighbours(topology, entry, resources), topology=topology,
            call_graph=call_graph,
        ),
        "notes": notes,
    }
