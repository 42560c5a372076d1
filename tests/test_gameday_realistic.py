"""The realistic game-day families: each injects what it claims, where an engineer would look.

Expectations come from what the shape or fault means on AWS (a basic-monitoring export has
five-minute datapoints; a CPU hog pins CPU and its callers slow down; a delayed network edge
leaves the callee's own server-side latency alone), not from the generator's output. One
incident per family (seed 1, or the seed named) is built in memory and shared.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from evals.gameday.generate import GeneratedIncident, build, scenario_names, write
from tools.bundle.validate import validate_bundle
from ui.cli import main

FAMILIES = [
    "fault-under-way-at-window-start", "baseline-days-away", "five-minute-metrics", "one-second-metrics",
    "alarmed-series-missing", "creep-since-baseline", "cpu-hog", "memory-hog", "network-edge-delay", "noisy-neighbour",
    "service-network-delay",
    "canary-deploy", "huge-shift-small-drifts", "no-tracing", "canary-deploy-metrics-only",
]
CAUSES = {"dependency", "component", "constraint", "traffic", "change"}


@lru_cache(maxsize=None)
def incident(name: str, seed: int = 1) -> GeneratedIncident:
    return build(name, seed)


def series(inc: GeneratedIncident, resource: str, metric: str, stat: str | None = None, **dims: str) -> pd.Series:
    """One series by time; without `dims` the one with the fewest dimensions."""
    m = inc.metrics
    rows = m[(m.resource == resource) & (m.metric == metric)]
    if stat is not None:
        rows = rows[rows.stat == stat]
    assert len(rows), f"no {metric} for {resource}"
    parsed = rows.dimensions.map(json.loads)
    if dims:
        rows = rows[parsed.map(lambda d: all(d.get(k) == v for k, v in dims.items()))]
    else:
        rows = rows[parsed.map(len) == parsed.map(len).min()]
    first = rows.iloc[0]
    rows = rows[(rows.stat == first.stat) & (rows.dimensions == first.dimensions)]
    return rows.set_index("timestamp")["value"].sort_index()


def before_after(inc: GeneratedIncident, values: pd.Series) -> tuple[float, float]:
    onset = pd.Timestamp(inc.onset)
    before = values[(values.index >= onset - timedelta(minutes=30)) & (values.index < onset)]
    after = values[values.index >= onset + timedelta(minutes=4)]
    return float(before.median()), float(after.median())


def spacing(values: pd.Series) -> set[float]:
    return set(values.index.to_series().diff().dropna().dt.total_seconds())


def test_the_realistic_suite_lists_every_family_with_a_real_cause_in_each_ground_truth():
    assert sorted(scenario_names("realistic")) == sorted(FAMILIES)
    assert len(FAMILIES) >= 8
    for name in FAMILIES:
        truth = incident(name).manifest.ground_truth
        assert truth.cause in CAUSES and truth.resource and truth.fault == incident(name).spec.fault
        assert not truth.false_alarm


@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_carries_distractors(name):
    inc = incident(name)
    kinds = {d.kind for d in inc.distractors}
    assert {"benign-change", "noisy-metric", "louder-upstream"} <= kinds
    root = inc.manifest.ground_truth.resource
    assert all(d.resource != root for d in inc.distractors if d.kind != "louder-upstream")
    benign = [c for c in inc.changes if c.resource != root and c.actor != "application-autoscaling.amazonaws.com"
              and c.time < inc.onset]
    assert benign, "an unrelated change lands before the onset"


@pytest.mark.parametrize("name", ["baseline-days-away", "one-second-metrics", "canary-deploy", "five-minute-metrics"])
def test_written_bundles_validate(tmp_path, name):
    path = write(incident(name), tmp_path)
    assert validate_bundle(path) == []
    assert sum(f.stat().st_size for f in path.iterdir()) < 600_000


def test_fault_under_way_when_the_window_opens():
    inc = incident("fault-under-way-at-window-start")
    m, window, baseline = inc.manifest, inc.manifest.window, inc.manifest.baseline
    assert window.start > inc.onset, "the recording starts after the fault began"
    assert window.contains(m.trigger.state_change_time)
    assert baseline.end <= inc.onset - timedelta(minutes=10)
    times = inc.metrics.timestamp
    gap = (times > pd.Timestamp(baseline.end)) & (times < pd.Timestamp(window.start))
    assert not gap.any(), "nothing was recorded between the normal period and the window"
    assert not ((inc.logs.timestamp > pd.Timestamp(baseline.end)) & (inc.logs.timestamp < pd.Timestamp(window.start))).any()


def test_baseline_is_another_day_at_another_hour():
    inc = incident("baseline-days-away")
    baseline, window = inc.manifest.baseline, inc.manifest.window
    assert window.start - baseline.end >= timedelta(hours=6)
    assert timedelta(minutes=50) <= baseline.duration <= timedelta(minutes=60)
    in_baseline = inc.metrics[(inc.metrics.timestamp >= pd.Timestamp(baseline.start)) &
                              (inc.metrics.timestamp <= pd.Timestamp(baseline.end))]
    assert in_baseline.resource.nunique() >= 10, "the far baseline has the same system's metrics"
    assert len(inc.logs[inc.logs.timestamp <= pd.Timestamp(baseline.end)]) > 100
    between = (inc.metrics.timestamp > pd.Timestamp(baseline.end)) & (inc.metrics.timestamp < pd.Timestamp(window.start))
    assert not between.any()


def test_five_minute_metrics_except_the_alarmed_series():
    inc = incident("five-minute-metrics")
    trigger = inc.manifest.trigger
    alarmed = series(inc, trigger.resource, trigger.metric, trigger.statistic)
    assert spacing(alarmed) == {60.0}, "the alarm was evaluated on one-minute datapoints"
    for resource, metric in (("shop-db", "CPUUtilization"), ("cart", "MemoryUtilization"), ("orders-queue", "NumberOfMessagesSent")):
        values = series(inc, resource, metric)
        assert spacing(values) == {300.0}
        assert (values.index.minute % 5 == 0).all()
    # A Sum over five minutes adds the five one-minute sums: the queue's sends are about 5x a minute's.
    sent = series(inc, "orders-queue", "NumberOfMessagesSent")
    assert sent.median() > 4 * 60 * 1.0


def test_one_second_application_metrics():
    inc = incident("one-second-metrics")
    latency = series(inc, "storefront", "Latency", "p99")
    requests = series(inc, "storefront", "Requests", "Sum")
    assert spacing(latency) == {1.0} and spacing(requests) == {1.0}
    assert requests.median() < 5 * 60, "a one-second count is a second's requests, not a minute's"
    assert spacing(series(inc, "shop-alb", "RequestCount")) == {60.0}, "AWS metrics stay at one minute"


def test_the_alarmed_series_is_missing_but_the_rest_is_there():
    inc = incident("alarmed-series-missing")
    trigger = inc.manifest.trigger
    m = inc.metrics
    assert not ((m.resource == trigger.resource) & (m.metric == trigger.metric) & (m.stat == trigger.statistic)).any()
    assert (m.resource == trigger.resource).any(), "the alarmed resource's other metrics are recorded"
    assert (m.resource == inc.manifest.ground_truth.resource).any() or inc.manifest.ground_truth.resource.endswith(("role", "config", "sg"))


def test_without_tracing_there_are_no_spans_and_no_call_graph_but_the_rest_is_there():
    inc = incident("no-tracing")
    topology = inc.manifest.topology
    assert inc.spans.empty and topology.edges == []
    assert {inc.manifest.trigger.resource, inc.manifest.ground_truth.resource} <= topology.ids()
    assert len(inc.metrics) > 1000 and len(inc.logs) > 100


def test_a_metrics_only_canary_has_its_revisions_series_and_changes_but_no_logs_or_spans():
    inc = incident("canary-deploy-metrics-only")
    assert inc.logs.empty and inc.spans.empty and inc.manifest.topology.edges
    root = inc.manifest.ground_truth.resource
    revisions = {json.loads(d).get("TaskDefinitionRevision") for d in inc.metrics[inc.metrics.resource == root].dimensions}
    assert len(revisions - {None}) == 2, "the old and the new revision each have their series"
    assert any(c.resource == root and c.event_name == "CreateDeployment" for c in inc.changes)


def test_a_slow_creep_begins_inside_the_baseline_on_something_else():
    inc = incident("creep-since-baseline")
    creep = next(d for d in inc.distractors if d.kind == "slow-creep")
    root = inc.manifest.ground_truth.resource
    assert creep.resource != root
    cpu = series(inc, creep.resource, "CPUUtilization")
    baseline = cpu[cpu.index < pd.Timestamp(inc.manifest.baseline.end)]
    early, late = baseline.iloc[:15].median(), baseline.iloc[-15:].median()
    assert late - early > 3.0, "CPU already rises during the normal period"
    slope = np.polyfit(np.arange(len(cpu)), cpu.values, 1)[0]
    assert slope > 0


def test_cpu_hog_pins_cpu_and_the_callers_show_the_latency():
    inc = incident("cpu-hog")
    root = inc.manifest.ground_truth.resource
    before, after = before_after(inc, series(inc, root, "CPUUtilization"))
    assert before < 60 and after > 80
    caller_before, caller_after = before_after(inc, series(inc, "storefront", "Latency", "p99"))
    assert caller_after > 1.3 * caller_before


def test_memory_hog_fills_memory_slows_callers_and_kills_nothing():
    inc = incident("memory-hog")
    root = inc.manifest.ground_truth.resource
    before, after = before_after(inc, series(inc, root, "MemoryUtilization"))
    assert before < 70 and after > 90
    running = series(inc, root, "RunningTaskCount")
    desired = series(inc, root, "DesiredTaskCount")
    assert (running[running.index >= pd.Timestamp(inc.onset)] >= desired[desired.index >= pd.Timestamp(inc.onset)] - 0.5).all()
    alb_before, alb_after = before_after(inc, series(inc, "shop-alb", "TargetResponseTime", "Average"))
    assert alb_after > 1.3 * alb_before
    logs = inc.logs[(inc.logs.resource == root) & (inc.logs.timestamp >= pd.Timestamp(inc.onset))]
    assert logs.message.str.contains("GC|Mark-Compact", regex=True).any()


@pytest.mark.parametrize("seed", [1, 3])  # a service callee (seed 1) and the database (seed 3)
def test_network_edge_delay_shows_at_the_caller_not_in_the_callee_s_own_latency(seed):
    inc = incident("network-edge-delay", seed)
    root = inc.manifest.ground_truth.resource
    own = series(inc, root, "ReadLatency") if root == "shop-db" else series(inc, root, "Latency", "p99")
    own_before, own_after = before_after(inc, own)
    assert own_after < 1.25 * own_before, "the callee serves as fast as ever"
    caller = "catalog" if root == "shop-db" else "storefront"
    before, after = before_after(inc, series(inc, caller, "Latency", "p99"))
    assert after > 1.3 * before


def test_service_network_delay_makes_its_answers_and_its_own_calls_late_but_no_one_s_own_time():
    inc = next(i for i in (incident("service-network-delay", s) for s in range(1, 11))
               if i.manifest.ground_truth.resource == "catalog")
    spans = inc.spans.assign(ms=(inc.spans.end - inc.spans.start).dt.total_seconds() * 1000)
    after = spans.start >= pd.Timestamp(inc.onset) + timedelta(minutes=4)
    before = (spans.start < pd.Timestamp(inc.onset)) & (spans.start >= pd.Timestamp(inc.onset) - timedelta(minutes=30))
    parent = spans.set_index("span_id")["ms"]
    served = spans[spans.service == "catalog"]
    gap = served.parent_id.map(parent) - served.ms  # storefront's client span less catalog's own span
    assert gap[after].median() > gap[before].median() + 100, "storefront gets catalog's answers late"
    owner = spans.set_index("span_id")["service"]
    db = spans[spans.service == "shop-db"].assign(caller=lambda d: d.parent_id.map(owner))
    from_catalog, from_checkout = db[db.caller == "catalog"], db[db.caller == "checkout"]
    assert from_catalog.ms[after].median() > from_catalog.ms[before].median() + 100, "catalog's own calls are late"
    assert from_checkout.ms[after].median() < 1.5 * from_checkout.ms[before].median(), "the database serves others as before"


def test_noisy_neighbour_loads_the_shared_database_and_the_alarm_is_on_the_neighbour():
    inc = incident("noisy-neighbour")
    root, trigger = inc.manifest.ground_truth.resource, inc.manifest.trigger
    assert trigger.resource != root and trigger.resource in inc.manifest.topology.callers("shop-db")
    assert root in inc.manifest.topology.callers("shop-db"), "the neighbour shares the database"
    before, after = before_after(inc, series(inc, root, "Requests", "Sum"))
    assert after > 1.4 * before
    db_before, db_after = before_after(inc, series(inc, "shop-db", "CPUUtilization"))
    assert db_after > db_before + 20
    logs = inc.logs[(inc.logs.resource == trigger.resource) & (inc.logs.timestamp >= pd.Timestamp(inc.onset))]
    assert logs.message.str.contains("statement timeout").any()


def _revisions(inc: GeneratedIncident, service: str, metric: str) -> dict[str, pd.Series]:
    m = inc.metrics
    rows = m[(m.resource == service) & (m.metric == metric)]
    out = {}
    for dims, group in rows.groupby("dimensions"):
        revision = json.loads(dims).get("TaskDefinitionRevision")
        if revision:
            out[revision] = group.set_index("timestamp")["value"].sort_index()
    return out


def test_canary_deploy_splits_metrics_by_revision_with_a_benign_canary_alongside():
    inc = incident("canary-deploy")
    root = inc.manifest.ground_truth.resource
    benign = next(d.resource for d in inc.distractors if d.kind == "benign-change" and "canary" in d.detail)
    deploys = {c.resource: c.time for c in inc.changes if c.event_name == "CreateDeployment"}
    assert set(deploys) == {root, benign}
    assert abs(deploys[root] - deploys[benign]) <= timedelta(minutes=5)
    assert deploys[root] < inc.onset
    for service in (root, benign):
        requests, errors = _revisions(inc, service, "Requests"), _revisions(inc, service, "Errors")
        assert len(requests) == 2, f"{service}: an old and a new revision"
        old, new = sorted(requests, key=int)
        assert requests[new].index.min() > pd.Timestamp(deploys[service]), "the new revision has no normal period of its own"
        share = requests[new].sum() / (requests[new].sum() + requests[old][requests[new].index].sum())
        assert 0.05 < share < 0.3, "a canary takes a small share of the requests"
        new_rate = errors[new].sum() / requests[new].sum()
        old_rate = errors[old][errors[old].index >= pd.Timestamp(inc.onset)].sum() / requests[old][requests[old].index >= pd.Timestamp(inc.onset)].sum()
        assert old_rate < 0.01
        if service == root:
            assert new_rate > 0.2
        else:
            assert new_rate < 0.01
        m = inc.metrics
        plain = m[(m.resource == service) & (m.metric == "Requests") & (m.dimensions == json.dumps({"Service": service}))]
        assert plain.empty, "the application publishes per revision only"


def test_huge_shift_among_small_drifts_and_a_creep():
    inc = incident("huge-shift-small-drifts")
    root = inc.manifest.ground_truth.resource
    before, after = before_after(inc, series(inc, root, "CPUUtilization"))
    assert after > 90 and after > 2 * before
    drifts = [d for d in inc.distractors if d.kind == "small-drift"]
    assert len(drifts) >= 6 and len({d.resource for d in drifts}) >= 5
    moved = 0
    for d in drifts:
        metric = d.detail.split()[0]
        b, a = before_after(inc, series(inc, d.resource, metric))
        relative = abs(a - b) / abs(b)
        assert relative < 0.35, "each drift is small"
        moved += relative > 0.015
    assert moved >= len(drifts) - 1, "and each is there to see"
    assert any(d.kind == "slow-creep" for d in inc.distractors)


def test_cli_generates_only_the_realistic_suite(tmp_path, capsys):
    assert main(["gameday", "generate", "--out", str(tmp_path), "--suite", "realistic", "--seed", "2"]) == 0
    assert len(list(tmp_path.iterdir())) == len(FAMILIES)
    assert main(["gameday", "generate", "--out", str(tmp_path), "--suite", "everything"]) == 2
    assert "unknown suite" in capsys.readouterr().err
