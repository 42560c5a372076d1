"""`investigator import petshop` on a tiny dataset built here in the PetShop layout."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from ui.cli import main
from evals.importers.petshop import import_petshop, resource_type
from tools.bundle.validate import load_manifest, validate_bundle

FRONT, CLIENT, API, DB, REMOTE = "Front", "Front_client", "Api_AWS::ECS::Fargate", "Db_AWS::DynamoDB::Table", "ext.example.com_remote"
NODES = [FRONT, CLIENT, API, DB, REMOTE]
# caller -> callee, as X-Ray draws it: the client calls the front end, the API calls a remote endpoint.
CALLS = [(CLIENT, FRONT), (FRONT, API), (API, DB), (API, REMOTE)]
ISSUE_START = datetime(2023, 4, 19, 10, 0, tzinfo=timezone.utc)
NORMAL_START = datetime(2023, 8, 20, 0, 0, tzinfo=timezone.utc)
NORMAL_POINTS = 576  # two days of 5-minute points
STEP = timedelta(minutes=5)
# Where the normal data looks worst, per alarm kind (see test_false_alarms_...).
AVAILABILITY_DIPS = (50, 300, 500)
LATENCY_SPIKES = (150, 400)


def write_graph(path: Path, transposed: bool = False) -> None:
    matrix = pd.DataFrame(0, index=NODES, columns=NODES)
    for caller, callee in CALLS:
        if transposed:
            matrix.loc[callee, caller] = 1
        else:
            matrix.loc[caller, callee] = 1
    path.parent.mkdir(parents=True, exist_ok=True)
    matrix.to_csv(path)


def write_metrics(path: Path, start: datetime, columns: dict[tuple[str, str, str], list[float]]) -> None:
    keys = list(columns)
    n = len(next(iter(columns.values())))
    lines = [
        ",".join(["microservice", *[k[0] for k in keys]]),
        ",".join(["metric", *[k[1] for k in keys]]),
        ",".join(["statistic", *[k[2] for k in keys]]),
        ",".join(["unix_timestamp", *["" for _ in keys]]),
    ]
    for i in range(n):
        stamp = (start + i * STEP).timestamp()
        lines.append(",".join([f"{stamp:.1f}", *["" if pd.isna(columns[k][i]) else str(columns[k][i]) for k in keys]]))
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def issue_columns(n: int = 5) -> dict[tuple[str, str, str], list[float]]:
    columns = {(node, "latency", "Average"): [0.1 * (i + 1) for i in range(n)] for node in NODES}
    columns[(FRONT, "availability", "Average")] = [100.0] * n
    columns[(FRONT, "requests", "Sum")] = [50.0] * n
    columns[(REMOTE, "latency", "Average")] = [float("nan")] * n  # an empty series, as in the data
    return columns


def normal_columns() -> dict[tuple[str, str, str], list[float]]:
    latency = [1.0] * NORMAL_POINTS
    availability = [100.0] * NORMAL_POINTS
    for i in LATENCY_SPIKES:
        latency[i] = 3.0
    for i in AVAILABILITY_DIPS:
        availability[i] = 90.0
    columns = {(node, "latency", "Average"): [1.0] * NORMAL_POINTS for node in NODES if node != FRONT}
    columns[(FRONT, "latency", "Average")] = latency
    columns[(FRONT, "availability", "Average")] = availability
    return columns


def write_issue(scenario: Path, split: str, name: str, metric: str, root: str, start: datetime = ISSUE_START) -> Path:
    issue = scenario / split / name
    write_metrics(issue / "metrics.csv", start, issue_columns())
    target = {
        "target": {"node": FRONT, "metric": metric, "agg": "Average", "timestamp": int((start + timedelta(seconds=400)).timestamp())},
        "root_cause": {"node": root, "metric": None},
        "metadata": {"reproducibility": {"command": "make it slow"}},
    }
    (issue / "target.json").write_text(json.dumps(target))
    return issue


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    src = tmp_path / "petshop"
    calm = src / "calm"
    write_graph(calm / "graph.csv")
    write_metrics(calm / "noissue" / "metrics.csv.gz", NORMAL_START, normal_columns())
    write_issue(calm, "train", "issue_0", "latency", DB)
    write_issue(calm, "test", "issue_1", "availability", API)
    broken = write_issue(calm, "test", "issue_2", "latency", DB)
    (broken / "target.json").write_text('{"target": {"node": ')
    wavy = src / "wavy"
    write_graph(wavy / "graph.csv", transposed=True)
    write_issue(wavy, "train", "issue_0", "latency", API)
    return src


@pytest.fixture
def imported(dataset: Path, tmp_path: Path):
    out = tmp_path / "out"
    return out, import_petshop(dataset, out)


def test_one_bundle_per_issue_and_five_false_alarms_all_valid(imported):
    out, summary = imported
    assert sorted(summary.written) == sorted([
        "calm/train/issue_0", "calm/test/issue_1", "wavy/train/issue_0",
        *[f"calm/noissue/false_alarm_{k}" for k in range(5)],
    ])
    for label in summary.written:
        assert validate_bundle(out / label) == []
    assert any("wavy" in note and "no noissue" in note for note in summary.notes)


def test_a_broken_issue_is_reported_and_skipped(imported, dataset):
    _, summary = imported
    assert [s.case for s in summary.skipped] == ["calm/test/issue_2"]
    reason = summary.skipped[0].reason
    assert str(dataset / "calm" / "test" / "issue_2" / "target.json") in reason and "not valid JSON" in reason


@pytest.mark.parametrize("scenario", ["calm", "wavy"])
def test_topology_is_caller_to_callee_whichever_way_the_matrix_is_stored(imported, scenario):
    out, _ = imported
    manifest = load_manifest(out / scenario / "train" / "issue_0")
    assert sorted((e.caller, e.callee) for e in manifest.topology.edges) == sorted(CALLS)
    types = {r.id: r.type for r in manifest.topology.resources}
    assert types == {FRONT: "service", CLIENT: "client", API: "AWS::ECS::Fargate", DB: "AWS::DynamoDB::Table", REMOTE: "remote"}


def test_trigger_ground_truth_and_window_come_from_target_json(imported):
    out, _ = imported
    latency = load_manifest(out / "calm" / "train" / "issue_0")
    assert latency.id == "petshop-calm-train-issue_0"
    assert (latency.trigger.resource, latency.trigger.metric, latency.trigger.statistic) == (FRONT, "latency", "Average")
    assert latency.trigger.comparison == "GreaterThanThreshold"
    assert latency.trigger.state_change_time == ISSUE_START + timedelta(seconds=400)
    assert latency.ground_truth.resource == DB
    assert latency.ground_truth.cause is None and latency.ground_truth.fault == "latency"
    assert not latency.ground_truth.false_alarm
    # five 5-minute points: the window covers the last point's period too
    assert (latency.window.start, latency.window.end) == (ISSUE_START, ISSUE_START + 5 * STEP)
    availability = load_manifest(out / "calm" / "test" / "issue_1")
    assert availability.trigger.comparison == "LessThanThreshold"
    assert availability.ground_truth.resource == API


def test_issue_baseline_is_two_normal_hours_ending_at_the_same_time_of_day(imported):
    out, _ = imported
    manifest = load_manifest(out / "calm" / "train" / "issue_0")
    # the issue starts at 10:00; the earliest normal day ends a 24-point slice at 10:00 too
    assert manifest.baseline.start == NORMAL_START + timedelta(hours=8)
    assert manifest.baseline.end == NORMAL_START + timedelta(hours=10)
    metrics = pd.read_parquet(out / "calm" / "train" / "issue_0" / "metrics.parquet")
    stamps = pd.to_datetime(metrics["timestamp"], utc=True)
    in_baseline = metrics[(stamps >= manifest.baseline.start) & (stamps < manifest.baseline.end)]
    in_window = metrics[(stamps >= manifest.window.start) & (stamps < manifest.window.end)]
    assert len(in_baseline) == 24 * 6  # 6 series recorded in normal operation
    # 5 nodes' latency + availability + requests, minus the empty remote series
    assert len(in_window) == 5 * 6
    assert len(metrics) == len(in_baseline) + len(in_window)
    assert set(metrics["namespace"]) == {"X-Ray/ServiceMap"} and set(metrics["dimensions"]) == {"{}"}


def test_without_normal_data_there_is_no_baseline(imported):
    out, _ = imported
    assert load_manifest(out / "wavy" / "train" / "issue_0").baseline is None


def test_false_alarms_fire_at_the_worst_normal_moment_of_each_segment(imported):
    out, _ = imported
    # Alarm kinds alternate (availability, latency, ...); 572 usable points split into segments
    # 2-116, 117-231, 232-345, 346-459, 460-573; each alarm sits on its segment's worst point.
    expected = [("availability", 50), ("latency", 150), ("availability", 300), ("latency", 400), ("availability", 500)]
    for k, (metric, index) in enumerate(expected):
        manifest = load_manifest(out / "calm" / "noissue" / f"false_alarm_{k}")
        moment = NORMAL_START + index * STEP
        assert manifest.ground_truth.false_alarm and manifest.ground_truth.resource is None
        assert (manifest.trigger.resource, manifest.trigger.metric) == (FRONT, metric)
        assert manifest.trigger.state_change_time == moment
        assert (manifest.window.start, manifest.window.end) == (moment - 2 * STEP, moment + 3 * STEP)
        assert manifest.baseline.duration == timedelta(hours=2)
        separate = manifest.baseline.end <= manifest.window.start or manifest.baseline.start >= manifest.window.end
        assert separate, f"false_alarm_{k}: baseline overlaps the alarm window"


def test_resource_types_from_xray_names():
    assert resource_type("lambdastatusupdater_AWS::Lambda::Function") == "AWS::Lambda::Function"
    assert resource_type("adoptions@db.us-west-2.rds.amazonaws.com_Database::SQL") == "Database::SQL"
    assert resource_type("AWS::StepFunctions::StateMachine") == "AWS::StepFunctions::StateMachine"
    assert resource_type("PetSearch_client") == "client"
    assert resource_type("PetSite") == "service"


def test_cli_imports_and_prints_a_summary(dataset, tmp_path, capsys):
    assert main(["import", "petshop", str(dataset), str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "petshop: 8 bundles written" in captured.out and "1 skipped" in captured.out
    assert "skipped calm/test/issue_2" in captured.err


def test_cli_rejects_a_source_in_the_wrong_layout(tmp_path, capsys):
    (tmp_path / "src" / "random").mkdir(parents=True)
    assert main(["import", "petshop", str(tmp_path / "src"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no PetShop scenario found" in err and str(tmp_path / "src") in err


def test_cli_rejects_a_missing_source(tmp_path, capsys):
    assert main(["import", "petshop", str(tmp_path / "absent"), str(tmp_path / "out")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_cli_exits_2_when_every_case_is_broken(tmp_path, capsys):
    src = tmp_path / "src"
    write_graph(src / "s" / "graph.csv")
    issue = write_issue(src / "s", "train", "issue_0", "latency", DB)
    (issue / "metrics.csv").write_text("microservice,Front\nmetric,latency\nstatistic,Average\nunix_timestamp,\n1681855320.0,fast\n")
    assert main(["import", "petshop", str(src), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: nothing imported: s/train/issue_0:")
    assert str(issue / "metrics.csv") in err and "'fast' is not a number" in err


def test_cli_reports_a_graph_that_is_not_square(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "s").mkdir(parents=True)
    (src / "s" / "graph.csv").write_text(",A,B\nA,0,1\nC,0,0\n")
    write_issue(src / "s", "train", "issue_0", "latency", DB)
    assert main(["import", "petshop", str(src), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(src / "s" / "graph.csv") in err and "row and column names differ" in err
