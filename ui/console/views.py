"""Drawing an investigation in Streamlit: hypotheses, findings by domain, decisions.

Every piece of untrusted text (log lines, alarm names, summaries built from telemetry) goes
through `st.text` or `st.code`, never through Markdown, so a `<script>` or a `[link](...)` in
a log line is shown as the characters it is.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from domain.models import Finding, Hypothesis, Investigation

DOMAINS = ("network", "infrastructure", "application")
Decide = Callable[[str, str, str], None]  # (target id, verdict or "note", note text)


def verdicts(investigation: Investigation) -> dict[str, str]:
    """The latest verdict per target id (accepted / discarded); notes do not change it."""
    latest: dict[str, str] = {}
    for decision in sorted(investigation.decisions, key=lambda d: d.at):
        latest[decision.target_id] = decision.verdict
    return latest


def header(investigation: Investigation) -> None:
    trig = investigation.trigger
    st.subheader("Investigation")
    st.text(
        f"{investigation.id}: alarm {trig.alarm_name} on {trig.resource} ({trig.metric}) "
        f"at {trig.state_change_time:%Y-%m-%d %H:%M:%S} UTC"
    )
    if investigation.abstained:
        st.warning("No root cause is supported strongly enough; the hypotheses below are weak leads.")
        st.text(investigation.abstain_reason or "")


def _decision_buttons(target_id: str, current: str | None, decide: Decide, key: str) -> None:
    left, mid, right = st.columns([1, 1, 3])
    if left.button("Accept", key=f"accept-{key}", disabled=current == "accepted"):
        decide(target_id, "accepted", "")
        st.rerun()
    if mid.button("Discard", key=f"discard-{key}", disabled=current == "discarded"):
        decide(target_id, "discarded", "")
        st.rerun()
    with right.form(key=f"note-form-{key}", clear_on_submit=True, border=False):
        note = st.text_input("Note", key=f"note-{key}", label_visibility="collapsed", placeholder="add a note")
        if st.form_submit_button("Save note") and note.strip():
            decide(target_id, "note", note.strip())
            st.rerun()


def hypotheses(investigation: Investigation, decide: Decide) -> None:
    st.subheader("Hypotheses")
    if not investigation.hypotheses:
        st.info("No hypothesis.")
        return
    findings = {f.id: f for f in investigation.findings}
    current = verdicts(investigation)
    for rank, hyp in enumerate(investigation.hypotheses, start=1):
        _hypothesis(rank, hyp, findings, current.get(hyp.id), investigation.abstained, decide)


def _hypothesis(
    rank: int, hyp: Hypothesis, findings: dict[str, Finding], verdict: str | None, weak: bool, decide: Decide
) -> None:
    strength = f"score {hyp.evidence_score:.2f}" if weak else f"{hyp.confidence:.0%}"
    mark = {"accepted": " — accepted", "discarded": " — discarded"}.get(verdict or "", "")
    with st.container(border=True):
        st.text(f"#{rank}  {strength}  {hyp.resource}  [{hyp.cause}]{mark}")
        st.progress(min(1.0, hyp.evidence_score if weak else hyp.confidence))
        st.text(hyp.title)
        with st.expander("Reasoning, evidence and next steps"):
            st.text(hyp.reasoning)
            for fid in hyp.supporting_findings:
                finding = findings.get(fid)
                if finding is not None:
                    st.text(f"[{fid}] {finding.summary}")
                    if finding.evidence.console_link:
                        st.link_button("Open in the AWS console", finding.evidence.console_link)
            st.text("Next steps:\n" + "\n".join(f"- {s}" for s in hyp.next_steps))
        _decision_buttons(hyp.id, verdict, decide, key=hyp.id)


def _metric_picture(finding: Finding) -> None:
    ev = finding.evidence
    if ev.baseline_value is not None and ev.incident_value is not None:
        frame = pd.DataFrame({"value": [ev.baseline_value, ev.incident_value]}, index=["baseline", "incident"])
        st.bar_chart(frame, height=160)


def findings(investigation: Investigation, decide: Decide) -> None:
    st.subheader("Findings")
    current = verdicts(investigation)
    tabs = st.tabs([f"{d} ({sum(f.domain == d for f in investigation.findings)})" for d in DOMAINS])
    for domain, tab in zip(DOMAINS, tabs):
        with tab:
            for finding in [f for f in investigation.findings if f.domain == domain]:
                verdict = current.get(finding.id)
                mark = {"accepted": " — accepted", "discarded": " — discarded"}.get(verdict or "", "")
                with st.container(border=True):
                    st.text(f"[{finding.id}] {finding.kind} · {finding.resource} · score {finding.score:.2f}{mark}")
                    st.text(finding.summary)
                    if finding.kind == "metric":
                        _metric_picture(finding)
                    for line in finding.evidence.sample_logs[:1]:
                        st.code(line, language=None)
                    if finding.evidence.console_link:
                        st.link_button("Open in the AWS console", finding.evidence.console_link)
                    _decision_buttons(finding.id, verdict, decide, key=finding.id)


def timeline(investigation: Investigation) -> None:
    if not investigation.timeline:
        return
    st.subheader("Timeline")
    frame = pd.DataFrame(
        [{"time (UTC)": t.time.strftime("%H:%M:%S"), "source": t.source, "event": t.text} for t in investigation.timeline]
    )
    st.dataframe(frame, hide_index=True, use_container_width=True)
