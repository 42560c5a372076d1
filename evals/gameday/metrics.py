"""CloudWatch-shaped metrics from a simulation run: the real namespaces, names, stats and dimensions.

Every series holds one value a minute; NaN means CloudWatch has no datapoint for that minute
(e.g. ACM publishes DaysToExpiry rarely).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evals.gameday.app import (
    ALB, ALB_DIMENSION, APP_NAMESPACE, AZS, CART_TABLE, CERT, CERT_ARN, CLUSTER, DB, DB_CALLERS, ENTRY_SERVICE,
    FUNCTION, GATEWAY, QUEUE, SERVICES, TARGET_GROUP_DIMENSION,
)
from evals.gameday.sim import NZ, TABLES, Simulation


@dataclass(frozen=True)
class SeriesKey:
    resource: str
    namespace: str
    metric: str
    stat: str
    dimensions: tuple[tuple[str, str], ...]

    @property
    def dimensions_json(self) -> str:
        return json.dumps(dict(self.dimensions), sort_keys=True)


class MetricBook:
    """All series of one incident, editable by scenarios after the base rendering."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.series: dict[SeriesKey, np.ndarray] = {}

    def put(self, resource: str, namespace: str, metric: str, stat: str, values: np.ndarray, **dims: str) -> SeriesKey:
        key = SeriesKey(resource, namespace, metric, stat, tuple(sorted(dims.items())))
        self.series[key] = np.asarray(values, dtype=float)
        return key

    def find(self, resource: str, metric: str, stat: str | None = None, **dims: str) -> list[SeriesKey]:
        return [
            k for k in self.series
            if k.resource == resource and k.metric == metric and (stat is None or k.stat == stat)
            and all(dict(k.dimensions).get(n) == v for n, v in dims.items())
        ]

    def get(self, resource: str, metric: str, stat: str | None = None, **dims: str) -> np.ndarray:
        """The matching series with the fewest dimensions (the aggregate), editable in place."""
        keys = self.find(resource, metric, stat, **dims)
        if not keys:
            raise KeyError(f"no series {resource} {metric} {stat} {dims}")
        return self.series[min(keys, key=lambda k: len(k.dimensions))]

    def frame(self, end_minute: int) -> pd.DataFrame:
        parts = []
        times = pd.DatetimeIndex(self.sim.times[:end_minute], tz="UTC")
        for key, values in self.series.items():
            v = values[:end_minute]
            keep = ~np.isnan(v)
            parts.append(pd.DataFrame({
                "resource": key.resource, "namespace": key.namespace, "metric": key.metric, "stat": key.stat,
                "dimensions": key.dimensions_json, "timestamp": times[keep], "value": v[keep],
            }))
        return pd.concat(parts, ignore_index=True)


def _noise(sim: Simulation, values: np.ndarray, relative: float) -> np.ndarray:
    return values * (1.0 + sim.rng.normal(0.0, relative, values.shape))


def _counts(sim: Simulation, per_minute: np.ndarray) -> np.ndarray:
    """Poisson counts: honest noise for small numbers."""
    return sim.rng.poisson(np.clip(per_minute, 0, None)).astype(float)


def render(sim: Simulation) -> MetricBook:
    book = MetricBook(sim)
    _alb(sim, book)
    _services(sim, book)
    _database(sim, book)
    _tables(sim, book)
    _queue_and_function(sim, book)
    _edges(sim, book)
    return book


