"""The deadline of one live investigation: after it, no AWS call or retry starts."""

from __future__ import annotations

import time
from collections.abc import Callable


class Deadline:
    """`seconds` from construction on a monotonic clock; `None` never passes.

    A call already waiting on a socket is not interrupted: it ends within its read timeout,
    which the client factory caps at the deadline, so a run ends at most one read timeout late."""

    def __init__(self, seconds: float | None, *, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._ends = None if seconds is None else clock() + seconds

    @property
    def passed(self) -> bool:
        return self._ends is not None and self._clock() >= self._ends

    def remaining(self) -> float | None:
        return None if self._ends is None else max(0.0, self._ends - self._clock())
