"""A store written by another build, met through the CLI: an older compatible state is
upgraded, an incompatible one is a one-line error saying what to do, and the engineer's
decisions survive either way.

Each test makes its store with the real CLI and then rewrites the latest stored checkpoint
into the shape another build would have left (through the real serializer).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.serde import checkpoint_serializer
from agent.state import SCHEMA_VERSION
from domain.models import Finding
from tests.cli_helpers import DEMO, run_cli


@pytest.fixture
def store(private_state_dir: Path) -> Path:
    return private_state_dir / "investigations.sqlite"


@pytest.fixture
def decided(store: Path) -> dict:
    """An investigation of the demo with alice's accept of its #1 hypothesis."""
    code, out, err = run_cli("investigate", "--bundle", str(DEMO), "--json")
    assert code == 0, err
    body = json.loads(out)
    top = f"H-{body['hypotheses'][0]['resource']}"
    code, _, err = run_cli("decide", body["investigation_id"], "--accept", top, "--reason", "the deploy", "--by", "alice")
    assert code == 0, err
    return {"id": body["investigation_id"], "accepted": top}


def _latest(store: Path) -> tuple[sqlite3.Connection, tuple[str, str], dict[str, Any]]:
    conn = sqlite3.connect(store)
    thread, checkpoint_id, kind, blob = conn.execute(
        "SELECT thread_id, checkpoint_id, type, checkpoint FROM checkpoints ORDER BY checkpoint_id DESC LIMIT 1"
    ).fetchone()
    return conn, (thread, checkpoint_id), checkpoint_serializer().loads_typed((kind, blob))


