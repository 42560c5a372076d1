"""Start and stop the background emulator process (used by the CLI and the tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from domain.errors import UserError
from domain.extras import missing_extra
from tools.emulator.server import HOST
from tools.emulator.state import LOG_FILE, STATE_FILE, EmulatorState, is_emulator_process, read_state

DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[2]


def port_is_free(port: int) -> bool:
    """Whether the emulator could listen on `port`: nothing listens there.

    The probe binds as the server does, with SO_REUSEADDR, so a port just freed (its old
    connections in TIME_WAIT for a minute) counts as free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _last_line(path: Path) -> str:
    if not path.is_file():
        return ""
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def start_emulator(
    state_dir: Path,
    *,
    incident: Path | None = None,
    port: int = DEFAULT_PORT,
    region: str = DEFAULT_REGION,
    timeout: float = 180.0,
    progress: Callable[[str], None] = lambda _msg: None,
) -> EmulatorState:
    """Start the emulator in the background and wait until it is seeded; UserError on any problem."""
    import importlib.util

    if importlib.util.find_spec("moto") is None:
        raise missing_extra("emulator", "the local AWS emulator", "moto")
    state_file = state_dir / STATE_FILE
    running = read_state(state_file)
    if running is not None and is_emulator_process(running.pid):
        raise UserError(
            f"an emulator is already running on {running.endpoint_url} (pid {running.pid}): run `investigator emulator stop` first"
        )
    if incident is not None:
        from tools.bundle.validate import load_manifest

        load_manifest(incident)  # a bad bundle fails here, with its file and field, not in the background
    if not port_is_free(port):
        raise UserError(f"port {port} on {HOST} is already in use: stop what holds it or pass --port N (e.g. --port {free_port()})")
    state_dir.mkdir(parents=True, exist_ok=True)
    state_file.unlink(missing_ok=True)
    log_path = state_dir / LOG_FILE
    command = [sys.executable, "-m", "tools.emulator.server", "--port", str(port), "--region", region, "--state", str(state_file)]
    if incident is not None:
        command += ["--incident", str(incident.resolve())]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=ROOT)
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        state = read_state(state_file)
        if state is not None and state.ready:
            return state
        if state is not None and state.error:
            _terminate(process.pid)
            raise UserError(f"emulator failed: {state.error} (log: {log_path})")
        if process.poll() is not None:
            raise UserError(f"emulator exited during start: {_last_line(log_path) or 'no output'} (log: {log_path})")
        line = _last_line(log_path)
        if line and line != last:
            progress(line)
            last = line
        time.sleep(0.2)
    _terminate(process.pid)
    raise UserError(f"emulator did not become ready within {timeout:.0f} s (log: {log_path})")


def _terminate(pid: int, grace: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return
        except ChildProcessError:  # not our child: poll for it to go away
            if not is_emulator_process(pid):
                return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def stop_emulator(state_dir: Path) -> EmulatorState:
    state_file = state_dir / STATE_FILE
    state = read_state(state_file)
    if state is None:
        raise UserError(f"no emulator is running (no state file at {state_file})")
    if is_emulator_process(state.pid):
        _terminate(state.pid)
    state_file.unlink(missing_ok=True)
    return state


def connection_help(state: EmulatorState) -> list[str]:
    """The lines a user pastes to point the CLI or any AWS tool at the emulator."""
    lines = [
        f"export AWS_ENDPOINT_URL={state.endpoint_url}",
        f"export AWS_REGION={state.region} AWS_DEFAULT_REGION={state.region}",
        "export AWS_ACCESS_KEY_ID=emulator AWS_SECRET_ACCESS_KEY=emulator",
    ]
    if state.alarm_name:
        lines.append(
            f"investigator investigate --alarm {state.alarm_name} --endpoint-url {state.endpoint_url} --region {state.region}"
        )
    return lines
