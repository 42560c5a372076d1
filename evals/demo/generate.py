"""Generate the bundled demo incident deterministically: a bad deploy behind an ALB.

Story: `web-alb` routes to two ECS services, `checkout` (which uses the `orders-db` RDS
instance) and `catalog` (which uses the `catalog-table` DynamoDB table). At 13:58 a new
task definition of `checkout` is rolled out; from 14:00 a share of checkout requests fail
with a NullPointerException, the ALB's 5xx count climbs and the alarm fires at 14:05.

Distractors an engineer would also see:
- a benign deploy of `catalog` at 13:20, after which nothing changes;
- `catalog-table` read capacity that is noisy all day, before and during the incident;
- the loudest symptom (the ALB's 5xx) sits upstream of the cause.

Run: `python -m evals.demo.generate [OUT]` (default: evals/demo/bad-deploy).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from domain.models import ChangeEvent, Edge, GroundTruth, Resource, TimeWindow, Topology, Trigger
from tools.bundle.format import IncidentManifest
from tools.bundle.writer import write_bundle

START = datetime(2024, 5, 14, 12, 0, tzinfo=timezone.utc)
END = datetime(2024, 5, 14, 14, 20, tzinfo=timezone.utc)
DEPLOY = datetime(2024, 5, 14, 13, 58, tzinfo=timezone.utc)
ONSET = datetime(2024, 5, 14, 14, 0, tzinfo=timezone.utc)
ALARM = datetime(2024, 5, 14, 14, 5, tzinfo=timezone.utc)
BENIGN_DEPLOY = datetime(2024, 5, 14, 13, 20, tzinfo=timezone.utc)
DEFAULT_OUT = Path(__file__).resolve().parent / "bad-deploy"


def _minutes() -> list[datetime]:
    count = int((END - START).total_seconds() // 60)
    return [START + timedelta(minutes=i) for i in range(count + 1)]


def _metrics(rng: np.random.Generator) -> pd.DataFrame:
    rows = []

    def add(resource: str, namespace: str, metric: str, stat: str, dims: dict, values) -> None:
        for ts, value in zip(_minutes(), values):
            rows.append((resource, namespace, metric, stat, dims, ts, float(value)))

    n = len(_minutes())
    broken = np.array([ts >= ONSET for ts in _minutes()])
    requests = 600 + 40 * np.sin(np.linspace(0, 3, n)) + rng.normal(0, 15, n)
    failure_share = np.where(broken, 0.12, 0.0)
    checkout_req = requests * 0.4
    checkout_5xx = rng.poisson(checkout_req * (0.001 + failure_share))
    alb = {"LoadBalancer": "app/web-alb/50dc6c495c0c9188"}
    add("web-alb", "AWS/ApplicationELB", "RequestCount", "Sum", alb, requests.round())
    add("web-alb", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", alb, checkout_5xx)
    add("web-alb", "AWS/ApplicationELB", "TargetResponseTime", "Average", alb, 0.12 + rng.normal(0, 0.008, n))
    for service, share, cpu in (("checkout", 0.4, 35.0), ("catalog", 0.6, 28.0)):
        dims = {"ClusterName": "shop", "ServiceName": service}
        add(service, "AWS/ECS", "CPUUtilization", "Average", dims, cpu + rng.normal(0, 2.5, n))
        add(service, "AWS/ECS", "MemoryUtilization", "Average", dims, 52 + rng.normal(0, 1.5, n))
        errors = checkout_5xx if service == "checkout" else rng.poisson(0.3, n)
        app = {"Service": service}
        add(service, "Shop", "Errors", "Sum", app, errors)
        add(service, "Shop", "Latency", "p99", app, 180 + rng.normal(0, 12, n))
        add(service, "Shop", "Requests", "Sum", app, (requests * share).round())
    db = {"DBInstanceIdentifier": "orders-db"}
    add("orders-db", "AWS/RDS", "CPUUtilization", "Average", db, 22 + rng.normal(0, 2, n))
    add("orders-db", "AWS/RDS", "DatabaseConnections", "Average", db, 40 + rng.normal(0, 3, n))
    add("orders-db", "AWS/RDS", "ReadLatency", "Average", db, 0.004 + rng.normal(0, 0.0003, n))
    table = {"TableName": "catalog-table"}
    # Noisy all day: bursts of reads come and go, before and during the incident alike.
    bursts = rng.choice([0.0, 1.0], size=n, p=[0.85, 0.15]) * rng.uniform(150, 400, n)
    add("catalog-table", "AWS/DynamoDB", "ConsumedReadCapacityUnits", "Sum", table, 300 + bursts + rng.normal(0, 20, n))
    add("catalog-table", "AWS/DynamoDB", "SuccessfulRequestLatency", "Average", table, 6 + rng.normal(0, 0.4, n))
    return pd.DataFrame(rows, columns=["resource", "namespace", "metric", "stat", "dimensions", "timestamp", "value"])


def _logs_and_spans(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    logs, spans = [], []
    trace_no = 0
    for minute in _minutes():
        for _ in range(6):
            trace_no += 1
            trace_id = f"1-{int(minute.timestamp()):08x}-{trace_no:024x}"
            begin = minute + timedelta(seconds=float(rng.uniform(0, 59)))
            service = "checkout" if rng.random() < 0.4 else "catalog"
            dep = "orders-db" if service == "checkout" else "catalog-table"
            dep_ms = float(rng.normal(4 if dep == "orders-db" else 6, 0.5))
            own_ms = float(rng.normal(60, 8))
            fails = service == "checkout" and minute >= ONSET and rng.random() < 0.12
            total = own_ms + dep_ms + 2
            alb_id, svc_id, dep_id = f"a{trace_no:015x}", f"s{trace_no:015x}", f"d{trace_no:015x}"
            spans.append((trace_id, alb_id, None, "web-alb", "GET /api", begin, begin + timedelta(milliseconds=total + 3), False, fails, "502" if fails else "200"))
            spans.append((trace_id, svc_id, alb_id, service, f"{service} handler", begin + timedelta(milliseconds=1),
                          begin + timedelta(milliseconds=total + 1), False, fails, "500" if fails else "200"))
            spans.append((trace_id, dep_id, svc_id, dep, "query", begin + timedelta(milliseconds=2),
                          begin + timedelta(milliseconds=2 + dep_ms), False, False, "OK"))
            group = f"/ecs/shop/{service}"
            stream = f"{service}/app/{trace_no % 3:032x}"
            if fails:
                logs.append((begin, service, group, stream,
                             f"ERROR [http-nio-8080-exec-{trace_no % 20}] c.s.checkout.PaymentClient - authorize failed "
                             f"order={100000 + trace_no} java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"token\" is null",
                             trace_id))
            else:
                logs.append((begin, service, group, stream,
                             f"INFO [http-nio-8080-exec-{trace_no % 20}] c.s.{service}.Controller - request handled "
                             f"path=/api/{service} status=200 duration_ms={own_ms + dep_ms:.0f}", trace_id))
            if service == "catalog" and rng.random() < 0.05:
                # A warning catalog prints all day long: not evidence of anything.
                logs.append((begin, service, group, stream,
                             "WARN c.s.catalog.Cache - cache miss ratio above 20%, refreshing", trace_id))
    log_frame = pd.DataFrame(logs, columns=["timestamp", "resource", "log_group", "log_stream", "message", "trace_id"])
    span_frame = pd.DataFrame(spans, columns=["trace_id", "span_id", "parent_id", "service", "operation", "start", "end", "error", "fault", "status"])
    return log_frame, span_frame


def manifest() -> IncidentManifest:
    resources = [
        Resource(id="web-alb", type="AWS::ElasticLoadBalancingV2::LoadBalancer"),
        Resource(id="checkout", type="AWS::ECS::Service", attributes={"cluster": "shop"}),
        Resource(id="catalog", type="AWS::ECS::Service", attributes={"cluster": "shop"}),
        Resource(id="orders-db", type="AWS::RDS::DBInstance"),
        Resource(id="catalog-table", type="AWS::DynamoDB::Table"),
    ]
    edges = [Edge(caller="web-alb", callee="checkout"), Edge(caller="web-alb", callee="catalog"),
             Edge(caller="checkout", callee="orders-db"), Edge(caller="catalog", callee="catalog-table")]
    return IncidentManifest(
        id="demo-bad-deploy",
        title="5xx on the shop ALB after a checkout deploy",
        description=__doc__.split("\n\n")[1],
        trigger=Trigger(
            alarm_name="web-alb-target-5xx", resource="web-alb", namespace="AWS/ApplicationELB",
            metric="HTTPCode_Target_5XX_Count", statistic="Sum", threshold=10,
            comparison="GreaterThanThreshold", state_change_time=ALARM,
        ),
        window=TimeWindow(start=START, end=END),
        topology=Topology(resources=resources, edges=edges),
        ground_truth=GroundTruth(resource="checkout", cause="change", fault="bad-deploy"),
    )


def changes() -> list[ChangeEvent]:
    return [
        ChangeEvent(id="evt-benign-catalog-deploy", time=BENIGN_DEPLOY, source="ecs.amazonaws.com",
                    event_name="UpdateService", resource="catalog", actor="arn:aws:sts::123456789012:assumed-role/deployer/ci",
                    parameters={"service": "catalog", "taskDefinition": "catalog:41"}),
        ChangeEvent(id="evt-checkout-deploy", time=DEPLOY, source="ecs.amazonaws.com",
                    event_name="UpdateService", resource="checkout", actor="arn:aws:sts::123456789012:assumed-role/deployer/ci",
                    parameters={"service": "checkout", "taskDefinition": "checkout:88"}),
    ]


def generate(out: Path = DEFAULT_OUT, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    metrics = _metrics(rng)
    logs, spans = _logs_and_spans(rng)
    return write_bundle(out, manifest(), metrics=metrics, logs=logs, spans=spans, changes=changes())


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    print(generate(target))
