"""The commands exactly as docs/live-aws.md writes them, through the CLI's error boundary."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from crafted_bundles import database_saturation

from ui.cli import main
from tools.emulator.control import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def test_start_investigate_record_replay_stop(tmp_path: Path, capsys, monkeypatch):
    bundle = database_saturation(tmp_path / "bundle")
    state_dir = tmp_path / "state"
    port = free_port()
    assert main(["emulator", "start", "--incident", str(bundle), "--port", str(port), "--state-dir", str(state_dir)]) == 0
    try:
        out = capsys.readouterr().out
        assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in out
        command = next(line for line in out.splitlines() if line.startswith("investigator investigate --alarm"))
        assert command == f"investigator investigate --alarm api-latency-high --endpoint-url http://127.0.0.1:{port} --region us-east-1"

        # The printed exports are all a user needs: no --endpoint-url or --region flags.
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator")
        assert main(["investigate", "--alarm", "api-latency-high", "--json"]) == 0
        captured = capsys.readouterr()
        body = json.loads(captured.out)
        assert body["hypotheses"][0]["resource"] == "orders-db"
        assert body["usage"]["calls"]["cloudwatch:DescribeAlarms"] == 1
        assert "AWS usage:" in captured.err

        recorded = tmp_path / "recorded"
        assert main(["record", "--alarm", "api-latency-high", "--out", str(recorded)]) == 0
        assert f"recorded {recorded}: #1 orders-db" in capsys.readouterr().out
        assert main(["investigate", "--bundle", str(recorded), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["hypotheses"][0]["resource"] == "orders-db"

        # A second start on the same state directory, and on a taken port: one line, exit 2.
        assert main(["emulator", "start", "--port", str(port), "--state-dir", str(state_dir)]) == 2
        assert "already running" in capsys.readouterr().err
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            taken = holder.getsockname()[1]
            assert main(["emulator", "start", "--port", str(taken), "--state-dir", str(tmp_path / "other")]) == 2
            err = capsys.readouterr().err
            assert f"port {taken} on 127.0.0.1 is already in use" in err and len(err.strip().splitlines()) == 1
    finally:
        assert main(["emulator", "stop", "--state-dir", str(state_dir)]) == 0
    assert main(["emulator", "stop", "--state-dir", str(state_dir)]) == 2
    assert "no emulator is running" in capsys.readouterr().err


def test_investigate_alarm_without_credentials_says_what_to_do(capsys, monkeypatch):
    # conftest removed AWS_* variables and pointed the config files at /dev/null; as on a laptop,
    # there is no instance metadata service to ask either.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["investigate", "--alarm", "anything", "--region", "us-east-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no AWS credentials found") and "\n" not in err
