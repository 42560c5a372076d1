"""What of Claude's answer is shown: only what the findings support, checked by code.

- A citation counts only if the finding exists and is about the hypothesis's resource or a
  hop of its propagation path; a hypothesis left with no valid citation is dropped, and the
  drop is reported.
- The confidence shown is the engine's calibrated confidence for that resource; the model
  may lower it, never raise it. A resource the engine did not rank has no calibrated
  confidence: it is shown with 0.
- "change" as a cause needs a cited change finding; otherwise the engine's cause stands.
- The model's ordering is kept only where the cited evidence supports it: a hypothesis the
  model moved above one the engine ranked higher stays there only if its strongest valid
  citation is at least as strong.
- Engine hypotheses the model did not mention are kept, after the model's.
"""

from __future__ import annotations

from typing import get_args

from pydantic import BaseModel, Field, ValidationError

from domain.models import Cause, DroppedHypothesis, Finding, Hypothesis


class ModelHypothesis(BaseModel):
    resource: str
    cause: Cause
    reasoning: str = Field(max_length=4_000)
    cited_findings: list[str] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    rank: int | None = Field(default=None, ge=1)


class ModelAnswer(BaseModel):
    hypotheses: list[ModelHypothesis]


ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "hypotheses": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "resource": {"type": "string"},
                    "cause": {"type": "string", "enum": list(get_args(Cause))},
                    "reasoning": {"type": "string", "description": "why, in two to four sentences, citing finding ids"},
                    "cited_findings": {"type": "array", "items": {"type": "string"}},
                    "next_steps": {"type": "array", "items": {"type": "string"}},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1,
                                   "description": "optional; only lower than the engine's is used"},
                    "rank": {"type": "integer", "minimum": 1, "description": "optional; 1 = most likely"},
                },
                "required": ["resource", "cause", "reasoning", "cited_findings", "next_steps"],
            },
        },
    },
    "required": ["hypotheses"],
}


class Grounded(BaseModel):
    hypotheses: list[Hypothesis]
    dropped: list[DroppedHypothesis]
    notes: list[str]


def parse_answer(arguments: object) -> ModelAnswer:
    """The answer tool's input as a model; raises ValueError when it does not fit the schema."""
    try:
        return ModelAnswer.model_validate(arguments)
    except ValidationError as exc:
        raise ValueError(f"answer does not fit the schema: {exc.errors()[0]['msg']}") from exc


def _strength(hyp: Hypothesis, findings: dict[str, Finding]) -> float:
    return max((findings[i].score for i in hyp.supporting_findings if i in findings), default=0.0)


def supported_order(proposed: list[Hypothesis], engine_rank: dict[str, int], findings: dict[str, Finding]) -> list[Hypothesis]:
    """`proposed` with every inversion of the engine's order undone unless evidence backs it."""
    order = list(proposed)
    unranked = len(engine_rank)
    changed = True
    while changed:
        changed = False
        for i in range(len(order) - 1):
            above, below = order[i], order[i + 1]
            inverted = engine_rank.get(below.resource, unranked) < engine_rank.get(above.resource, unranked)
            if inverted and _strength(above, findings) < _strength(below, findings):
                order[i], order[i + 1] = below, above
                changed = True
    return order


def ground(
    answer: ModelAnswer,
    engine: list[Hypothesis],
    findings: list[Finding],
    paths: dict[str, list[str]],
) -> Grounded:
    """Turn the model's answer into hypotheses the evidence supports (see the module doc).

    `paths` maps a resource to its propagation path; a resource without one has `[resource]`.
    """
    by_id = {f.id: f for f in findings}
    engine_by_resource = {h.resource: h for h in engine}
    engine_rank = {h.resource: i for i, h in enumerate(engine)}
    dropped: list[DroppedHypothesis] = []
    notes: list[str] = []
    kept: list[tuple[int, Hypothesis]] = []
    seen: set[str] = set()
    for position, proposed in enumerate(answer.hypotheses):
        if proposed.resource in seen:
            dropped.append(DroppedHypothesis(resource=proposed.resource, reason="proposed twice; the first kept"))
            continue
        hops = set(paths.get(proposed.resource, [proposed.resource]))
        valid = [i for i in dict.fromkeys(proposed.cited_findings) if i in by_id and by_id[i].resource in hops]
        invalid = [i for i in proposed.cited_findings if i not in valid]
        if not valid:
            why = (f"cited {', '.join(invalid[:3])}, which {'do' if len(invalid) > 1 else 'does'} not exist or concern it"
                   if invalid else "cited no finding")
            dropped.append(DroppedHypothesis(resource=proposed.resource, reason=why))
            continue
        if invalid:
            notes.append(f"Claude's citations of {', '.join(invalid[:3])} for {proposed.resource} were ignored: "
                         "not findings about it or its path")
        seen.add(proposed.resource)
        base = engine_by_resource.get(proposed.resource)
        engine_confidence = base.confidence if base else 0.0
        confidence = min(engine_confidence, proposed.confidence) if proposed.confidence is not None else engine_confidence
        cause = proposed.cause
        if cause == "change" and not any(by_id[i].kind == "change" for i in valid):
            cause = base.cause if base else "unknown"
        origin = "" if base else " (proposed by Claude; the engine did not rank it, so no calibrated confidence)"
        kept.append((proposed.rank or position + 1, Hypothesis(
            id=f"H-{proposed.resource}", resource=proposed.resource, cause=cause, confidence=confidence,
            evidence_score=base.evidence_score if base else 0.0,
            title=(base.title if base else f"{proposed.resource}: {cause}") + origin,
            reasoning=proposed.reasoning, supporting_findings=valid, next_steps=proposed.next_steps[:6],
            contradicting_findings=base.contradicting_findings if base else [],
            path=base.path if base else [], unfamiliar=base.unfamiliar if base else [],
        )))
    proposed_order = [h for _, h in sorted(kept, key=lambda pair: pair[0])]
    proposed_order += [h for h in engine if h.resource not in seen]
    ordered = supported_order(proposed_order, engine_rank, by_id)
    if [h.resource for h in ordered] != [h.resource for h in proposed_order]:
        notes.append("Claude's ordering was kept only where the cited evidence supports it")
    return Grounded(hypotheses=ordered, dropped=dropped, notes=notes)
