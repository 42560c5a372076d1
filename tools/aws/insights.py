"""Logs Insights where the backend really runs it; None where it does not (the caller falls back).

Only aggregate queries are sent, so bytes scanned stay small and the answer is a few rows
(Logs Insights is billed by the bytes a query scans, $0.005 per GB: `Usage` counts them).
Polling stops at the query's own timeout or at the investigation's deadline, whichever is first.
A backend that ignores `stats` (moto answers with raw rows) is detected by the missing
aggregate field and not asked again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from tools.aws.clients import ClientFactory

TERMINAL = {"Complete", "Failed", "Cancelled", "Timeout", "Unknown"}


def run_stats_query(
    factory: ClientFactory,
    groups: Sequence[str],
    start: datetime,
    end: datetime,
    query: str,
    field: str,
    *,
    timeout: float = 30.0,
    sleep: Callable[[float], None] | None = None,
) -> list[dict[str, str]] | None:
    """Rows of `query` (which must produce `field`); None when Insights did not really answer."""
    sleep = sleep or time.sleep
    started = factory.call(
        "logs", "start_query", logGroupNames=list(groups)[:50],
        startTime=int(start.timestamp()), endTime=int(end.timestamp()), queryString=query,
    )
    deadline = time.monotonic() + timeout
    answer: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = factory.call("logs", "get_query_results", queryId=started["queryId"])
        if answer.get("status") in TERMINAL:
            break
        sleep(0.5)
    factory.meter.count_scanned(float((answer.get("statistics") or {}).get("bytesScanned", 0.0)))
    if answer.get("status") != "Complete":
        return None
    rows = [{cell["field"]: cell.get("value", "") for cell in row} for row in answer.get("results") or []]
    if rows and any(field not in row for row in rows):
        return None  # the backend ignored the aggregation
    return rows