def _alb(sim: Simulation, book: MetricBook) -> None:
    ns, lb = "AWS/ApplicationELB", {"LoadBalancer": ALB_DIMENSION}
    tg = {"TargetGroup": TARGET_GROUP_DIMENSION, **lb}
    requests = _counts(sim, sim.rate[ALB] * 60.0 * sim.alb_share)
    target_errors = _counts(sim, requests * sim.errors[ENTRY_SERVICE])
    elb_errors = _counts(sim, requests * np.clip(sim.own_errors[ALB], 0, 1) + 0.15)
    latency_s = np.clip(_noise(sim, sim.latency(ENTRY_SERVICE), 0.04), 0.001, None) / 1000.0
    p99_s = np.clip(_noise(sim, sim.base_latency(ENTRY_SERVICE) * 3.1 + 1.4 * sim.latency_add[ENTRY_SERVICE], 0.07), 0.002, None) / 1000.0
    unhealthy = np.round(np.clip(sim.live[ENTRY_SERVICE] / NZ - sim.running[ENTRY_SERVICE], 0, None))
    tls_errors = _counts(sim, 1.2 + sim.traffic * sim.tls_failure * 60.0)
    served = requests.sum(axis=0)
    book.put(ALB, ns, "RequestCount", "Sum", served, **lb)
    book.put(ALB, ns, "HTTPCode_Target_5XX_Count", "Sum", target_errors.sum(axis=0), **lb)
    book.put(ALB, ns, "HTTPCode_ELB_5XX_Count", "Sum", elb_errors.sum(axis=0), **lb)
    book.put(ALB, ns, "TargetResponseTime", "Average", np.round((latency_s * requests).sum(axis=0) / np.maximum(served, 1), 4), **lb)
    book.put(ALB, ns, "TargetResponseTime", "p99", np.round(p99_s.max(axis=0), 4), **lb)
    book.put(ALB, ns, "ClientTLSNegotiationErrorCount", "Sum", tls_errors, **lb)
    book.put(ALB, ns, "UnHealthyHostCount", "Average", unhealthy.sum(axis=0), **tg)
    for z, az in enumerate(AZS):
        book.put(ALB, ns, "RequestCount", "Sum", requests[z], AvailabilityZone=az, **lb)
        book.put(ALB, ns, "HTTPCode_Target_5XX_Count", "Sum", target_errors[z], AvailabilityZone=az, **lb)
        book.put(ALB, ns, "HTTPCode_ELB_5XX_Count", "Sum", elb_errors[z], AvailabilityZone=az, **lb)
        book.put(ALB, ns, "TargetResponseTime", "Average", np.round(latency_s[z], 4), AvailabilityZone=az, **lb)
        book.put(ALB, ns, "UnHealthyHostCount", "Average", unhealthy[z], AvailabilityZone=az, **tg)


def _services(sim: Simulation, book: MetricBook) -> None:
    for name, svc in SERVICES.items():
        dims = {"ClusterName": CLUSTER, "ServiceName": name}
        book.put(name, "AWS/ECS", "CPUUtilization", "Average", np.round(np.clip(_noise(sim, sim.cpu[name], 0.05), 0.5, 100), 2), **dims)
        memory = sim.memory.get(name, np.full(sim.minutes, svc.memory_pct))
        book.put(name, "AWS/ECS", "MemoryUtilization", "Average", np.round(np.clip(memory + sim.rng.normal(0, 0.6, sim.minutes), 1, 100), 2), **dims)
        book.put(name, "ECS/ContainerInsights", "RunningTaskCount", "Average", np.round(sim.running[name].sum(axis=0), 2), **dims)
        book.put(name, "ECS/ContainerInsights", "DesiredTaskCount", "Average", sim.desired[name], **dims)
        requests = _counts(sim, sim.rate[name] * 60.0)
        book.put(name, APP_NAMESPACE, "Requests", "Sum", requests, Service=name)
        book.put(name, APP_NAMESPACE, "Errors", "Sum", _counts(sim, requests * sim.errors[name].mean(axis=0)), Service=name)
        base = svc.base_latency_ms
        p99 = np.clip(_noise(sim, base * 2.9 + 1.35 * sim.latency_add[name], 0.06), 1, None)
        book.put(name, APP_NAMESPACE, "Latency", "p99", np.round(p99.max(axis=0), 1), Service=name)
        for z, az in enumerate(AZS):
            book.put(name, APP_NAMESPACE, "Latency", "p99", np.round(p99[z], 1), Service=name, AvailabilityZone=az)


def _database(sim: Simulation, book: MetricBook) -> None:
    ns, dims = "AWS/RDS", {"DBInstanceIdentifier": DB}
    load = sim.rate[DB]
    pool = sum(sim.running[c].sum(axis=0) for c in DB_CALLERS) * 9.0
    book.put(DB, ns, "DatabaseConnections", "Average", np.round(_noise(sim, pool + 6.0, 0.03)), **dims)
    book.put(DB, ns, "CPUUtilization", "Average", np.round(np.clip(_noise(sim, 11.0 + load * 0.18, 0.05), 1, 100), 2), **dims)
    book.put(DB, ns, "FreeStorageSpace", "Average", np.round(61.5e9 - np.arange(sim.minutes) * 1.1e6 + sim.rng.normal(0, 2e6, sim.minutes)), **dims)
    latency = sim.latency(DB).mean(axis=0)
    book.put(DB, ns, "ReadLatency", "Average", np.round(np.clip(_noise(sim, latency * 0.35 / 1000.0, 0.08), 1e-5, None), 5), **dims)
    book.put(DB, ns, "WriteLatency", "Average", np.round(np.clip(_noise(sim, latency * 0.6 / 1000.0, 0.08), 1e-5, None), 5), **dims)
    book.put(DB, ns, "WriteIOPS", "Average", np.round(_noise(sim, load * 0.9 + 25.0, 0.05), 1), **dims)
    book.put(DB, ns, "FreeableMemory", "Average", np.round(_noise(sim, np.full(sim.minutes, 5.4e9), 0.004)), **dims)


