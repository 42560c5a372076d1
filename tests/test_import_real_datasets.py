"""The importers on the real development splits in ../shared/datasets (skipped when absent)."""

from __future__ import annotations

from collections import Counter

import pytest

from evals.importers import nezha, petshop
from tools.bundle.validate import load_manifest

pytestmark = pytest.mark.datasets


def test_petshop_dev_split_gives_38_issues_and_10_false_alarms(datasets_dir, tmp_path):
    summary = petshop.import_petshop(datasets_dir / "petshop" / "dataset", tmp_path)
    assert summary.skipped == []
    issues = [w for w in summary.written if "/noissue/" not in w]
    alarms = [w for w in summary.written if "/noissue/" in w]
    assert len(issues) == 38
    # five per scenario with normal operation recorded (low_traffic, high_traffic)
    assert len(alarms) == 10
    truths = Counter(load_manifest(tmp_path / w).ground_truth.resource for w in issues if "/test/" in w)
    assert len(truths) > 1  # the test split is the one with varied root causes


def test_nezha_dev_split_plans_28_faults_and_finds_the_entry(datasets_dir):
    src = datasets_dir / "nezha-trainticket"
    cases, broken = nezha.plan(src)
    assert broken == [] and len(cases) == 28
    assert len({c.label for c in cases}) == 28
    day = nezha._Day(src, "2023-01-29", [])
    day.load()
    # front_service.csv tracks the UI pod's server latency minute for minute
    assert day.entry == "ts-ui-dashboard"
    assert ("ts-ui-dashboard", "ts-gateway-service") in {(e.caller, e.callee) for e in day.topology.edges}
