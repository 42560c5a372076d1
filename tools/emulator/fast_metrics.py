"""Indexed GetMetricData and ListMetrics for the emulator's moto backend.

moto scans every stored point for every query and every period bin, and compares every
point with every metric already listed, so a bundle of 100 series over three hours takes
minutes per call (past botocore's read timeout). This replacement groups the window's points
by metric once and bins them by arithmetic; it keeps moto's semantics (namespace ignored
when dimensions are given, bins from StartTime, empty bins omitted, moto's own statistic
code) and hands anything else (metric math, Metrics Insights) to moto unchanged. A
statistic moto cannot compute (percentiles) yields no points instead of moto's crash.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any


def _dims_key(dimensions: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(d.name), str(d.value)) for d in dimensions or []))


def install() -> None:
    """Patch moto's CloudWatch backend in this process (idempotent)."""
    from moto.cloudwatch import models

    original = models.CloudWatchBackend.get_metric_data
    if getattr(original, "_indexed", False):
        return

    def get_metric_data(
        self: Any, queries: list[dict[str, Any]], start_time: datetime, end_time: datetime, scan_by: str = "TimestampAscending"
    ) -> list[dict[str, Any]]:
        if not queries or any("MetricStat" not in q for q in queries) or end_time.replace(microsecond=0) <= start_time.replace(microsecond=0):
            return original(self, queries, start_time, end_time, scan_by)
        start, end = start_time.replace(microsecond=0), end_time.replace(microsecond=0)
        by_dims: dict[tuple[str, tuple[tuple[str, str], ...]], list[Any]] = defaultdict(list)
        by_namespace: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for md in self.get_all_metrics():
            if start <= md.timestamp < end:
                by_dims[(md.name, _dims_key(md.dimensions))].append(md)
                by_namespace[(md.namespace, md.name)].append(md)
        results = []
        for query in queries:
            stat_spec = query["MetricStat"]
            metric = stat_spec["Metric"]
            stat = stat_spec["Stat"]
            period = int(stat_spec["Period"])
            dims = [models.Dimension(name=d["Name"], value=d["Value"]) for d in metric.get("Dimensions", [])]
            points = by_dims[(metric["MetricName"], _dims_key(dims))] if dims else by_namespace[(metric.get("Namespace"), metric["MetricName"])]
            unit = stat_spec.get("Unit")
            if unit:
                points = [md for md in points if md.unit == unit]
            bins: dict[int, list[Any]] = defaultdict(list)
            for md in points:
                bins[int((md.timestamp - start).total_seconds() // period)].append(md)
            values, stamps = [], []
            for k in sorted(bins):
                stats = models.Statistics([stat], start + timedelta(seconds=k * period))
                stats.metric_data = bins[k]
                value = stats.get_statistics_for_type(stat)
                if value is not None:
                    values.append(value)
                    stamps.append(stats.timestamp)
            if scan_by == "TimestampDescending":
                values.reverse()
                stamps.reverse()
            if query.get("ReturnData", True):
                label = query.get("Label") or f"{metric['MetricName']} {stat}"
                results.append({"id": query["Id"], "label": label, "values": values, "timestamps": stamps, "status_code": "Complete"})
        return results

    def get_filtered_metrics(self: Any, metric_name: str, namespace: str, dimensions: list[dict[str, str]]) -> list[Any]:
        wanted = [models.Dimension(d["Name"], d.get("Value")) for d in dimensions or []]
        unique: dict[tuple[str, str, tuple[tuple[str, str], ...]], Any] = {}
        for md in self.get_all_metrics():
            if namespace and md.namespace != namespace or metric_name and md.name != metric_name:
                continue
            if wanted and any(d not in md.dimensions for d in wanted):
                continue
            unique.setdefault((md.namespace, md.name, _dims_key(md.dimensions)), md)
        return list(unique.values())

    get_metric_data._indexed = True  # type: ignore[attr-defined]
    models.CloudWatchBackend.get_metric_data = get_metric_data
    models.CloudWatchBackend.get_filtered_metrics = get_filtered_metrics
