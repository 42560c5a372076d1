"""Test-wide guards and fixtures.

- No test may reach the network: any socket connection outside the loopback range fails
  the test. This also guards against an accidental model call (api.anthropic.com or
  Bedrock), while the local AWS emulator and a local model stub on 127.0.0.1 still work.
- No configuration leaks in from the developer's shell or home: `AWS_*`, `ANTHROPIC_*` and
  `INVESTIGATOR_*` variables are cleared and XDG_CONFIG_HOME / XDG_STATE_HOME point at an
  empty temporary directory, for the whole session (module-scoped fixtures included) and
  again, fresh, for each test.
- `datasets_dir` points at ../shared/datasets and skips, with the reason, when it is absent.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else None
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except (TypeError, ValueError):
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise RuntimeError(f"tests must not reach the network (attempted connection to {address!r})")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise RuntimeError(f"tests must not reach the network (attempted connection to {address!r})")
    return _real_connect_ex(self, address)


def _isolate_environment(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No credentials, model keys or settings from the developer's shell or config directory."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "ANTHROPIC_", "INVESTIGATOR_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))


@pytest.fixture(scope="session", autouse=True)
def isolated_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _isolate_environment(monkeypatch, tmp_path_factory.mktemp("xdg-session"))
        yield


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    _isolate_environment(monkeypatch, tmp_path_factory.mktemp("xdg"))


@pytest.fixture
def datasets_dir() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"real datasets not found at {DATASETS} (they live in ../shared/datasets beside the project)")
    return DATASETS
