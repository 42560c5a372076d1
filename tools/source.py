"""The `TelemetrySource` interface: everything the investigation reads goes through it.

Implementations: a recorded bundle (`tools.bundle.source.BundleSource`) and boto3 against AWS
or the local emulator. The graph never knows which one it is talking to.

Bulky telemetry is returned as pandas DataFrames in long form with the columns below; it
stays inside the tools, only Findings travel in the graph state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import pandas as pd

from domain.models import ChangeEvent, HealthEvent, TimeWindow, Topology
from tools.envelope import ToolResult

METRIC_COLUMNS = ["resource", "namespace", "metric", "stat", "dimensions", "timestamp", "value"]
LOG_COLUMNS = ["timestamp", "resource", "log_group", "log_stream", "message", "trace_id"]
SPAN_COLUMNS = ["trace_id", "span_id", "parent_id", "service", "operation", "start", "end", "error", "fault", "status"]


class TelemetrySource(ABC):
    """Read-only access to one account's (or one recording's) telemetry."""

    name: str = "telemetry"

    @abstractmethod
    def topology(self) -> ToolResult[Topology]:
        """Resources and caller->callee dependencies around the incident."""

    @abstractmethod
    def metrics(self, window: TimeWindow, resources: Sequence[str] | None = None) -> ToolResult[pd.DataFrame]:
        """Metric points in `window` (METRIC_COLUMNS), for `resources` or all when None."""

    @abstractmethod
    def logs(
        self,
        window: TimeWindow,
        resources: Sequence[str] | None = None,
        *,
        limit: int = 200_000,
    ) -> ToolResult[pd.DataFrame]:
        """Log records in `window` (LOG_COLUMNS), at most `limit`; sets `truncated` when cut."""

    @abstractmethod
    def spans(
        self,
        window: TimeWindow,
        resources: Sequence[str] | None = None,
        *,
        limit: int = 500_000,
    ) -> ToolResult[pd.DataFrame]:
        """Trace spans that start in `window` (SPAN_COLUMNS)."""

    @abstractmethod
    def changes(self, window: TimeWindow) -> ToolResult[list[ChangeEvent]]:
        """Write events (deploys, configuration, permissions, scaling) in `window`."""

    @abstractmethod
    def health(self, window: TimeWindow) -> ToolResult[list[HealthEvent]]:
        """AWS Health events open at any time in `window`."""

    @property
    def region(self) -> str | None:
        """The AWS region the data comes from, None when the source does not know it (console
        links then use tools.links.DEFAULT_REGION)."""
        return None


def empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
