"""The Markdown incident report: timeline, impact, hypotheses with evidence, next steps."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from domain.models import Investigation

PROMPTS = Path(__file__).resolve().parents[1] / "prompts"


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(PROMPTS), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def template(name: str, filters: dict | None = None):
    """A report template from prompts/ with extra `filters`; undefined variables are an error."""
    env = _environment()
    env.filters.update(filters or {})
    return env.get_template(name)


def markdown_report(investigation: Investigation) -> str:
    findings = {f.id: f for f in investigation.findings}
    impact = [f for f in investigation.findings if f.resource == investigation.trigger.resource and f.score >= 0.5]
    template = _environment().get_template("report.md.j2")
    return template.render(inv=investigation, findings=findings, impact=impact)
