"""The words of a hypothesis: title, reasoning and next steps, from the ranker's quantities.

Only what the scores support is claimed: a candidate the ranker does not support is not
said to be where "the fault most likely starts".
"""

from __future__ import annotations

from agent.ranking.thresholds import VICTIM_PROSE
from agent.reasoners.base import RankedCandidate, ReasoningRequest
from domain.models import Finding, Hypothesis

_TITLE_CAUSE: dict[str, str] = {
    "change": "a recent change", "constraint": "a limit or capacity constraint", "component": "a failing component",
    "dependency": "a failing dependency", "traffic": "a traffic surge", "unknown": "an unexplained anomaly",
}

NEXT_STEPS: dict[str, list[str]] = {
    "change": [
        "Review the change cited below (who, what, diff) and whether its timing matches the onset.",
        "If it does, roll it back or disable it behind its flag, then watch the alarmed metric recover.",
    ],
    "constraint": [
        "Check the limit, quota or capacity named in the evidence (service quotas, provisioned capacity, expiry dates).",
        "Raise the limit or shed load; add an alarm on the headroom so it pages before users notice.",
    ],
    "component": [
        "Inspect the resource's health: task/instance status, restarts, resource saturation, Availability Zone.",
        "Replace or drain unhealthy capacity; shift traffic away from an impaired Availability Zone if one stands out.",
    ],
    "dependency": [
        ("Check the dependency's own health (its provider's status page or health dashboard) and the path to it "
         "(timeouts, DNS, security groups, routes)."),
        "Fail over, degrade gracefully or tighten timeouts and circuit breakers for this dependency.",
    ],
    "traffic": [
        "Confirm the surge source (legitimate growth, retry storm, bot) from request logs.",
        "Scale out or throttle; check that auto scaling reacted and how long it lagged.",
    ],
    "unknown": ["Open the cited evidence and confirm or discard this resource by hand."],
}

# Why the evidence points at the category, where the findings alone do not say it.
_WHY: dict[str, str] = {
    "traffic": "Its request volume rose, as did the entry's, no later than its failures began: demand beyond its capacity.",
    "dependency": ("It is seen mostly through its callers (their client-side metrics, the network path), "
                   "not through telemetry of its own: a dependency outside our control."),
}


def title(cand: RankedCandidate, findings: dict[str, Finding]) -> str:
    lead = findings.get(cand.lead) if cand.lead else None
    return f"{cand.resource}: {_TITLE_CAUSE[cand.cause]}" + (f" — {lead.signal}" if lead else "")


def _change_timing(cand: RankedCandidate, change: Finding) -> str:
    """When the change came, measured from this candidate's own onset (not the alarm's)."""
    if not cand.symptoms or cand.onset is None or change.onset is None or change.onset >= cand.onset:
        # No shift of its own (its onset is the change), or the change lies within the onset's
        # tolerance: say what is known without a misleading "0 min before".
        return "A change came shortly before the trouble began"
    minutes = (cand.onset - change.onset).total_seconds() / 60
    return f"A change came {minutes:.0f} min before its onset ({cand.onset:%H:%M} UTC)"


def reasoning(cand: RankedCandidate, findings: dict[str, Finding]) -> str:
    ordered = [findings[i] for i in cand.symptoms if i in findings]
    changes = [findings[i] for i in cand.changes if i in findings]
    parts = []
    if ordered:
        kinds = sorted({f.kind for f in ordered})
        when = f" from {cand.onset:%H:%M} UTC" if cand.onset else ""
        parts.append(f"{cand.resource} is anomalous{when} in {len(ordered)} finding(s) across {', '.join(kinds)} (combined {cand.anomaly:.2f}).")
    if cand.change > 0 and changes:
        parts.append(_change_timing(cand, changes[0]) + f": {changes[0].summary}.")
    if cand.cause in _WHY and not cand.loads:
        parts.append(_WHY[cand.cause])
    if cand.recovered_at is not None and not ordered:
        parts.append(f"The failure it is credited with ended by itself at {cand.recovered_at:%H:%M} UTC while the change "
                     "stayed in place (no rollback or fix was recorded): what a change breaks stays broken until someone "
                     "reverts it, so it is discounted.")
    elif cand.recovered_at is not None:
        parts.append(f"Its anomaly ended by itself at {cand.recovered_at:%H:%M} UTC, with no health event and no "
                     "change (a rollback, a fix) while it lasted: it may have been a transient blip, so it is discounted.")
    if not cand.is_entry:
        parts.append(
            f"It accounts for {cand.explains:.0%} of the other anomalous resources (through those that depend on it)."
            if cand.explains > 0 else "It accounts for none of the other anomalous resources."
        )
    if cand.loads:
        parts.append(
            f"It also calls {cand.loads}, a dependency of the alarmed resource, and sent clearly more requests "
            f"from {cand.onset:%H:%M} UTC, no later than {cand.loads} began to fail, while the alarm's side sent "
            f"no more than usual: its load is the likeliest reason {cand.loads} fails."
            if cand.onset else f"Its extra requests are the likeliest reason {cand.loads} fails."
        )
        return " ".join(parts)
    if cand.loaded_by:
        parts.append(f"Its caller {cand.loaded_by} sent clearly more requests no later than its trouble began: "
                     "it may be failing, or only working harder, under that load, so it is discounted.")
    if cand.victim_of and cand.victim >= VICTIM_PROSE:
        parts.append(f"Its dependency {cand.victim_of} is anomalous too (from no later), so it may be a victim: discounted.")
    elif cand.victim_of:
        parts.append(f"Its dependency {cand.victim_of} is anomalous too but accounts for little of it: slightly discounted.")
    elif cand.rank == 1 and cand.supported:
        parts.append("None of its dependencies is anomalous earlier, so the fault most likely starts here.")
    elif cand.supported:
        parts.append("None of its dependencies is anomalous earlier: if the fault is here, it starts here.")
    else:
        parts.append("None of its dependencies is anomalous earlier, but the evidence is too weak to call it the cause.")
    return " ".join(parts)


def next_steps(cand: RankedCandidate, findings: dict[str, Finding]) -> list[str]:
    steps = [s.replace("the resource", cand.resource) for s in NEXT_STEPS[cand.cause]]
    lead = findings.get(cand.lead) if cand.lead else None
    if lead and lead.evidence.console_link:
        steps.append(f"Open {lead.evidence.console_link}")
    return steps


class DeterministicReasoner:
    """The no-LLM reasoner: explains every ranked candidate, in the ranker's order, with the
    ranker's confidence, from the templates above (agent/reasoners/deterministic.py names it)."""

    def explain(self, request: ReasoningRequest) -> list[Hypothesis]:
        findings = {f.id: f for f in request.findings}
        return [
            Hypothesis(
                id=f"H-{cand.resource}", resource=cand.resource, cause=cand.cause, confidence=cand.confidence,
                evidence_score=cand.evidence_score, title=title(cand, findings), reasoning=reasoning(cand, findings),
                supporting_findings=cand.supporting_findings, next_steps=next_steps(cand, findings), path=cand.path,
            )
            for cand in request.candidates
        ]