def _tables(sim: Simulation, book: MetricBook) -> None:
    ns = "AWS/DynamoDB"
    for table in TABLES:
        demand = sim.rate[table] * 60.0
        capacity = sim.table_capacity[table]
        consumed = np.minimum(_noise(sim, demand, 0.03), capacity * 60.0 * 1.02)
        throttled = _counts(sim, demand * sim.throttled[table])
        operation = "PutItem" if table == CART_TABLE else "UpdateItem"
        book.put(table, ns, "ConsumedWriteCapacityUnits", "Sum", np.round(consumed), TableName=table)
        book.put(table, ns, "ProvisionedWriteCapacityUnits", "Average", np.full(sim.minutes, capacity), TableName=table)
        book.put(table, ns, "ConsumedReadCapacityUnits", "Sum", np.round(_noise(sim, demand * 0.7, 0.04)), TableName=table)
        book.put(table, ns, "ThrottledRequests", "Sum", throttled, TableName=table, Operation=operation)
        book.put(table, ns, "WriteThrottleEvents", "Sum", np.round(throttled * 1.3), TableName=table)
        latency = np.clip(_noise(sim, sim.latency(table).mean(axis=0) - 160.0 * sim.throttled[table], 0.06), 0.8, None)
        book.put(table, ns, "SuccessfulRequestLatency", "Average", np.round(latency, 2), TableName=table, Operation=operation)


def _queue_and_function(sim: Simulation, book: MetricBook) -> None:
    q, f = sim.queue, sim.function
    qd = {"QueueName": QUEUE}
    book.put(QUEUE, "AWS/SQS", "NumberOfMessagesSent", "Sum", _counts(sim, q["sent"]), **qd)
    book.put(QUEUE, "AWS/SQS", "NumberOfMessagesDeleted", "Sum", _counts(sim, q["deleted"]), **qd)
    book.put(QUEUE, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Average", np.round(_noise(sim, q["visible"], 0.05)), **qd)
    book.put(QUEUE, "AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", np.round(np.clip(_noise(sim, q["age"], 0.08), 1, None)), **qd)
    fd = {"FunctionName": FUNCTION}
    book.put(FUNCTION, "AWS/Lambda", "Invocations", "Sum", _counts(sim, f["invocations"]), **fd)
    book.put(FUNCTION, "AWS/Lambda", "Errors", "Sum", _counts(sim, f["errors"]), **fd)
    book.put(FUNCTION, "AWS/Lambda", "Throttles", "Sum", _counts(sim, f["throttles"]), **fd)
    book.put(FUNCTION, "AWS/Lambda", "Duration", "Average", np.round(_noise(sim, f["duration"], 0.05), 1), **fd)
    book.put(FUNCTION, "AWS/Lambda", "ConcurrentExecutions", "Maximum", np.round(np.minimum(_noise(sim, f["concurrency"], 0.08), sim.function_limit)), **fd)


def _edges(sim: Simulation, book: MetricBook) -> None:
    """Client-side metrics the payments service publishes about the external API."""
    caller = next(c.caller for c in sim.app.calls if c.callee == GATEWAY)
    dims = {"Service": caller, "Dependency": GATEWAY}
    latency = sim.latency(GATEWAY).mean(axis=0) + sim.edge_latency.get((caller, GATEWAY), np.zeros((NZ, sim.minutes))).mean(axis=0)
    book.put(GATEWAY, APP_NAMESPACE, "DependencyLatency", "p99", np.round(_noise(sim, latency * 2.2, 0.06), 1), **dims)
    errors = np.clip(sim.errors[GATEWAY].mean(axis=0) + sim.edge_errors.get((caller, GATEWAY), np.zeros((NZ, sim.minutes))).mean(axis=0), 0, 1)
    book.put(GATEWAY, APP_NAMESPACE, "DependencyErrors", "Sum", _counts(sim, sim.rate[GATEWAY] * 60.0 * errors), **dims)


def days_to_expiry(sim: Simulation, book: MetricBook, expiry_minute: int, days_before: float) -> None:
    """ACM's DaysToExpiry for the ALB certificate, one datapoint every five minutes."""
    values = np.full(sim.minutes, np.nan)
    for t in range(0, sim.minutes, 5):
        # Whole days left, rounded up: 1 on the last day, 0 once expired.
        values[t] = float(np.ceil(days_before + (expiry_minute - t) / 1440.0)) if t < expiry_minute else 0.0
    book.put(CERT, "AWS/CertificateManager", "DaysToExpiry", "Minimum", values, CertificateArn=CERT_ARN)
