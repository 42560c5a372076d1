"""The investigation feed: what the agent added and what engineers decided, in time order."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from agent.state import Revision
from domain.models import Decision

_VERBS = {"accepted": "accepted", "discarded": "discarded", "noted": "noted on"}


class FeedEntry(BaseModel):
    time: datetime | None
    revision: int
    actor: str  # "agent" or the engineer
    action: Literal["added finding", "proposed hypothesis", "dropped hypothesis", "root cause of record",
                    "accepted", "discarded", "noted on"]
    target_id: str
    text: str

    def line(self) -> str:
        when = f"{self.time:%Y-%m-%d %H:%M:%S}" if self.time else "(time unknown)"
        tail = f": {self.text}" if self.text else ""
        return f"{when}  r{self.revision}  {self.actor} {self.action} {self.target_id}{tail}"


def feed(revisions: list[Revision], decisions: list[Decision]) -> list[FeedEntry]:
    entries: list[FeedEntry] = []
    seen_findings: set[str] = set()
    proposed: set[str] = set()
    for revision in revisions:
        inv, when, n = revision.investigation, revision.started_at, revision.number
        for finding in inv.findings:
            if finding.id not in seen_findings:
                entries.append(FeedEntry(time=when, revision=n, actor="agent", action="added finding",
                                         target_id=finding.id, text=finding.summary))
        seen_findings.update(f.id for f in inv.findings)
        current = {h.id for h in inv.hypotheses}
        for rank, hyp in enumerate(inv.hypotheses, start=1):
            if hyp.id not in proposed:
                entries.append(FeedEntry(time=when, revision=n, actor="agent", action="proposed hypothesis",
                                         target_id=hyp.id, text=f"#{rank} {hyp.title}"))
        for gone in sorted(proposed - current):
            entries.append(FeedEntry(time=when, revision=n, actor="agent", action="dropped hypothesis",
                                     target_id=gone, text="no longer proposed"))
        proposed = current
        if inv.root_cause is not None:
            entries.append(FeedEntry(time=when, revision=n, actor="agent", action="root cause of record",
                                     target_id=inv.root_cause.id, text=inv.root_cause.title))
    for decision in decisions:
        entries.append(FeedEntry(time=decision.at, revision=decision.revision, actor=decision.by,
                                 action=_VERBS[decision.verdict], target_id=decision.target_id, text=decision.note))
    # Stable sort: within one moment the agent's additions keep their order.
    return sorted(entries, key=lambda e: (e.time is None, e.time or datetime.min))
