"""The investigation console (Streamlit). Started by `investigator console`.

It drives the same runner, settings and store as the CLI through `ui.console.backend`, so an
investigation started here can be decided with `investigator decide` and the other way round.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from domain.errors import UserError
from ui.console import backend, views

st.set_page_config(page_title="AWS incident investigator", layout="wide")


def _sidebar(console: backend.Console) -> None:
    st.sidebar.header("Start an investigation")
    folder = st.sidebar.text_input("Bundle folder", value=str(console.bundle_folder), key="bundle_folder")
    choices = backend.bundles_in(Path(folder))
    if not choices:
        st.sidebar.info(f"No recorded incidents (folders with incident.yaml) under {folder}.")
    else:
        picked = st.sidebar.selectbox("Recorded incident", choices, format_func=lambda p: p.name, key="bundle")
        if st.sidebar.button("Investigate", key="start", type="primary"):
            _run(console, picked)
    st.sidebar.header("History")
    try:
        past = console.history()
    except UserError as exc:
        st.sidebar.error(str(exc))
        return
    if not past:
        st.sidebar.caption("No stored investigations yet.")
    for item in past[:30]:
        if st.sidebar.button(item.label, key=f"open-{item.id}"):
            st.session_state["current"] = item.id
            st.rerun()


def _run(console: backend.Console, bundle: Path) -> None:
    with st.status(f"Investigating {bundle.name}", expanded=True) as status:
        def progress(step: str, detail: str) -> None:
            status.update(label=f"{step}: {detail}")
            st.text(f"{step}: {detail}")

        try:
            inv_id = console.investigate_bundle(bundle, on_step=progress)
        except UserError as exc:
            status.update(label="Investigation failed", state="error")
            st.error(str(exc))
            return
        status.update(label="Investigation complete", state="complete", expanded=False)
    st.session_state["current"] = inv_id


def _investigation(console: backend.Console, inv_id: str) -> None:
    investigation = console.load(inv_id)

    def decide(target: str, verdict: str, note: str) -> None:
        console.decide(inv_id, target, verdict, note)

    views.header(investigation)
    top, side = st.columns([3, 1])
    with side:
        if st.button("Rerun with my decisions", key="rerun"):
            with st.spinner("Rerunning"):
                st.session_state["current"] = console.rerun(inv_id)
            st.rerun()
        st.download_button("Report (Markdown)", console.report(inv_id, "md"), file_name=f"{inv_id}.md", key="dl-md")
        st.download_button("Report (JSON)", console.report(inv_id, "json"), file_name=f"{inv_id}.json", key="dl-json")
    with top:
        views.hypotheses(investigation, decide)
    views.findings(investigation, decide)
    views.timeline(investigation)
    with st.expander("Report preview"):
        st.text(console.report(inv_id, "md"))


def main() -> None:
    st.title("AWS incident investigator")
    try:
        console = backend.Console.open()
    except UserError as exc:
        st.error(f"Cannot open the investigation store: {exc}")
        return
    _sidebar(console)
    current = st.session_state.get("current")
    if current:
        _investigation(console, current)
    else:
        st.info("Pick a recorded incident on the left and press Investigate, or reopen one from the history.")


main()
