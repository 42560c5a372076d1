"""What an engineer's decisions mean for the next run: the latest verdict on a target wins."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.models import Decision, Investigation


class Verdicts(BaseModel):
    """`accepted` and `discarded` are in the order of their latest decision, oldest first."""

    accepted: list[str] = Field(default_factory=list)
    discarded: list[str] = Field(default_factory=list)
    notes: dict[str, list[Decision]] = Field(default_factory=dict)

    def is_discarded(self, target_id: str) -> bool:
        return target_id in self.discarded

    def is_accepted(self, target_id: str) -> bool:
        return target_id in self.accepted


def verdicts(decisions: list[Decision]) -> Verdicts:
    """Fold decisions in time order: accepting after discarding (or the reverse) changes one's mind."""
    latest: dict[str, str] = {}
    notes: dict[str, list[Decision]] = {}
    for decision in sorted(decisions, key=lambda d: d.at):
        if decision.note:
            notes.setdefault(decision.target_id, []).append(decision)
        if decision.verdict != "noted":
            # Re-inserting moves the target to the end: `accepted` ends with the latest accepted.
            latest.pop(decision.target_id, None)
            latest[decision.target_id] = decision.verdict
    return Verdicts(
        accepted=[t for t, v in latest.items() if v == "accepted"],
        discarded=[t for t, v in latest.items() if v == "discarded"],
        notes=notes,
    )


def apply_decisions(investigation: Investigation, decisions: list[Decision]) -> Investigation:
    """`investigation` as the engineers see it now: the decisions made since it ran taken into
    account (root cause of record, pinned and discarded ids) without rerunning anything."""
    decided = verdicts(decisions)
    known = {h.id: h for h in investigation.hypotheses}
    if investigation.root_cause is not None:
        known.setdefault(investigation.root_cause.id, investigation.root_cause)
    accepted = [known[i] for i in decided.accepted if i in known]
    finding_ids = {f.id for f in investigation.findings}
    return investigation.model_copy(update={
        "decisions": list(decisions),
        "root_cause": accepted[-1] if accepted else None,
        "pinned": [i for i in decided.accepted if i in finding_ids],
        "discarded": decided.discarded,
    })
