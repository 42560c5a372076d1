"""Scale benchmark: a generated incident at size factor F, replayed through the real bundle path.

Usage (from the repository root):

    .venv/bin/python -m bench.scale --factor 1 [--keep DIR] [--seed 7]
    .venv/bin/python -m bench.scale --curve            # F = 0.25, 0.5, 1, 2, 4

At factor F the incident has 500*F resources (an ALB, ECS services, Lambda functions, RDS
instances, DynamoDB tables and SQS queues in a layered dependency DAG), 10,000*F metric
series of 240 one-minute points, about 1,000,000*F log lines and about 200,000*F spans.
One service, in the middle of the DAG, is the injected root cause: a deploy three minutes
before the onset, after which its own spans get slower and fail, its latency, 5XX and CPU
metrics rise and it logs a new exception; its callers see the failures propagate. A noisy
unrelated service (chronic errors, jumpy CPU) and a benign scaling change are distractors.

Each size runs in two fresh subprocesses (generate, then investigate), so the peak RSS of
the investigation is its own. A watchdog kills a step whose RSS passes `--max-rss-gb`.
Per-node times come from timing wrappers installed around the graph's nodes and the
analyses they call (bench process only; the product code is not changed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MINUTES = 240
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
ONSET_MINUTE = 190
ALARM_MINUTE = 198
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")
CURVE = (0.25, 0.5, 1.0, 2.0, 4.0)

ALB = "AWS::ElasticLoadBalancingV2::LoadBalancer"
ECS = "AWS::ECS::Service"
LAMBDA = "AWS::Lambda::Function"
RDS = "AWS::RDS::DBInstance"
DDB = "AWS::DynamoDB::Table"
SQS = "AWS::SQS::Queue"
STORES = (RDS, DDB, SQS)

DOMAINS = (
    "orders", "payments", "catalog", "inventory", "pricing", "shipping", "accounts", "search", "reviews",
    "cart", "checkout", "notify", "fraud", "ledger", "promo", "media", "auth", "profile", "recs", "geo",
)

# --- metric vocabulary: 20 series per resource, CloudWatch names and statistics ---------------
# (namespace, metric, statistic, split dimension or None, kind)
_OPS = ("GetItem", "PutItem", "Query", "UpdateItem")
_SPECS: dict[str, list[tuple[str, str, str, tuple[str, tuple[str, ...]] | None, str]]] = {
    ALB: [
        ("AWS/ApplicationELB", "RequestCount", "Sum", ("AvailabilityZone", AZS), "count"),
        ("AWS/ApplicationELB", "TargetResponseTime", "Average", ("AvailabilityZone", AZS), "latency_s"),
        ("AWS/ApplicationELB", "TargetResponseTime", "p99", None, "latency_s"),
        ("AWS/ApplicationELB", "TargetResponseTime", "p50", None, "latency_s"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", ("AvailabilityZone", AZS), "errors"),
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", None, "zero"),
        ("AWS/ApplicationELB", "HTTPCode_Target_2XX_Count", "Sum", None, "count"),
        ("AWS/ApplicationELB", "ActiveConnectionCount", "Sum", None, "count"),
        ("AWS/ApplicationELB", "NewConnectionCount", "Sum", None, "count"),
        ("AWS/ApplicationELB", "ProcessedBytes", "Sum", None, "bytes"),
        ("AWS/ApplicationELB", "ConsumedLCUs", "Sum", None, "gauge"),
        ("AWS/ApplicationELB", "HealthyHostCount", "Average", None, "tasks"),
        ("AWS/ApplicationELB", "RejectedConnectionCount", "Sum", None, "zero"),
        ("AWS/ApplicationELB", "TargetConnectionErrorCount", "Sum", None, "zero"),
    ],
    ECS: [
        ("AWS/ECS", "CPUUtilization", "Average", None, "cpu"),
        ("AWS/ECS", "CPUUtilization", "Maximum", None, "cpu"),
        ("AWS/ECS", "MemoryUtilization", "Average", None, "mem"),
        ("AWS/ECS", "MemoryUtilization", "Maximum", None, "mem"),
        ("ECS/ContainerInsights", "RunningTaskCount", "Average", None, "tasks"),
        ("AWS/ApplicationELB", "RequestCountPerTarget", "Sum", None, "count"),
        ("AWS/ApplicationELB", "RequestCount", "Sum", ("AvailabilityZone", AZS), "count"),
        ("AWS/ApplicationELB", "TargetResponseTime", "Average", ("AvailabilityZone", AZS), "latency_s"),
        ("AWS/ApplicationELB", "TargetResponseTime", "p99", None, "latency_s"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", ("AvailabilityZone", AZS), "errors"),
        ("AWS/ApplicationELB", "HTTPCode_Target_4XX_Count", "Sum", None, "rare"),
        ("AWS/ApplicationELB", "HealthyHostCount", "Average", None, "tasks"),
        ("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", None, "zero"),
        ("ECS/ContainerInsights", "NetworkRxBytes", "Sum", None, "bytes"),
    ],
    LAMBDA: [
        ("AWS/Lambda", "Invocations", "Sum", None, "count"),
        ("AWS/Lambda", "Errors", "Sum", None, "errors"),
        ("AWS/Lambda", "Throttles", "Sum", None, "zero"),
        *[("AWS/Lambda", "Duration", s, None, "latency_ms") for s in ("Average", "Minimum", "Maximum", "p50", "p90", "p99")],
        ("AWS/Lambda", "ConcurrentExecutions", "Maximum", None, "gauge"),
        ("AWS/Lambda", "ConcurrentExecutions", "Average", None, "gauge"),
        ("AWS/Lambda", "DeadLetterErrors", "Sum", None, "zero"),
        ("AWS/Lambda", "IteratorAge", "Maximum", None, "latency_ms"),
        ("AWS/Lambda", "PostRuntimeExtensionsDuration", "Average", None, "latency_ms"),
        ("AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations", "Sum", None, "zero"),
        ("AWS/Lambda", "AsyncEventAge", "Maximum", None, "latency_ms"),
        ("AWS/Lambda", "AsyncEventsReceived", "Sum", None, "count"),
        ("AWS/Lambda", "AsyncEventsDropped", "Sum", None, "zero"),
        ("AWS/Lambda", "UnreservedConcurrentExecutions", "Maximum", None, "gauge"),
        ("AWS/Lambda", "ClaimedAccountConcurrency", "Maximum", None, "gauge"),
    ],
    RDS: [
        ("AWS/RDS", "CPUUtilization", "Average", None, "cpu"),
        ("AWS/RDS", "CPUUtilization", "Maximum", None, "cpu"),
        ("AWS/RDS", "FreeableMemory", "Average", None, "bytes"),
        ("AWS/RDS", "DatabaseConnections", "Average", None, "gauge"),
        ("AWS/RDS", "DatabaseConnections", "Maximum", None, "gauge"),
        ("AWS/RDS", "ReadLatency", "Average", None, "latency_s"),
        ("AWS/RDS", "WriteLatency", "Average", None, "latency_s"),
        ("AWS/RDS", "ReadIOPS", "Average", None, "gauge"),
        ("AWS/RDS", "WriteIOPS", "Average", None, "gauge"),
        ("AWS/RDS", "ReadThroughput", "Average", None, "bytes"),
        ("AWS/RDS", "WriteThroughput", "Average", None, "bytes"),
        ("AWS/RDS", "FreeStorageSpace", "Minimum", None, "bytes"),
        ("AWS/RDS", "NetworkReceiveThroughput", "Average", None, "bytes"),
        ("AWS/RDS", "NetworkTransmitThroughput", "Average", None, "bytes"),
        ("AWS/RDS", "DiskQueueDepth", "Average", None, "gauge"),
        ("AWS/RDS", "SwapUsage", "Average", None, "bytes"),
        ("AWS/RDS", "BurstBalance", "Average", None, "mem"),
        ("AWS/RDS", "CPUCreditBalance", "Average", None, "gauge"),
        ("AWS/RDS", "ReplicaLag", "Maximum", None, "latency_s"),
        ("AWS/RDS", "DBLoad", "Average", None, "gauge"),
    ],
    DDB: [
        ("AWS/DynamoDB", "ConsumedReadCapacityUnits", "Sum", None, "count"),
        ("AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Sum", None, "count"),
        ("AWS/DynamoDB", "SuccessfulRequestLatency", "Average", ("Operation", _OPS), "latency_ms"),
        ("AWS/DynamoDB", "SuccessfulRequestLatency", "Maximum", ("Operation", _OPS), "latency_ms"),
        ("AWS/DynamoDB", "ReturnedItemCount", "Average", None, "gauge"),
        ("AWS/DynamoDB", "ThrottledRequests", "Sum", None, "zero"),
        ("AWS/DynamoDB", "ReadThrottleEvents", "Sum", None, "zero"),
        ("AWS/DynamoDB", "WriteThrottleEvents", "Sum", None, "zero"),
        ("AWS/DynamoDB", "SystemErrors", "Sum", None, "zero"),
        ("AWS/DynamoDB", "UserErrors", "Sum", None, "rare"),
        ("AWS/DynamoDB", "ConditionalCheckFailedRequests", "Sum", None, "rare"),
        ("AWS/DynamoDB", "TransactionConflict", "Sum", None, "zero"),
        ("AWS/DynamoDB", "ReplicationLatency", "Average", None, "latency_ms"),
        ("AWS/DynamoDB", "TimeToLiveDeletedItemCount", "Sum", None, "count"),
    ],
    SQS: [
        *[("AWS/SQS", m, s, None, "count") for m in ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted") for s in ("Sum", "SampleCount")],
        ("AWS/SQS", "NumberOfEmptyReceives", "Sum", None, "count"),
        *[("AWS/SQS", "ApproximateNumberOfMessagesVisible", s, None, "gauge") for s in ("Average", "Maximum", "Minimum")],
        *[("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", s, None, "gauge") for s in ("Average", "Maximum")],
        ("AWS/SQS", "ApproximateNumberOfMessagesDelayed", "Average", None, "zero"),
        *[("AWS/SQS", "ApproximateAgeOfOldestMessage", s, None, "latency_s") for s in ("Maximum", "Average")],
        *[("AWS/SQS", "SentMessageSize", s, None, "bytes") for s in ("Average", "Maximum", "Minimum", "SampleCount", "Sum")],
    ],
}
_RESOURCE_DIMENSION = {ALB: "LoadBalancer", ECS: "ServiceName", LAMBDA: "FunctionName", RDS: "DBInstanceIdentifier", DDB: "TableName", SQS: "QueueName"}
SERIES_PER_RESOURCE = 20

# kind -> (level low, level high, relative noise, Poisson counts)
_KINDS: dict[str, tuple[float, float, float, bool]] = {
    "cpu": (10.0, 55.0, 0.06, False),
    "mem": (30.0, 70.0, 0.02, False),
    "tasks": (2.0, 12.0, 0.0, False),
    "count": (200.0, 3000.0, 0.0, True),
    "latency_s": (0.01, 0.2, 0.08, False),
    "latency_ms": (4.0, 120.0, 0.08, False),
    "errors": (0.2, 0.6, 0.0, True),
    "rare": (0.5, 3.0, 0.0, True),
    "zero": (0.0, 0.0, 0.0, False),
    "bytes": (1e6, 5e8, 0.05, False),
    "gauge": (5.0, 200.0, 0.05, False),
}


def _check_specs() -> None:
    for kind, specs in _SPECS.items():
        count = sum(len(split[1]) if split else 1 for *_, split, _ in specs)
        assert count == SERIES_PER_RESOURCE, f"{kind}: {count} series per resource"


@dataclass
class Incident:
    """What was generated, and the answer the investigation should find."""

    factor: float
    seed: int
    resources: int
    edges: int
    series: int
    metric_points: int
    log_lines: int
    spans: int
    traces: int
    root_cause: str
    entry: str
    generate_s: float = 0.0
    bundle_mb: float = 0.0


@dataclass
class _Topo:
    ids: list[str]
    types: list[str]
    layer: np.ndarray
    callees: list[list[int]]
    root_cause: int
    noisy: int
    benign: int

    @property
    def callers(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.ids]
        for caller, targets in enumerate(self.callees):
            for callee in targets:
                out[callee].append(caller)
        return out

    def ancestors(self, node: int) -> set[int]:
        callers, seen, frontier = self.callers, set(), [node]
        while frontier:
            for c in callers[frontier.pop()]:
                if c not in seen:
                    seen.add(c)
                    frontier.append(c)
        return seen


def build_topology(rng: np.random.Generator, n: int) -> _Topo:
    """An ALB over four layers of services and functions, datastores at the bottom."""
    n = max(n, 20)
    n_stores = int(round(0.3 * n))
    n_compute = n - 1 - n_stores
    shares = np.array([0.15, 0.3, 0.3, 0.25])
    per_layer = np.maximum(1, np.floor(shares * n_compute).astype(int))
    per_layer[-1] += n_compute - per_layer.sum()
    ids, types, layers = ["edge-alb"], [ALB], [0]
    counter = 0
    roles = {1: "api", 2: "svc", 3: "core", 4: "worker"}
    for layer, count in enumerate(per_layer, start=1):
        for _ in range(count):
            counter += 1
            is_lambda = layer >= 3 and rng.random() < 0.2
            domain = DOMAINS[rng.integers(len(DOMAINS))]
            ids.append(f"{domain}-{'fn' if is_lambda else roles[layer]}-{counter:04d}")
            types.append(LAMBDA if is_lambda else ECS)
            layers.append(layer)
    store_kinds = rng.choice(np.array(STORES), size=n_stores, p=[0.3, 0.45, 0.25])
    suffix = {RDS: "db", DDB: "table", SQS: "queue"}
    for kind in store_kinds:
        counter += 1
        ids.append(f"{DOMAINS[rng.integers(len(DOMAINS))]}-{suffix[kind]}-{counter:04d}")
        types.append(str(kind))
        layers.append(5)
    layer = np.array(layers)
    by_layer = {lv: np.flatnonzero(layer == lv) for lv in range(6)}
    callees: list[list[int]] = [[] for _ in ids]
    callees[0] = list(by_layer[1])  # the ALB routes to every front service
    for node in range(1, len(ids)):
        lv = layer[node]
        if lv == 5:
            continue
        fan_out = 1 + min(int(rng.poisson(1.8)), 5)
        targets = set()
        for _ in range(fan_out):
            # Mostly the next layer; sometimes a datastore or a deeper layer directly.
            deeper = 5 if rng.random() < 0.3 else min(lv + 1 + int(rng.random() < 0.2), 5)
            pool = by_layer[deeper]
            targets.add(int(pool[rng.integers(len(pool))]))
        callees[node] = sorted(targets)
    has_caller = np.zeros(len(ids), bool)
    for targets in callees:
        has_caller[targets] = True
    for node in np.flatnonzero(~has_caller):
        if node == 0:
            continue
        above = by_layer[layer[node] - 1]
        callees[int(above[rng.integers(len(above))])].append(int(node))
    topo = _Topo(ids=ids, types=types, layer=layer, callees=callees, root_cause=-1, noisy=-1, benign=-1)
    callers = topo.callers
    # The root cause: a layer-3 ECS service with callers and callees, so it has a cascade above
    # and healthy dependencies below.
    candidates = [i for i in by_layer[3] if types[i] == ECS and callers[i] and callees[i]] or [
        i for i in range(1, len(ids)) if types[i] == ECS and layer[i] >= 2 and callers[i] and callees[i]
    ]
    topo.root_cause = int(candidates[rng.integers(len(candidates))])
    blast = topo.ancestors(topo.root_cause) | {topo.root_cause}
    bystanders = [i for i in range(1, len(ids)) if types[i] == ECS and i not in blast]
    topo.noisy, topo.benign = (int(x) for x in rng.choice(bystanders, size=2, replace=False))
    return topo


# --- metrics --------------------------------------------------------------------------------------

def generate_metrics(rng: np.random.Generator, topo: _Topo) -> pd.DataFrame:
    _check_specs()
    rows: list[tuple[int, str, str, str, str, str]] = []  # resource, namespace, metric, stat, dims, kind
    for r, (rid, rtype) in enumerate(zip(topo.ids, topo.types)):
        base_dims = {_RESOURCE_DIMENSION[rtype]: rid}
        if rtype == ECS:
            base_dims["ClusterName"] = "prod"
        for namespace, metric, stat, split, kind in _SPECS[rtype]:
            for value in split[1] if split else (None,):
                dims = dict(base_dims, **({split[0]: value} if split else {}))
                rows.append((r, namespace, metric, stat, json.dumps(dims, sort_keys=True), kind))
    spec = pd.DataFrame(rows, columns=["r", "namespace", "metric", "stat", "dimensions", "kind"])
    n = len(spec)
    kinds = spec["kind"].to_numpy()
    lo = np.array([_KINDS[k][0] for k in kinds])
    hi = np.array([_KINDS[k][1] for k in kinds])
    noise = np.array([_KINDS[k][2] for k in kinds])
    poisson = np.array([_KINDS[k][3] for k in kinds])
    level = lo * (hi / np.maximum(lo, 1e-12)) ** rng.random(n)  # log-uniform
    level = np.where(lo == 0, 0.0, level)
    noise = np.where(spec["r"].to_numpy() == topo.noisy, noise * 4, noise)
    minutes = np.arange(MINUTES)
    diurnal = 1.0 + 0.05 * np.sin(2 * np.pi * (minutes / 1440.0 + rng.random()))
    mean = level[:, None] * diurnal[None, :]

    # The fault: the root cause degrades at the onset, its callers a minute later.
    after = minutes >= ONSET_MINUTE
    r = spec["r"].to_numpy()
    rc = r == topo.root_cause
    cascade = np.isin(r, list(topo.ancestors(topo.root_cause)))
    effect = np.ones(n)
    effect[rc & np.isin(kinds, ["latency_s", "latency_ms"])] = 5.0
    effect[rc & (kinds == "cpu")] = 1.8
    effect[cascade & np.isin(kinds, ["latency_s", "latency_ms"])] = 2.2
    errors = kinds == "errors"
    effect[rc & errors] = 60.0
    effect[cascade & errors] = 25.0
    starts = np.where(cascade, ONSET_MINUTE + 1, ONSET_MINUTE)
    active = minutes[None, :] >= starts[:, None]
    mean = np.where(active & after[None, :], mean * effect[:, None], mean)

    values = np.where(poisson[:, None], 0.0, mean * (1.0 + noise[:, None] * rng.standard_normal((n, MINUTES))))
    counts = rng.poisson(np.where(poisson[:, None], mean, 0.0))
    values = np.where(poisson[:, None], counts, np.maximum(values, 0.0))

    stamps = pd.date_range(T0.replace(tzinfo=None), periods=MINUTES, freq="min", unit="ms")
    ids = np.array(topo.ids, dtype=object)
    frame = pd.DataFrame({
        "resource": np.repeat(ids[r], MINUTES),
        "namespace": np.repeat(spec["namespace"].to_numpy(dtype=object), MINUTES),
        "metric": np.repeat(spec["metric"].to_numpy(dtype=object), MINUTES),
        "stat": np.repeat(spec["stat"].to_numpy(dtype=object), MINUTES),
        "dimensions": np.repeat(spec["dimensions"].to_numpy(dtype=object), MINUTES),
        "timestamp": np.tile(stamps.to_numpy(), n),
        "value": values.reshape(-1),
    })
    frame["timestamp"] = frame["timestamp"].dt.tz_localize("UTC")
    return frame


# --- spans ----------------------------------------------------------------------------------------

def _hex(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """`n` random lower-case hex strings of `width` characters, as an object array."""
    digits = np.frombuffer(b"0123456789abcdef", dtype="S1")
    raw = digits[rng.integers(0, 16, size=(n, width), dtype=np.uint8)].tobytes()
    return pa.array(np.frombuffer(raw, dtype=f"S{width}")).cast(pa.string()).to_numpy(zero_copy_only=False)


def _call_trees(rng: np.random.Generator, topo: _Topo, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Request shapes: (node per span, parent position per span) in depth-first order."""
    trees = []
    front = topo.callees[0]
    for _ in range(count):
        nodes, parents = [0], [-1]
        stack = [(int(front[rng.integers(len(front))]), 0)]
        while stack:
            node, parent = stack.pop()
            nodes.append(node)
            parents.append(parent)
            me = len(nodes) - 1
            targets = topo.callees[node]
            if targets:
                chosen = [t for t in targets if rng.random() < 0.55] or [targets[rng.integers(len(targets))]]
                stack.extend((t, me) for t in reversed(chosen))
        trees.append((np.array(nodes), np.array(parents)))
    return trees


