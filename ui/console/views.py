"""Drawing an investigation in Streamlit: hypotheses, findings by domain with their pictures,
the timeline, revisions and decisions.

Every piece of untrusted text (log lines, alarm names, summaries and reasoning built from
telemetry, notes) goes through `st.text`, `st.code` or a dataframe cell, never through
Markdown or HTML, so a `<script>` or a `[link](...)` in a log line is shown as the characters
it is. Labels given to widgets are our own words plus ids we generate.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import streamlit as st

from domain.models import Decision, Finding, Hypothesis, Investigation
from agent.decisions import verdicts
from agent.ranking.path import describe
from agent.reasoners.claude.cost import usage_line

DOMAINS = ("network", "infrastructure", "application")
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def plain(text: str) -> str:
    """`text` with every Markdown special character backslash-escaped, for the few places that
    only take Markdown (alerts, widget labels): it then shows as the characters it is."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)
Decide = Callable[[str, str, str], None]  # (target id, "accepted" | "discarded" | "noted", note text)


def _mark(target_id: str, inv: Investigation) -> str:
    decided = verdicts(inv.decisions)
    if decided.is_accepted(target_id):
        return "  [accepted]"
    if decided.is_discarded(target_id):
        return "  [discarded]"
    return ""


def header(inv: Investigation, status: str) -> None:
    trig = inv.trigger
    st.subheader(f"Investigation {inv.id} · revision {inv.revision} · {status.replace('_', ' ')}")
    st.text(
        f"alarm {trig.alarm_name} on {trig.resource} ({trig.metric}) "
        f"at {trig.state_change_time:%Y-%m-%d %H:%M:%S} UTC"
    )
    if inv.root_cause is not None:
        st.success("Root cause of record (accepted):")
        st.text(f"{inv.root_cause.resource} [{inv.root_cause.cause}] {inv.root_cause.title}")
    if inv.abstained:
        st.warning("No root cause is supported strongly enough; the hypotheses below are weak leads.")
        st.text(inv.abstain_reason or "")
    reasoner(inv)
    for note in inv.notes:
        if inv.reasoner is not None and note == inv.reasoner.note:
            continue  # the reasoner's line is shown above
        st.caption("note")
        st.text(note)


def reasoner(inv: Investigation) -> None:
    """Who wrote the hypotheses (one line, a warning when Claude fell back) and the tokens and cost."""
    report = inv.reasoner
    if report is None:
        return
    line = report.note or f"hypotheses written by {report.name}"
    (st.warning if report.fell_back else st.info)(plain(line))
    st.text(f"model usage: {usage_line(report.usage)}")


def decision_controls(target_id: str, decide: Decide | None, key: str) -> None:
    """Accept / Discard / a note on one finding or hypothesis; disabled while it cannot be decided."""
    left, mid, note_col, save = st.columns([1, 1, 3, 1])
    disabled = decide is None
    if left.button("Accept", key=f"accept-{key}", disabled=disabled):
        decide(target_id, "accepted", "")
    if mid.button("Discard", key=f"discard-{key}", disabled=disabled):
        decide(target_id, "discarded", "")
    note = note_col.text_input("Note", key=f"note-{key}", label_visibility="collapsed",
                               placeholder="add a note", disabled=disabled)
    if save.button("Save note", key=f"savenote-{key}", disabled=disabled) and note.strip():
        decide(target_id, "noted", note.strip())


def _notes(target_id: str, decisions: list[Decision]) -> None:
    for d in decisions:
        if d.target_id == target_id and d.note:
            st.text(f"{d.by} at {d.at:%H:%M:%S}: {d.note}")


def hypotheses(inv: Investigation, decide: Decide | None) -> None:
    if not inv.hypotheses:
        st.info("No hypothesis: nothing in the telemetry points at a cause.")
        return
    findings = {f.id: f for f in inv.findings}
    for rank, hyp in enumerate(inv.hypotheses, start=1):
        _hypothesis(rank, hyp, findings, inv, decide)


