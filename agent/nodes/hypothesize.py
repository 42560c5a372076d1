"""Hypothesize: rank root-cause hypotheses from the findings (confidence computed in code),
worded by the run's reasoner (the deterministic one unless the Context names another).

With `settings.reasoner.name == "claude"` (`--reasoner claude`), Claude then reads those
hypotheses and compact findings and writes the hypotheses shown, grounded by code; it never
changes whether the engine abstained.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.ranking import rank
from agent.state import Context, InvestigationState


def hypothesize(state: InvestigationState, runtime: Runtime[Context]) -> dict:
    reasoner = runtime.context.reasoner if runtime.context is not None else None
    ranking = rank(state.findings, state.scope, state.trigger, observed=set(state.observed), reasoner=reasoner)
    update = {
        "hypotheses": ranking.hypotheses,
        "abstained": ranking.abstained,
        "abstain_reason": ranking.abstain_reason,
    }
    options = runtime.context.settings.reasoner if runtime.context is not None else None
    if options is None or options.name == "deterministic":
        return update
    from agent.reasoners.claude.client import build_client
    from agent.reasoners.claude.reasoner import ClaudeReasoner, ReasoningInput

    claude = ClaudeReasoner(options, runtime.context.source, build_client(options))
    result = claude.reason(ReasoningInput(
        trigger=state.trigger, scope=state.scope, hypotheses=ranking.hypotheses, findings=state.findings,
        abstained=ranking.abstained, abstain_reason=ranking.abstain_reason,
    ))
    update.update(hypotheses=result.hypotheses, reasoner_report=result.report, notes=result.notes)
    return update
