"""Findings reduced to what Claude needs to read them, redacted, within a token budget.

Never raw telemetry by volume: a finding is its id, resource, signal, summary, score, onset,
the baseline and incident values and at most two short sample lines. Everything that came
from the system under investigation (log lines, trace and change text, details) is redacted
here, before any prompt is rendered.
"""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import BaseModel

from domain.models import Finding
from tools.redact import redact_text, redact_value

SAMPLE_LINES = 2
SAMPLE_CHARS = 240
SUMMARY_CHARS = 400
DETAIL_CHARS = 160
# Local token estimate: one token per 3 bytes of UTF-8. Claude's tokenizer averages nearer
# 3.5-4 characters per token on English and JSON, so this over-counts on purpose: a prompt
# that fits by this count fits by the model's count (the report shows the model's own count).
BYTES_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def _short(text: str, limit: int) -> str:
    text = redact_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _details(details: Any) -> dict[str, Any]:
    raw = details.model_dump(mode="json", exclude_none=True) if isinstance(details, BaseModel) else dict(details or {})
    raw.pop("kind", None)  # the finding's own kind, already in the compact body
    clean = redact_value(raw)
    return {k: _short(v, DETAIL_CHARS) if isinstance(v, str) else v for k, v in clean.items()}


def compact_finding(finding: Finding) -> dict[str, Any]:
    """The one place a Finding becomes prompt data (adapt here when Evidence changes shape)."""
    ev = finding.evidence
    body: dict[str, Any] = {
        "id": finding.id,
        "kind": finding.kind,
        "domain": finding.domain,
        "resource": redact_text(finding.resource),
        "signal": _short(finding.signal, SUMMARY_CHARS),
        "summary": _short(finding.summary, SUMMARY_CHARS),
        "score": round(finding.score, 3),
    }
    if finding.direction:
        body["direction"] = finding.direction
    if finding.onset:
        body["onset"] = finding.onset.isoformat()
    for key in ("baseline_value", "incident_value", "unit"):
        value = getattr(ev, key)
        if value is not None:
            body[key] = round(value, 4) if isinstance(value, float) else value
    if ev.sample_logs:
        body["sample_lines"] = [_short(line, SAMPLE_CHARS) for line in ev.sample_logs[:SAMPLE_LINES]]
    if ev.event_ids:
        body["change_ids"] = ev.event_ids[:5]
    details = _details(ev.details)
    if details:
        body["details"] = details
    return body


def fenced_json(value: Any) -> str:
    """JSON that cannot close the fence it sits in: `<` and `>` are escaped as JSON allows."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def value_order(findings: list[Finding], cited: dict[str, int]) -> list[Finding]:
    """Most valuable first: cited by a higher-ranked hypothesis, then anomalous, then by score.

    `cited` maps a finding id to the best (lowest, 0-based) rank of a hypothesis citing it.
    """
    uncited = len(cited) + 1_000_000
    return sorted(findings, key=lambda f: (cited.get(f.id, uncited), f.kind == "gap", -f.score, f.id))


def fit_findings(findings: list[Finding], cited: dict[str, int], fits) -> tuple[list[Finding], int]:
    """The most valuable findings for which `fits(kept)` holds, and how many were trimmed.

    Lowest-value findings go first; a binary search keeps the number of renders small on
    incidents with thousands of findings.
    """
    ordered = value_order(findings, cited)
    if fits(ordered):
        return ordered, 0
    low, high = 0, len(ordered)  # fits(ordered[:low]) holds (zero findings is the floor), high does not
    while high - low > 1:
        mid = (low + high) // 2
        if fits(ordered[:mid]):
            low = mid
        else:
            high = mid
    return ordered[:low], len(ordered) - low
