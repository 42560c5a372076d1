"""The three domain nodes. Each looks at the incident as one team would and returns Findings.

- network: network metrics, the time lost between services in traces (caller vs callee),
  network changes (security groups, routes, listeners, certificates).
- infrastructure: saturation and capacity metrics, AWS Health, permission and scaling changes.
- application: golden-signal metrics, logs, traces (own time and own errors), deploys and
  configuration changes.
"""

from __future__ import annotations

import pandas as pd
from langgraph.runtime import Runtime

from agent.domain import Domain, Finding
from agent.nodes.common import metrics_for, read_frames
from agent.state import Context, InvestigationState
from tools.analysis.changes import change_findings, health_findings
from tools.analysis.metrics import alarm_metric_observation, metric_findings
from tools.analysis.semantics import metric_domain
from tools.analysis.traces import edge_trace_findings, service_trace_findings


def _metric_findings(state: InvestigationState, runtime: Runtime[Context], domain: Domain):
    scope = state.scope
    frame, gaps, notes = metrics_for(runtime.context.source, scope, domain)
    if frame.empty:
        return gaps, notes
    domains = {m: metric_domain(m) for m in frame["metric"].unique()}
    mine = frame[frame["metric"].map(domains) == domain]
    trigger = state.trigger
    findings = metric_findings(
        mine, incident=scope.incident, baseline=scope.normal_windows(), alarm_time=trigger.state_change_time,
        named_resources=scope.topology.ids(),
    )
    if metric_domain(trigger.metric) == domain:
        observation = alarm_metric_observation(
            mine, findings, resource=trigger.resource, metric=trigger.metric, incident=scope.incident, baseline=scope.normal_windows()
        )
        findings += [observation] if observation else []
    return gaps + findings, notes


def _change_findings(state: InvestigationState, runtime: Runtime[Context], domain: Domain) -> tuple[list[Finding], list[str]]:
    from agent.nodes.scope import ONSET_LOOKBACK
    from tools.analysis.changes import LOOKBACK
    from agent.domain import TimeWindow

    scope = state.scope
    window = TimeWindow(start=scope.incident.start - LOOKBACK, end=scope.incident.end)
    result = runtime.context.source.changes(window)
    if not result.ok:
        from agent.nodes.common import gap_finding

        return ([gap_finding(domain, result)] if domain == "application" else []), []
    findings = change_findings(result.data or [], reference=state.trigger.state_change_time - ONSET_LOOKBACK / 3)
    return [f for f in findings if f.domain == domain], []


def _spans(state: InvestigationState, runtime: Runtime[Context], domain: Domain):
    scope = state.scope
    source = runtime.context.source
    frames, gaps, notes = read_frames(lambda w: source.spans(w), [scope.baseline, scope.incident], domain)
    base, inc = (f if f is not None else pd.DataFrame() for f in frames)
    return base, inc, gaps, notes


def _zones(topology) -> dict[str, str]:
    """Availability Zone name -> the topology resource that stands for it."""
    return {
        r.attributes.get("availability_zone", r.id): r.id
        for r in topology.resources if r.type.endswith("AvailabilityZone")
    }


def network(state: InvestigationState, runtime: Runtime[Context]) -> dict:
    findings, notes = _metric_findings(state, runtime, "network")
    base, inc, gaps, span_notes = _spans(state, runtime, "network")
    findings += gaps
    if not inc.empty:
        findings += edge_trace_findings(inc, base)
    changes, _ = _change_findings(state, runtime, "network")
    return {"findings": findings + changes, "notes": notes + span_notes}


def infrastructure(state: InvestigationState, runtime: Runtime[Context]) -> dict:
    from agent.nodes.common import gap_finding

    findings, notes = _metric_findings(state, runtime, "infrastructure")
    result = runtime.context.source.health(state.scope.incident)
    if result.ok:
        findings += health_findings(result.data or [], zones=_zones(state.scope.topology))
    else:
        findings.append(gap_finding("infrastructure", result))
    changes, _ = _change_findings(state, runtime, "infrastructure")
    return {"findings": findings + changes, "notes": notes}


def application(state: InvestigationState, runtime: Runtime[Context]) -> dict:
    findings, notes = _metric_findings(state, runtime, "application")
    base, inc, gaps, span_notes = _spans(state, runtime, "application")
    findings += gaps
    if not inc.empty:
        findings += service_trace_findings(inc, base)
    findings += _log_findings(state, runtime)
    changes, _ = _change_findings(state, runtime, "application")
    return {"findings": findings + changes, "notes": notes + span_notes}


def _log_findings(state: InvestigationState, runtime: Runtime[Context]) -> list[Finding]:
    scope = state.scope
    source = runtime.context.source
    frames, gaps, _ = read_frames(lambda w: source.logs(w, scope.resources), [scope.baseline, scope.incident], "application")
    base, inc = (f if f is not None else pd.DataFrame() for f in frames)
    if inc.empty:
        return gaps
    try:
        from tools.analysis.logs import log_findings
    except ImportError:  # the log analysis lands separately; until then logs are not analysed
        return gaps
    return gaps + log_findings(
        inc, base, incident_start=scope.incident.start, incident_end=scope.incident.end, baseline_window=scope.baseline
    )