def generate_spans(rng: np.random.Generator, topo: _Topo, target: int) -> pd.DataFrame:
    trees = _call_trees(rng, topo, max(200, target // 50))
    sizes = np.array([len(t[0]) for t in trees])
    popularity = rng.pareto(1.5, len(trees)) + 1.0
    popularity /= popularity.sum()
    n_traces = max(1, int(round(target / float((sizes * popularity).sum()))))
    chosen = rng.choice(len(trees), size=n_traces, p=popularity)
    lengths = sizes[chosen]
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    node = np.concatenate([trees[i][0] for i in chosen])
    local_parent = np.concatenate([trees[i][1] for i in chosen])
    trace = np.repeat(np.arange(n_traces), lengths)
    parent = np.where(local_parent >= 0, local_parent + np.repeat(offsets, lengths), -1)
    n = len(node)
    depth = np.zeros(n, int)
    for _ in range(8):
        depth = np.where(parent >= 0, depth[np.maximum(parent, 0)] + 1, 0)

    trace_start_ms = np.sort(rng.random(n_traces)) * (MINUTES - 1) * 60_000
    span_trace_start = trace_start_ms[trace]
    # Own time in ms per resource: services a few to tens of ms, datastores a few ms.
    types = np.array(topo.types)
    base_self = np.where(np.isin(types, STORES), 1.0 + 6.0 * rng.random(len(types)), 3.0 + 35.0 * rng.random(len(types)))
    base_self[0] = 1.0
    self_ms = base_self[node] * rng.lognormal(0.0, 0.35, n)
    gap_ms = 0.5 + 1.5 * rng.random(n)
    broken = (node == topo.root_cause) & (span_trace_start >= ONSET_MINUTE * 60_000)
    self_ms = np.where(broken, self_ms + 300.0 * rng.lognormal(0.0, 0.3, n), self_ms)
    own_fault = broken & (rng.random(n) < 0.3)

    duration = self_ms.copy()
    failed = own_fault.copy()
    propagated = np.zeros(n, bool)
    for d in range(depth.max(), 0, -1):
        idx = np.flatnonzero(depth == d)
        np.add.at(duration, parent[idx], duration[idx] + gap_ms[idx])
        child_failed = np.zeros(n, bool)
        child_failed[parent[idx[failed[idx]]]] = True
        level = np.flatnonzero(depth == d - 1)
        passes = child_failed[level] & (rng.random(len(level)) < 0.8)
        propagated[level[passes]] = True
        failed[level] |= passes

    # Start times top-down: a parent does 30 % of its own work, then calls its children in turn.
    block = duration + gap_ms
    order = pd.DataFrame({"parent": parent, "block": block})
    before = order.groupby("parent", sort=False)["block"].cumsum().to_numpy() - block
    start = span_trace_start.copy()
    for d in range(1, depth.max() + 1):
        idx = np.flatnonzero(depth == d)
        p = parent[idx]
        start[idx] = start[p] + 0.3 * self_ms[p] + before[idx] + 0.5 * gap_ms[idx]
    t0 = np.datetime64(T0.replace(tzinfo=None), "ms")
    start_ts = t0 + np.round(start).astype("timedelta64[ms]")
    end_ts = start_ts + np.maximum(np.round(duration), 1).astype("timedelta64[ms]")

    trace_ids = _hex(rng, n_traces, 32)
    span_ids = _hex(rng, n, 16)
    ids = np.array(topo.ids, dtype=object)
    verbs = np.array(["GET", "POST", "PUT"], dtype=object)[rng.integers(0, 3, len(topo.ids))]
    operation = np.where(np.isin(types, STORES), np.array(["Query", "PutItem", "SendMessage"], dtype=object)[rng.integers(0, 3, len(topo.ids))],
                         verbs + " /v1/" + np.array([i.split("-")[0] for i in topo.ids], dtype=object))
    status = np.full(n, "200", dtype=object)
    status[propagated] = "502"
    status[own_fault] = "500"
    frame = pd.DataFrame({
        "trace_id": trace_ids[trace],
        "span_id": span_ids,
        "parent_id": np.where(parent >= 0, span_ids[np.maximum(parent, 0)], None),
        "service": ids[node],
        "operation": operation[node],
        "start": pd.to_datetime(start_ts).tz_localize("UTC"),
        "end": pd.to_datetime(end_ts).tz_localize("UTC"),
        "error": np.zeros(n, bool),
        "fault": failed,
        "status": status,
    })
    frame.attrs["traces"] = n_traces
    return frame


# --- logs -----------------------------------------------------------------------------------------

# (level, template); {callee}, {ms}, {thr}, {id}, {uuid}, {n} are filled per line.
_TEMPLATES = [
    ("INFO", "INFO [http-nio-8080-exec-{thr}] RequestLogger - GET /v1/items/{id} status=200 duration={ms}ms"),
    ("INFO", "INFO [worker-{thr}] MessageProcessor - processed message {uuid} in {ms} ms"),
    ("DEBUG", "DEBUG [http-nio-8080-exec-{thr}] CacheClient - cache hit for key item:{id}"),
    ("DEBUG", "DEBUG [http-nio-8080-exec-{thr}] CacheClient - cache miss for key item:{id}, loading"),
    ("INFO", "INFO [http-nio-8080-exec-{thr}] DownstreamClient - call to {callee} returned 200 in {ms} ms"),
    ("INFO", "INFO [scheduler-1] HealthReporter - heartbeat ok, {n} active connections, heap {ms} MB"),
    ("WARN", "WARN [http-nio-8080-exec-{thr}] RetryPolicy - retrying call to {callee} (attempt {n} of 3)"),
    ("INFO", "INFO [main] MetricsPublisher - published {n} datapoints"),
    ("ERROR", "ERROR [http-nio-8080-exec-{thr}] DownstreamClient - call to {callee} failed: HTTP 503 after {ms} ms"),
    ("ERROR", "ERROR [hikari-housekeeper] HikariPool-1 - Connection is not available, request timed out after 30000ms"),
    ("ERROR", "ERROR [http-nio-8080-exec-{thr}] RequestHandler - Unhandled exception for request {uuid}: "
              "java.lang.NullPointerException: Cannot invoke \"RuleSet.activeVersion()\" because \"rules\" is null"),
]
_MIX = np.array([0.38, 0.12, 0.14, 0.06, 0.2, 0.02, 0.015, 0.0145, 0.0005, 0.0, 0.0])
UPSTREAM_FAILED, CHRONIC, NEW_EXCEPTION = 8, 9, 10


def generate_logs(rng: np.random.Generator, topo: _Topo, total: int, trace_ids: np.ndarray) -> pd.DataFrame:
    types = np.array(topo.types)
    services = np.flatnonzero(np.isin(types, [ECS, LAMBDA]))
    weight = rng.lognormal(0.0, 0.8, len(services))
    svc = services[rng.choice(len(services), size=total, p=weight / weight.sum())]
    ms_offset = np.sort(rng.integers(0, MINUTES * 60_000, size=total))
    svc = svc[rng.permutation(total)]  # times sorted, services shuffled
    # Template per line from the service's own mixture (the global one, perturbed).
    mix = _MIX[None, :] * rng.lognormal(0.0, 0.3, (len(topo.ids), len(_MIX)))
    mix[topo.noisy, CHRONIC] = 0.03
    cum = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    tpl = (rng.random(total)[:, None] > cum[svc]).sum(axis=1)
    tpl = np.minimum(tpl, len(_MIX) - 1)

    degree = np.array([len(c) for c in topo.callees])
    flat = np.array([c for cs in topo.callees for c in cs] or [0])
    first = np.r_[0, np.cumsum(degree)[:-1]]
    pick = first[svc] + (rng.random(total) * np.maximum(degree[svc], 1)).astype(int)
    callee = np.where(degree[svc] > 0, flat[np.minimum(pick, len(flat) - 1)], svc)

    after = ms_offset >= ONSET_MINUTE * 60_000
    rc = topo.root_cause
    # The root cause fails a share of its requests with a new exception...
    mine = after & (svc == rc) & (tpl == 0)
    tpl[mine & (rng.random(total) < 0.4)] = NEW_EXCEPTION
    # ...and its callers log the failed calls.
    callers = np.array(topo.callers[rc])
    calls = after & np.isin(svc, callers) & (tpl == 4) & (callee == rc)
    tpl[calls & (rng.random(total) < 0.5)] = UPSTREAM_FAILED

    ids = np.array(topo.ids, dtype=object)
    messages = np.empty(total, dtype=object)
    for t, (_, text) in enumerate(_TEMPLATES):
        rows = np.flatnonzero(tpl == t)
        if not len(rows):
            continue
        messages[rows] = _fill(rng, text, rows, ids[callee[rows]])
    with_trace = np.isin(tpl, [0, 4, UPSTREAM_FAILED, NEW_EXCEPTION])
    trace = np.full(total, None, dtype=object)
    trace[with_trace] = trace_ids[rng.integers(0, len(trace_ids), int(with_trace.sum()))]
    tasks = _hex(rng, len(topo.ids) * 3, 32)
    stream = np.array([f"ecs/{ids[i // 3]}/{tasks[i]}" for i in range(len(tasks))], dtype=object)
    group = np.array([f"/ecs/{i}" if t == ECS else f"/aws/lambda/{i}" for i, t in zip(topo.ids, topo.types)], dtype=object)
    t0 = np.datetime64(T0.replace(tzinfo=None), "ms")
    return pd.DataFrame({
        "timestamp": pd.to_datetime(t0 + ms_offset.astype("timedelta64[ms]")).tz_localize("UTC"),
        "resource": ids[svc],
        "log_group": group[svc],
        "log_stream": stream[svc * 3 + rng.integers(0, 3, total)],
        "message": messages,
        "trace_id": trace,
    })


def _fill(rng: np.random.Generator, text: str, rows: np.ndarray, callee: np.ndarray) -> np.ndarray:
    """The template's text with its variables, vectorised through pyarrow string kernels."""
    n = len(rows)
    values = {
        "callee": pa.array(callee, pa.string()),
        "ms": pc.cast(pa.array(rng.lognormal(3.0, 0.8, n).astype(np.int64) + 1), pa.string()),
        "thr": pc.cast(pa.array(rng.integers(1, 200, n)), pa.string()),
        "id": pc.cast(pa.array(rng.integers(10_000, 9_999_999, n)), pa.string()),
        "n": pc.cast(pa.array(rng.integers(1, 64, n)), pa.string()),
    }
    parts: list = []
    rest = text
    while "{" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        parts.append(head)
        if name == "uuid":
            h = _hex(rng, n, 32)
            parts.append(pa.array(h, pa.string()))
        else:
            parts.append(values[name])
    parts.append(rest)
    arrays = [p if isinstance(p, pa.Array) else pa.scalar(p, pa.string()) for p in parts if not (isinstance(p, str) and p == "")]
    if not any(isinstance(a, pa.Array) for a in arrays):
        return np.full(n, text, dtype=object)
    joined = pc.binary_join_element_wise(*arrays, "")
    return joined.to_numpy(zero_copy_only=False)


# --- the bundle -----------------------------------------------------------------------------------

def generate(factor: float, out: Path, *, seed: int = 7) -> Incident:
    """Write the incident at size `factor` as a bundle under `out`."""
    from domain.models import ChangeEvent, Edge, GroundTruth, Resource, TimeWindow, Topology, Trigger
    from tools.bundle.format import IncidentManifest
    from tools.bundle.writer import write_bundle

    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    topo = build_topology(rng, int(round(500 * factor)))
    metrics = generate_metrics(rng, topo)
    spans = generate_spans(rng, topo, int(round(200_000 * factor)))
    trace_ids = spans["trace_id"].drop_duplicates().to_numpy()
    logs = generate_logs(rng, topo, int(round(1_000_000 * factor)), trace_ids)
    onset = T0 + timedelta(minutes=ONSET_MINUTE)
    rc, ids = topo.root_cause, topo.ids
    changes = [
        ChangeEvent(id="evt-0001", time=onset - timedelta(minutes=110), source="ecs.amazonaws.com", event_name="UpdateService",
                    resource=ids[topo.noisy], actor="arn:aws:iam::123456789012:role/deployer",
                    parameters={"service": ids[topo.noisy], "taskDefinition": f"{ids[topo.noisy]}:17"}),
        ChangeEvent(id="evt-0002", time=onset - timedelta(minutes=8), source="application-autoscaling.amazonaws.com",
                    event_name="PutScalingPolicy", resource=ids[topo.benign], actor="arn:aws:iam::123456789012:role/platform",
                    parameters={"policyName": "cpu-target-60", "targetValue": 60}),
        ChangeEvent(id="evt-0003", time=onset - timedelta(minutes=3), source="ecs.amazonaws.com", event_name="UpdateService",
                    resource=ids[rc], actor="arn:aws:iam::123456789012:role/deployer",
                    parameters={"service": ids[rc], "taskDefinition": f"{ids[rc]}:42"}),
    ]
    manifest = IncidentManifest(
        id=f"scale-x{factor:g}", title=f"Generated scale incident x{factor:g}",
        description="bench/scale.py: a deploy regression in one service of a layered DAG, with a cascade above it.",
        trigger=Trigger(
            alarm_name="edge-alb-target-response-time", resource=ids[0], metric="TargetResponseTime",
            namespace="AWS/ApplicationELB", statistic="Average", threshold=0.5, comparison="GreaterThanThreshold",
            state_change_time=T0 + timedelta(minutes=ALARM_MINUTE),
        ),
        window=TimeWindow(start=T0, end=T0 + timedelta(minutes=MINUTES)),
        topology=Topology(
            resources=[Resource(id=i, type=t) for i, t in zip(ids, topo.types)],
            edges=[Edge(caller=ids[a], callee=ids[b]) for a, targets in enumerate(topo.callees) for b in targets],
        ),
        ground_truth=GroundTruth(resource=ids[rc], cause="change", fault="deploy regression"),
    )
    write_bundle(out, manifest, metrics=metrics, logs=logs, spans=spans, changes=changes)
    return Incident(
        factor=factor, seed=seed, resources=len(ids), edges=len(manifest.topology.edges),
        series=len(metrics) // MINUTES, metric_points=len(metrics), log_lines=len(logs), spans=len(spans),
        traces=int(spans.attrs["traces"]), root_cause=ids[rc], entry=ids[0],
        generate_s=round(time.perf_counter() - began, 2),
        bundle_mb=round(sum(f.stat().st_size for f in out.iterdir()) / 1e6, 1),
    )


# --- investigating, timed -------------------------------------------------------------------------

@dataclass
class Timing:
    investigate_s: float
    cpu_s: float
    peak_rss_mb: float
    top: str | None
    top_confidence: float | None
    abstained: bool
    correct: bool
    rank_of_root_cause: int | None
    nodes: dict[str, float] = field(default_factory=dict)
    calls: dict[str, float] = field(default_factory=dict)
    nodes_cpu: dict[str, float] = field(default_factory=dict)
    calls_cpu: dict[str, float] = field(default_factory=dict)
    findings: int = 0


def _timed(fn, label: str, sink: dict[str, float], lock: threading.Lock, cpu_sink: dict[str, float]):
    """`fn`, adding its wall seconds to `sink` and its thread's CPU seconds to `cpu_sink`.

    Nodes run in LangGraph's thread pool, so thread CPU time is what each one cost; wall
    time also counts waiting for the GIL and for other processes on a shared machine.
    """
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        began, cpu = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            with lock:
                sink[label] = sink.get(label, 0.0) + time.perf_counter() - began
                cpu_sink[label] = cpu_sink.get(label, 0.0) + time.thread_time() - cpu

    return wrapper


def _install_timers(nodes: dict[str, float], calls: dict[str, float], nodes_cpu: dict[str, float], calls_cpu: dict[str, float]) -> None:
    """Wrap the graph's nodes and the analyses they call with wall-clock timers."""
    import agent.graph as graph
    import agent.nodes.domains as domains
    import agent.nodes.hypothesize as hypothesize
    from tools.bundle.source import BundleSource

    lock = threading.Lock()
    for name in list(graph.DOMAIN_NODES):
        graph.DOMAIN_NODES[name] = _timed(graph.DOMAIN_NODES[name], name, nodes, lock, nodes_cpu)
    for name in ("scope", "hypothesize", "report"):
        setattr(graph, name, _timed(getattr(graph, name), name, nodes, lock, nodes_cpu))
    for name in ("metric_findings", "constraint_findings", "alarm_metric_observation", "log_findings",
                 "service_trace_findings", "edge_trace_findings", "change_findings", "health_findings", "metrics_for"):
        setattr(domains, name, _timed(getattr(domains, name), name, calls, lock, calls_cpu))
    hypothesize.rank = _timed(hypothesize.rank, "rank", calls, lock, calls_cpu)
    for name in ("metrics", "logs", "spans", "changes"):
        setattr(BundleSource, name, _timed(getattr(BundleSource, name), f"source.{name}", calls, lock, calls_cpu))
    for name in ("_metrics", "_logs", "_spans"):
        prop = getattr(BundleSource, name)
        loader = _timed(prop.func, f"load {name[1:]}.parquet", calls, lock, calls_cpu)
        cached = type(prop)(loader)
        cached.__set_name__(BundleSource, name)
        setattr(BundleSource, name, cached)


def investigate_timed(path: Path, root_cause: str) -> Timing:
    """Run `investigate_bundle` once with timers; peak RSS is this process's."""
    import resource

    from agent.runner import investigate_bundle

    nodes: dict[str, float] = {}
    calls: dict[str, float] = {}
    nodes_cpu: dict[str, float] = {}
    calls_cpu: dict[str, float] = {}
    _install_timers(nodes, calls, nodes_cpu, calls_cpu)
    began, cpu = time.perf_counter(), time.process_time()
    result = investigate_bundle(path)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    ranked = [h.resource for h in result.hypotheses]
    top = result.hypotheses[0] if result.hypotheses else None
    return Timing(
        investigate_s=round(elapsed, 2), cpu_s=round(cpu, 2),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        top=top.resource if top else None, top_confidence=top.confidence if top else None,
        abstained=result.abstained, correct=bool(top and top.resource == root_cause and not result.abstained),
        rank_of_root_cause=ranked.index(root_cause) + 1 if root_cause in ranked else None,
        nodes={k: round(v, 2) for k, v in nodes.items()}, calls={k: round(v, 2) for k, v in calls.items()},
        nodes_cpu={k: round(v, 2) for k, v in nodes_cpu.items()}, calls_cpu={k: round(v, 2) for k, v in calls_cpu.items()},
        findings=len(result.findings),
    )


# --- orchestration: each step in a fresh, watched subprocess ---------------------------------------

def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _run_step(args: list[str], max_rss_mb: float) -> tuple[dict | None, str]:
    """Run `python -m bench.scale <args>` and return its JSON result, or None and why not."""
    cmd = [sys.executable, "-m", "bench.scale", *args]
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = False
    while proc.poll() is None:
        if _rss_mb(proc.pid) > max_rss_mb:
            proc.kill()
            killed = True
            break
        time.sleep(0.2)
    out, err = proc.communicate()
    if killed:
        return None, f"stopped: RSS passed {max_rss_mb / 1024:.0f} GB"
    if proc.returncode != 0:
        return None, f"failed (exit {proc.returncode}): {err.strip().splitlines()[-1] if err.strip() else ''}"
    return json.loads(out.strip().splitlines()[-1]), ""


def measure(factor: float, *, seed: int, keep: Path | None, max_rss_mb: float) -> dict:
    """Generate then investigate at `factor`, each in its own subprocess."""
    with tempfile.TemporaryDirectory(prefix=f"scale-x{factor:g}-") as tmp:
        bundle = keep or Path(tmp) / "bundle"
        generated, why = _run_step(["--_generate", str(bundle), "--factor", str(factor), "--seed", str(seed)], max_rss_mb)
        if generated is None:
            return {"factor": factor, "error": f"generate {why}"}
        timed, why = _run_step(["--_investigate", str(bundle), "--root-cause", generated["root_cause"]], max_rss_mb)
        if timed is None:
            return {**generated, "error": f"investigate {why}"}
        return {**generated, **timed}


NODE_ORDER = ("scope", "network", "infrastructure", "application", "hypothesize", "report")
CALL_ORDER = ("load metrics.parquet", "load logs.parquet", "load spans.parquet", "metrics_for", "metric_findings",
              "constraint_findings", "log_findings", "service_trace_findings", "edge_trace_findings", "rank")


def table(rows: list[dict]) -> str:
    """The results as a Markdown table (what docs/performance.md shows)."""
    head = ["factor", "resources", "series", "log lines", "spans", "generate s", "investigate s", "investigate CPU s", "peak RSS MB",
            *(f"{n} CPU s" for n in NODE_ORDER), "#1 is root cause"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    for row in rows:
        if "investigate_s" not in row:
            lines.append(f"| x{row['factor']:g} | " + row.get("error", "") + " |")
            continue
        nodes = row.get("nodes_cpu") or row.get("nodes", {})
        verdict = "yes" if row["correct"] else f"no (#1 {row['top']}, root cause rank {row['rank_of_root_cause']})"
        cells = [f"x{row['factor']:g}", f"{row['resources']:,}", f"{row['series']:,}", f"{row['log_lines']:,}", f"{row['spans']:,}",
                 f"{row['generate_s']:.1f}", f"{row['investigate_s']:.1f}", f"{row['cpu_s']:.1f}", f"{row['peak_rss_mb']:,.0f}",
                 *(f"{nodes.get(n, 0.0):.1f}" for n in NODE_ORDER), verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def call_table(rows: list[dict]) -> str:
    """CPU seconds inside each analysis and read, summed over the nodes that call it."""
    measured = [r for r in rows if "calls" in r]
    head = ["step", *(f"x{r['factor']:g}" for r in measured)]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "|".join("---:" for _ in measured) + "|"]
    spent = [r.get("calls_cpu") or r["calls"] for r in measured]
    names = list(CALL_ORDER) + sorted({k for c in spent for k in c} - set(CALL_ORDER))
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{c.get(name, 0.0):.2f}" for c in spent) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=float, default=1.0, help="size factor F (1 = the target size)")
    parser.add_argument("--curve", action="store_true", help="run F = " + ", ".join(f"{f:g}" for f in CURVE) + " in turn")
    parser.add_argument("--keep", type=Path, default=None, help="write the bundle here and keep it (single factor only)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-rss-gb", type=float, default=16.0, help="stop a size whose process passes this RSS")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    parser.add_argument("--_generate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_investigate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--root-cause", help=argparse.SUPPRESS)
    parser.add_argument("--table", type=Path, help="print the tables of a --json file written earlier, and stop")
    args = parser.parse_args(argv)

    if args._generate:
        print(json.dumps(asdict(generate(args.factor, args._generate, seed=args.seed))))
        return 0
    if args.table:
        rows = json.loads(args.table.read_text())
        print(table(rows))
        print()
        print(call_table(rows))
        return 0
    if args._investigate:
        print(json.dumps(asdict(investigate_timed(args._investigate, args.root_cause))))
        return 0
    if args.factor <= 0:
        print("error: --factor must be positive", file=sys.stderr)
        return 2
    if args.keep and args.curve:
        print("error: --keep takes one bundle; use it with --factor, not --curve", file=sys.stderr)
        return 2
    factors = CURVE if args.curve else (args.factor,)
    rows = []
    for factor in factors:
        print(f"x{factor:g}: generating and investigating ...", file=sys.stderr, flush=True)
        row = measure(factor, seed=args.seed, keep=args.keep, max_rss_mb=args.max_rss_gb * 1024)
        rows.append(row)
        print(f"x{factor:g}: " + (row.get("error") or f"investigate {row['investigate_s']:.1f} s, peak {row['peak_rss_mb']:.0f} MB"),
              file=sys.stderr, flush=True)
        if "error" in row:
            break
    print(table(rows))
    print()
    print("Per node and per step: CPU seconds of the thread that ran it (wall time on a shared machine also counts waiting).")
    print()
    print(call_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(r.get("correct") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
