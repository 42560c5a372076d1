"""Waiting for an investigation another process is writing: take it when it is freed, else "try again"."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest

from agent.store import Busy, _file_lock


def _hold(path: Path, seconds: float, taken: threading.Event) -> None:
    # A separate open file description conflicts with flock like another process does.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    taken.set()
    time.sleep(seconds)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def test_a_lock_freed_within_the_wait_is_taken(tmp_path: Path):
    path = tmp_path / "inv-1.lock"
    taken = threading.Event()
    holder = threading.Thread(target=_hold, args=(path, 0.3, taken))
    holder.start()
    taken.wait(5)
    with _file_lock(path, wait_s=10.0):
        assert not holder.is_alive()  # we only got in once the holder let go
    holder.join()


def test_a_lock_held_past_the_wait_says_try_again(tmp_path: Path):
    path = tmp_path / "inv-2.lock"
    taken = threading.Event()
    holder = threading.Thread(target=_hold, args=(path, 2.0, taken))
    holder.start()
    taken.wait(5)
    with pytest.raises(Busy, match="busy in another process; try again"):
        with _file_lock(path, wait_s=0.3):
            pass
    holder.join()
