"""The prompts Claude reads, rendered from prompts/claude/*.j2 with StrictUndefined.

The system prompt holds nothing specific to one incident, so with the tools it forms a
stable prefix that prompt caching can reuse across investigations.
"""

from __future__ import annotations

from typing import get_args

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from agent.reasoners.claude.compact import fenced_json
from tools.redact import redact_text
from agent.state import Scope
from domain.models import Cause, Hypothesis, Trigger

PROMPTS = Path(__file__).resolve().parents[3] / "prompts" / "claude"
ANSWER_TOOL = "submit_hypotheses"


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(PROMPTS), undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)


def system_prompt(rounds: int) -> str:
    return _environment().get_template("system.md.j2").render(causes=get_args(Cause), rounds=rounds, answer_tool=ANSWER_TOOL)


def investigation_prompt(
    trigger: Trigger,
    scope: Scope,
    hypotheses: list[tuple[Hypothesis, list[str]]],
    findings: list[dict],
    *,
    total: int,
    abstained: bool,
    abstain_reason: str | None,
) -> str:
    """The first user turn; `hypotheses` pairs each engine hypothesis with its propagation path."""
    rows = [
        {"resource": redact_text(h.resource), "cause": h.cause, "confidence": h.confidence,
         "path": [redact_text(hop) for hop in path],
         "cites": h.supporting_findings or ["(nothing)"]}
        for h, path in hypotheses
    ]
    return _environment().get_template("investigation.md.j2").render(
        trigger=trigger, scope=scope, alarm_name=redact_text(trigger.alarm_name), entry=redact_text(scope.entry),
        resources=[redact_text(r) for r in scope.resources], hypotheses=rows, findings=[fenced_json(f) for f in findings],
        shown=len(findings), total=total, trimmed=total - len(findings), abstained=abstained,
        abstain_reason=abstain_reason or "", answer_tool=ANSWER_TOOL,
    )
