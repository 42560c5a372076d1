"""Small incident bundles crafted for the emulator tests (never copied from datasets).

Each has one injected fault on a known resource, a minute-resolution history of 140
minutes with the alarm at minute 125, deterministic noise, traces and a few logs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from domain.models import ChangeEvent, Edge, GroundTruth, HealthEvent, Resource, TimeWindow, Topology, Trigger
from tools.bundle.format import IncidentManifest
from tools.bundle.writer import write_bundle

T0 = datetime(2024, 3, 2, 9, 0, tzinfo=timezone.utc)
MINUTES = 140
ALARM_MINUTE = 125
ONSET_MINUTE = 112


def _series(rows: list[dict], resource: str, namespace: str, metric: str, stat: str, dims: dict, values: np.ndarray) -> None:
    import json

    for minute, value in enumerate(values):
        rows.append({"resource": resource, "namespace": namespace, "metric": metric, "stat": stat,
                     "dimensions": json.dumps(dims, sort_keys=True), "timestamp": T0 + timedelta(minutes=minute), "value": float(value)})


def _level(base: float, faulty: float, rng: np.random.Generator, noise: float, onset: int = ONSET_MINUTE) -> np.ndarray:
    values = base + rng.normal(0, noise, MINUTES)
    values[onset:] = faulty + rng.normal(0, noise, MINUTES - onset)
    return np.maximum(values, 0)


def _spans(calls: list[tuple[str, str]], slow: str | None, failing: str | None, rng: np.random.Generator) -> pd.DataFrame:
    """One trace every 2 minutes through `calls` (caller, callee) pairs starting at the first caller."""
    rows = []
    for n, minute in enumerate(range(0, MINUTES, 2)):
        start = T0 + timedelta(minutes=minute, seconds=7)
        trace = f"trace-{n:04d}"
        broken = minute >= ONSET_MINUTE
        root_service = calls[0][0]
        ids = {root_service: f"{n:04d}{0:012d}"}
        for k, (_, callee) in enumerate(calls, start=1):
            ids[callee] = f"{n:04d}{k:012d}"
        duration = {s: 0.02 + rng.uniform(0, 0.005) for s in ids}
        if broken and slow:
            duration[slow] += 0.8
        for caller, callee in reversed(calls):
            duration[caller] += duration[callee]
        for service, span_id in ids.items():
            parent = next((ids[c] for c, d in calls if d == service), None)
            fail = broken and failing is not None and service in (failing, *[c for c, d in calls if d == failing])
            rows.append({"trace_id": trace, "span_id": span_id, "parent_id": parent, "service": service,
                         "operation": f"{service} call", "start": start, "end": start + timedelta(seconds=duration[service]),
                         "error": False, "fault": bool(fail), "status": "500" if fail else "200"})
    return pd.DataFrame(rows)


def _logs(service: str, error_line: str, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for minute in range(0, MINUTES, 3):
        at = T0 + timedelta(minutes=minute, seconds=int(rng.integers(0, 50)))
        rows.append({"timestamp": at, "resource": service, "log_group": f"/app/{service}", "log_stream": f"{service}/main",
                     "message": f"INFO request handled path=/api status=200 duration_ms={int(rng.integers(20, 40))}", "trace_id": None})
        if minute >= ONSET_MINUTE:
            rows.append({"timestamp": at + timedelta(seconds=5), "resource": service, "log_group": f"/app/{service}",
                         "log_stream": f"{service}/main", "message": error_line, "trace_id": None})
    return pd.DataFrame(rows)


def _manifest(ident: str, title: str, alarm: Trigger, topology: Topology, truth: GroundTruth) -> IncidentManifest:
    return IncidentManifest(id=ident, title=title, trigger=alarm, topology=topology, ground_truth=truth,
                            window=TimeWindow(start=T0, end=T0 + timedelta(minutes=MINUTES - 1)))


def database_saturation(out: Path) -> Path:
    """api -> orders-db; the database's CPU saturates and its queries slow down; no change, no deploy."""
    rng = np.random.default_rng(7)
    rows: list[dict] = []
    _series(rows, "api", "Shop", "Latency", "Average", {"Service": "api"}, _level(0.05, 0.9, rng, 0.004))
    _series(rows, "api", "Shop", "Requests", "Sum", {"Service": "api"}, _level(600, 600, rng, 15))
    _series(rows, "api", "Shop", "CPUUtilization", "Average", {"Service": "api"}, _level(30, 30, rng, 1.5))
    _series(rows, "orders-db", "AWS/RDS", "CPUUtilization", "Average", {"DBInstanceIdentifier": "orders-db"},
            _level(20, 97, rng, 1.0, onset=ONSET_MINUTE - 2))
    _series(rows, "orders-db", "AWS/RDS", "ReadLatency", "Average", {"DBInstanceIdentifier": "orders-db"},
            _level(0.002, 0.6, rng, 0.0002, onset=ONSET_MINUTE - 2))
    topology = Topology(resources=[Resource(id="api"), Resource(id="orders-db", type="AWS::RDS::DBInstance")],
                        edges=[Edge(caller="api", callee="orders-db")])
    alarm = Trigger(alarm_name="api-latency-high", resource="api", metric="Latency", namespace="Shop", statistic="Average",
                    threshold=0.5, comparison="GreaterThanThreshold", state_change_time=T0 + timedelta(minutes=ALARM_MINUTE))
    manifest = _manifest("crafted-db-saturation", "api latency from a saturated database", alarm, topology,
                         GroundTruth(resource="orders-db", cause="component"))
    benign = ChangeEvent(id="evt-tag", time=T0 + timedelta(minutes=30), source="ecs.amazonaws.com", event_name="TagResource",
                         resource="api", actor="arn:aws:sts::123456789012:assumed-role/ops/jane")
    return write_bundle(out, manifest, metrics=pd.DataFrame(rows), spans=_spans([("api", "orders-db")], "orders-db", None, rng),
                        logs=_logs("api", "WARN slow query to orders-db took 900 ms", rng), changes=[benign])


