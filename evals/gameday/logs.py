"""Application logs as the services print them: logback for Java, pino for Node, zap for Go,
and the Lambda runtime's own lines.

Every service writes a sample of access lines each minute, a little benign noise (warnings
that are always there), and error lines in proportion to its failed requests. Each error
line names its reason: the service's own failure, a failing or unreachable callee, or a slow
one, with the text a scenario registered for that reason when it did.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from evals.gameday.app import ACCOUNT, AZS, CLUSTER, FUNCTION, REGION, SERVICES
from evals.gameday.sim import NZ, Simulation

ERROR_SAMPLE = 0.03  # share of failed requests that reach the log sample
MAX_ERRORS_PER_MINUTE = 7

# Warnings every one of these services prints in normal operation: noise an engineer learns to skip.
BACKGROUND: dict[str, list[tuple[str, str]]] = {
    "storefront": [("warn", "Client closed request before response was sent"),
                   ("warn", "Slow render of /products/{n}: template cache miss")],
    "catalog": [("WARN", "HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta=1m2s)."),
                ("WARN", "Cache miss ratio 0.31 above 0.25 for category-tree")],
    "cart": [("warn", "cart item references discontinued sku {n}, dropping it")],
    "checkout": [("WARN", "Coupon lookup returned no match for code SPRING{n}")],
    "payments": [("WARN", "3-D Secure challenge abandoned by customer, order will be retried")],
    FUNCTION: [("WARNING", "Order {n} already in state CONFIRMED, skipping duplicate message")],
}

# What a service logs when nothing more specific was registered, by language.
GENERIC_TIMEOUT = {
    "java": "Call to {callee} timed out after {ms} ms | java.net.SocketTimeoutException: Read timed out",
    "node": "request to http://{callee}.shop.local:8080 timed out | Error: timeout of {ms}ms exceeded",
    "go": "call {callee} failed | context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
    "python": "Call to {callee} timed out | urllib3.exceptions.ReadTimeoutError: Read timed out. (read timeout={ms})",
}
GENERIC_FAILURE = {
    "java": "Call to {callee} failed with HTTP 503 | org.springframework.web.client.HttpServerErrorException$ServiceUnavailable: 503 Service Unavailable",
    "node": "upstream {callee} responded 503 | Error: Request failed with status code 503",
    "go": "call {callee} failed | unexpected status 503 Service Unavailable",
    "python": "Call to {callee} failed | botocore.exceptions.ClientError: An error occurred (InternalServerError)",
}
GENERIC_OVERLOAD = {
    "java": "Rejecting request: worker pool exhausted (active=200, queued=500) | java.util.concurrent.RejectedExecutionException: Task rejected from executor",
    "node": "event loop lag 2400 ms, shedding request with 503 | Error: Service Unavailable",
    "go": "request rejected: too many in-flight requests (limit 512)",
    "python": "Task timed out after 30.00 seconds",
}
GENERIC_OWN = {
    "java": "Unhandled error while handling {endpoint} | java.lang.IllegalStateException: unexpected response",
    "node": "Unhandled error while handling {endpoint} | Error: unexpected response",
    "go": "unhandled error while handling {endpoint}",
    "python": "Unhandled error | RuntimeError: unexpected response",
}
GENERIC_SLOW = "Slow call to {callee}: {ms} ms (threshold 500 ms)"


class _Vars(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _hex(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("0123456789abcdef"), n))


def _uuid(rng: np.random.Generator) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class LogWriter:
    def __init__(self, sim: Simulation, traced: dict[tuple[str, int, bool], list[str]] | None = None):
        self.sim = sim
        # Sampled traces by (service, minute, failed): a logged request that was sampled carries
        # the id of its trace; the others carry the id X-Ray would have given them.
        self.traced = {key: list(ids) for key, ids in (traced or {}).items()}
        self.rng = sim.rng
        self.rows: list[dict] = []
        self.tasks = {s: [[_hex(self.rng, 32) for _ in range(2)] for _ in range(NZ)] for s in SERVICES}
        self.new_tasks = {s: [[_hex(self.rng, 32) for _ in range(2)] for _ in range(NZ)] for s in SERVICES}
        self.lambda_stream = f"{sim.start:%Y/%m/%d}/[$LATEST]{_hex(self.rng, 32)}"

    def _trace(self, service: str, minute: int, failed: bool | None) -> str | None:
        if failed is None:
            return None
        ids = self.traced.get((service, minute, failed))
        return ids.pop() if ids else None

    def stream(self, service: str, az: int, minute: int) -> str:
        deployed = [d for d in self.sim.deploys.get(service, []) if d <= minute]
        pool = self.new_tasks[service] if deployed else self.tasks[service]
        return f"ecs/{service}/{pool[az][int(self.rng.integers(0, 2))]}"

    def emit(self, service: str, minute: int, level: str, template: str, *, failed: bool | None = None,
             **values: object) -> None:
        sim = self.sim
        at = sim.times[minute] + timedelta(seconds=float(self.rng.uniform(0, 59.9)))
        az = int(self.rng.integers(0, NZ))
        request_id = _uuid(self.rng)
        filled = template.format_map(_Vars(
            request_id=request_id, task=_hex(self.rng, 32), az=AZS[az], account=ACCOUNT, region=REGION, n=int(self.rng.integers(100, 999)),
            endpoint=SERVICES[service].endpoint if service in SERVICES else "handler", **values,
        ))
        message, _, exception = filled.partition(" | ")
        if service == FUNCTION:
            text = _lambda_line(at, level, request_id, message, exception)
            group, stream = f"/aws/lambda/{FUNCTION}", self.lambda_stream
        else:
            text = _format(SERVICES[service].language, service, at, level, request_id, message, exception, self.rng)
            group, stream = f"/ecs/{CLUSTER}/{service}", self.stream(service, az, minute)
        trace = self._trace(service, minute, failed) or f"1-{int(at.timestamp()):08x}-{_hex(self.rng, 24)}"
        self.rows.append({"timestamp": at, "resource": service, "log_group": group, "log_stream": stream,
                          "message": text, "trace_id": trace})


def _format(language: str, service: str, at: datetime, level: str, request_id: str, message: str, exception: str,
            rng: np.random.Generator) -> str:
    level = level.lower()
    if language == "java":
        cls = f"c.s.{service}.web.{service.capitalize()}Controller"
        thread = f"nio-8080-exec-{int(rng.integers(1, 40))}"
        head = f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond // 1000:03d} {level.upper():>5} 1 --- [{thread}] {cls:<40} : [{request_id}] {message}"
        if exception:
            frames = f"\n\tat com.shop.{service}.{service.capitalize()}Service.handle({service.capitalize()}Service.java:{int(rng.integers(40, 400))})\n\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)"
            return f"{head}\n{exception}{frames}"
        return head
    if language == "node":
        numeric = {"info": 30, "warn": 40, "error": 50}.get(level, 30)
        body: dict[str, object] = {"level": numeric, "time": int(at.timestamp() * 1000), "pid": 1,
                                   "hostname": f"ip-10-0-{int(rng.integers(1, 3))}-{int(rng.integers(10, 250))}.{REGION}.compute.internal",
                                   "reqId": request_id, "msg": message}
        if exception:
            kind, _, text = exception.partition(": ")
            body["err"] = {"type": kind.rsplit(".", 1)[-1], "message": text or kind}
        return json.dumps(body, separators=(",", ":"))
    body = {"level": level, "ts": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "caller": f"{service}/handler.go:{int(rng.integers(40, 300))}",
            "msg": message, "request_id": request_id}
    if exception:
        body["error"] = exception
    return json.dumps(body, separators=(",", ":"))


def _lambda_line(at: datetime, level: str, request_id: str, message: str, exception: str) -> str:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    text = f"{message}\n{exception}" if exception else message
    return f"[{level.upper()}]\t{stamp}\t{request_id}\t{text}"


def _language(node: str) -> str:
    return SERVICES[node].language if node in SERVICES else "python"


def _reasons(sim: Simulation, node: str, t: int) -> list[tuple[float, list[str], str]]:
    """(weight, templates, callee) for each reason a request of `node` failed at minute `t`."""
    texts = sim.texts
    lang = _language(node)
    out: list[tuple[float, list[str], str]] = []
    own = float(sim.own_errors[node][:, t].mean())
    if own > 0:
        out.append((own, texts.own.get(node, [GENERIC_OWN[lang]]), ""))
    shed = float(sim.sat_errors[node][:, t].mean()) if node in sim.sat_errors else 0.0
    if shed > 0:
        out.append((shed, [GENERIC_OVERLOAD[lang]], ""))
    for call in sim.app.callees(node):
        if call.asynchronous:
            continue
        key = (node, call.callee)
        edge = float(sim.edge_errors[key][:, t].mean()) if key in sim.edge_errors else 0.0
        if edge > 0:
            out.append((edge * call.passes_errors, texts.edge.get(key, [GENERIC_FAILURE[lang]]), call.callee))
        callee = float(sim.errors[call.callee][:, t].mean())
        if callee > 0.002:
            slow = sim.latency_add[call.callee][:, t].mean() > 2000
            default = (GENERIC_TIMEOUT if slow else GENERIC_FAILURE)[lang]
            out.append((callee * call.passes_errors * min(call.calls, 1.0), texts.client.get(call.callee, [default]), call.callee))
    return out


def traced_requests(spans: pd.DataFrame, minute_zero: datetime) -> dict[tuple[str, int, bool], list[str]]:
    """Trace ids of the sampled requests each service handled, by minute and outcome."""
    out: dict[tuple[str, int, bool], list[str]] = {}
    handler = {name: svc.endpoint for name, svc in SERVICES.items()} | {FUNCTION: "Invoke"}
    served = spans[spans.operation == spans.service.map(handler)]
    minutes = ((served.start - pd.Timestamp(minute_zero)).dt.total_seconds() // 60).astype(int)
    for service, minute, fault, trace in zip(served.service, minutes, served.fault, served.trace_id):
        out.setdefault((service, int(minute), bool(fault)), []).append(trace)
    return out


def render(sim: Simulation, end_minute: int, spans: pd.DataFrame | None = None) -> pd.DataFrame:
    writer = LogWriter(sim, traced_requests(spans, sim.start) if spans is not None and len(spans) else None)
    rng = sim.rng
    nodes = [*SERVICES, FUNCTION]
    for t in range(end_minute):
        for node in nodes:
            rate = sim.rate[node][t] if node in SERVICES else sim.function["invocations"][t] / 60.0
            _access(writer, node, t)
            if rng.random() < 0.12:
                level, template = BACKGROUND[node][int(rng.integers(0, len(BACKGROUND[node])))]
                writer.emit(node, t, level, template)
            failed = rate * 60.0 * float(sim.errors[node][:, t].mean())
            count = int(rng.poisson(min(MAX_ERRORS_PER_MINUTE, failed * ERROR_SAMPLE)))
            reasons = _reasons(sim, node, t)
            for _ in range(count if reasons else 0):
                weights = np.array([r[0] for r in reasons])
                _, templates, callee = reasons[int(rng.choice(len(reasons), p=weights / weights.sum()))]
                writer.emit(node, t, "ERROR", templates[int(rng.integers(0, len(templates)))], failed=True,
                            callee=callee or "upstream", status="503", ms=_slowest_ms(sim, node, t))
            _slow_lines(writer, node, t)
    for minute, node, level, template in sim.extra_logs:
        if minute < end_minute:
            writer.emit(node, minute, level, template)
    return pd.DataFrame(writer.rows)


def _slowest_ms(sim: Simulation, node: str, t: int) -> int:
    adds = [sim.base_latency(c.callee) + sim.latency_add[c.callee][:, t].mean() for c in sim.app.callees(node) if not c.asynchronous]
    return int(max(adds, default=sim.base_latency(node)))


def _slow_lines(writer: LogWriter, node: str, t: int) -> None:
    sim = writer.sim
    worst: tuple[float, str] | None = None
    for call in sim.app.callees(node):
        if call.asynchronous:
            continue
        key = (node, call.callee)
        add = float(sim.latency_add[call.callee][:, t].mean()) + (float(sim.edge_latency[key][:, t].mean()) if key in sim.edge_latency else 0.0)
        if add > 400 and (worst is None or add > worst[0]):
            worst = (add, call.callee)
    if worst is None:
        return
    add, callee = worst
    templates = sim.texts.slow.get(callee, [GENERIC_SLOW])
    for _ in range(int(writer.rng.poisson(1.2))):
        writer.emit(node, t, "WARN", templates[int(writer.rng.integers(0, len(templates)))], callee=callee,
                    ms=int(sim.base_latency(callee) + add))


def _access(writer: LogWriter, node: str, t: int) -> None:
    sim = writer.sim
    if node == FUNCTION:
        duration = float(sim.function["duration"][t]) * writer.rng.lognormal(0, 0.15)
        if sim.function["invocations"][t] > 0:
            rid = _uuid(writer.rng)
            at = sim.times[t] + timedelta(seconds=float(writer.rng.uniform(0, 58)))
            for line in (f"START RequestId: {rid} Version: $LATEST",
                         f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: {int(np.ceil(duration))} ms\tMemory Size: 512 MB\tMax Memory Used: {int(writer.rng.integers(140, 190))} MB"):
                writer.rows.append({"timestamp": at, "resource": FUNCTION, "log_group": f"/aws/lambda/{FUNCTION}",
                                    "log_stream": writer.lambda_stream, "message": line, "trace_id": None})
        return
    svc = SERVICES[node]
    ms = int(sim.latency(node)[:, t].mean() * writer.rng.lognormal(0, 0.2))
    failed = writer.rng.random() < float(sim.errors[node][:, t].mean())
    status = 500 if failed else 200
    level = "ERROR" if failed else "INFO"
    method, path = svc.endpoint.split(" ")
    writer.emit(node, t, level, f"{method} {path} {status} {ms}ms", failed=failed)
