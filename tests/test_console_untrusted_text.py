"""Untrusted text in the console (log lines, alarm names, resource names) is shown as the
characters it is: never interpreted as HTML or Markdown."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

PAYLOAD = "ERROR <script>alert('pwned')</script> see [the runbook](http://evil.example/x) **now**"


def _page() -> None:
    from datetime import datetime, timezone

    from domain.models import Evidence, Finding, Hypothesis, Investigation, TimelineEntry, Trigger
    from ui.console import views

    payload = "ERROR <script>alert('pwned')</script> see [the runbook](http://evil.example/x) **now**"
    at = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)
    finding = Finding(
        id="log-0001", domain="application", kind="log", resource="checkout", signal="template",
        summary=f"new template: {payload}", onset=at, score=0.9,
        evidence=Evidence(sample_logs=[payload]),
    )
    inv = Investigation(
        id="inv-x", trigger=Trigger(alarm_name=f"alarm {payload}", resource="checkout", metric="5xx", state_change_time=at),
        findings=[finding],
        hypotheses=[Hypothesis(id="H-checkout", resource="checkout", cause="change", confidence=0.8, title=payload,
                               reasoning=payload, supporting_findings=["log-0001"])],
        timeline=[TimelineEntry(time=at, source="log", text=payload, finding_id="log-0001")],
    )
    views.header(inv, "awaiting_review")
    views.hypotheses(inv, None)
    views.findings(inv, None)


def test_a_log_line_with_script_and_markdown_link_is_plain_text() -> None:
    at = AppTest.from_function(_page, default_timeout=60).run()
    assert not at.exception, at.exception
    shown = [e.value for e in at.text] + [e.value for e in at.code]
    # The sample line and the summary, title and reasoning appear with every character intact...
    assert PAYLOAD in at.code[0].value
    assert sum(PAYLOAD in value for value in shown) >= 4
    # ...and nothing was handed to a Markdown or HTML renderer.
    rendered = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.body for e in at.info]
    assert not any("evil.example" in value or "<script>" in value for value in rendered)
    assert not [e for e in at.get("html")]
