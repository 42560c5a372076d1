"""Live runs are bounded: bad endpoints, silent endpoints, a dying emulator and the deadline, via the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from crafted_bundles import database_saturation

from tools.emulator.control import free_port, start_emulator, stop_emulator
from ui.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Any]:
    state_dir = tmp_path / "state"
    state = start_emulator(state_dir, incident=database_saturation(tmp_path / "bundle"), port=free_port())
    try:
        yield state
    finally:
        stop_emulator(state_dir)


class _SilentFor(BaseHTTPRequestHandler):
    """Forwards to the emulator, except requests signed for `silent` services: those are accepted and never answered."""

    upstream = ""
    silent: frozenset[str] = frozenset()
    release = threading.Event()

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        scope = self.headers.get("Authorization", "")
        if any(f"/{service}/aws4_request" in scope for service in self.silent):
            self.release.wait()
            return
        connection = HTTPConnection(self.upstream, timeout=30)
        connection.request(self.command, self.path, body, dict(self.headers))
        answer = connection.getresponse()
        payload = answer.read()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _handle

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def front(emulator: Any) -> Iterator[Any]:
    """An endpoint in front of the emulator that stays silent for the services a test names."""
    release = threading.Event()
    handler = type("Handler", (_SilentFor,), {"upstream": emulator.endpoint_url.removeprefix("http://"), "release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def silence(*services: str) -> str:
        handler.silent = frozenset(services)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield silence
    release.set()
    server.shutdown()
    server.server_close()


def _bounded(monkeypatch: pytest.MonkeyPatch, *, read_timeout: float, attempts: int, deadline: float) -> None:
    monkeypatch.setenv("INVESTIGATOR_AWS__READ_TIMEOUT_S", str(read_timeout))
    monkeypatch.setenv("INVESTIGATOR_AWS__CONNECT_TIMEOUT_S", "1")
    monkeypatch.setenv("INVESTIGATOR_AWS__MAX_ATTEMPTS", str(attempts))
    monkeypatch.setenv("INVESTIGATOR_DEADLINE_S", str(deadline))


def _gaps(body: dict[str, Any]) -> dict[str, str]:
    return {f["resource"]: f["summary"] for f in body["findings"] if f["kind"] == "gap"}


def test_an_endpoint_url_that_is_not_a_url_is_one_line_exit_2(capsys, credentials):
    assert main(["investigate", "--alarm", "api-latency-high", "--endpoint-url", "not-a-url"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error: invalid setting aws.endpoint_url") and "not-a-url" in err


def test_an_endpoint_that_accepts_and_never_answers_ends_within_the_timeouts(capsys, credentials, monkeypatch):
    release = threading.Event()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        held: list[socket.socket] = []
        threading.Thread(target=lambda: [held.append(server.accept()[0]) for _ in range(10)], daemon=True).start()
        _bounded(monkeypatch, read_timeout=1, attempts=2, deadline=60)
        started = time.monotonic()
        code = main(["investigate", "--alarm", "api-latency-high", "--endpoint-url", f"http://127.0.0.1:{server.getsockname()[1]}"])
        elapsed = time.monotonic() - started
        release.set()
        for connection in held:
            connection.close()
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert err.startswith("error: the AWS endpoint") and "did not answer" in err
    # 2 attempts of a 1 s read and botocore's backoff between them (at most 1 s), not the 60 s deadline
    assert elapsed < 2 * 1 + 1 + 5


def test_services_that_never_answer_become_gaps_and_the_rest_still_ranks(capsys, credentials, monkeypatch, front):
    endpoint = front("xray", "logs")
    _bounded(monkeypatch, read_timeout=1, attempts=2, deadline=90)
    started = time.monotonic()
    assert main(["investigate", "--alarm", "api-latency-high", "--endpoint-url", endpoint, "--json"]) == 0
    elapsed = time.monotonic() - started
    body = json.loads(capsys.readouterr().out)
    gaps = _gaps(body)
    assert {"spans", "logs"} <= set(gaps), gaps
    assert "read timeout" in gaps["spans"].lower() or "stopped answering" in gaps["spans"]
    assert any("xray stopped answering" in note for note in body["notes"])
    assert any("logs stopped answering" in note for note in body["notes"])
    # Metrics were still read: the alarmed api's latency shift is found and ranked. (Without the
    # service graph the dependency on orders-db is unknown; the gaps tell the engineer why.)
    assert any(f["kind"] == "metric" and f["resource"] == "api" for f in body["findings"])
    assert body["hypotheses"]
    # Each silent service paid its timeouts once (2 x 1 s + backoff), then failed fast: far below the deadline.
    assert elapsed < 60


def test_the_deadline_completes_the_run_with_what_it_read_and_lists_what_was_not(capsys, credentials, monkeypatch, front):
    endpoint = front("xray")
    # X-Ray would block 5 s per attempt for 10 attempts; the 8 s deadline stops that.
    _bounded(monkeypatch, read_timeout=5, attempts=10, deadline=8)
    started = time.monotonic()
    assert main(["investigate", "--alarm", "api-latency-high", "--endpoint-url", endpoint, "--json"]) == 0
    elapsed = time.monotonic() - started
    body = json.loads(capsys.readouterr().out)
    assert "spans" in _gaps(body)
    deadline_notes = [n for n in body["notes"] if "8 s deadline was reached" in n]
    assert deadline_notes and "xray:" in deadline_notes[0]
    # The deadline plus at most one read timeout still in flight, plus the analysis of what was read.
    assert elapsed < 8 + 5 + 15


def test_an_emulator_killed_mid_run_becomes_gaps_not_an_abort(capsys, credentials, monkeypatch, emulator):
    original = BaseClient._make_api_call
    killed: list[str] = []

    def kill_on_first_metric_read(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "GetMetricData" and not killed:
            os.kill(emulator.pid, signal.SIGKILL)
            killed.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", kill_on_first_metric_read)
    _bounded(monkeypatch, read_timeout=2, attempts=2, deadline=90)
    code = main(["investigate", "--alarm", emulator.alarm_name, "--endpoint-url", emulator.endpoint_url, "--json"])
    assert killed and code == 0
    body = json.loads(capsys.readouterr().out)
    gaps = _gaps(body)
    assert "metrics" in gaps and "unavailable" in gaps["metrics"]
    assert any("cloudwatch stopped answering" in note for note in body["notes"])


def test_emulator_start_on_a_port_just_freed_works(tmp_path, capsys):
    port = free_port()
    state_dir = tmp_path / "state"
    assert main(["emulator", "start", "--port", str(port), "--state-dir", str(state_dir)]) == 0
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall(b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    # Stopped while a client is connected: the server closes first, so its end stays in TIME_WAIT.
    assert main(["emulator", "stop", "--state-dir", str(state_dir)]) == 0
    while client.recv(65536):  # read to the end, so closing sends a FIN and not a reset
        pass
    client.close()
    with socket.socket() as plain:  # the precondition: a bind without SO_REUSEADDR fails for a while
        with pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
    capsys.readouterr()
    assert main(["emulator", "start", "--port", str(port), "--state-dir", str(state_dir)]) == 0
    try:
        assert f"emulator running on http://127.0.0.1:{port}" in capsys.readouterr().out
    finally:
        assert main(["emulator", "stop", "--state-dir", str(state_dir)]) == 0
