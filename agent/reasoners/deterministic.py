"""The no-LLM reasoner: hypotheses explained from templates over the ranker's quantities."""

from __future__ import annotations

from agent.ranking.explanation import next_steps, reasoning, title
from agent.reasoners.base import ReasoningRequest
from domain.models import Hypothesis


class DeterministicReasoner:
    """Explains every ranked candidate, in the ranker's order, with the ranker's confidence."""

    def explain(self, request: ReasoningRequest) -> list[Hypothesis]:
        findings = {f.id: f for f in request.findings}
        return [
            Hypothesis(
                id=f"H-{cand.resource}", resource=cand.resource, cause=cand.cause, confidence=cand.confidence,
                evidence_score=cand.evidence_score, title=title(cand, findings), reasoning=reasoning(cand, findings),
                supporting_findings=cand.supporting_findings, next_steps=next_steps(cand, findings),
            )
            for cand in request.candidates
        ]
