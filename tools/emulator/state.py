"""Where a running emulator is recorded: `emulator.json` in the state directory.

The state directory is `$XDG_STATE_HOME/investigator` when XDG_STATE_HOME is set, else
`.investigator/` in the current directory (so each project checkout has its own emulator).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

STATE_FILE = "emulator.json"
LOG_FILE = "emulator.log"


class EmulatorState(BaseModel):
    pid: int
    port: int
    region: str
    endpoint_url: str
    incident: str | None = None
    alarm_name: str | None = None
    shift_seconds: float = 0.0
    started_at: datetime
    ready: bool = False
    seeded: dict[str, int] = {}
    error: str | None = None


def default_state_dir() -> Path:
    xdg = os.environ.get("XDG_STATE_HOME")
    return Path(xdg) / "investigator" if xdg else Path.cwd() / ".investigator"


def write_state(path: Path, state: EmulatorState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)  # atomic: the starter never reads half a file


def read_state(path: Path) -> EmulatorState | None:
    if not path.is_file():
        return None
    try:
        return EmulatorState.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def is_emulator_process(pid: int) -> bool:
    """True when `pid` is alive and is an emulator server (not a recycled pid)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        return b"tools.emulator.server" in cmdline.read_bytes()
    return True
