"""Hypothesize: rank root-cause hypotheses from the findings (confidence computed in code),
worded by the run's reasoner (the deterministic one unless the Context names another)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.ranking import rank
from agent.state import Context, InvestigationState


def hypothesize(state: InvestigationState, runtime: Runtime[Context]) -> dict:
    reasoner = runtime.context.reasoner if runtime.context is not None else None
    ranking = rank(state.findings, state.scope, state.trigger, observed=set(state.observed), reasoner=reasoner)
    return {
        "hypotheses": ranking.hypotheses,
        "abstained": ranking.abstained,
        "abstain_reason": ranking.abstain_reason,
    }