def queue_outage(out: Path) -> Path:
    """web -> worker -> jobs-queue; the queue service has an AWS Health issue and the worker fails on it."""
    rng = np.random.default_rng(11)
    rows: list[dict] = []
    _series(rows, "web", "Shop", "Errors", "Sum", {"Service": "web"}, _level(1, 40, rng, 0.5))
    _series(rows, "web", "Shop", "Requests", "Sum", {"Service": "web"}, _level(900, 900, rng, 20))
    _series(rows, "worker", "Shop", "Errors", "Sum", {"Service": "worker"}, _level(0.5, 45, rng, 0.4, onset=ONSET_MINUTE - 1))
    _series(rows, "worker", "Shop", "CPUUtilization", "Average", {"Service": "worker"}, _level(40, 40, rng, 2))
    _series(rows, "jobs-queue", "AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", {"QueueName": "jobs-queue"},
            _level(3, 600, rng, 0.5, onset=ONSET_MINUTE - 3))
    _series(rows, "jobs-queue", "AWS/SQS", "NumberOfMessagesSent", "Sum", {"QueueName": "jobs-queue"}, _level(300, 300, rng, 10))
    topology = Topology(
        resources=[Resource(id="web"), Resource(id="worker"), Resource(id="jobs-queue", type="AWS::SQS::Queue")],
        edges=[Edge(caller="web", callee="worker"), Edge(caller="worker", callee="jobs-queue")],
    )
    alarm = Trigger(alarm_name="web-errors", resource="web", metric="Errors", namespace="Shop", statistic="Sum",
                    threshold=10, comparison="GreaterThanThreshold", state_change_time=T0 + timedelta(minutes=ALARM_MINUTE))
    manifest = _manifest("crafted-queue-outage", "web errors from a queue service outage", alarm, topology,
                         GroundTruth(resource="jobs-queue", cause="dependency"))
    health = HealthEvent(id="sqs-issue-1", service="SQS", event_type_code="AWS_SQS_OPERATIONAL_ISSUE", category="issue",
                         region="us-east-1", start=T0 + timedelta(minutes=ONSET_MINUTE - 4), status="open",
                         affected_resources=["jobs-queue"], description="Increased error rates sending messages to SQS queues.")
    return write_bundle(out, manifest, metrics=pd.DataFrame(rows),
                        spans=_spans([("web", "worker"), ("worker", "jobs-queue")], None, "jobs-queue", rng),
                        logs=_logs("worker", "ERROR SendMessage to jobs-queue failed: ServiceUnavailable", rng), health=[health])