def _rewrite(store: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply `change` to the stored state's values, as if another build had written them."""
    conn, (thread, checkpoint_id), checkpoint = _latest(store)
    change(checkpoint["channel_values"])
    kind, blob = checkpoint_serializer().dumps_typed(checkpoint)
    with conn:
        conn.execute("UPDATE checkpoints SET type = ?, checkpoint = ? WHERE thread_id = ? AND checkpoint_id = ?",
                     (kind, blob, thread, checkpoint_id))
    conn.close()


def _stored_values(store: Path) -> dict[str, Any]:
    conn, _, checkpoint = _latest(store)
    conn.close()
    return checkpoint["channel_values"]


def _unstamped(values: dict[str, Any]) -> None:
    """The state as builds before versioning wrote it: the same shape, no version."""
    values.pop("schema_version")


def _older_finding_shape(values: dict[str, Any]) -> None:
    """Unstamped, and a finding without `summary`, which this build requires."""
    values.pop("schema_version")
    first = values["findings"][0]
    values["findings"][0] = Finding.model_construct(**{k: v for k, v in vars(first).items() if k != "summary"})


def _root_cause_of_record(inv_id: str) -> str:
    code, out, err = run_cli("show", inv_id)
    assert code == 0, err
    return next(line for line in out.splitlines() if line.startswith("Root cause of record:")).split()[4]


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


def test_new_investigations_are_stored_with_the_schema_version(decided: dict, store: Path) -> None:
    assert _stored_values(store)["schema_version"] == SCHEMA_VERSION


def test_an_unstamped_state_from_an_older_build_is_upgraded_and_keeps_its_decisions(decided: dict, store: Path) -> None:
    _rewrite(store, _unstamped)
    assert _root_cause_of_record(decided["id"]) == decided["accepted"]

    code, out, err = run_cli("rerun", decided["id"], "--json")
    assert code == 0, err
    rerun = json.loads(out)
    assert rerun["revision"] == 2 and _root_cause_of_record(decided["id"]) == decided["accepted"]
    values = _stored_values(store)
    assert values["schema_version"] == SCHEMA_VERSION  # written in this build's schema from now on
    assert [r.number for r in values["revisions"]] == [1, 2]  # upgraded, not merged twice
    assert [(d.by, d.target_id) for d in values["decisions"]] == [("alice", decided["accepted"])]


@pytest.mark.parametrize("command", [
    ["show", "{id}"], ["rerun", "{id}"], ["decide", "{id}", "--discard", "{accepted}"], ["report", "{id}", "--out", "r.md"],
])
def test_an_older_state_that_cannot_be_upgraded_is_one_line_saying_what_to_do(
    decided: dict, store: Path, command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    _rewrite(store, _older_finding_shape)
    code, out, err = run_cli(*[part.format(**decided) for part in command])
    assert code == 2 and out == ""
    line = _one_line(err)
    assert f"investigation {decided['id']} was stored by an older investigator" in line
    assert f"state schema 1; this one reads schema {SCHEMA_VERSION}" in line
    assert "findings.0.summary" in line
    assert f"`investigator rerun {decided['id']} --fresh`" in line and "carries over its 1 decision(s)" in line
    assert not (tmp_path / "r.md").exists()


def test_investigating_the_incident_again_shows_the_answer_then_says_it_was_not_saved(decided: dict, store: Path) -> None:
    _rewrite(store, _older_finding_shape)
    code, out, err = run_cli("investigate", "--bundle", str(DEMO), "--json")
    assert code == 2
    assert json.loads(out)["hypotheses"]  # the answer first
    line = _one_line(err)
    assert line.startswith(f"error: investigation {decided['id']} was not saved: ")
    assert f"`investigator rerun {decided['id']} --fresh`" in line
    assert len(_stored_values(store)["decisions"]) == 1  # the stored investigation is left as it was


def test_list_shows_an_unreadable_investigation_instead_of_failing(decided: dict, store: Path) -> None:
    _rewrite(store, _older_finding_shape)
    code, out, err = run_cli("list")
    assert code == 0, err
    assert decided["id"] in out and "unreadable by this version" in out and "web-alb-target-5xx" in out


def test_a_fresh_start_carries_the_decisions_over_and_keeps_the_old_state_in_a_file(decided: dict, store: Path) -> None:
    _rewrite(store, _older_finding_shape)
    code, out, err = run_cli("rerun", decided["id"], "--fresh", "--json")
    assert code == 0, err
    fresh = json.loads(out)
    assert fresh["investigation_id"] == decided["id"] and fresh["revision"] == 1
    assert _root_cause_of_record(decided["id"]) == decided["accepted"]  # alice's accept still stands
    archives = list(store.with_name(store.name + ".archive").iterdir())
    assert len(archives) == 1 and str(archives[0]) in err and "1 decision(s) carried over" in err
    kept = json.loads(archives[0].read_text(encoding="utf-8"))
    assert [(d["by"], d["target_id"], d["note"]) for d in kept["decisions"]] == [("alice", decided["accepted"], "the deploy")]
    assert kept["revisions"][0]["investigation"]["hypotheses"]  # the old result stays readable too

    code, out, _ = run_cli("show", decided["id"], "--feed")
    assert code == 0 and f"alice accepted {decided['accepted']}: the deploy" in out
    assert _stored_values(store)["schema_version"] == SCHEMA_VERSION

    # A readable investigation is continued with `rerun`, never thrown away by --fresh.
    code, _, err = run_cli("rerun", decided["id"], "--fresh")
    assert code == 2 and f"`investigator rerun {decided['id']}` continues it" in _one_line(err)


def test_a_state_from_a_newer_build_is_refused_and_never_replaced(decided: dict, store: Path) -> None:
    newer = SCHEMA_VERSION + 1
    _rewrite(store, lambda values: values.update(schema_version=newer))
    for command in (["show", decided["id"]], ["rerun", decided["id"]], ["rerun", decided["id"], "--fresh"]):
        code, out, err = run_cli(*command)
        assert code == 2 and out == ""
        line = _one_line(err)
        assert f"investigation {decided['id']} was stored by a newer investigator (state schema {newer}" in line
        assert "upgrade investigator" in line
    values = _stored_values(store)
    assert values["schema_version"] == newer and len(values["decisions"]) == 1
    assert not store.with_name(store.name + ".archive").exists()
