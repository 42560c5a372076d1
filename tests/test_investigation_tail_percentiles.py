"""A tail percentile over a handful of calls, through a whole investigation of a crafted bundle.

The service `api` calls a bucket. In the incident the service fails a share of its requests
and, while retrying, calls the bucket forty times as often as the two calls a minute of the
baseline. No bucket call got slower (its average stays put), but the slowest of forty calls is
slower than the slowest of two: the bucket's "p99" rises. That is no evidence against the bucket,
so the service, whose own errors paged, is the answer. When the alarm itself is on a p99 over a
few calls, that series still counts: someone chose to be paged by it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from agent.runner import investigate_bundle
from domain.models import Edge, Resource, TimeWindow, Topology, Trigger
from tools.bundle.format import IncidentManifest
from tools.bundle.writer import write_bundle

START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
ONSET = START + timedelta(minutes=60)
ALARM = ONSET + timedelta(minutes=4)
END = START + timedelta(minutes=90)
MINUTES = 90


def _series(resource: str, metric: str, stat: str, before: float, after: float, rng: np.random.Generator,
            noise: float) -> pd.DataFrame:
    times = [START + timedelta(minutes=i) for i in range(MINUTES)]
    level = np.where(np.arange(MINUTES) >= 60, after, before)
    values = level * (1.0 + noise * rng.standard_normal(MINUTES))
    return pd.DataFrame({
        "resource": resource, "namespace": "Test", "metric": metric, "stat": stat, "dimensions": "{}",
        "timestamp": pd.to_datetime(times, utc=True), "value": values,
    })


def _bundle(path: Path, trigger: Trigger, api_calls: float, api_p99_after: float) -> Path:
    rng = np.random.default_rng(3)
    metrics = pd.concat([
        _series("api", "requests", "Sum", api_calls, api_calls, rng, 0.02),
        _series("api", "availability", "Average", 100.0, 100.0, rng, 0.0),
        _series("api", "errors", "Sum", 0.5, 40.0, rng, 0.05),
        _series("api", "latency", "Average", 0.05, 0.05, rng, 0.02),
        _series("api", "latency", "p99", 0.2, api_p99_after, rng, 0.02),
        _series("bucket", "requests", "Sum", 2.0, 80.0, rng, 0.02),
        _series("bucket", "latency", "Average", 0.2, 0.2, rng, 0.02),
        _series("bucket", "latency", "p99", 0.2, 0.7, rng, 0.02),
    ], ignore_index=True)
    manifest = IncidentManifest(
        id="tail-percentile", title="errors on api", trigger=trigger,
        window=TimeWindow(start=ONSET - timedelta(minutes=15), end=END),
        baseline=TimeWindow(start=START, end=ONSET - timedelta(minutes=16)),
        topology=Topology(
            resources=[Resource(id="api", type="service"), Resource(id="bucket", type="AWS::S3")],
            edges=[Edge(caller="api", callee="bucket")],
        ),
    )
    return write_bundle(path, manifest, metrics=metrics)


def _trigger(metric: str, stat: str) -> Trigger:
    return Trigger(alarm_name=f"api {metric} {stat}", resource="api", namespace="Test", metric=metric, statistic=stat,
                   threshold=1, comparison="GreaterThanThreshold", state_change_time=ALARM)


def _stats(inv, resource: str, metric: str) -> set[str]:
    return {f.evidence.details.stat for f in inv.findings
            if f.resource == resource and f.kind == "metric" and getattr(f.evidence.details, "metric", None) == metric}


def test_a_dependency_s_tail_over_two_calls_a_minute_is_not_blamed_for_its_caller_s_errors(tmp_path: Path) -> None:
    inv = investigate_bundle(_bundle(tmp_path / "b", _trigger("errors", "Sum"), api_calls=500, api_p99_after=0.2))
    assert "p99" not in _stats(inv, "bucket", "latency")  # the slowest of 2 calls is no p99
    assert inv.hypotheses and inv.hypotheses[0].resource == "api"


def test_an_alarm_on_a_p99_over_few_calls_still_sees_its_own_series_shift(tmp_path: Path) -> None:
    # Five calls a minute: a p99 there is the slowest call, but it is what the engineer alarmed on.
    inv = investigate_bundle(_bundle(tmp_path / "b", _trigger("latency", "p99"), api_calls=5, api_p99_after=0.9))
    assert "p99" in _stats(inv, "api", "latency")
    assert not any(f.resource == "api" and "alarmed metric" in f.signal for f in inv.findings)
