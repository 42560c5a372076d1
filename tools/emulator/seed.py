"""Seed a running emulator from a scenario with ordinary boto3 calls.

Metrics go in with `PutMetricData` (uncompressed: moto's server cannot read gzip bodies),
logs with `PutLogEvents`, traces with `PutTraceSegments`, and the trigger becomes a real
alarm set to ALARM with `SetAlarmState`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pandas as pd
from botocore.config import Config

from tools.aws.periods import batches
from tools.emulator.scenario import RESOURCE_DIMENSION, Scenario, seeded_dimensions, segment_documents

DUMMY_KEY = "emulator"  # the emulator accepts any credentials; these make that explicit
Progress = Callable[[str], None]


def emulator_client(service: str, endpoint_url: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=DUMMY_KEY,
        aws_secret_access_key=DUMMY_KEY,
        config=Config(retries={"mode": "standard", "max_attempts": 2}, disable_request_compression=True),
    )


def _known(scenario: Scenario) -> set[str]:
    known = {r.id for r in scenario.manifest.topology.resources}
    if not scenario.spans.empty:
        known |= set(scenario.spans["service"].astype(str))
    return known | {scenario.manifest.trigger.resource}


def seed_metrics(scenario: Scenario, endpoint_url: str) -> dict[tuple[str, str], dict[str, str]]:
    """Put every metric point; returns the dimensions used per (resource, metric)."""
    frame = scenario.metrics
    used: dict[tuple[str, str], dict[str, str]] = {}
    if frame.empty:
        return used
    client = emulator_client("cloudwatch", endpoint_url, scenario.region)
    known = _known(scenario)
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for (resource, namespace, metric, stat, dims), series in frame.groupby(["resource", "namespace", "metric", "stat", "dimensions"], sort=False):
        dimensions = seeded_dimensions(str(resource), str(metric), str(stat), dims, known)
        used.setdefault((str(resource), str(metric)), dimensions)
        if stat == scenario.manifest.trigger.statistic:
            used[(str(resource), str(metric))] = dimensions
        listed = [{"Name": k, "Value": v} for k, v in dimensions.items()]
        for ts, value in zip(series["timestamp"], series["value"]):
            if pd.notna(value):
                by_namespace.setdefault(str(namespace), []).append(
                    {"MetricName": str(metric), "Dimensions": listed, "Timestamp": ts.to_pydatetime(), "Value": float(value)}
                )
    for namespace, data in by_namespace.items():
        for chunk in batches(data, 500):
            client.put_metric_data(Namespace=namespace or "Custom", MetricData=chunk)
    return used


def seed_logs(scenario: Scenario, endpoint_url: str) -> int:
    frame = scenario.logs
    if frame.empty:
        return 0
    client = emulator_client("logs", endpoint_url, scenario.region)
    frame = frame.assign(
        log_group=[g if g else f"/investigator/{r}" for g, r in zip(frame["log_group"].fillna(""), frame["resource"])],
        log_stream=[s if s else str(r) for s, r in zip(frame["log_stream"].fillna(""), frame["resource"])],
    )
    for group in frame["log_group"].unique():
        client.create_log_group(logGroupName=str(group))
    count = 0
    for (group, stream), events in frame.groupby(["log_group", "log_stream"], sort=False):
        client.create_log_stream(logGroupName=str(group), logStreamName=str(stream))
        events = events.sort_values("timestamp", kind="stable")
        records = [
            {"timestamp": int(ts.timestamp() * 1000), "message": str(msg) or " "}
            for ts, msg in zip(events["timestamp"], events["message"])
        ]
        for chunk in batches(records, 5000):
            client.put_log_events(logGroupName=str(group), logStreamName=str(stream), logEvents=chunk)
            count += len(chunk)
    return count


def seed_traces(scenario: Scenario, endpoint_url: str) -> int:
    docs = segment_documents(scenario.spans)
    if not docs:
        return 0
    client = emulator_client("xray", endpoint_url, scenario.region)
    for chunk in batches(docs, 100):
        client.put_trace_segments(TraceSegmentDocuments=chunk)
    return len(docs)


def seed_alarm(scenario: Scenario, endpoint_url: str, dimensions: dict[tuple[str, str], dict[str, str]]) -> None:
    trigger = scenario.manifest.trigger
    client = emulator_client("cloudwatch", endpoint_url, scenario.region)
    dims = dimensions.get((trigger.resource, trigger.metric)) or {RESOURCE_DIMENSION: trigger.resource}
    stat: dict[str, str] = (
        {"Statistic": trigger.statistic}
        if trigger.statistic in ("Average", "Sum", "Minimum", "Maximum", "SampleCount")
        else {"ExtendedStatistic": trigger.statistic}
    )
    client.put_metric_alarm(
        AlarmName=trigger.alarm_name,
        Namespace=trigger.namespace or "Custom",
        MetricName=trigger.metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        Period=60,
        EvaluationPeriods=1,
        Threshold=trigger.threshold if trigger.threshold is not None else 0.0,
        ComparisonOperator=trigger.comparison or "GreaterThanThreshold",
        **stat,
    )
    client.set_alarm_state(AlarmName=trigger.alarm_name, StateValue="ALARM", StateReason=f"replayed incident {scenario.manifest.id}")


def seed(scenario: Scenario, endpoint_url: str, progress: Progress = lambda _msg: None) -> dict[str, int]:
    """Everything the scenario holds into the emulator at `endpoint_url`; returns counts."""
    progress(f"seeding {len(scenario.metrics)} metric points")
    dims = seed_metrics(scenario, endpoint_url)
    progress(f"seeding {len(scenario.logs)} log events")
    logs = seed_logs(scenario, endpoint_url)
    progress(f"seeding {len(scenario.spans)} trace segments")
    traces = seed_traces(scenario, endpoint_url)
    seed_alarm(scenario, endpoint_url, dims)
    return {"metric_points": len(scenario.metrics), "log_events": logs, "segments": traces,
            "changes": len(scenario.changes), "health_events": len(scenario.health)}
