"""`investigator eval`: bundles are found, grouped by path, run in parallel, failures recorded."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ui.cli import main
from domain.models import Edge, GroundTruth, Hypothesis, Investigation, PathHop, Resource, TimeWindow, Topology, Trigger
from evals.runner import evaluate_bundle, placement, run_eval
from tools.bundle.format import IncidentManifest
from tools.bundle.validate import load_manifest
from tools.bundle.writer import write_bundle

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def make_bundle(path: Path, truth: GroundTruth | None) -> Path:
    manifest = IncidentManifest(
        id=path.name,
        title=path.name,
        trigger=Trigger(alarm_name="alarm", resource="front", metric="latency", state_change_time=T0),
        window=TimeWindow(start=T0.replace(hour=11), end=T0.replace(hour=13)),
        topology=Topology(resources=[Resource(id="front"), Resource(id="db"), Resource(id="cache")],
                          edges=[Edge(caller="front", callee="db"), Edge(caller="front", callee="cache")]),
        ground_truth=truth,
    )
    return write_bundle(path, manifest)


def stub_investigate(path: Path) -> Investigation:
    """Blames `db` first, `cache` second; abstains on `quiet*` bundles; fails on `boom*` bundles."""
    manifest = load_manifest(path)
    if path.name.startswith("boom"):
        raise RuntimeError("analysis exploded\nsecond line that must not be shown")
    hypotheses = [
        Hypothesis(id="h1", resource="db", cause="component", confidence=0.8, title="db", reasoning="r"),
        Hypothesis(id="h2", resource="cache", cause="dependency", confidence=0.3, title="cache", reasoning="r"),
    ]
    quiet = path.name.startswith("quiet")
    return Investigation(id=manifest.id, trigger=manifest.trigger, hypotheses=[] if quiet else hypotheses, abstained=quiet)


@pytest.fixture
def bundles(tmp_path: Path) -> Path:
    root = tmp_path / "bundles"
    make_bundle(root / "shop" / "prod" / "db_down", GroundTruth(resource="db", cause="component", fault="latency"))
    make_bundle(root / "shop" / "prod" / "cache_slow", GroundTruth(resource="cache", cause="component", fault="latency"))
    make_bundle(root / "shop" / "prod" / "boom", GroundTruth(resource="db", fault="latency"))
    make_bundle(root / "shop" / "normal" / "quiet_1", GroundTruth(false_alarm=True))
    make_bundle(root / "shop" / "normal" / "loud_1", GroundTruth(false_alarm=True))
    make_bundle(root / "other" / "unlabelled", None)
    return root


def test_placement_uses_first_component_as_dataset_and_the_rest_as_subset(tmp_path):
    assert placement(tmp_path, tmp_path / "petshop" / "low_traffic" / "test" / "issue_3") == ("petshop", "low_traffic/test")
    assert placement(tmp_path, tmp_path / "nezha" / "b1") == ("nezha", "")


@pytest.mark.parametrize("workers", [1, 2])
def test_every_bundle_is_scored_and_a_failure_is_a_miss_with_one_line(bundles, workers):
    seen = []
    results, notes = run_eval(bundles, workers=workers, investigate=stub_investigate,
                              on_result=lambda done, total, r: seen.append((done, total)))
    by_name = {Path(r.bundle).name: r for r in results}
    assert set(by_name) == {"db_down", "cache_slow", "boom", "quiet_1", "loud_1"}
    assert len(notes) == 1 and "unlabelled" in notes[0] and "no ground_truth" in notes[0]
    assert sorted(seen) == [(i, 5) for i in range(1, 6)]
    assert by_name["db_down"].rank == 1
    assert by_name["cache_slow"].rank == 2
    assert by_name["boom"].error == "RuntimeError: analysis exploded"
    assert by_name["boom"].rank is None
    assert by_name["quiet_1"].false_alarm and by_name["quiet_1"].abstained
    assert (by_name["db_down"].dataset, by_name["db_down"].subset) == ("shop", "prod")


def test_eval_cli_writes_json_and_markdown_and_enforces_the_gate(bundles, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("evals.runner._default_investigate", stub_investigate)
    gate = tmp_path / "gate.yaml"
    # shop/prod: ranks 1, 2, miss -> AC@1 = 1/3, AC@3 = 2/3; shop/normal: specificity 1/2
    gate.write_text("shop/prod:\n  ac1: 0.5\n  ac3: 0.6\nshop/normal:\n  specificity: 0.5\n")
    json_out, md_out = tmp_path / "r" / "eval.json", tmp_path / "r" / "eval.md"
    code = main(["eval", str(bundles), "--workers", "1", "--json", str(json_out), "--markdown", str(md_out),
                 "--gate", str(gate)])
    captured = capsys.readouterr()
    assert code == 1
    assert "gate: shop/prod.ac1: 0.333 is below the minimum 0.500" in captured.err
    assert [line for line in captured.err.splitlines() if line.startswith("gate:")] == [
        "gate: shop/prod.ac1: 0.333 is below the minimum 0.500"
    ]
    report = json.loads(json_out.read_text())
    groups = {g["group"]: g for g in report["groups"]}
    assert groups["shop/prod"]["ac3"] == pytest.approx(2 / 3)
    assert groups["shop/normal"]["specificity"] == pytest.approx(0.5)
    assert "| shop/prod |" in md_out.read_text()
    assert "`shop/prod/boom`: RuntimeError: analysis exploded" in md_out.read_text()


def test_eval_cli_passes_a_gate_it_meets(bundles, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("evals.runner._default_investigate", stub_investigate)
    gate = tmp_path / "gate.yaml"
    gate.write_text("shop/prod:\n  ac3: 0.6\n")
    assert main(["eval", str(bundles), "--workers", "1", "--gate", str(gate)]) == 0
    assert "all 1 minimums met" in capsys.readouterr().err


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "absent", "not a directory"),
    (lambda tmp: tmp, "no bundles found"),
])
def test_eval_cli_rejects_a_directory_without_bundles(tmp_path, capsys, make, message):
    assert main(["eval", str(make(tmp_path))]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_eval_cli_rejects_a_bad_gate_before_running(bundles, tmp_path, capsys):
    gate = tmp_path / "gate.yaml"
    gate.write_text("shop:\n  top1: 0.5\n")
    assert main(["eval", str(bundles), "--gate", str(gate)]) == 2
    assert "shop.top1: unknown metric" in capsys.readouterr().err


def _hop(resource: str, *, significant: bool = True) -> PathHop:
    return PathHop(resource=resource, edge=True, significant=significant, in_time=True)


@pytest.mark.parametrize(("path", "expected"), [
    ([_hop("db"), _hop("front")], True),
    ([_hop("db", significant=False), _hop("front")], False),
    ([], None),
])
def test_the_case_records_whether_number_ones_path_fully_checks(tmp_path, path, expected):
    bundle = make_bundle(tmp_path / "shop" / "db_down", GroundTruth(resource="db", cause="component"))

    def investigate(p: Path) -> Investigation:
        top = Hypothesis(id="h1", resource="db", cause="component", confidence=0.8, title="db", reasoning="r", path=path)
        return Investigation(id="i", trigger=load_manifest(p).trigger, hypotheses=[top])

    assert evaluate_bundle(tmp_path, bundle, investigate).top_path_ok is expected


def test_the_case_keeps_the_unfamiliar_signals_so_the_calibration_can_be_refitted(tmp_path):
    bundle = make_bundle(tmp_path / "shop" / "db_down", GroundTruth(resource="db", cause="component"))

    def investigate(p: Path) -> Investigation:
        top = Hypothesis(id="h1", resource="db", cause="component", confidence=0.6, evidence_score=0.7, title="db",
                         reasoning="r", unfamiliar=["one_modality", "stale_baseline"])
        return Investigation(id="i", trigger=load_manifest(p).trigger, hypotheses=[top])

    case = evaluate_bundle(tmp_path, bundle, investigate)
    assert case.unfamiliar == ["one_modality", "stale_baseline"]
    assert case.top_evidence_score == 0.7
