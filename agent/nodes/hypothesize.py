"""Hypothesize: rank root-cause hypotheses from the findings (confidence computed in code)."""

from __future__ import annotations

from agent.ranking import rank
from agent.state import InvestigationState


def hypothesize(state: InvestigationState) -> dict:
    ranking = rank(state.findings, state.scope, state.trigger, observed=set(state.observed))
    return {
        "hypotheses": ranking.hypotheses,
        "abstained": ranking.abstained,
        "abstain_reason": ranking.abstain_reason,
    }
