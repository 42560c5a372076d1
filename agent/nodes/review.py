"""Review: the graph stops here (a LangGraph interrupt) with the investigation persisted.

Decisions are written into the stored state while it waits (`agent.store`); resuming with a
`RerunRequest` runs the investigation again from the scope, honouring them, as a new revision.
"""

from __future__ import annotations

from datetime import datetime

from langgraph.types import Command, interrupt
from pydantic import BaseModel

from agent.state import InvestigationState, ReviewRequest


class RerunRequest(BaseModel):
    """The value the review step is resumed with."""

    started_at: datetime
    origin: str | None = None


def review(state: InvestigationState) -> Command:
    assert state.investigation is not None, "review runs after the report node"
    answer = interrupt(ReviewRequest(
        investigation_id=state.investigation_id,
        revision=state.revision,
        findings=[f.id for f in state.investigation.findings],
        hypotheses=[h.id for h in state.investigation.hypotheses],
    ))
    rerun = RerunRequest.model_validate(answer)
    update = {"revision": state.revision + 1, "started_at": rerun.started_at}
    if rerun.origin is not None:
        update["origin"] = rerun.origin
    return Command(goto="scope", update=update)
