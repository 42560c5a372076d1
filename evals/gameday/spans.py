"""X-Ray-shaped spans: sampled traces through the call graph.

A call between two ECS services gives two spans, the caller's client subsegment and the
callee's segment, so the time spent on the network is the client span minus the callee span;
a call that never reaches the callee service has only the client span. A call to an AWS
service or the external API gives one span named after the callee (X-Ray's inferred node).
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from evals.gameday.app import ENTRY_SERVICE, FUNCTION, SERVICES
from evals.gameday.sim import NZ, Simulation

OPERATIONS = {
    "shop-db": "SELECT shop", "cart-table": "PutItem", "orders-table": "UpdateItem", "orders-queue": "SendMessage",
    "payment-gateway": "POST /v1/charges",
}
TRACES_PER_MINUTE = 2  # plus one through checkout and one Lambda invocation (their own sampling rules)


class TraceBuilder:
    def __init__(self, sim: Simulation):
        self.sim = sim
        self.rng = sim.rng
        self.rows: list[dict] = []

    def _id(self, n: int = 16) -> str:
        return "".join(self.rng.choice(list("0123456789abcdef"), n))

    def trace_id(self, minute: int) -> str:
        """X-Ray's format: version, epoch seconds in hex, 96 random bits."""
        return f"1-{int(self.sim.times[minute].timestamp()):08x}-{self._id(24)}"

    def span(self, trace: str, parent: str | None, service: str, operation: str, start: float, duration: float,
             status: str) -> str:
        span_id = self._id()
        base = self.sim.start
        self.rows.append({
            "trace_id": trace, "span_id": span_id, "parent_id": parent, "service": service, "operation": operation,
            "start": base + timedelta(milliseconds=start), "end": base + timedelta(milliseconds=start + duration),
            "error": status.startswith("4"), "fault": status.startswith("5"), "status": status,
        })
        return span_id

    def serve(self, trace: str, parent: str | None, node: str, t: int, az: int, start: float,
              force: str | None = None) -> tuple[float, str]:
        """The segment of service `node` handling one request; returns (duration ms, status)."""
        sim = self.sim
        placeholder = len(self.rows)
        span_id = self.span(trace, parent, node, SERVICES[node].endpoint, start, 0.0, "200")
        sync = [c for c in sim.app.callees(node) if not c.asynchronous]
        own_base = max(3.0, sim.base_latency(node) - sum(c.calls * sim.base_latency(c.callee) for c in sync))
        own = (own_base + sim.own_latency[node][az, t] + sim.sat_latency[node][az, t]) * self.rng.lognormal(0, 0.2)
        cursor = start + own * 0.4
        failed = self.rng.random() < (sim.own_errors[node][az, t] + sim.sat_errors[node][az, t] + 0.0006)
        for call in sync:
            count = int(call.calls) + int(self.rng.random() < call.calls - int(call.calls))
            if force is not None and call.callee == force:
                count = max(count, 1)
            elif force is not None:
                count = 0 if self.rng.random() < 0.5 else count
            for _ in range(count):
                took, status = self.call(trace, span_id, node, call.callee, t, az, cursor)
                cursor += took
                if status.startswith("5") or (status.startswith("4") and call.passes_errors >= 1.0):
                    failed = failed or self.rng.random() < call.passes_errors
        duration = cursor - start + own * 0.6
        status = "500" if failed else "200"
        self.rows[placeholder].update(
            end=sim.start + timedelta(milliseconds=start + duration), fault=failed, status=status,
        )
        return duration, status

    def call(self, trace: str, parent: str, caller: str, callee: str, t: int, az: int, start: float) -> tuple[float, str]:
        sim = self.sim
        key = (caller, callee)
        edge_ms = sim.edge_latency[key][az, t] if key in sim.edge_latency else 0.0
        edge_err = sim.edge_errors[key][az, t] if key in sim.edge_errors else 0.0
        if callee in SERVICES:
            callee_az = int(self.rng.integers(0, NZ))
            network = (1.2 + sim.az_delay[az, t] + sim.az_delay[callee_az, t]) * self.rng.lognormal(0, 0.3) + edge_ms
            client = self.span(trace, parent, caller, f"{callee} {SERVICES[callee].endpoint}", start, 0.0, "200")
            index = len(self.rows) - 1
            if self.rng.random() < edge_err:
                self.rows[index].update(end=sim.start + timedelta(milliseconds=start + network), fault=True, status="504")
                return network, "504"
            took, status = self.serve(trace, client, callee, t, callee_az, start + network / 2)
            self.rows[index].update(end=sim.start + timedelta(milliseconds=start + took + network),
                                    fault=status.startswith("5"), status=status)
            return took + network, status
        mean = sim.base_latency(callee) + sim.latency_add[callee][:, t].mean()
        took = mean * self.rng.lognormal(0, 0.25) + edge_ms + sim.az_delay[az, t]
        if self.rng.random() < edge_err:
            status = "400" if edge_ms < 1000 else "504"
        elif self.rng.random() < sim.errors[callee][:, t].mean():
            status = "400" if callee in sim.throttled else "500"
        else:
            status = "200"
        self.span(trace, parent, callee, OPERATIONS.get(callee, "call"), start, took, status)
        return took, status


def render(sim: Simulation, end_minute: int) -> pd.DataFrame:
    builder = TraceBuilder(sim)
    rng = sim.rng
    for t in range(end_minute):
        for force in [None] * TRACES_PER_MINUTE + ["checkout"]:
            trace = builder.trace_id(t)
            start = t * 60_000.0 + float(rng.uniform(0, 55_000))
            builder.serve(trace, None, ENTRY_SERVICE, t, int(rng.integers(0, NZ)), start, force=force)
        if sim.function["invocations"][t] > 0:
            trace = builder.trace_id(t)
            start = t * 60_000.0 + float(rng.uniform(0, 55_000))
            duration = float(sim.function["duration"][t]) * rng.lognormal(0, 0.15)
            status = "500" if rng.random() < sim.errors[FUNCTION][:, t].mean() else "200"
            root = builder.span(trace, None, FUNCTION, "Invoke", start, duration, status)
            for _ in range(2):
                builder.call(trace, root, FUNCTION, "orders-table", t, int(rng.integers(0, NZ)), start + duration * 0.3)
    return pd.DataFrame(builder.rows)
