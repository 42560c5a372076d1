"""The team store: the review loop against a real PostgreSQL server started for this test.

The server comes from Debian's `postgresql` package (installed by .ci/run); the test skips,
saying why, when it cannot start one. As root the server runs as the `postgres` user.
"""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ui.cli import main

DEMO = Path(__file__).resolve().parents[2] / "evals" / "demo" / "bad-deploy"

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in args)]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    pytest.importorskip("langgraph.checkpoint.postgres", reason="the postgres extra is not installed")
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    bin_dir = Path(found[-1]).parent
    data = Path(tempfile.mkdtemp(prefix="investigator-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    init = subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "postgres", "--auth=trust"]),
                          capture_output=True, text=True)
    if init.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        pytest.skip(f"cannot initialise a PostgreSQL cluster: {init.stderr.strip()[:200]}")
    opts = f"-p {port} -h 127.0.0.1 -k {data}"
    start = subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-o", opts,
                                            "-l", str(data / "log"), "-w", "start"]), capture_output=True, text=True)
    if start.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        pytest.skip(f"cannot start PostgreSQL: {start.stderr.strip()[:200]}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_review_loop_on_postgres(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVESTIGATOR_STORE", postgres_url)  # selected by the URL in the settings
    code, out, err = _run("investigate", "--bundle", str(DEMO), "--json")
    assert code == 0, err
    assert "127.0.0.1" in err.strip().splitlines()[-1]
    body = json.loads(out)
    inv_id, top, weakest = body["investigation_id"], body["hypotheses"][0], body["hypotheses"][-1]
    code, _, err = _run("decide", inv_id, "--accept", f"H-{top['resource']}", "--discard", f"H-{weakest['resource']}", "--by", "carol")
    assert code == 0, err
    code, out, err = _run("rerun", inv_id, "--json")
    assert code == 0, err
    assert json.loads(out)["revision"] == 2
    assert weakest["resource"] not in [h["resource"] for h in json.loads(out)["hypotheses"]]
    code, out, _ = _run("list")
    assert code == 0 and inv_id in out and "revision 2" in out
    report = tmp_path / "coe.json"
    assert _run("report", inv_id, "--out", str(report), "--format", "json")[0] == 0
    assert json.loads(report.read_text())["accepted_by"] == "carol"
    code, _, err = _run("show", "inv-nope")
    assert code == 2 and "no investigation inv-nope" in err


def test_unreachable_postgres_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    port = _free_port()  # nothing listens there
    code, _, err = _run("list", "--store", f"postgresql://u:secret@127.0.0.1:{port}/db")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "cannot connect to the store" in err and "secret" not in err