def _hypothesis(rank: int, hyp: Hypothesis, findings: dict[str, Finding], inv: Investigation, decide: Decide | None) -> None:
    weak = inv.abstained
    strength = f"evidence score {hyp.evidence_score:.2f}" if weak else f"confidence {hyp.confidence:.0%}"
    with st.container(border=True):
        st.text(f"#{rank}  {hyp.resource}  [{hyp.cause}]  {strength}{_mark(hyp.id, inv)}   ({hyp.id})")
        st.progress(min(1.0, max(0.0, hyp.evidence_score if weak else hyp.confidence)))
        st.text(hyp.title)
        with st.expander("Reasoning, evidence and next steps"):
            st.text(hyp.reasoning)
            path = _path(hyp, findings, inv.trigger.resource)
            if len(path) > 1:
                st.caption("propagation path (cause -> alarm)")
                st.graphviz_chart(_path_graph(path), width="content")
            if hyp.path:
                st.text(f"path: {describe(hyp.path)}")
            st.caption("evidence")
            for fid in hyp.supporting_findings:
                finding = findings.get(fid)
                if finding is not None:
                    st.text(f"[{fid}] {finding.summary}")
                    if finding.evidence.console_link:
                        st.link_button("Open in the AWS console", finding.evidence.console_link)
            if hyp.next_steps:
                st.caption("next steps")
                st.text("\n".join(f"- {s}" for s in hyp.next_steps))
        _notes(hyp.id, inv.decisions)
        decision_controls(hyp.id, decide, key=hyp.id)


def _path(hyp: Hypothesis, findings: dict[str, Finding], alarmed: str) -> list[str]:
    """The engine's checked path when the hypothesis has one; else (stored before paths existed)
    the cause, then the resources its evidence names, then the alarmed resource."""
    if hyp.path:
        return [hop.resource for hop in hyp.path]
    path = [hyp.resource]
    for fid in hyp.supporting_findings:
        finding = findings.get(fid)
        if finding is not None and finding.resource not in path:
            path.append(finding.resource)
    if alarmed not in path:
        path.append(alarmed)
    return path


def _path_graph(path: list[str]) -> str:
    """A DOT graph; names are quoted with their quotes and backslashes escaped, so a resource
    name cannot break out of its label."""
    def q(name: str) -> str:
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'

    edges = "; ".join(f"{q(a)} -> {q(b)}" for a, b in zip(path, path[1:]))
    return f"digraph {{ rankdir=LR; node [shape=box, fontsize=10]; {edges} }}"


def _detail(finding: Finding, name: str) -> object:
    """One fact from a finding's details, whether they are a dict or a typed model."""
    details = finding.evidence.details
    if details is None:
        return None
    if isinstance(details, dict):
        return details.get(name)
    return getattr(details, name, None)


def _utc_axis(field: str):
    """A time axis in UTC whatever the browser's time zone: incidents are told in UTC."""
    import altair as alt

    return alt.X(f"{field}:T", title="UTC", scale=alt.Scale(type="utc"), axis=alt.Axis(format="%H:%M"))


def metric_picture(finding: Finding) -> None:
    """The series over the incident window, the baseline's normal band and the onset."""
    series = finding.evidence.series
    if series is None or not series.values:
        ev = finding.evidence
        if ev.baseline_value is not None and ev.incident_value is not None:
            st.bar_chart(pd.DataFrame({"value": [ev.baseline_value, ev.incident_value]}, index=["baseline", "incident"]),
                         height=160)
        return
    import altair as alt

    frame = pd.DataFrame({"time": pd.to_datetime(series.timestamps, utc=True), "value": series.values})
    band = alt.Chart(pd.DataFrame({"low": [series.band_low], "high": [series.band_high]})).mark_rect(
        opacity=0.15, color="green").encode(y="low:Q", y2="high:Q")
    line = alt.Chart(frame).mark_line(point=len(frame) < 60).encode(
        x=_utc_axis("time"), y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)))
    layers = [band, line]
    if finding.onset is not None:
        onset = pd.DataFrame({"time": [pd.Timestamp(finding.onset)]})
        layers.append(alt.Chart(onset).mark_rule(color="red", strokeDash=[4, 3]).encode(x=_utc_axis("time")))
    st.altair_chart(alt.layer(*layers).properties(height=180), width="stretch")
    st.caption("green band: the baseline's normal range; red line: onset")


