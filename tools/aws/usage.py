"""What one investigation cost: API calls by operation and estimated CloudWatch charges."""

from __future__ import annotations

import threading
from collections import Counter

from pydantic import BaseModel, Field

# Public list prices (us-east-1), USD. Other regions differ by a few percent at most.
GET_METRIC_DATA_USD_PER_1000_METRICS = 0.01
LOGS_INSIGHTS_USD_PER_GB_SCANNED = 0.005


class Usage(BaseModel):
    """API usage of one source; printed by the CLI and included in the JSON output."""

    calls: dict[str, int] = Field(default_factory=dict, description="API calls by 'service:Operation'")
    metrics_requested: int = Field(0, description="metric queries sent to GetMetricData")
    insights_bytes_scanned: float = 0.0
    estimated_usd: float = Field(0.0, description="GetMetricData and Logs Insights charges at list price")

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


class UsageMeter:
    """Thread-safe counters, fed by a botocore event hook and by the readers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._metrics = 0
        self._bytes = 0.0

    def count_call(self, service: str, operation: str) -> None:
        with self._lock:
            self._calls[f"{service}:{operation}"] += 1

    def count_metrics(self, n: int) -> None:
        with self._lock:
            self._metrics += n

    def count_scanned(self, n_bytes: float) -> None:
        with self._lock:
            self._bytes += n_bytes

    def snapshot(self) -> Usage:
        with self._lock:
            usd = (
                self._metrics / 1000 * GET_METRIC_DATA_USD_PER_1000_METRICS
                + self._bytes / 1e9 * LOGS_INSIGHTS_USD_PER_GB_SCANNED
            )
            return Usage(
                calls=dict(sorted(self._calls.items())),
                metrics_requested=self._metrics,
                insights_bytes_scanned=self._bytes,
                estimated_usd=round(usd, 6),
            )
