"""`investigator emulator start|stop|status`: a local AWS endpoint replaying a recorded incident."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

emulator_app = typer.Typer(no_args_is_help=True, help="A local AWS endpoint (moto) seeded with a recorded incident.")
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _state_dir(value: Path | None) -> Path:
    from tools.emulator.state import default_state_dir

    return value or default_state_dir()


@emulator_app.command("start")
def start(
    incident: Path | None = typer.Option(None, "--incident", help="bundle to replay, its incident shifted to minutes ago"),
    port: int = typer.Option(4566, "--port", help="port on 127.0.0.1"),
    region: str = typer.Option("us-east-1", "--region", help="region the data is seeded in"),
    state_dir: Path | None = typer.Option(None, "--state-dir", help="default: $XDG_STATE_HOME/investigator or ./.investigator"),
) -> None:
    """Start the emulator in the background and print how to point tools at it."""
    from tools.emulator.control import connection_help, start_emulator

    directory = _state_dir(state_dir)
    with err.status("starting the emulator") as status:
        state = start_emulator(directory, incident=incident, port=port, region=region, progress=lambda m: status.update(m))
    seeded = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in state.seeded.items())
    console.print(f"emulator running on {state.endpoint_url} (pid {state.pid})" + (f"; seeded {seeded}" if seeded else ""), markup=False)
    if state.alarm_name:
        console.print(f"alarm {state.alarm_name} is in ALARM; incident times shifted by {state.shift_seconds / 3600:.1f} h", markup=False)
    for line in connection_help(state):
        console.print(line, markup=False)
    console.print("stop it with: investigator emulator stop", markup=False)


@emulator_app.command("stop")
def stop(state_dir: Path | None = typer.Option(None, "--state-dir", help="as given to start")) -> None:
    """Stop the background emulator."""
    from tools.emulator.control import stop_emulator

    state = stop_emulator(_state_dir(state_dir))
    console.print(f"emulator on {state.endpoint_url} stopped", markup=False)


@emulator_app.command("status")
def status(state_dir: Path | None = typer.Option(None, "--state-dir", help="as given to start")) -> None:
    """Say whether an emulator is running, and where."""
    from domain.errors import UserError
    from tools.emulator.control import connection_help
    from tools.emulator.state import STATE_FILE, is_emulator_process, read_state

    state = read_state(_state_dir(state_dir) / STATE_FILE)
    if state is None or not is_emulator_process(state.pid):
        raise UserError("no emulator is running: start one with `investigator emulator start --incident BUNDLE`")
    console.print(f"emulator running on {state.endpoint_url} (pid {state.pid}), incident: {state.incident or 'none'}", markup=False)
    for line in connection_help(state):
        console.print(line, markup=False)
