"""The Markdown incident report: timeline, impact, hypotheses with evidence, next steps."""

from __future__ import annotations

import re

from jinja2 import Environment
from markupsafe import Markup

from domain.findings import MetricDetails
from domain.models import Finding, Investigation
from agent.ranking.path import describe
from agent.templates import environment
from tools.sanitize import for_markdown, for_terminal

_SAFE_URL = re.compile(r"https://[A-Za-z0-9.-]+\.aws\.amazon\.com/[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]*")


def _escape(value: object) -> object:
    """Every value the template prints is escaped unless the template marked it as Markdown."""
    return value if isinstance(value, Markup) else for_markdown(str(value))


def _code(value: object) -> Markup:
    """`value` as an inline code span, which renders HTML and link syntax literally.

    A value holding a backtick could close the span early, so it is escaped as plain text instead.
    """
    text = for_terminal(str(value)).replace("\n", " ")
    return Markup(for_markdown(text) if "`" in text else f"`{text}`")


def _console_link(url: object) -> Markup:
    """A link to the AWS console, which our code builds with every part URL-encoded. Anything
    that is not such a URL (it would carry characters that end a Markdown link) is shown as
    escaped text instead of a link."""
    text = str(url)
    if _SAFE_URL.fullmatch(text):
        return Markup(f"[console](<{text}>)")
    return Markup(for_markdown(text))


def _report_environment() -> Environment:
    # Untrusted text (log lines, alarm names, titles) fills the report: escape every value.
    report_environment = environment()
    report_environment.finalize = _escape
    report_environment.filters["code"] = _code
    report_environment.filters["console_link"] = _console_link
    return report_environment


def template(name: str, filters: dict | None = None):
    """A report template from prompts/ with extra `filters`; undefined variables are an error."""
    env = environment()
    env.filters.update(filters or {})
    return env.get_template(name)


def _anomaly(finding: Finding) -> bool:
    """A finding that shows the resource misbehaving (an observation that the alarmed metric
    stayed normal is not one, whatever its largest point scored)."""
    details = finding.evidence.details
    return finding.score >= 0.5 and not (isinstance(details, MetricDetails) and details.alarm_metric_normal)


def markdown_report(investigation: Investigation) -> str:
    findings = {f.id: f for f in investigation.findings}
    impact = [f for f in investigation.findings if f.resource == investigation.trigger.resource and _anomaly(f)]
    template = _report_environment().get_template("report.md.j2")
    return template.render(inv=investigation, findings=findings, impact=impact, describe_path=describe)
