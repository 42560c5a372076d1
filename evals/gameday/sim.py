"""A minute-by-minute model of the reference application under load.

Scenarios and distractors change the model's inputs (traffic, per-node latency and errors,
per-edge latency and errors, surviving capacity per Availability Zone, extra write load);
`Simulation.run` then computes what every node experiences: request rates, saturation,
autoscaling, the SQS backlog behind the Lambda, and latency and errors that propagate from
callees to callers. Renderers turn the result into metrics, logs and spans.

Arrays are indexed [az, minute] for per-node state (non-zonal nodes repeat the same row) and
[minute] for rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from evals.gameday.app import (
    AZS, CART_TABLE, DB, FUNCTION, ORDERS_TABLE, QUEUE, SERVICES, ReferenceApp,
)

NZ = len(AZS)
TABLES = (CART_TABLE, ORDERS_TABLE)
# Baseline latency of nodes that are not ECS services, in milliseconds.
BASE_LATENCY_MS = {DB: 3.5, CART_TABLE: 4.5, ORDERS_TABLE: 5.0, QUEUE: 6.0, FUNCTION: 850.0, "payment-gateway": 240.0}
BASE_ERROR = 0.0006


@dataclass
class Texts:
    """What gets logged, per cause of failure; templates are formatted by the log renderer."""

    own: dict[str, list[str]] = field(default_factory=dict)  # a node about its own failure
    client: dict[str, list[str]] = field(default_factory=dict)  # a caller about a failing callee
    edge: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # a caller about a broken call path
    slow: dict[str, list[str]] = field(default_factory=dict)  # a caller about a slow callee


class Simulation:
    """The inputs scenarios edit (set in __init__) and, after `run`, what every node experiences."""

    def __init__(self, app: ReferenceApp, start: datetime, minutes: int, rng: np.random.Generator, base_rps: float):
        self.app = app
        self.start = start
        self.minutes = minutes
        self.rng = rng
        self.times = [start + timedelta(minutes=i) for i in range(minutes)]
        hours = start.hour + start.minute / 60 + np.arange(minutes) / 60
        # Day-shaped demand: trough before dawn, peak late afternoon.
        shape = 1.0 + 0.42 * np.sin(2 * np.pi * (hours - 10.0) / 24.0)
        self.traffic = base_rps * shape * (1 + rng.normal(0, 0.025, minutes))
        self.nodes = app.runtime_order()
        self.extra_rps = {n: np.zeros(minutes) for n in self.nodes}
        self.rate_factor = {n: np.ones(minutes) for n in self.nodes}
        self.own_latency = {n: np.zeros((NZ, minutes)) for n in self.nodes}
        self.own_errors = {n: np.zeros((NZ, minutes)) for n in self.nodes}
        self.edge_latency: dict[tuple[str, str], np.ndarray] = {}
        self.edge_errors: dict[tuple[str, str], np.ndarray] = {}
        self.alive = {s: np.ones((NZ, minutes)) for s in SERVICES}  # share of each AZ's tasks running
        self.cpu_extra = {s: np.zeros(minutes) for s in SERVICES}
        self.max_tasks = {s: 3 * svc.tasks for s, svc in SERVICES.items()}  # the scalable target's MaxCapacity
        self.az_delay = np.zeros((NZ, minutes))  # extra network delay for packets to or from each AZ, ms
        self.deploys: dict[str, list[int]] = {}  # minutes at which a service's tasks were replaced
        self.extra_logs: list[tuple[int, str, str, str]] = []  # (minute, node, level, template)
        self.passthrough = {n: np.zeros(minutes) for n in self.nodes}  # requests that stop at the node
        self.alb_share = np.full((NZ, minutes), 1.0 / NZ)  # share of client requests each AZ's ALB node takes
        self.tls_failure = np.zeros(minutes)  # share of client connections failing the TLS handshake
        self.memory: dict[str, np.ndarray] = {}
        self.texts = Texts()
        self.table_capacity: dict[str, float] = {}
        self.throttled: dict[str, np.ndarray] = {}
        self.function_limit: np.ndarray | None = None  # concurrent executions the Lambda may use
        self.scaling_events: list[tuple[int, str, int, int]] = []  # minute, service, old, new desired

    # -- shaping helpers -------------------------------------------------------------------

    def ramp(self, start: int, ramp: int = 0, end: int | None = None) -> np.ndarray:
        """0 before `start`, rising linearly to 1 over `ramp` minutes, back to 0 at `end`."""
        t = np.arange(self.minutes, dtype=float)
        out = np.clip((t - start + 1) / max(ramp, 1), 0.0, 1.0) if ramp else (t >= start).astype(float)
        if end is not None:
            out[end:] = 0.0
        return out

    def zonal(self, profile: np.ndarray, az: int | None = None) -> np.ndarray:
        out = np.zeros((NZ, self.minutes))
        if az is None:
            out[:] = profile
        else:
            out[az] = profile
        return out

    def add_edge(self, caller: str, callee: str, latency_ms: np.ndarray | None = None, errors: np.ndarray | None = None) -> None:
        key = (caller, callee)
        if latency_ms is not None:
            self.edge_latency[key] = self.edge_latency.get(key, np.zeros((NZ, self.minutes))) + latency_ms
        if errors is not None:
            self.edge_errors[key] = np.maximum(self.edge_errors.get(key, np.zeros((NZ, self.minutes))), errors)

    # -- the model ---------------------------------------------------------------------------

    def run(self) -> None:
        self._rates()
        self._tables()
        self._services()
        self._propagate()
        self._queue_and_function()

    def _rates(self) -> None:
        self.rate = self.flow(perturbed=True)
        self.base_rate = self.flow(perturbed=False)

    def flow(self, perturbed: bool) -> dict[str, np.ndarray]:
        rate = {n: np.zeros(self.minutes) for n in self.nodes}
        callees = {c.callee for c in self.app.calls}
        for node in reversed(self.nodes):  # callers before callees
            if node not in callees:
                rate[node] = self.traffic * (1.0 - self.tls_failure) if perturbed else self.traffic.copy()
            if perturbed:
                rate[node] = rate[node] * self.rate_factor[node] + self.extra_rps[node]
            for call in self.app.callees(node):
                rate[call.callee] = rate[call.callee] + rate[node] * call.calls
            if perturbed:
                rate[node] = rate[node] + self.passthrough[node]
        return rate

    def _tables(self) -> None:
        """Provisioned DynamoDB tables throttle the share of writes above their capacity."""
        for table in TABLES:
            if table not in self.table_capacity:
                self.table_capacity[table] = float(np.ceil(self.base_rate[table].max() * 1.6))
            demand = self.rate[table]
            throttled = np.clip(1.0 - self.table_capacity[table] / np.maximum(demand, 1e-9), 0.0, 1.0)
            self.throttled[table] = throttled
            self.own_errors[table] = np.maximum(self.own_errors[table], throttled * 0.55)
            # The SDK retries throttled calls with exponential backoff.
            self.own_latency[table] = self.own_latency[table] + throttled * 160.0

    def _services(self) -> None:
        """Utilisation, target-tracking autoscaling with its start-up lag, and load shedding."""
        self.cpu, self.desired, self.running, self.live, self.sat_latency, self.sat_errors = {}, {}, {}, {}, {}, {}
        for name, svc in SERVICES.items():
            desired, live, cpu = (np.zeros(self.minutes) for _ in range(3))
            pending: list[tuple[int, int]] = []  # (minute the new tasks are running, how many)
            extra = 0
            for t in range(self.minutes):
                extra += sum(count for ready, count in pending if ready == t)
                live[t] = svc.tasks + extra
                running_total = live[t] * self.alive[name][:, t].mean()
                cpu[t] = self.rate[name][t] * svc.cpu_per_rps * svc.tasks / max(running_total, 0.25) + self.cpu_extra[name][t]
                wanted = live[t] + sum(count for ready, count in pending if ready > t)
                starting = any(ready > t for ready, _ in pending)
                if t >= 3 and min(cpu[t - 2:t + 1]) > 70.0 and not starting:
                    # Target tracking at 60 % CPU; new Fargate tasks take two to three minutes to run.
                    add = min(int(np.ceil(wanted * (min(cpu[t], 200.0) / 60.0 - 1.0))), self.max_tasks[name] - int(wanted))
                    if add > 0:
                        pending.append((t + 2 + int(self.rng.integers(0, 2)), add))
                        self.scaling_events.append((t, name, int(wanted), int(wanted) + add))
                        wanted += add
                desired[t] = wanted
            self.cpu[name] = np.minimum(cpu, 100.0)
            self.desired[name] = desired
            self.live[name] = live
            self.running[name] = live / NZ * self.alive[name]
            util = cpu / 100.0
            sat = np.clip(util - 0.72, 0.0, None) / np.maximum(1.0 - util, 0.04) * 2.0 * svc.base_latency_ms
            self.sat_latency[name] = self.zonal(sat)
            shed = np.where(util > 1.0, 1.0 - 1.0 / np.maximum(util, 1e-9), 0.0)
            self.sat_errors[name] = self.zonal(shed)

    def _propagate(self) -> None:
        self.latency_add: dict[str, np.ndarray] = {}
        self.errors: dict[str, np.ndarray] = {}
        for node in self.nodes:
            add = self.own_latency[node] + self.sat_latency.get(node, 0.0)
            if node in SERVICES:
                add = add + self.az_delay
            ok = (1.0 - np.clip(self.own_errors[node], 0, 1)) * (1.0 - self.sat_errors.get(node, 0.0))
            ok = ok * (1.0 - BASE_ERROR)
            for call in self.app.callees(node):
                if call.asynchronous:
                    continue
                key = (node, call.callee)
                callee_add = self.latency_add[call.callee].mean(axis=0) + self.edge_latency.get(key, 0.0)
                add = add + call.calls * call.latency_gain * callee_add
                callee_err = np.clip(self.errors[call.callee].mean(axis=0) + self.edge_errors.get(key, 0.0), 0, 1)
                ok = ok * (1.0 - min(call.calls, 1.0) * call.passes_errors * callee_err)
            self.latency_add[node] = add
            self.errors[node] = np.clip(1.0 - ok, 0.0, 1.0)

    def base_latency(self, node: str) -> float:
        return SERVICES[node].base_latency_ms if node in SERVICES else BASE_LATENCY_MS.get(node, 1.0)

    def latency(self, node: str) -> np.ndarray:
        """Mean latency in ms per [az, minute]."""
        return self.base_latency(node) + self.latency_add[node]

    def _queue_and_function(self) -> None:
        """The Lambda drains the queue with at most `function_limit` concurrent executions."""
        arrivals = self.rate[QUEUE] * 60.0
        duration_ms = self.latency(FUNCTION).mean(axis=0)
        if self.function_limit is None:
            base_conc = self.base_rate[QUEUE].max() * BASE_LATENCY_MS[FUNCTION] / 1000.0
            self.function_limit = np.full(self.minutes, float(max(5, np.ceil(base_conc * 1.6))))
        backlog = 0.0
        ages, visible, processed, throttles, concurrency, failed = (np.zeros(self.minutes) for _ in range(6))
        queue_ages: list[tuple[int, float]] = []  # (minute, messages that arrived in it)
        err = self.errors[FUNCTION].mean(axis=0)
        for t in range(self.minutes):
            backlog += arrivals[t]
            limit = float(self.function_limit[t])
            capacity = limit * 60.0 / max(duration_ms[t] / 1000.0, 0.05)
            done = min(backlog, capacity)
            wanted = backlog / max(capacity, 1.0)
            throttles[t] = max(0.0, (wanted - 1.0)) * done * 0.35 if backlog > capacity else 0.0
            fails = done * err[t]
            backlog -= done - fails  # failed messages return after the visibility timeout
            processed[t], failed[t] = done, fails
            concurrency[t] = min(limit, done * duration_ms[t] / 1000.0 / 60.0 * 1.3)
            queue_ages.append((t, arrivals[t]))
            remaining = backlog
            oldest = t
            for arrived, count in reversed(queue_ages):
                if remaining <= 0:
                    break
                oldest = arrived
                remaining -= count
            ages[t] = (t - oldest) * 60.0 + 2.0 if backlog > arrivals[t] * 1.05 else 2.0 + duration_ms[t] / 1000.0
            visible[t] = max(backlog - arrivals[t] * 0.5, 0.0)
        self.queue = {"sent": arrivals, "deleted": processed - failed, "visible": visible, "age": ages}
        self.function = {"invocations": processed, "errors": failed, "throttles": throttles,
                         "concurrency": concurrency, "duration": duration_ms}
