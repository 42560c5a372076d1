"""The investigation console (Streamlit). Started by `investigator console`.

It drives the same runner, settings and store as the CLI through `ui.console.backend`, so an
investigation started here can be decided with `investigator decide` and the other way round.
Untrusted text is drawn by `ui.console.views` as plain text only.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from domain.errors import UserError
from agent.runner import NodeFinished
from ui.console import backend, views

EMULATOR_URL = "http://127.0.0.1:4566"


def _flash(kind: str, text: str) -> None:
    """A message that survives the st.rerun() after an action."""
    st.session_state["flash"] = (kind, text)


def _show_flash() -> None:
    kind, text = st.session_state.pop("flash", (None, None))
    if kind == "error":
        st.error(views.plain(text))
    elif kind == "ok":
        st.success(views.plain(text))


def _bundle_start(console: backend.Console) -> None:
    folder_key = "bundle_folder"
    if folder_key not in st.session_state:
        st.session_state[folder_key] = str(backend.default_bundle_folder())
    demo, gameday = st.sidebar.columns(2)
    if demo.button("Demo", key="use-demo", help="the bundled demo incident"):
        st.session_state[folder_key] = str(backend.default_bundle_folder())
    if gameday.button("Game days", key="use-gameday", help="the game-day suite, one seed per scenario"):
        with st.spinner("Writing the game-day bundles"):
            st.session_state[folder_key] = str(backend.gameday_folder())
    folder = st.sidebar.text_input("Bundle folder", key=folder_key)
    choices = backend.bundles_in(Path(folder).expanduser())
    if not choices:
        st.sidebar.warning("No recorded incidents (folders holding incident.yaml) in this folder.")
        return
    picked = st.sidebar.selectbox("Recorded incident", choices, key="bundle",
                                  format_func=lambda p: str(p.relative_to(Path(folder).expanduser())) or p.name)
    if st.sidebar.button("Investigate", key="start", type="primary"):
        st.session_state["job"] = ("bundle", str(picked))


def _alarm_start() -> None:
    region = st.sidebar.text_input("Region", key="region", placeholder="default of the profile")
    endpoint = st.sidebar.text_input("Endpoint URL", key="endpoint", placeholder="real AWS; or the emulator's URL")
    if st.sidebar.button("Use the local emulator", key="use-emulator",
                         help="`investigator emulator start --incident evals/demo/bad-deploy` must be running"):
        backend.use_emulator_credentials()
        st.session_state["endpoint"] = EMULATOR_URL
        st.session_state["region"] = st.session_state.get("region") or "us-east-1"
        st.rerun()
    try:
        alarms = backend.alarms_in_alarm(region or None, endpoint or None)
    except UserError as exc:
        st.sidebar.error(views.plain(str(exc)))
        st.sidebar.caption(
            "No AWS account at hand? Start the local emulator with "
            "`investigator emulator start --incident evals/demo/bad-deploy` and press \"Use the local emulator\"."
        )
        return
    if not alarms:
        st.sidebar.info("No alarm is in ALARM state here.")
        return
    picked = st.sidebar.selectbox("Alarm in ALARM state", alarms, key="alarm", format_func=lambda a: f"{a.name} ({a.metric})")
    if st.sidebar.button("Investigate", key="start-alarm", type="primary"):
        st.session_state["job"] = ("alarm", picked.name, region or None, endpoint or None)


def _reasoner_choice() -> None:
    """Who writes the hypotheses of the next investigation or rerun; Claude only when it can run."""
    problem = backend.claude_unavailable()
    if problem is not None or "reasoner" not in st.session_state:
        st.session_state["reasoner"] = backend.configured_reasoner() if problem is None else "deterministic"
    st.sidebar.radio("Reasoner", backend.REASONERS, key="reasoner", horizontal=True, disabled=problem is not None,
                     help="the deterministic engine (no model), or Claude over the engine's findings, grounded by "
                          "code; used for new investigations and reruns")
    if problem is not None:
        st.sidebar.caption(views.plain(f"Claude is not configured: {problem}"))


def _sidebar(console: backend.Console) -> None:
    st.sidebar.header("Start an investigation")
    _reasoner_choice()
    mode = st.sidebar.radio("From", ["Recorded incident", "Alarm (AWS or emulator)"], key="mode", horizontal=True)
    if mode == "Recorded incident":
        _bundle_start(console)
    else:
        _alarm_start()
    st.sidebar.header("History")
    try:
        past = console.history()
    except UserError as exc:
        st.sidebar.error(views.plain(str(exc)))
        return
    if not past:
        st.sidebar.caption("No stored investigations yet.")
    for item in past:
        top = item.top or "no hypothesis"
        label = f"{item.alarm_time:%m-%d %H:%M} {item.alarm} · r{item.revision} · {top}"
        if st.sidebar.button(views.plain(label), key=f"open-{item.id}", help=f"{item.id}, {item.status.replace('_', ' ')}"):
            st.session_state["current"] = item.id
            st.session_state.pop("failed", None)


def _progress(status) -> backend.ProgressCallback:
    def show(event: NodeFinished) -> None:
        status.update(label=f"Investigating: {event.describe()}")
        st.text(event.describe())
        for note in event.notes:
            st.text(note)
        for finding in event.findings[:8]:
            st.text(f"  [{finding.id}] {finding.resource}: {finding.summary}")
        if len(event.findings) > 8:
            st.caption(f"  and {len(event.findings) - 8} more")
    return show


def _run_job(console: backend.Console, job: tuple) -> None:
    """Run a start or rerun request, drawing each stage as it finishes."""
    label = {"bundle": "Investigating the recorded incident", "alarm": "Investigating the alarm",
             "rerun": "Rerunning with your decisions"}[job[0]]
    reasoner = st.session_state.get("reasoner", "deterministic")
    if reasoner != "deterministic":
        label += f" (hypotheses by {reasoner})"
    with st.status(label, expanded=True) as status:
        try:
            if job[0] == "bundle":
                outcome = console.investigate_bundle(Path(job[1]), on_progress=_progress(status), reasoner=reasoner)
            elif job[0] == "alarm":
                outcome = console.investigate_alarm(job[1], region=job[2], endpoint_url=job[3],
                                                    on_progress=_progress(status), reasoner=reasoner)
            else:
                outcome = console.rerun(job[1], on_progress=_progress(status), reasoner=reasoner)
        except UserError as exc:
            status.update(label="Could not start", state="error")
            st.error(views.plain(str(exc)))
            return
        if isinstance(outcome, backend.Failed):
            status.update(label="The investigation failed", state="error")
            st.session_state["failed"] = outcome
            return
        status.update(label="Done", state="complete", expanded=False)
    st.session_state["current"] = outcome.id
    st.session_state.pop("failed", None)
    _flash("ok", f"Revision {outcome.revision} done: {len(outcome.hypotheses)} hypotheses, {len(outcome.findings)} findings")
    st.rerun()  # draw the page again so that the history lists it


def _failed(failed: backend.Failed) -> None:
    st.error("The investigation failed:")
    st.text(failed.reason)
    st.caption("stages that finished")
    st.text("\n".join(failed.steps) or "none")
    st.subheader("Findings so far")
    views.partial_findings(failed.findings)


def _investigation(console: backend.Console, inv_id: str) -> None:
    try:
        stored = console.load(inv_id)
    except UserError as exc:
        st.error(views.plain(str(exc)))
        return
    if stored.investigation is None:
        st.warning(f"Investigation {inv_id} has no completed revision ({stored.status.replace('_', ' ')}).")
        if stored.status == "interrupted" and st.button("Finish it", key="finish"):
            st.session_state["job"] = ("rerun", inv_id)
            st.rerun()
        return
    numbers = [r.number for r in stored.revisions]
    shown = st.selectbox("Revision", numbers, index=len(numbers) - 1, key=f"revision-{inv_id}-{numbers[-1]}",
                         format_func=lambda n: f"revision {n}" + (" (latest, with every decision)" if n == numbers[-1] else ""))
    latest = shown == numbers[-1]
    inv = stored.investigation if latest else stored.at_revision(shown)
    can_decide = latest and stored.status == "awaiting_review"

    def decide(target: str, verdict: str, note: str) -> None:
        try:
            console.decide(inv_id, target, verdict, note)
        except UserError as exc:
            _flash("error", str(exc))
        else:
            _flash("ok", f"{verdict} {target}; rerun to apply it")
        st.rerun()

    views.header(inv, stored.status)
    if st.button("Rerun with my decisions", key="rerun", type="primary", disabled=stored.status == "running"):
        st.session_state["job"] = ("rerun", inv_id)
        st.rerun()
    hyp_tab, find_tab, time_tab, rev_tab, report_tab = st.tabs(
        ["Hypotheses", f"Findings ({len(inv.findings)})", "Timeline", f"Revisions ({len(numbers)})", "Report"])
    with hyp_tab:
        views.hypotheses(inv, decide if can_decide else None)
    with find_tab:
        views.findings(inv, decide if can_decide else None)
    with time_tab:
        views.timeline(inv)
    with rev_tab:
        views.revisions_side_by_side([r.investigation for r in stored.revisions])
    with report_tab:
        _report(console, inv_id, inv.revision)


def _report(console: backend.Console, inv_id: str, revision: int) -> None:
    try:
        markdown = console.report(inv_id, "md", revision)
        as_json = console.report(inv_id, "json", revision)
    except UserError as exc:
        st.error(views.plain(str(exc)))
        return
    left, right = st.columns(2)
    left.download_button("Download report (Markdown)", markdown, file_name=f"{inv_id}-r{revision}.md",
                         mime="text/markdown", key="dl-md")
    right.download_button("Download report (JSON)", as_json, file_name=f"{inv_id}-r{revision}.json",
                          mime="application/json", key="dl-json")
    # Shown as text: the report quotes log lines and alarm names, which must not render as Markdown.
    st.code(markdown, language="markdown")


def main() -> None:
    st.set_page_config(page_title="AWS incident investigator", layout="wide")
    st.title("AWS incident investigator")
    try:
        console = backend.Console.from_settings()
    except UserError as exc:
        st.error("The investigation store cannot be opened:")
        st.text(str(exc))
        st.caption("Set another one with `investigator console --store PATH` or INVESTIGATOR_STORE.")
        return
    _sidebar(console)
    _show_flash()
    job = st.session_state.pop("job", None)
    if job is not None:
        _run_job(console, job)
    failed = st.session_state.get("failed")
    if failed is not None:
        _failed(failed)
    current = st.session_state.get("current")
    if current:
        _investigation(console, current)
    elif failed is None:
        st.info("Pick a recorded incident or an alarm on the left and press Investigate, or reopen one from the history.")


main()
