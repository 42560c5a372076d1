"""The three domain nodes. Each looks at the incident as one team would and returns Findings.

- network: network metrics, the time lost between services in traces (caller vs callee),
  network changes (security groups, routes, listeners, certificates).
- infrastructure: saturation and capacity metrics, limits (expiry), AWS Health, permission
  and scaling changes.
- application: golden-signal metrics, logs, traces (own time and own errors), deploys and
  configuration changes.

Each node also reports which resources had telemetry of their own (`observed`): the ranker
must know that a resource was seen to be healthy, not merely unseen.
"""

from __future__ import annotations

import pandas as pd
from langgraph.runtime import Runtime

from domain.models import Domain, Finding, TimeWindow, Topology
from agent.nodes.common import gap_finding, metrics_for, read_frames
from agent.nodes.scope import ONSET_LOOKBACK, onset_lookback
from agent.ranking.familiarity import stale
from agent.state import Context, InvestigationState
from tools.analysis.changes import LOOKBACK, change_findings, health_findings
from tools.analysis.code_paths import code_path_findings, failing_call_findings
from tools.analysis.constraints import constraint_findings
from tools.analysis.logs import log_findings
from tools.analysis.metrics import alarm_metric_observation, baseline_calls, metric_findings, per_metric
from tools.analysis.semantics import metric_domain
from tools.analysis.traces import edge_trace_findings, service_trace_findings
from tools.clean import distinct_log_records
from tools.links import with_links


def _metric_findings(state: InvestigationState, runtime: Runtime[Context], domain: Domain) -> dict:
    scope, trigger = state.scope, state.trigger
    frame, findings, notes = metrics_for(runtime.context.source, scope, domain)
    if frame.empty:
        return {"findings": findings, "notes": notes}
    if domain == "infrastructure":
        findings += constraint_findings(frame, scope.incident, scope.normal_windows(), scope.topology)
    mine = frame[per_metric(frame["namespace"], frame["metric"], lambda m, ns: metric_domain(m, ns) == domain, bool)]
    findings += metric_findings(
        mine, incident=scope.incident, baseline=scope.normal_windows(), alarm_time=trigger.state_change_time,
        named_resources=scope.topology.ids(), stale_baseline=stale(scope.baseline, scope.incident),
        # The alarmed resource's tails are tested whatever its call count: an alarm on its p99 is
        # what paged, and dropping it would make the alarm look quiet (elsewhere a tail over a
        # few calls is no reference). Its other percentiles are kept with it: one resource, one rule.
        calls_per_period={r: n for r, n in baseline_calls(frame, scope.normal_windows()).items() if r != trigger.resource},
        # Only an alarm that says how early the fault can have begun rules earlier runs out: the
        # default look-back is a guess, and a slow build-up before it is still worth showing.
        earliest_onset=(
            trigger.state_change_time - onset_lookback(trigger) if trigger.onset_lookback_s is not None else None
        ),
    )
    if metric_domain(trigger.metric, trigger.namespace) == domain:
        observation = alarm_metric_observation(
            mine, findings, resource=trigger.resource, metric=trigger.metric,
            incident=scope.incident, baseline=scope.normal_windows(),
        )
        findings += [observation] if observation else []
    in_window = frame["timestamp"] >= pd.Timestamp(scope.incident.start)
    return {"findings": findings, "notes": notes, "observed": sorted(frame.loc[in_window, "resource"].unique())}


def _change_findings(state: InvestigationState, runtime: Runtime[Context], domain: Domain) -> list[Finding]:
    scope = state.scope
    window = TimeWindow(start=scope.incident.start - LOOKBACK, end=scope.incident.end)
    result = runtime.context.source.changes(window)
    if not result.ok:
        # Reported once, by the team that reads most changes.
        return [gap_finding(domain, result)] if domain == "application" else []
    # Proximity is scored against the likely onset here; the ranker rescored it per resource.
    findings = change_findings(result.data or [], reference=state.trigger.state_change_time - ONSET_LOOKBACK / 3)
    return [f for f in findings if f.domain == domain]


def _spans(state: InvestigationState, runtime: Runtime[Context], domain: Domain):
    scope = state.scope
    source = runtime.context.source
    frames, gaps, notes = read_frames(lambda w: source.spans(w), [scope.baseline, scope.incident], domain)
    base, inc = (f if f is not None else pd.DataFrame() for f in frames)
    return base, inc, gaps, notes


def _zones(topology: Topology) -> dict[str, str]:
    """Availability Zone name -> the topology resource that stands for it."""
    return {r.attributes.get("availability_zone", r.id): r.id for r in topology.zones()}


def _merge(*parts: dict) -> dict:
    merged: dict = {"findings": [], "notes": [], "observed": []}
    for part in parts:
        for key, value in part.items():
            merged[key] = merged[key] + list(value)
    return merged


