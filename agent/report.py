"""The Markdown incident report: timeline, impact, hypotheses with evidence, next steps."""

from __future__ import annotations

from domain.findings import MetricDetails
from domain.models import Finding, Investigation
from agent.templates import environment


def _anomaly(finding: Finding) -> bool:
    """A finding that shows the resource misbehaving (an observation that the alarmed metric
    stayed normal is not one, whatever its largest point scored)."""
    details = finding.evidence.details
    return finding.score >= 0.5 and not (isinstance(details, MetricDetails) and details.alarm_metric_normal)


def markdown_report(investigation: Investigation) -> str:
    findings = {f.id: f for f in investigation.findings}
    impact = [f for f in investigation.findings if f.resource == investigation.trigger.resource and _anomaly(f)]
    template = environment().get_template("report.md.j2")
    return template.render(inv=investigation, findings=findings, impact=impact)
