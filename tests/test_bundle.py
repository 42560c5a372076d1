"""Bundles: what is written reads back the same, and every bad input is one clear line.

Bad-input cases go through the real command-line entry point (`ui.cli.main`) because what
matters is what the on-call engineer sees: exit code 2 and a single line naming the file and
the field, never a traceback.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ui.cli import main
from domain.models import ChangeEvent, Edge, GroundTruth, Resource, TimeWindow, Topology, Trigger
from tools.bundle.errors import BundleError
from tools.bundle.format import IncidentManifest
from tools.bundle.source import BundleSource
from tools.bundle.validate import load_manifest, validate_bundle
from tools.bundle.writer import write_bundle

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _minutes(count: int, start: datetime = T0) -> list[datetime]:
    return [start + timedelta(minutes=i) for i in range(count)]


def _manifest() -> IncidentManifest:
    return IncidentManifest(
        id="t-1",
        title="latency on api",
        trigger=Trigger(
            alarm_name="api-latency", resource="alb", metric="TargetResponseTime", namespace="AWS/ApplicationELB",
            statistic="Average", threshold=0.5, comparison="GreaterThanThreshold", state_change_time=T0 + timedelta(minutes=8),
        ),
        window=TimeWindow(start=T0, end=T0 + timedelta(minutes=9)),
        baseline=TimeWindow(start=T0 - timedelta(hours=1), end=T0),
        topology=Topology(
            resources=[Resource(id="alb", type="AWS::ElasticLoadBalancingV2::LoadBalancer"), Resource(id="api"), Resource(id="db")],
            edges=[Edge(caller="alb", callee="api"), Edge(caller="api", callee="db")],
        ),
        ground_truth=GroundTruth(resource="db", cause="component", fault="slow-disk"),
    )


def _metrics() -> pd.DataFrame:
    rows = []
    for i, ts in enumerate(_minutes(10)):
        rows.append(("alb", "AWS/ApplicationELB", "TargetResponseTime", "Average", {"LoadBalancer": "app/alb/1"}, ts, 0.1 * i))
        rows.append(("db", "AWS/RDS", "ReadLatency", "Average", {}, ts, 0.004))
    return pd.DataFrame(rows, columns=["resource", "namespace", "metric", "stat", "dimensions", "timestamp", "value"])


def _logs(count: int = 10) -> pd.DataFrame:
    return pd.DataFrame({
        "timestamp": _minutes(count),
        "resource": ["api"] * count,
        "log_group": ["/ecs/api"] * count,
        "log_stream": ["s"] * count,
        "message": [f"line {i}" for i in range(count)],
        "trace_id": [None if i % 2 else f"t{i}" for i in range(count)],
    })


def _spans() -> pd.DataFrame:
    rows = []
    # Two traces: t1 alb -> api -> db, t2 alb -> api only.
    for trace, services, start in (("t1", ["alb", "api", "db"], T0 + timedelta(minutes=1)), ("t2", ["alb", "api"], T0 + timedelta(minutes=2))):
        parent = None
        for depth, service in enumerate(services):
            span_id = f"{trace}-{depth}"
            rows.append((trace, span_id, parent, service, "op", start, start + timedelta(milliseconds=100 - 10 * depth), False, False, "200"))
            parent = span_id
    return pd.DataFrame(rows, columns=["trace_id", "span_id", "parent_id", "service", "operation", "start", "end", "error", "fault", "status"])


def _changes() -> list[ChangeEvent]:
    return [
        ChangeEvent(id="e1", time=T0 + timedelta(minutes=3), source="ecs.amazonaws.com", event_name="UpdateService",
                    resource="api", actor="ci", parameters={"taskDefinition": "api:2"}),
        ChangeEvent(id="e0", time=T0 - timedelta(hours=2), source="ssm.amazonaws.com", event_name="PutParameter", resource="api"),
    ]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "b", _manifest(), metrics=_metrics(), logs=_logs(), spans=_spans(), changes=_changes())


# --- round trip ---------------------------------------------------------------------------


def test_written_bundle_validates_and_reads_back(bundle: Path) -> None:
    assert validate_bundle(bundle) == []
    assert load_manifest(bundle) == _manifest()
    source = BundleSource(bundle)
    everything = TimeWindow(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))

    metrics = source.metrics(everything).data
    assert len(metrics) == 20
    alb = metrics[metrics["resource"] == "alb"].sort_values("timestamp")
    assert alb["value"].tolist() == pytest.approx([0.1 * i for i in range(10)])
    assert alb["timestamp"].iloc[0] == pd.Timestamp(T0)
    assert json.loads(alb["dimensions"].iloc[0]) == {"LoadBalancer": "app/alb/1"}
    assert json.loads(metrics[metrics["resource"] == "db"]["dimensions"].iloc[0]) == {}

    logs = source.logs(everything).data
    assert logs["message"].tolist() == [f"line {i}" for i in range(10)]
    assert logs["trace_id"].isna().sum() == 5

    spans = source.spans(everything).data
    assert len(spans) == 5
    root = spans[spans["span_id"] == "t1-0"].iloc[0]
    assert root["parent_id"] is None or pd.isna(root["parent_id"])
    assert (root["end"] - root["start"]) == pd.Timedelta(milliseconds=100)

    assert {e.id for e in source.changes(everything).data} == {"e0", "e1"}
    assert source.health(everything).data == []
    assert source.topology().data == _manifest().topology


def test_metrics_are_filtered_by_window_and_resource(bundle: Path) -> None:
    source = BundleSource(bundle)
    # Minutes 2..5 inclusive at both ends: 4 points per resource.
    window = TimeWindow(start=T0 + timedelta(minutes=2), end=T0 + timedelta(minutes=5))
    result = source.metrics(window, ["alb"])
    assert result.ok and not result.truncated
    assert result.data["resource"].unique().tolist() == ["alb"]
    assert sorted(result.data["value"].round(6)) == [0.2, 0.3, 0.4, 0.5]
    assert len(source.metrics(window).data) == 8


def test_nothing_in_the_window_is_empty_not_an_error(bundle: Path) -> None:
    source = BundleSource(bundle)
    later = TimeWindow(start=T0 + timedelta(days=1), end=T0 + timedelta(days=2))
    result = source.metrics(later)
    assert result.ok and result.status == "empty" and result.data.empty


def test_changes_are_filtered_by_window(bundle: Path) -> None:
    source = BundleSource(bundle)
    window = TimeWindow(start=T0, end=T0 + timedelta(minutes=9))
    assert [e.id for e in source.changes(window).data] == ["e1"]


def test_spans_for_a_resource_keep_whole_traces(bundle: Path) -> None:
    source = BundleSource(bundle)
    window = TimeWindow(start=T0, end=T0 + timedelta(minutes=9))
    spans = source.spans(window, ["db"]).data
    # Only t1 touches db, and its alb and api spans stay so the caller/callee pairs survive.
    assert set(spans["trace_id"]) == {"t1"}
    assert sorted(spans["service"]) == ["alb", "api", "db"]


def test_too_many_logs_are_sampled_and_the_result_says_so(bundle: Path) -> None:
    source = BundleSource(bundle)
    window = TimeWindow(start=T0, end=T0 + timedelta(minutes=9))
    full = source.logs(window)
    assert not full.truncated and len(full.data) == 10
    cut = source.logs(window, limit=3)
    assert cut.truncated
    assert 0 < len(cut.data) <= 3
    assert cut.note and "10" in cut.note  # says how much there was, so the reader knows what is missing
    # An even sample spans the window instead of keeping only its beginning.
    assert cut.data["timestamp"].max() - cut.data["timestamp"].min() >= pd.Timedelta(minutes=6)


# --- bad input through the CLI ------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, output = _run(capsys, *args)
    assert code == 2, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def _edit_manifest(bundle: Path, edit) -> None:
    path = bundle / "incident.yaml"
    raw = yaml.safe_load(path.read_text())
    edit(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def test_valid_bundle_passes_validate(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _run(capsys, "validate", str(bundle))
    assert code == 0
    assert "valid" in output


def test_missing_bundle_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    line = _one_line_error(capsys, "validate", str(missing))
    assert str(missing) in line
    assert "no such" in line.lower()


def test_bundle_without_incident_yaml(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (bundle / "incident.yaml").unlink()
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "incident.yaml" in line
    assert "missing" in line


def test_malformed_yaml(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (bundle / "incident.yaml").write_text("id: t-1\ntitle: [unclosed\ntrigger: {}\n")
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "incident.yaml" in line
    assert "YAML" in line
    assert "line" in line  # where to look


def test_malformed_timestamp_in_manifest(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit_manifest(bundle, lambda raw: raw["window"].update(start="yesterday at noon"))
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "incident.yaml" in line
    assert "window.start" in line
    assert "yesterday at noon" in line


def test_malformed_timestamp_in_parquet_column(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = _logs(4)
    logs["timestamp"] = ["2024-05-01T12:00:00Z", "2024-05-01T12:01:00Z", "12/31/2024 25:99", "2024-05-01T12:03:00Z"]
    logs.to_parquet(bundle / "logs.parquet", index=False)
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "logs.parquet" in line
    assert "timestamp" in line
    assert "12/31/2024 25:99" in line


def test_iso_string_timestamps_in_parquet_are_valid(bundle: Path) -> None:
    logs = _logs(2)
    logs["timestamp"] = ["2024-05-01T12:00:00Z", "2024-05-01T12:01:00+00:00"]
    logs.to_parquet(bundle / "logs.parquet", index=False)
    assert validate_bundle(bundle) == []
    read = BundleSource(bundle).logs(TimeWindow(start=T0, end=T0 + timedelta(minutes=1))).data
    assert len(read) == 2


def test_unknown_file(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (bundle / "metric.parquet").write_bytes((bundle / "metrics.parquet").read_bytes())
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "metric.parquet" in line
    assert "unknown file" in line


def test_trigger_naming_an_unknown_resource(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit_manifest(bundle, lambda raw: raw["trigger"].update(resource="ghost-alb"))
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "incident.yaml" in line
    assert "trigger.resource" in line
    assert "ghost-alb" in line


def test_empty_window(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit_manifest(bundle, lambda raw: raw["window"].update(end=raw["window"]["start"]))
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "incident.yaml" in line
    assert "window" in line
    assert "empty" in line


def test_jsonl_line_with_bad_json(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = bundle / "changes.jsonl"
    good = path.read_text().splitlines()[0]
    path.write_text(good + "\n" + '{"id": "e2", "time": "2024-05-01T12:04:00Z",\n')
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "changes.jsonl" in line
    assert "line 2" in line
    assert "JSON" in line


def test_jsonl_line_with_a_bad_field(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = bundle / "changes.jsonl"
    path.write_text('{"id": "e2", "time": "soon", "source": "ecs.amazonaws.com", "event_name": "UpdateService"}\n')
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "changes.jsonl" in line
    assert "line 1" in line and "time" in line


def test_every_problem_is_listed_one_per_line(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit_manifest(bundle, lambda raw: raw["trigger"].update(resource="ghost-alb"))
    (bundle / "notes.txt").write_text("hello")
    code, output = _run(capsys, "validate", str(bundle))
    assert code == 2
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 2
    assert any("trigger.resource" in line for line in lines)
    assert any("notes.txt" in line for line in lines)


def test_investigate_on_a_bad_bundle_is_one_line(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit_manifest(bundle, lambda raw: raw["trigger"].update(resource="ghost-alb"))
    line = _one_line_error(capsys, "investigate", "--bundle", str(bundle))
    assert "trigger.resource" in line
    assert "incident.yaml" in line


def test_investigate_on_a_missing_bundle_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_error(capsys, "investigate", "--bundle", str(tmp_path / "nope"))
    assert str(tmp_path / "nope") in line


def test_bundle_source_refuses_an_invalid_bundle(bundle: Path) -> None:
    (bundle / "incident.yaml").unlink()
    with pytest.raises(BundleError, match="incident.yaml"):
        BundleSource(bundle)


def test_corrupt_parquet_file(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (bundle / "spans.parquet").write_text("this is not parquet\nat all\n")
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "spans.parquet" in line
    assert "Parquet" in line


def test_parquet_missing_a_column(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _metrics().drop(columns=["stat"]).assign(dimensions="{}").to_parquet(bundle / "metrics.parquet", index=False)
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "metrics.parquet" in line
    assert "stat" in line and "missing column" in line


def test_jsonl_line_that_is_not_an_object(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (bundle / "changes.jsonl").write_text("[1, 2]\n")
    line = _one_line_error(capsys, "validate", str(bundle))
    assert "changes.jsonl" in line and "line 1" in line
