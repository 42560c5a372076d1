"""GetMetricData planning: the period for a window, and batches of at most 500 queries."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import TypeVar

T = TypeVar("T")

MAX_QUERIES_PER_CALL = 500
MAX_POINTS_PER_SERIES = 1440
# Periods CloudWatch keeps for standard-resolution metrics past the first hours.
PERIOD_STEPS = (60, 300, 900, 3600, 21600, 86400)


def choose_period(start: datetime, end: datetime) -> int:
    """60 s up to 24 hours of window, then the smallest standard period keeping <= 1440 points.

    One-minute points are what alarms evaluate; beyond 1440 of them a longer period keeps
    each series small without losing an incident that lasts more than a few periods.
    """
    seconds = (end - start).total_seconds()
    need = seconds / MAX_POINTS_PER_SERIES
    for step in PERIOD_STEPS:
        if step >= need:
            return step
    return int(math.ceil(need / 86400) * 86400)


def align(moment: datetime, period: int, *, up: bool = False) -> datetime:
    """`moment` rounded to a multiple of `period` seconds since the epoch (UTC)."""
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    seconds = (moment - epoch).total_seconds()
    steps = math.ceil(seconds / period) if up else math.floor(seconds / period)
    return epoch + timedelta(seconds=steps * period)


def batches(items: Sequence[T], size: int = MAX_QUERIES_PER_CALL) -> Iterator[list[T]]:
    for offset in range(0, len(items), size):
        yield list(items[offset : offset + size])
