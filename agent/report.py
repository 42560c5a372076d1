"""The Markdown incident report: timeline, impact, hypotheses with evidence, next steps."""

from __future__ import annotations

from domain.models import Investigation
from agent.templates import environment


def markdown_report(investigation: Investigation) -> str:
    findings = {f.id: f for f in investigation.findings}
    impact = [f for f in investigation.findings if f.resource == investigation.trigger.resource and f.score >= 0.5]
    template = environment().get_template("report.md.j2")
    return template.render(inv=investigation, findings=findings, impact=impact)