def _linked(state: InvestigationState, runtime: Runtime[Context], update: dict) -> dict:
    """Every finding gets its console link here, from its typed details and the source's region."""
    scope = state.scope
    findings = with_links(update["findings"], scope.incident, runtime.context.source.region, since=scope.baseline.start)
    return {**update, "findings": findings}


def network(state: InvestigationState, runtime: Runtime[Context]) -> dict:
    base, inc, gaps, notes = _spans(state, runtime, "network")
    traces = edge_trace_findings(inc, base) if not inc.empty else []
    return _linked(state, runtime, _merge(
        _metric_findings(state, runtime, "network"),
        {"findings": gaps + traces + _change_findings(state, runtime, "network"), "notes": notes},
    ))


def infrastructure(state: InvestigationState, runtime: Runtime[Context]) -> dict:
    result = runtime.context.source.health(state.scope.incident)
    if result.ok:
        health = health_findings(result.data or [], zones=_zones(state.scope.topology))
    else:
        health = [gap_finding("infrastructure", result)]
    return _linked(state, runtime, _merge(
        _metric_findings(state, runtime, "infrastructure"),
        {"findings": health + _change_findings(state, runtime, "infrastructure")},
    ))


def application(state: InvestigationState, runtime: Runtime[Context]) -> dict:
    base_spans, inc_spans, gaps, notes = _spans(state, runtime, "application")
    traces = service_trace_findings(inc_spans, base_spans) if not inc_spans.empty else []
    observed = sorted(inc_spans["service"].unique()) if not inc_spans.empty else []
    return _linked(state, runtime, _merge(
        _metric_findings(state, runtime, "application"),
        _log_findings(state, runtime, inc_spans, base_spans),
        {"findings": gaps + traces + _change_findings(state, runtime, "application"), "notes": notes, "observed": observed},
    ))


def reference_split(alarm_time, first_record) -> pd.Timestamp:
    """Where the incident window's own records stop counting as normal.

    Alarms fire a few evaluation periods after the onset, so records older than
    ONSET_LOOKBACK before the alarm are normal. A recording that starts later than that has
    only what came before the alarm itself as its normal period.
    """
    split = pd.Timestamp(alarm_time - ONSET_LOOKBACK)
    return split if first_record < split else pd.Timestamp(alarm_time)


def _log_findings(state: InvestigationState, runtime: Runtime[Context], inc_spans: pd.DataFrame, base_spans: pd.DataFrame) -> dict:
    scope = state.scope
    source = runtime.context.source
    frames, gaps, notes = read_frames(
        lambda w: source.logs(w, scope.resources), [scope.baseline, scope.incident], "application"
    )
    base, inc = (f if f is not None else pd.DataFrame() for f in frames)
    # Duplicate shipping repeats whole records: counted twice they double one resource's rates.
    (base, base_note), (inc, inc_note) = distinct_log_records(base), distinct_log_records(inc)
    notes += [f"logs ({period}): {note}" for period, note in (("baseline", base_note), ("incident", inc_note)) if note]
    if inc.empty:
        return {"findings": gaps, "notes": notes}
    # Rates are per minute of data actually recorded: a recording may hold logs for only
    # part of the window, and dividing by the whole window would dilute every rate.
    inc_window = _covered(inc, scope.incident)
    base_window = _covered(base, scope.baseline) if not base.empty else None
    split = reference_split(state.trigger.state_change_time, inc["timestamp"].min())
    findings = log_findings(
        inc, base, incident_start=inc_window.start, incident_end=inc_window.end, baseline_window=base_window,
        onset=split.to_pydatetime(),
    )
    if not inc_spans.empty:
        findings += code_path_findings(inc, inc_spans, split=split.to_pydatetime())
        # Records older than ONSET_LOOKBACK before the alarm are normal. Where the recording
        # starts later, the part before the alarm may already hold the fault (an alarm fires
        # after the onset): every minute from the window's start to the alarm is a candidate.
        alarm = pd.Timestamp(state.trigger.state_change_time)
        splits = [split] if split < alarm else [
            *pd.date_range(pd.Timestamp(inc_window.start).ceil("min"), alarm, freq="min", inclusive="left"), alarm
        ]
        findings += failing_call_findings(inc, inc_spans, base, base_spans, splits=[s.to_pydatetime() for s in splits])
    return {"findings": gaps + findings, "notes": notes, "observed": sorted(inc["resource"].unique())}


def _covered(frame: pd.DataFrame, window: TimeWindow) -> TimeWindow:
    """The part of `window` that `frame` has records in, to whole minutes."""
    first = max(pd.Timestamp(window.start), frame["timestamp"].min().floor("min"))
    last = min(pd.Timestamp(window.end), frame["timestamp"].max().ceil("min"))
    if last <= first:
        return window
    return TimeWindow(start=first.to_pydatetime(), end=last.to_pydatetime())
