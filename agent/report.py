"""The Markdown incident report: timeline, impact, hypotheses with evidence, next steps."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from domain.findings import MetricDetails
from domain.models import Finding, Investigation

PROMPTS = Path(__file__).resolve().parents[1] / "prompts"


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(PROMPTS), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _anomaly(finding: Finding) -> bool:
    """A finding that shows the resource misbehaving (an observation that the alarmed metric
    stayed normal is not one, whatever its largest point scored)."""
    details = finding.evidence.details
    return finding.score >= 0.5 and not (isinstance(details, MetricDetails) and details.alarm_metric_normal)


def markdown_report(investigation: Investigation) -> str:
    findings = {f.id: f for f in investigation.findings}
    impact = [f for f in investigation.findings if f.resource == investigation.trigger.resource and _anomaly(f)]
    template = _environment().get_template("report.md.j2")
    return template.render(inv=investigation, findings=findings, impact=impact)
