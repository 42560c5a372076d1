"""The stable JSON output of `investigate --json` (documented in docs/output-schema.md)."""

from __future__ import annotations

from typing import Any

from domain.models import Investigation

SCHEMA_VERSION = 2


def to_json(investigation: Investigation, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "investigation_id": investigation.id,
        "trigger": investigation.trigger.model_dump(mode="json"),
        "abstained": investigation.abstained,
        "abstain_reason": investigation.abstain_reason,
        "hypotheses": [
            {
                "rank": rank,
                "resource": h.resource,
                "cause": h.cause,
                "confidence": h.confidence,
                "evidence_score": h.evidence_score,
                "title": h.title,
                "reasoning": h.reasoning,
                "supporting_findings": h.supporting_findings,
                "next_steps": h.next_steps,
                "path": [hop.model_dump(mode="json") for hop in h.path],
                "unfamiliar": h.unfamiliar,
            }
            for rank, h in enumerate(investigation.hypotheses, start=1)
        ],
        "findings": [f.model_dump(mode="json") for f in investigation.findings],
        "timeline": [t.model_dump(mode="json") for t in investigation.timeline],
        "notes": investigation.notes,
    }
    if investigation.reasoner is not None:
        body["reasoner"] = investigation.reasoner.model_dump(mode="json")
    if extra:
        body.update(extra)
    return body
