"""Faults with real processes: `kill -9` while investigating, deciding and rerunning, and two
processes deciding at once. The store must stay readable and keep every acknowledged decision."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "evals" / "demo" / "bad-deploy"

pytestmark = pytest.mark.integration


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ui.cli", *args]


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(_cli(*args), cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(_cli(*args), cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)


def _checkpoints(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _wait_for_checkpoints(store: Path, more_than: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _checkpoints(store) <= more_than:
        assert proc.poll() is None, f"the process ended before it wrote: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _show(inv_id: str) -> dict:
    done = _run("show", inv_id, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _investigate() -> tuple[str, dict]:
    done = _run("investigate", "--bundle", str(DEMO), "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    return body["investigation_id"], body


def test_kill_while_investigating_leaves_a_readable_store_that_rerun_completes(private_state_dir: Path) -> None:
    store = private_state_dir / "investigations.sqlite"
    proc = _start("investigate", "--bundle", str(DEMO))
    _wait_for_checkpoints(store, 0, proc)
    _kill(proc)
    listed = _run("list")
    assert listed.returncode == 0, listed.stderr
    if not listed.stdout.startswith("inv-"):
        # Killed before the first step: nothing is listed, and investigating again starts it afresh.
        assert "no investigations" in listed.stdout
        assert _run("investigate", "--bundle", str(DEMO)).returncode == 0
        listed = _run("list")
    inv_id = listed.stdout.split()[0]
    assert "interrupted" in listed.stdout or "awaiting review" in listed.stdout
    if "interrupted" in listed.stdout:
        refused = _run("decide", inv_id, "--accept", "H-checkout")
        assert refused.returncode == 2 and "stopped before it finished" in refused.stderr
    done = _run("rerun", inv_id, "--json")
    assert done.returncode == 0, done.stderr
    shown = _show(inv_id)
    assert shown["status"] == "awaiting_review" and shown["hypotheses"]


def test_kill_while_deciding_loses_no_acknowledged_decision(private_state_dir: Path) -> None:
    inv_id, body = _investigate()
    targets = [h["resource"] for h in body["hypotheses"]] + [f["id"] for f in body["findings"]]
    acknowledged: list[str] = []
    for n in range(4):
        note = f"note {n}"
        proc = _start("decide", inv_id, "--note", f"H-{targets[0]}", note, "--by", "alice")
        if n % 2:
            # Acknowledged, then killed at once: the note must be in the store.
            line = proc.stdout.readline()
            assert line.startswith("noted"), proc.stderr.read()
            acknowledged.append(note)
        else:
            time.sleep(0.2 * n / 2)  # somewhere during start-up, reading or writing
        _kill(proc)
    assert _run("list").returncode == 0
    feed = _run("show", inv_id, "--feed")
    assert feed.returncode == 0
    for note in acknowledged:
        assert f"alice noted on H-{targets[0]}: {note}" in feed.stdout


def test_kill_while_rerunning_keeps_the_decisions_and_the_last_revision(private_state_dir: Path) -> None:
    store = private_state_dir / "investigations.sqlite"
    inv_id, body = _investigate()
    weakest = f"H-{body['hypotheses'][-1]['resource']}"
    assert _run("decide", inv_id, "--discard", weakest, "--by", "alice").returncode == 0
    before = _checkpoints(store)
    proc = _start("rerun", inv_id)
    _wait_for_checkpoints(store, before + 1, proc)
    _kill(proc)
    shown = _show(inv_id)
    assert shown["revisions"][0] == 1
    assert shown["status"] in ("interrupted", "awaiting_review")
    assert _run("rerun", inv_id).returncode == 0
    shown = _show(inv_id)
    assert shown["status"] == "awaiting_review" and shown["revisions"][-1] >= 2
    assert weakest not in {f"H-{h['resource']}" for h in shown["hypotheses"]}
    assert "alice discarded " + weakest in _run("show", inv_id, "--feed").stdout


def test_two_processes_deciding_at_once_keep_both_or_say_try_again(private_state_dir: Path) -> None:
    inv_id, body = _investigate()
    first, second = body["findings"][0]["id"], body["findings"][1]["id"]
    for attempt in range(2):
        procs = [_start("decide", inv_id, "--note", target, f"seen {attempt}", "--by", who)
                 for target, who in ((first, "alice"), (second, "bob"))]
        outcomes = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
        feed = _run("show", inv_id, "--feed").stdout
        for (code, _, err), target, who in zip(outcomes, (first, second), ("alice", "bob")):
            if code == 0:
                assert f"{who} noted on {target}: seen {attempt}" in feed
            else:
                assert code == 2 and "try again" in err, err
