"""The graph state survives a real SQLite checkpointer, and reruns do not duplicate it."""

from __future__ import annotations

import logging
import sqlite3
import warnings
from datetime import datetime, timezone
from pathlib import Path

from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener
from langgraph.checkpoint.sqlite import SqliteSaver

from domain.models import Finding, Hypothesis, Investigation, TimeWindow, Trigger
from agent.graph import build_graph
from agent.runner import Completed, NodeFinished, events, open_bundle, stream, utc_now
from agent.serde import checkpoint_serializer
from agent.state import Context, InvestigationInput, InvestigationState, Scope, merge_findings, merge_unique

DEMO = Path(__file__).resolve().parents[1] / "evals" / "demo" / "bad-deploy"


def _finding(fid: str, score: float) -> Finding:
    return Finding(id=fid, domain="application", kind="metric", resource="api", signal="Errors",
                   summary=f"{fid} at {score}", score=score)


def test_findings_reducer_replaces_by_id_and_keeps_first_seen_order() -> None:
    first = [_finding("a", 0.5), _finding("b", 0.6)]
    rerun = [_finding("b", 0.9), _finding("c", 0.7), _finding("a", 0.8)]
    merged = merge_findings(first, rerun)
    # a and b keep their places with the rerun's measurements; c is new and goes last.
    assert [(f.id, f.score) for f in merged] == [("a", 0.8), ("b", 0.9), ("c", 0.7)]


def test_notes_reducer_keeps_a_repeated_note_once() -> None:
    assert merge_unique(["no traces", "no logs"], ["no logs", "throttled"]) == ["no traces", "no logs", "throttled"]


def test_sqlite_round_trip_of_the_state_revives_every_type_without_a_warning(tmp_path: Path, caplog) -> None:
    serde_events: list[dict] = []
    unregister = register_serde_event_listener(serde_events.append)
    source, args = open_bundle(DEMO)
    payload = InvestigationInput(investigation_id="inv-x", trigger=args["trigger"], window=args["window"],
                                 baseline=args["baseline"], started_at=utc_now())
    config = {"configurable": {"thread_id": "inv-x"}}
    try:
        with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
            warnings.simplefilter("error")
            with sqlite3.connect(tmp_path / "store.sqlite", check_same_thread=False) as conn:
                graph = build_graph(SqliteSaver(conn, serde=checkpoint_serializer()))
                list(events(graph, payload, context=Context(source=source, clock=args["clock"]), config=config))
            # A second process opening the store: everything comes back from disk.
            with sqlite3.connect(tmp_path / "store.sqlite", check_same_thread=False) as conn:
                values = build_graph(SqliteSaver(conn, serde=checkpoint_serializer())).get_state(config).values
    finally:
        unregister()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert serde_events == []  # no type was revived unregistered, none was blocked
    state = InvestigationState.model_validate(values)
    assert isinstance(values["trigger"], Trigger) and isinstance(values["window"], TimeWindow)
    assert isinstance(values["scope"], Scope)
    assert values["findings"] and all(isinstance(f, Finding) for f in values["findings"])
    assert values["hypotheses"] and all(isinstance(h, Hypothesis) for h in values["hypotheses"])
    assert isinstance(values["investigation"], Investigation)
    assert state.trigger == args["trigger"]


def test_stream_yields_each_node_with_its_findings_before_the_result() -> None:
    source, args = open_bundle(DEMO)
    seen = list(stream(source, **args))
    nodes = [e.node for e in seen if isinstance(e, NodeFinished)]
    assert nodes[0] == "scope" and nodes[-2:] == ["hypothesize", "report"]
    assert set(nodes[1:4]) == {"network", "infrastructure", "application"}
    assert isinstance(seen[-1], Completed)
    streamed = {f.id for e in seen if isinstance(e, NodeFinished) for f in e.findings}
    assert streamed == {f.id for f in seen[-1].investigation.findings}
    ranked = next(e for e in seen if isinstance(e, NodeFinished) and e.node == "hypothesize")
    assert [h.id for h in ranked.hypotheses] == [h.id for h in seen[-1].investigation.hypotheses]


def test_progress_line_says_what_arrived() -> None:
    three = NodeFinished(node="network", findings=[_finding(f"f{i}", 0.5) for i in range(3)])
    assert three.describe() == "network: 3 findings"
    assert NodeFinished(node="network", findings=[_finding("f", 0.5)]).describe() == "network: 1 finding"
    assert NodeFinished(node="infrastructure").describe() == "infrastructure: no findings"
    assert NodeFinished(node="scope").describe() == "scope done"
