"""Hypothesize: rank root-cause hypotheses from the findings (confidence computed in code),
worded by the run's reasoner (the deterministic one unless the Context names another).

An engineer's decisions shape the ranking: discarded findings are not evidence, discarded
hypotheses are not proposed again, and an accepted hypothesis becomes the root cause of
record (its newest version when the ranking still produces it, otherwise the one accepted).

With `settings.reasoner.name == "claude"` (`--reasoner claude`), Claude then reads those
hypotheses and compact findings and writes the hypotheses shown, grounded by code; it never
changes whether the engine abstained.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.decisions import verdicts
from agent.ranking import rank
from agent.state import Context, InvestigationState


def hypothesize(state: InvestigationState, runtime: Runtime[Context]) -> dict:
    reasoner = runtime.context.reasoner if runtime.context is not None else None
    decided = verdicts(state.decisions)
    evidence = [f for f in state.findings if not decided.is_discarded(f.id)]
    ranking = rank(evidence, state.scope, state.trigger, observed=set(state.observed), reasoner=reasoner)
    proposed, update = ranking.hypotheses, {}
    options = runtime.context.settings.reasoner if runtime.context is not None else None
    if options is not None and options.name != "deterministic":
        from agent.reasoners.claude.client import build_client
        from agent.reasoners.claude.reasoner import ClaudeReasoner, ReasoningInput

        claude = ClaudeReasoner(options, runtime.context.source, build_client(options))
        result = claude.reason(ReasoningInput(
            trigger=state.trigger, scope=state.scope, hypotheses=ranking.hypotheses, findings=evidence,
            abstained=ranking.abstained, abstain_reason=ranking.abstain_reason,
        ))
        proposed = result.hypotheses
        update = {"reasoner_report": result.report, "notes": result.notes}
    hypotheses = [h for h in proposed if not decided.is_discarded(h.id)]
    earlier = {h.id: h for h in state.hypotheses}
    if state.root_cause is not None:
        earlier.setdefault(state.root_cause.id, state.root_cause)
    current = {h.id: h for h in hypotheses}
    accepted = [current.get(i) or earlier[i] for i in decided.accepted if i in current or i in earlier]
    root_cause = accepted[-1] if accepted else None
    abstained = ranking.abstained and root_cause is None
    return {
        **update,
        "hypotheses": hypotheses,
        "abstained": abstained,
        "abstain_reason": ranking.abstain_reason if abstained else None,
        "root_cause": root_cause,
    }
