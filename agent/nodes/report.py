"""Report: assemble the Investigation (findings, hypotheses, timeline) from the state."""

from __future__ import annotations

from domain.models import Investigation, TimelineEntry
from agent.decisions import verdicts
from agent.state import InvestigationState, Revision


def timeline(state: InvestigationState) -> list[TimelineEntry]:
    """Changes, onsets and the alarm in time order: the first thing a post-incident review reads."""
    entries = [
        TimelineEntry(time=f.onset, source=f"{f.domain}/{f.kind}", text=f.summary, finding_id=f.id)
        for f in state.findings
        if f.onset is not None and (f.score >= 0.5 or (f.kind == "change" and f.score > 0))
    ]
    entries.append(TimelineEntry(
        time=state.trigger.state_change_time, source="alarm",
        text=f"alarm {state.trigger.alarm_name} went to ALARM on {state.trigger.resource} {state.trigger.metric}",
    ))
    return sorted(entries, key=lambda e: e.time)


def report(state: InvestigationState) -> dict:
    # Findings an engineer accepted first (pinned), then strongest first.
    decided = verdicts(state.decisions)
    ordered = sorted(state.findings, key=lambda f: (not decided.is_accepted(f.id), -f.score, f.id))
    unique = {f.id: f for f in ordered}
    investigation = Investigation(
        id=state.investigation_id,
        trigger=state.trigger,
        status="complete",
        findings=list(unique.values()),
        hypotheses=state.hypotheses,
        abstained=state.abstained,
        abstain_reason=state.abstain_reason,
        timeline=timeline(state),
        notes=state.notes,
        decisions=state.decisions,
        revision=state.revision,
        root_cause=state.root_cause,
        pinned=[i for i in decided.accepted if i in unique],
        discarded=decided.discarded,
        reasoner=state.reasoner_report,
    )
    revision = Revision(number=state.revision, started_at=state.started_at, investigation=investigation)
    return {"investigation": investigation, "revisions": [revision]}
