"""The game-day library: bundles validate, generation is deterministic, and every scenario is
solvable from evidence — its signal sits where an engineer would look, and its distractors exist.

The expectations below are written from what each fault does on AWS (a throttled table
counts ThrottledRequests, a full disk shows FreeStorageSpace near zero, ...), not from the
generator's output. One incident per scenario is built in memory (seed 1) and shared.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from ui.cli import main
from evals.gameday.generate import GeneratedIncident, build, scenario_names, write
from tools.bundle.source import BundleSource
from tools.bundle.validate import validate_bundle

SCENARIOS = [
    "dynamodb-throttling", "rds-storage-full", "rds-max-connections", "lambda-concurrency-exhausted",
    "expired-tls-certificate", "external-api-timeout", "ecs-oom-crashloop", "az-power-interruption",
    "gray-failure-az", "traffic-surge", "bad-deploy", "wrong-environment-config", "iam-policy-detached",
    "security-group-blocks-db", "false-alarm",
]
# The documented cause category and root-resource kind of each scenario (docs/gameday.md).
CAUSE = {
    "dynamodb-throttling": ("constraint", "AWS::DynamoDB::Table"),
    "rds-storage-full": ("constraint", "AWS::RDS::DBInstance"),
    "rds-max-connections": ("constraint", "AWS::RDS::DBInstance"),
    "lambda-concurrency-exhausted": ("constraint", "AWS::Lambda::Function"),
    "expired-tls-certificate": ("constraint", "AWS::CertificateManager::Certificate"),
    "external-api-timeout": ("dependency", "Custom::ExternalApi"),
    "ecs-oom-crashloop": ("component", "AWS::ECS::Service"),
    "az-power-interruption": ("component", "AWS::EC2::AvailabilityZone"),
    "gray-failure-az": ("component", "AWS::EC2::AvailabilityZone"),
    "traffic-surge": ("traffic", "AWS::ECS::Service"),
    "bad-deploy": ("change", "AWS::ECS::Service"),
    "wrong-environment-config": ("change", "AWS::SSM::Parameter|AWS::AppConfig::ConfigurationProfile"),
    "iam-policy-detached": ("change", "AWS::IAM::Role"),
    "security-group-blocks-db": ("change", "AWS::EC2::SecurityGroup"),
    "false-alarm": ("unknown", "none"),
}


@lru_cache(maxsize=None)
def incident(name: str, seed: int = 1) -> GeneratedIncident:
    return build(name, seed)


def series(inc: GeneratedIncident, resource: str, namespace: str, metric: str, stat: str | None = None,
           **dims: str) -> pd.Series:
    """One metric series by time; without `dims` the one with the fewest dimensions (the aggregate)."""
    m = inc.metrics
    rows = m[(m.resource == resource) & (m.namespace == namespace) & (m.metric == metric)]
    if stat is not None:
        rows = rows[rows.stat == stat]
    assert len(rows), f"no {namespace} {metric} for {resource}"
    parsed = rows.dimensions.map(json.loads)
    if dims:
        rows = rows[parsed.map(lambda d: all(d.get(k) == v for k, v in dims.items()))]
    else:
        fewest = parsed.map(len).min()
        rows = rows[parsed.map(len) == fewest]
    first = rows.iloc[0]
    rows = rows[(rows.stat == first.stat) & (rows.dimensions == first.dimensions)]
    return rows.set_index("timestamp")["value"].sort_index()


def before_after(inc: GeneratedIncident, values: pd.Series) -> tuple[float, float]:
    """Median over the 30 minutes before the onset, and from 3 minutes after it to the end."""
    onset = pd.Timestamp(inc.onset)
    before = values[(values.index >= onset - timedelta(minutes=30)) & (values.index < onset)]
    after = values[values.index >= onset + timedelta(minutes=3)]
    return float(before.median()), float(after.median())


def moved(inc: GeneratedIncident, values: pd.Series, direction: str, factor: float = 1.5) -> bool:
    before, after = before_after(inc, values)
    if direction == "up":
        return after > max(before * factor, before + 1.0)
    return after < before / factor


def logs_of(inc: GeneratedIncident, resources: set[str], after_onset: bool = True) -> pd.Series:
    logs = inc.logs[inc.logs.resource.isin(resources)]
    if after_onset:
        logs = logs[logs.timestamp >= pd.Timestamp(inc.onset)]
    return logs.message


def any_log(inc: GeneratedIncident, resources: set[str], pattern: str) -> bool:
    return bool(logs_of(inc, resources).str.contains(pattern, regex=True, flags=re.IGNORECASE).any())


def changes_before_onset(inc: GeneratedIncident, resource: str, event_name: str, within_minutes: int = 15) -> list:
    return [c for c in inc.changes if c.resource == resource and c.event_name == event_name
            and inc.onset - timedelta(minutes=within_minutes) <= c.time <= inc.onset]


def test_catalogue_lists_every_scenario_with_its_documented_cause():
    assert sorted(scenario_names("classic")) == sorted(SCENARIOS)
    for name in SCENARIOS:
        inc = incident(name)
        truth = inc.manifest.ground_truth
        assert (inc.spec.cause, inc.spec.root_kind.replace(" / ", "|")) == CAUSE[name]
        if name == "false-alarm":
            assert truth.false_alarm and truth.resource is None and truth.cause is None
            continue
        assert truth.cause == CAUSE[name][0] and not truth.false_alarm
        root = inc.manifest.topology.get(truth.resource)
        assert root is not None, f"{name}: ground truth {truth.resource} is not a topology resource"
        assert root.type in CAUSE[name][1].split("|")


@pytest.mark.parametrize("name", ["bad-deploy", "az-power-interruption", "lambda-concurrency-exhausted"])
def test_written_bundles_validate_and_read_back(tmp_path, name):
    inc = incident(name)
    path = write(inc, tmp_path)
    assert validate_bundle(path) == []
    source = BundleSource(path)
    window = inc.manifest.window
    assert len(source.metrics(window).data) > 1000
    assert len(source.logs(window).data) > 100
    assert len(source.spans(window).data) > 100
    assert source.changes(window).data, "every scenario has at least one change in its window (a distractor at least)"
    size = sum(f.stat().st_size for f in path.iterdir())
    assert size < 300_000, f"{name}: bundle is {size} bytes, over the 300 KB CI budget"
    assert "Distractors" in (path / "NOTES.md").read_text()


def test_same_seed_gives_the_same_incident_and_another_seed_a_different_one():
    first, again, other = build("iam-policy-detached", 3), build("iam-policy-detached", 3), build("iam-policy-detached", 4)
    assert first.manifest == again.manifest
    pd.testing.assert_frame_equal(first.metrics, again.metrics)
    pd.testing.assert_frame_equal(first.logs, again.logs)
    pd.testing.assert_frame_equal(first.spans, again.spans)
    assert first.changes == again.changes
    assert first.manifest.trigger.state_change_time != other.manifest.trigger.state_change_time


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_alarm_fires_a_few_minutes_after_onset_and_never_in_normal_operation(name):
    inc = incident(name)
    trigger = inc.manifest.trigger
    delay = trigger.state_change_time - inc.onset
    assert timedelta(minutes=2) <= delay <= timedelta(minutes=14), f"{name}: alarm {delay} after onset"
    values = series(inc, trigger.resource, trigger.namespace, trigger.metric, trigger.statistic)
    breach = values > trigger.threshold if trigger.expects_increase else values < trigger.threshold
    baseline = breach[values.index < pd.Timestamp(inc.onset)]
    assert not baseline.any(), f"{name}: {trigger.alarm_name} breaches in normal operation"
    # A datapoint stamped t covers [t, t + 1 min): only periods closed before the state change count.
    closed = values.index + timedelta(minutes=1) <= pd.Timestamp(trigger.state_change_time)
    fired = breach[(values.index >= pd.Timestamp(inc.onset)) & closed]
    assert fired.tail(2).all(), f"{name}: the datapoints before the state change do not breach"
    assert inc.manifest.window.contains(trigger.state_change_time)
    assert inc.manifest.baseline.end <= inc.onset


# What an engineer would look at for each scenario, and what it must show.
def _evidence_dynamodb(inc, root):
    assert moved(inc, series(inc, root, "AWS/DynamoDB", "ThrottledRequests"), "up")
    callers = set(inc.manifest.topology.callers(root))
    assert any_log(inc, callers, "ProvisionedThroughputExceededException")


def _evidence_storage(inc, root):
    before, after = before_after(inc, series(inc, root, "AWS/RDS", "FreeStorageSpace"))
    assert before > 1e8 and after < 1e8, "free storage is near zero only after the onset"
    assert any_log(inc, set(inc.manifest.topology.callers(root)), "No space left on device")


def _evidence_connections(inc, root):
    values = series(inc, root, "AWS/RDS", "DatabaseConnections")
    max_connections = int(inc.manifest.topology.get(root).attributes["max_connections"])
    before, after = before_after(inc, values)
    assert after >= 0.95 * max_connections > before
    assert any_log(inc, set(inc.manifest.topology.callers(root)), "too many clients|remaining connection slots")


def _evidence_lambda(inc, root):
    assert moved(inc, series(inc, root, "AWS/Lambda", "Throttles"), "up")
    queue = inc.manifest.topology.callers(root)[0]
    assert moved(inc, series(inc, queue, "AWS/SQS", "ApproximateAgeOfOldestMessage"), "up", factor=3)


def _evidence_certificate(inc, root):
    days = series(inc, root, "AWS/CertificateManager", "DaysToExpiry")
    before, after = before_after(inc, days)
    assert before >= 1 and after == 0
    alb = inc.manifest.topology.callers(root)[0]
    assert moved(inc, series(inc, alb, "AWS/ApplicationELB", "ClientTLSNegotiationErrorCount"), "up", factor=10)


def _evidence_external(inc, root):
    assert moved(inc, series(inc, root, "Shop/App", "DependencyLatency"), "up", factor=2)
    assert any_log(inc, set(inc.manifest.topology.callers(root)), "Read timed out")


def _evidence_oom(inc, root):
    # Autoscaling may add tasks, but killed tasks keep the running count below the desired one.
    running = series(inc, root, "ECS/ContainerInsights", "RunningTaskCount")
    desired = series(inc, root, "ECS/ContainerInsights", "DesiredTaskCount")
    before, after = before_after(inc, running / desired)
    assert before == 1.0 and after <= 0.85
    memory = series(inc, root, "AWS/ECS", "MemoryUtilization")
    assert memory[memory.index < pd.Timestamp(inc.onset)].tail(3).min() > 90, "memory leaks up to the limit before the kills"
    assert any_log(inc, {root}, r"out ?of ?memory")


def _evidence_az_power(inc, root):
    events = [h for h in inc.health if h.availability_zone == root]
    assert events and events[0].start <= inc.onset
    alb = "shop-alb"
    assert moved(inc, series(inc, alb, "AWS/ApplicationELB", "UnHealthyHostCount", AvailabilityZone=root), "up")
    assert moved(inc, series(inc, alb, "AWS/ApplicationELB", "RequestCount", AvailabilityZone=root), "down", factor=5)
    others = [r.id for r in inc.manifest.topology.resources if r.type == "AWS::EC2::AvailabilityZone" and r.id != root]
    for other in others:
        assert not moved(inc, series(inc, alb, "AWS/ApplicationELB", "RequestCount", AvailabilityZone=other), "down", factor=1.2)


def _evidence_gray(inc, root):
    assert not inc.health, "a gray failure has no AWS Health event"
    alb = "shop-alb"
    _, slow = before_after(inc, series(inc, alb, "AWS/ApplicationELB", "TargetResponseTime", AvailabilityZone=root))
    others = [r.id for r in inc.manifest.topology.resources if r.type == "AWS::EC2::AvailabilityZone" and r.id != root]
    for other in others:
        _, normal = before_after(inc, series(inc, alb, "AWS/ApplicationELB", "TargetResponseTime", AvailabilityZone=other))
        assert slow > normal + 0.15, "about +300 ms (or retransmits) in the degraded zone only"
    spans = inc.spans[inc.spans.start >= pd.Timestamp(inc.onset)].copy()
    for column in ("start", "end"):
        spans[column] = spans[column].dt.tz_localize(None)
    by_id = spans.set_index("span_id")
    children = spans[spans.parent_id.isin(by_id.index)]
    clients = by_id.loc[children.parent_id]
    gap = (clients.end.values - clients.start.values) - (children.end.values - children.start.values)
    same_service_pairs = clients.service.values != children.service.values
    gaps_ms = pd.to_timedelta(gap[same_service_pairs]).total_seconds() * 1000
    assert (gaps_ms > 150).mean() > 0.2, "caller-minus-callee time shows the network delay on calls through the zone"


def _evidence_surge(inc, root):
    assert moved(inc, series(inc, root, "Shop/App", "Requests"), "up")
    assert series(inc, root, "AWS/ECS", "CPUUtilization").max() > 90
    scale_outs = [c for c in inc.changes if c.resource == root and c.event_name == "UpdateService" and c.time > inc.onset]
    assert scale_outs and all(c.actor == "application-autoscaling.amazonaws.com" for c in scale_outs)


def _evidence_deploy(inc, root):
    assert changes_before_onset(inc, root, "UpdateService")
    assert changes_before_onset(inc, root, "RegisterTaskDefinition")
    errors = moved(inc, series(inc, root, "Shop/App", "Errors"), "up", factor=3)
    latency = moved(inc, series(inc, root, "Shop/App", "Latency"), "up", factor=2)
    assert errors or latency


def _evidence_config(inc, root):
    assert changes_before_onset(inc, root, "PutParameter") or changes_before_onset(inc, root, "StartDeployment")
    users = set(inc.manifest.topology.callers(root))
    assert any_log(inc, users, "staging|sk_test")


def _evidence_iam(inc, root):
    assert changes_before_onset(inc, root, "DetachRolePolicy")
    assert any_log(inc, set(inc.manifest.topology.callers(root)), "AccessDenied")


def _evidence_security_group(inc, root):
    assert changes_before_onset(inc, root, "RevokeSecurityGroupIngress")
    database = inc.manifest.topology.callers(root)[0]
    assert moved(inc, series(inc, database, "AWS/RDS", "DatabaseConnections"), "down", factor=3)
    assert any_log(inc, set(inc.manifest.topology.callers(database)), "Connect timed out|Connection is not available")


def _evidence_false_alarm(inc, root):
    assert root is None and inc.manifest.ground_truth.false_alarm
    assert not inc.health
    trigger = inc.manifest.trigger
    p99 = series(inc, trigger.resource, trigger.namespace, trigger.metric, trigger.statistic)
    settled = p99[p99.index >= pd.Timestamp(inc.onset) + timedelta(minutes=8)]
    assert settled.median() < trigger.threshold, "the blip passes by itself: latency is back to normal"
    assert not settled.rolling(3).min().gt(trigger.threshold).any(), "the alarm would return to OK and stay there"
    benign = {d.resource for d in inc.distractors if d.kind == "benign-change"}
    assert all(c.resource in benign for c in inc.changes), "the only changes are the benign ones"


EVIDENCE = {
    "dynamodb-throttling": _evidence_dynamodb, "rds-storage-full": _evidence_storage,
    "rds-max-connections": _evidence_connections, "lambda-concurrency-exhausted": _evidence_lambda,
    "expired-tls-certificate": _evidence_certificate, "external-api-timeout": _evidence_external,
    "ecs-oom-crashloop": _evidence_oom, "az-power-interruption": _evidence_az_power, "gray-failure-az": _evidence_gray,
    "traffic-surge": _evidence_surge, "bad-deploy": _evidence_deploy, "wrong-environment-config": _evidence_config,
    "iam-policy-detached": _evidence_iam, "security-group-blocks-db": _evidence_security_group,
    "false-alarm": _evidence_false_alarm,
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_injected_signal_is_where_an_engineer_would_look(name):
    inc = incident(name)
    EVIDENCE[name](inc, inc.manifest.ground_truth.resource)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_carries_its_distractors(name):
    inc = incident(name)
    root = inc.manifest.ground_truth.resource
    topology = inc.manifest.topology
    kinds = {d.kind for d in inc.distractors}
    expected = {"benign-change", "noisy-metric"} | (set() if root is None else {"louder-upstream"})
    assert kinds == expected
    benign = [c for c in inc.changes if c.time < inc.onset and c.resource != root
              and c.actor != "application-autoscaling.amazonaws.com"]
    assert benign, "an unrelated change lands before the onset"
    declared = {d.resource for d in inc.distractors if d.kind == "benign-change"}
    assert declared & {c.resource for c in benign}, "the declared benign change is one that lands before the onset"
    for noisy in (d for d in inc.distractors if d.kind == "noisy-metric"):
        assert noisy.resource != root
    for loud in (d for d in inc.distractors if d.kind == "louder-upstream"):
        assert loud.resource in topology.upstream(root), "the loud symptom is upstream of the cause"
        if topology.get(loud.resource).type == "AWS::ECS::Service":
            before, after = before_after(inc, series(inc, loud.resource, "Shop/App", "Latency"))
            assert after > 2 * before, "the caller's p99 more than doubles"


def test_which_resource_is_hit_varies_with_the_seed():
    roots = {build("bad-deploy", seed).manifest.ground_truth.resource for seed in (1, 4, 5)}
    assert len(roots) >= 2


def test_cli_rejects_an_unknown_scenario_with_the_valid_names(tmp_path, capsys):
    assert main(["gameday", "generate", "--out", str(tmp_path), "--scenario", "disk-fire"]) == 2
    err = capsys.readouterr().err
    assert "unknown scenario 'disk-fire'" in err and "bad-deploy" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_generates_one_seed_when_a_seed_is_given(tmp_path, capsys):
    assert main(["gameday", "generate", "--out", str(tmp_path), "--scenario", "gray-failure-az", "--seed", "7"]) == 0
    bundles = sorted(p.name for p in tmp_path.iterdir())
    assert len(bundles) == 1
    assert validate_bundle(tmp_path / bundles[0]) == []
    captured = capsys.readouterr()
    assert "wrote 1 bundles" in captured.out
    assert f"{bundles[0]}  gray-failure-az seed 7" in captured.err, "progress maps the opaque name to the scenario"


def test_a_draw_whose_fault_trips_no_alarm_is_skipped_and_the_rest_are_written(tmp_path, capsys):
    # At seed 201 the Lambda's traffic is low enough that the reduced concurrency still copes, so
    # the queue's age alarm never fires: there is no incident to write for that draw. Seed 203
    # of the same scenario does fire.
    code = main(["gameday", "generate", "--out", str(tmp_path), "--scenario", "lambda-concurrency-exhausted",
                 "--seed", "201", "--count", "3"])
    captured = capsys.readouterr()
    assert code == 2, "an incomplete suite must not look complete to a script"
    assert "skipped lambda-concurrency-exhausted seed 201" in captured.err and "Traceback" not in captured.err
    assert "draws skipped" in captured.err.splitlines()[-1]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert 1 <= len(written) < 3 and all(validate_bundle(tmp_path / name) == [] for name in written)
    assert "lambda-concurrency-exhausted seed 203" in captured.err


@pytest.mark.parametrize("name", ["wrong-environment-config", "security-group-blocks-db", "false-alarm"])
def test_nothing_the_investigation_reads_names_the_scenario(name):
    inc = incident(name)
    visible = inc.manifest.model_dump(mode="json", exclude={"ground_truth"})
    text = json.dumps(visible).lower() + " ".join(c.model_dump_json() for c in inc.changes).lower()
    for word in (name, inc.spec.fault, "scenario", "root cause"):
        assert word not in text
    assert name not in " ".join(inc.logs.log_stream) and name not in " ".join(inc.logs.log_group)


def test_cli_list_shows_every_scenario_with_its_cause(capsys):
    assert main(["gameday", "list"]) == 0
    out = capsys.readouterr().out
    for name, (cause, _) in CAUSE.items():
        line = next(line for line in out.splitlines() if line.strip().startswith(name))
        assert cause in line


def test_spans_pair_caller_and_callee_so_network_time_is_visible():
    inc = incident("bad-deploy")
    spans = inc.spans.copy()
    for column in ("start", "end"):
        spans[column] = spans[column].dt.tz_localize(None)
    roots = spans[spans.parent_id.isna()]
    assert set(roots.service) >= {"storefront", "order-processor"}
    by_id = spans.set_index("span_id")
    child = spans[spans.parent_id.notna()]
    parent = by_id.loc[child.parent_id]
    assert (child.start.values >= parent.start.values).all()
    assert np.mean(child.end.values <= parent.end.values + np.timedelta64(1, "ms")) > 0.99


def test_error_logs_of_sampled_requests_carry_their_trace_id():
    inc = incident("bad-deploy")
    root = inc.manifest.ground_truth.resource
    errors = inc.logs[(inc.logs.resource == root) & inc.logs.message.str.contains("ERROR|\"level\":50|\"level\":\"error\"")]
    faulted = inc.spans[(inc.spans.service == root) & inc.spans.fault]
    assert errors.trace_id.isin(faulted.trace_id).any()
    assert errors.trace_id.str.match(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$").all()


def test_cli_reports_an_unwritable_output_directory_in_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["gameday", "generate", "--out", str(blocker / "bundles"), "--scenario", "bad-deploy", "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and "Traceback" not in err and len(err.strip().splitlines()) == 1