def log_picture(finding: Finding) -> None:
    """Template (or error) counts per minute before and during the incident, and a sample line."""
    rates = {}
    for phase in ("baseline", "incident"):
        count, minutes = _detail(finding, f"{phase}_count"), _detail(finding, f"{phase}_minutes")
        if isinstance(count, (int, float)) and isinstance(minutes, (int, float)) and minutes > 0:
            rates[phase] = count / minutes
    if rates:
        st.bar_chart(pd.DataFrame({"lines per minute": list(rates.values())}, index=list(rates.keys())), height=140)
    for line in finding.evidence.sample_logs[:1]:
        st.caption("sample line")
        st.code(line, language=None)


def trace_picture(finding: Finding) -> None:
    ev = finding.evidence
    if ev.baseline_value is not None and ev.incident_value is not None:
        label = f"{finding.signal[:40]} ({ev.unit or 'value'})"
        st.bar_chart(pd.DataFrame({label: [ev.baseline_value, ev.incident_value]}, index=["baseline", "incident"]),
                     height=140)
    if _detail(finding, "errors") is not None:
        st.text(f"errors: {_detail(finding, 'errors')} of {_detail(finding, 'spans') or '?'} spans")


def findings(inv: Investigation, decide: Decide | None) -> None:
    tabs = st.tabs([f"{d} ({sum(f.domain == d for f in inv.findings)})" for d in DOMAINS])
    for domain, tab in zip(DOMAINS, tabs):
        with tab:
            chosen = [f for f in inv.findings if f.domain == domain]
            if not chosen:
                st.caption(f"No {domain} findings.")
            for finding in chosen:
                finding_card(finding, inv, decide)


def finding_card(finding: Finding, inv: Investigation, decide: Decide | None) -> None:
    with st.container(border=True):
        pinned = "  [pinned]" if finding.id in inv.pinned else ""
        st.text(f"[{finding.id}] {finding.kind} · {finding.resource} · score {finding.score:.2f}{_mark(finding.id, inv)}{pinned}")
        st.text(finding.summary)
        if finding.kind == "metric":
            metric_picture(finding)
        elif finding.kind == "log":
            log_picture(finding)
        elif finding.kind == "trace":
            trace_picture(finding)
        if finding.evidence.console_link:
            st.link_button("Open in the AWS console", finding.evidence.console_link)
        _notes(finding.id, inv.decisions)
        decision_controls(finding.id, decide, key=finding.id)


def timeline(inv: Investigation) -> None:
    """Changes, health events and onsets in time order, with the alarm as a mark."""
    if not inv.timeline:
        st.caption("Nothing on the timeline.")
        return
    rows = [{"time (UTC)": t.time, "source": t.source, "event": t.text, "finding": t.finding_id or ""}
            for t in inv.timeline]
    frame = pd.DataFrame(rows)
    import altair as alt

    points = alt.Chart(frame).mark_circle(size=90).encode(
        x=_utc_axis("time (UTC)"), y=alt.Y("source:N"), color="source:N", tooltip=["time (UTC)", "source", "event"])
    alarm = alt.Chart(pd.DataFrame({"t": [pd.Timestamp(inv.trigger.state_change_time)]})).mark_rule(color="red").encode(x=_utc_axis("t"))
    st.altair_chart(alt.layer(points, alarm).properties(height=160), width="stretch")
    st.caption("red line: the alarm")
    frame["time (UTC)"] = [t.time.strftime("%Y-%m-%d %H:%M:%S") for t in inv.timeline]
    st.dataframe(frame, hide_index=True, width="stretch")


def revisions_side_by_side(revisions: list[Investigation]) -> None:
    """Each revision's top hypotheses and what was decided before it, one column per revision."""
    if len(revisions) < 2:
        st.caption("One revision so far; rerun with your decisions to get another.")
    columns = st.columns(max(1, min(len(revisions), 3)))
    for column, inv in zip(columns, revisions[-3:]):
        with column:
            st.markdown(f"**Revision {inv.revision}**")
            lines = [f"#{i} {h.resource} [{h.cause}] {h.confidence:.0%}" for i, h in enumerate(inv.hypotheses[:5], start=1)]
            st.text("\n".join(lines) or ("abstained" if inv.abstained else "no hypothesis"))
            st.text(f"{len(inv.findings)} findings; {len(inv.discarded)} discarded; {len(inv.pinned)} pinned")


def partial_findings(items: list[Finding]) -> None:
    if not items:
        st.caption("No findings arrived before it stopped.")
        return
    for finding in items:
        st.text(f"[{finding.id}] {finding.domain} · {finding.resource}: {finding.summary}")
