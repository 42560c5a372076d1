"""`investigator import nezha` on a tiny dataset built here in the Nezha layout."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ui.cli import main
from evals.importers.nezha import import_nezha, service_of
from tools.bundle.validate import load_manifest, validate_bundle

DAY = "2023-03-01"
MIDNIGHT = datetime(2023, 3, 1, tzinfo=timezone.utc)
ENTRY_POD = "ts-ui-dashboard-5477b965f-2chkr"
GATEWAY_POD = "ts-gateway-service-6f6cfc45b-h5m2n"
ORDER_POD = "ts-order-service-5b67c48447-mv5hb"
DB_POD = "ts-db-service-7f4f5f6f77-5qb6j"
PODS = [ENTRY_POD, GATEWAY_POD, ORDER_POD, DB_POD]
EIGHT_HOURS = 8 * 3600


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return MIDNIGHT + timedelta(hours=hour, minutes=minute, seconds=second)


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


def write_gz_csv(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(frame.to_csv(index=False).encode()))


def write_metrics(folder: Path) -> None:
    """One row a minute, 08:00:09 to 09:59:09; the entry's latency is the UI pod's server P90."""
    rng = np.random.default_rng(7)
    minutes = [at(8, 0, 9) + timedelta(minutes=i) for i in range(120)]
    stamps = [int(m.timestamp()) for m in minutes]
    entry_p90 = 0.5 + 0.3 * np.sin(np.arange(120) / 5.0)
    for pod in PODS:
        server = entry_p90 if pod == ENTRY_POD else rng.uniform(0.01, 0.2, 120)
        write_gz_csv(folder / f"{pod}_metric.csv.gz", pd.DataFrame({
            "Time": [f"{m:%Y-%m-%d %H:%M:%S}.000 +0000 UTC" for m in minutes],
            "TimeStamp": stamps,
            "PodName": pod,
            "CpuUsageRate(%)": rng.uniform(1, 5, 120),
            "PodServerLatencyP90(s)": server,
            "PodClientLatencyP90(s)": rng.uniform(0.01, 0.2, 120),
            "PodWorkload(Ops)": rng.uniform(0.5, 2, 120),
            "NodeCpuUsageRate(%)": rng.uniform(5, 9, 120),
        }))
    write_gz_csv(folder / "front_service.csv.gz", pd.DataFrame({
        "Time": [f"{m:%Y-%m-%d %H:%M:%S}.000 +0000 UTC" for m in minutes],
        "TimeStamp": stamps,
        "ServiceName": "Frontend",
        "SuccessRate(%)": 0.0,
        "LatencyP50(s)": entry_p90 / 2,
        "LatencyP90(s)": entry_p90,
    }))


def log_row(moment: datetime, pod: str, trace: str, message: str) -> dict:
    docker = {"log": f"{(moment + timedelta(hours=8)):%H:%M:%S}.000 ERROR {message}\n", "stream": "stdout",
              "time": moment.isoformat()}
    return {"Timestamp": moment.isoformat(), "TimeUnixNano": ns(moment), "Node": "10.0.0.1", "PodName": pod,
            "Container": "server", "TraceID": trace, "SpanID": "s1", "Log": json.dumps(docker)}


def write_logs(path: Path, rows: list[dict]) -> None:
    write_gz_csv(path, pd.DataFrame(rows))


def trace_rows(moment: datetime, trace: str) -> list[dict]:
    """gateway (root) -> order -> db, one request."""
    start = ns(moment)
    spans = [("g", "root", GATEWAY_POD, "/*"), ("o", "g", ORDER_POD, "POST /order"), ("d", "o", DB_POD, "SELECT")]
    return [{"TraceID": trace, "SpanID": f"{trace}-{sid}", "ParentID": parent if parent == "root" else f"{trace}-{parent}",
             "PodName": pod, "OperationName": op, "StartTimeUnixNano": start + i * 1000,
             "EndTimeUnixNano": start + 5_000_000, "Duration": 5000 - i}
            for i, (sid, parent, pod, op) in enumerate(spans)]


FAULTS = [
    # inject_timestamp runs 8 h behind the telemetry clock...
    {"inject_time": f"{DAY} 09:00:30", "inject_timestamp": str(int(at(9, 0, 30).timestamp()) - EIGHT_HOURS),
     "inject_pod": ORDER_POD, "inject_type": "exception"},
    # ...and is sometimes a copy of the previous entry's
    {"inject_time": f"{DAY} 09:10:05", "inject_timestamp": str(int(at(9, 0, 30).timestamp()) - EIGHT_HOURS),
     "inject_pod": DB_POD, "inject_type": "cpu_contention"},
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    src = tmp_path / "nezha"
    rca, construct = src / "rca_data" / DAY, src / "construct_data" / DAY
    rca.mkdir(parents=True)
    (rca / f"{DAY}-fault_list.json").write_text(json.dumps({"09": FAULTS}))
    write_metrics(rca / "metric")
    write_metrics(construct / "metric")
    for start_minute in (0, 10):
        for offset in range(3):
            minute = start_minute + offset
            rows = [log_row(at(9, minute, 20), ORDER_POD, f"t{minute}", f"o.s.OrderServiceImpl#42 failure {minute}")]
            if offset == 0:
                # a file also holds the minute before it, and here one record from long before
                rows.append(log_row(at(9, minute - 1, 40), GATEWAY_POD, f"p{minute}", "before the fault"))
                rows.append(log_row(at(9, minute - 2, 30), GATEWAY_POD, f"q{minute}", "an earlier fault's record"))
            write_logs(rca / "log" / f"09_{minute:02d}_log.csv.gz", rows)
            write_gz_csv(rca / "trace" / f"09_{minute:02d}_trace.csv.gz", pd.DataFrame(trace_rows(at(9, minute, 10), f"t{minute}")))
    write_logs(construct / "log" / "08_10_log.csv.gz", [log_row(at(8, 10, 20), ORDER_POD, "b1", "all good")])
    write_gz_csv(construct / "trace" / "08_10_trace.csv.gz", pd.DataFrame(trace_rows(at(8, 10, 10), "b1")))
    return src


@pytest.fixture
def imported(dataset: Path, tmp_path: Path):
    out = tmp_path / "out"
    return out, import_nezha(dataset, out)


FIRST, SECOND = f"{DAY}/09_00_30", f"{DAY}/09_10_05"


def test_one_valid_bundle_per_fault(imported):
    out, summary = imported
    assert summary.written == [FIRST, SECOND] and summary.skipped == []
    for label in summary.written:
        assert validate_bundle(out / label) == []


def test_faults_are_aligned_on_inject_time_not_the_skewed_or_repeated_timestamp(imported):
    out, _ = imported
    first, second = load_manifest(out / FIRST), load_manifest(out / SECOND)
    assert first.trigger.state_change_time == at(9, 0, 30)
    assert second.trigger.state_change_time == at(9, 10, 5)
    # From the minute before the fault's minute (where its logs start) through the minutes its
    # effects may show in the metrics (EFFECT_MINUTES), cut where the next fault's begin.
    assert (first.window.start, first.window.end) == (at(8, 59), at(9, 6))
    assert (second.window.start, second.window.end) == (at(9, 9), at(9, 16))
    logs = pd.read_parquet(out / SECOND / "logs.parquet")
    fault_logs = logs[logs["timestamp"] >= pd.Timestamp(second.window.start)]
    assert sorted(fault_logs["message"]) == sorted([
        "17:09:40.000 ERROR before the fault",
        "17:10:20.000 ERROR o.s.OrderServiceImpl#42 failure 10",
        "17:11:20.000 ERROR o.s.OrderServiceImpl#42 failure 11",
        "17:12:20.000 ERROR o.s.OrderServiceImpl#42 failure 12",
    ])


def test_trigger_is_the_entry_p90_latency_and_truth_is_the_faulty_service(imported):
    out, _ = imported
    manifest = load_manifest(out / FIRST)
    assert manifest.id == f"nezha-{DAY}-09_00_30"
    assert (manifest.trigger.resource, manifest.trigger.metric, manifest.trigger.statistic) == ("ts-ui-dashboard", "LatencyP90(s)", "p90")
    assert manifest.trigger.comparison == "GreaterThanThreshold"
    assert manifest.ground_truth.resource == "ts-order-service"
    assert manifest.ground_truth.fault == "exception" and manifest.ground_truth.cause is None
    assert load_manifest(out / SECOND).ground_truth.resource == "ts-db-service"


def test_topology_follows_spans_from_caller_to_callee_behind_the_entry(imported):
    out, _ = imported
    topology = load_manifest(out / FIRST).topology
    assert sorted((e.caller, e.callee) for e in topology.edges) == [
        ("ts-gateway-service", "ts-order-service"),
        ("ts-order-service", "ts-db-service"),
        ("ts-ui-dashboard", "ts-gateway-service"),
    ]
    assert topology.ids() == {"ts-ui-dashboard", "ts-gateway-service", "ts-order-service", "ts-db-service"}
    assert topology.get("ts-ui-dashboard").attributes == {"entry": "true"}


def test_baseline_is_the_fault_free_hour_before_with_the_construct_minutes(imported):
    out, _ = imported
    manifest = load_manifest(out / FIRST)
    # the hour before the window, reaching back to the construct minute (08:10) it holds
    assert (manifest.baseline.start, manifest.baseline.end) == (at(8, 0), at(8, 58, 59))
    logs = pd.read_parquet(out / FIRST / "logs.parquet")
    baseline_logs = logs[logs["timestamp"] < pd.Timestamp(manifest.window.start)]
    assert list(baseline_logs["message"]) == ["16:10:20.000 ERROR all good"]
    spans = pd.read_parquet(out / FIRST / "spans.parquet")
    assert sorted(spans["trace_id"].unique()) == ["b1", "t0", "t1", "t2"]
    metrics = pd.read_parquet(out / FIRST / "metrics.parquet")
    series = metrics[(metrics["resource"] == "ts-order-service") & (metrics["metric"] == "CpuUsageRate(%)")]
    # 08:59:09 ... 09:05:09 in the window (7) and 08:00:09 ... 08:58:09 in the baseline (59)
    assert len(series) == 66
    assert set(series["dimensions"]) == {json.dumps({"pod": ORDER_POD})}


def test_baseline_leaves_out_the_minutes_of_earlier_faults(imported):
    out, _ = imported
    manifest = load_manifest(out / SECOND)
    assert (manifest.baseline.start, manifest.baseline.end) == (at(8, 9), at(9, 8, 59))
    metrics = pd.read_parquet(out / SECOND / "metrics.parquet")
    stamps = metrics.loc[metrics["timestamp"] < pd.Timestamp(manifest.window.start), "timestamp"]
    # the first fault (09:00) shows from 08:59 to 09:05 and is no part of the normal reference
    assert not ((stamps >= pd.Timestamp(at(8, 59))) & (stamps < pd.Timestamp(at(9, 6)))).any()
    assert stamps.dt.floor("min").nunique() == 60 - 7


def test_host_metrics_are_left_out(imported):
    out, _ = imported
    metrics = pd.read_parquet(out / FIRST / "metrics.parquet")
    assert not metrics["metric"].str.startswith("Node").any()
    assert "CpuUsageRate(%)" in set(metrics["metric"])


def test_logs_and_spans_keep_only_the_faults_own_minutes(imported):
    out, _ = imported
    logs = pd.read_parquet(out / FIRST / "logs.parquet")
    assert "08:58:30" not in " ".join(logs["message"])  # two minutes before the fault minute
    assert not any("earlier fault" in m for m in logs["message"])
    assert set(logs["resource"]) == {"ts-order-service", "ts-gateway-service"}
    assert set(logs["log_stream"]) == {ORDER_POD, GATEWAY_POD}
    spans = pd.read_parquet(out / FIRST / "spans.parquet")
    roots = spans[spans["parent_id"].isna()]
    assert set(roots["service"]) == {"ts-gateway-service"}


def test_service_is_pod_without_its_two_hash_suffixes():
    assert service_of("ts-contacts-service-866bd68c97-xcqfx") == "ts-contacts-service"
    assert service_of("ts-food-service-f5756978c-k8vqf") == "ts-food-service"


def test_a_fault_with_an_unreadable_time_is_skipped_and_the_rest_imported(dataset, tmp_path):
    path = dataset / "rca_data" / DAY / f"{DAY}-fault_list.json"
    faults = [dict(FAULTS[0], inject_time="yesterday"), FAULTS[1]]
    path.write_text(json.dumps({"09": faults}))
    summary = import_nezha(dataset, tmp_path / "out")
    assert summary.written == [SECOND]
    assert len(summary.skipped) == 1
    assert "inject_time 'yesterday' is not 'YYYY-MM-DD HH:MM:SS'" in summary.skipped[0].reason
    assert str(path) in summary.skipped[0].reason


def test_a_corrupt_log_file_skips_only_its_fault(dataset, tmp_path):
    broken = dataset / "rca_data" / DAY / "log" / "09_11_log.csv.gz"
    broken.write_bytes(b"not gzip at all")
    summary = import_nezha(dataset, tmp_path / "out")
    assert summary.written == [FIRST]
    assert [s.case for s in summary.skipped] == [SECOND]
    assert str(broken) in summary.skipped[0].reason and "not readable" in summary.skipped[0].reason


def test_malformed_log_rows_are_dropped_with_a_note(dataset, tmp_path):
    path = dataset / "rca_data" / DAY / "log" / "09_01_log.csv.gz"
    text = gzip.decompress(path.read_bytes()).decode() + "a,b,c,d,e,f,g,h,i,j\n"
    path.write_bytes(gzip.compress(text.encode()))
    summary = import_nezha(dataset, tmp_path / "out")
    assert summary.written == [FIRST, SECOND]
    assert any(str(path) in note and "1 row(s) dropped" in note for note in summary.notes)


def test_cli_imports_and_prints_a_summary(dataset, tmp_path, capsys):
    assert main(["import", "nezha", str(dataset), str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "nezha: 2 bundles written" in captured.out and "0 skipped" in captured.out
    assert f"wrote   {FIRST}" in captured.err


def test_cli_rejects_a_source_in_the_wrong_layout(tmp_path, capsys):
    (tmp_path / "src" / "metric").mkdir(parents=True)
    assert main(["import", "nezha", str(tmp_path / "src"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(tmp_path / "src" / "rca_data") in err and "missing" in err


def test_cli_rejects_an_unparseable_fault_list(dataset, tmp_path, capsys):
    path = dataset / "rca_data" / DAY / f"{DAY}-fault_list.json"
    path.write_text("{'09': [")
    assert main(["import", "nezha", str(dataset), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: nothing imported: {DAY}: {path}: not valid JSON")


def test_cli_rejects_a_day_without_the_entry_metrics(dataset, tmp_path, capsys):
    (dataset / "rca_data" / DAY / "metric" / "front_service.csv.gz").unlink()
    assert main(["import", "nezha", str(dataset), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "front_service.csv.gz: missing; expected the entry service's metrics" in err


def test_the_alarm_is_placed_at_the_injection_so_the_fault_began_no_earlier(imported):
    out, _ = imported
    assert load_manifest(out / FIRST).trigger.onset_lookback_s == 0


def test_a_longer_look_back_stops_where_the_previous_fault_s_effects_end(dataset, tmp_path):
    out = tmp_path / "out30"
    import_nezha(dataset, out, minutes_before=30)
    first, second = load_manifest(out / FIRST), load_manifest(out / SECOND)
    assert first.window.start == at(8, 30)  # no earlier fault: the full 30 minutes
    assert second.window.start == at(9, 6)  # the 09:00 fault shows until 09:05
