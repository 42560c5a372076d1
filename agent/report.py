"""The Markdown incident report: timeline, impact, hypotheses with evidence, next steps."""

from __future__ import annotations

from jinja2 import Environment
from markupsafe import Markup

from domain.models import Investigation
from agent.templates import environment
from tools.sanitize import for_markdown, for_terminal


def _escape(value: object) -> object:
    """Every value the template prints is escaped unless the template marked it as Markdown."""
    return value if isinstance(value, Markup) else for_markdown(str(value))


def _code(value: object) -> Markup:
    """`value` as an inline code span, which renders HTML and link syntax literally.

    A value holding a backtick could close the span early, so it is escaped as plain text instead.
    """
    text = for_terminal(str(value)).replace("\n", " ")
    return Markup(for_markdown(text) if "`" in text else f"`{text}`")


def _report_environment() -> Environment:
    # Untrusted text (log lines, alarm names, titles) fills the report: escape every value.
    report_environment = environment()
    report_environment.finalize = _escape
    report_environment.filters["code"] = _code
    return report_environment


def markdown_report(investigation: Investigation) -> str:
    findings = {f.id: f for f in investigation.findings}
    impact = [f for f in investigation.findings if f.resource == investigation.trigger.resource and f.score >= 0.5]
    template = _report_environment().get_template("report.md.j2")
    return template.render(inv=investigation, findings=findings, impact=impact)
