"""Ranking, specificity, cause and calibration arithmetic against hand-computed cases."""

from __future__ import annotations

import json

import pytest

from evals.gate import read_gate, shortfalls
from evals.metrics import CaseResult, build_report, calibration, group_metrics, p95
from evals.report import to_json, to_markdown
from domain.errors import UserError


def incident(truth: str, ranked: list[str], **extra) -> CaseResult:
    return CaseResult(bundle=f"b-{truth}-{len(ranked)}", dataset="ds", truth_resource=truth, ranked_resources=ranked, **extra)


def false_alarm(**extra) -> CaseResult:
    return CaseResult(bundle="fa", dataset="ds", false_alarm=True, **extra)


# Six incidents: ranks 1, 2 (the repeated "b" counts once), 5, miss, abstained, failed.
CASES = [
    incident("a", ["a", "b", "c"], truth_cause="change", top_cause="change", seconds=1.0),
    incident("c", ["b", "b", "c"], truth_cause="dependency", top_cause="component", seconds=2.0),
    incident("d", ["a", "b", "c", "e", "d"], seconds=3.0),
    incident("x", ["a"], seconds=4.0),
    incident("a", ["a"], abstained=True, truth_cause="change", top_cause="change", seconds=5.0),
    incident("a", [], error="RuntimeError: boom", seconds=6.0),
    false_alarm(abstained=True, seconds=7.0),
    false_alarm(ranked_resources=["a"], seconds=8.0),
    false_alarm(error="ValueError: bad", seconds=9.0),
]


def test_ranks_count_a_resource_once_and_treat_abstention_and_failure_as_misses():
    assert [c.rank for c in CASES[:6]] == [1, 2, 5, None, None, None]


def test_accuracy_at_k_avg5_and_mrr():
    m = group_metrics("ds", CASES)
    assert (m.incidents, m.false_alarms, m.failures) == (6, 3, 2)
    assert m.ac1 == pytest.approx(1 / 6)
    assert m.ac2 == pytest.approx(2 / 6)
    assert m.ac3 == pytest.approx(2 / 6)
    assert m.ac4 == pytest.approx(2 / 6)
    assert m.ac5 == pytest.approx(3 / 6)
    # (1 + 2 + 2 + 2 + 3) / 6 / 5
    assert m.avg5 == pytest.approx(1 / 3)
    # (1 + 1/2 + 1/5) / 6
    assert m.mrr == pytest.approx(1.7 / 6)


def test_lead_at_1_counts_a_right_weak_lead_that_ac1_does_not():
    # Right first hypothesis: case 1 (committed) and case 5 (abstained, shown as a weak lead);
    # cases 2-4 lead with another resource and case 6 failed: 2 of 6.
    m = group_metrics("ds", CASES)
    assert m.lead1 == pytest.approx(2 / 6)
    assert m.ac1 == pytest.approx(1 / 6)


def test_specificity_counts_only_clean_abstentions_on_false_alarms():
    assert group_metrics("ds", CASES).specificity == pytest.approx(1 / 3)


def test_cause_accuracy_only_where_ground_truth_has_a_cause():
    m = group_metrics("ds", CASES)
    # right, wrong category, abstained (wrong even though its top cause matches)
    assert m.cause_cases == 3
    assert m.cause_accuracy == pytest.approx(1 / 3)


def test_time_mean_and_nearest_rank_p95():
    m = group_metrics("ds", CASES)
    assert m.mean_seconds == pytest.approx(5.0)
    assert m.p95_seconds == 9.0  # ceil(0.95 * 9) = 9th smallest
    assert p95([float(v) for v in range(1, 21)]) == 19.0  # ceil(19.0) = 19th smallest
    assert p95([3.0, 1.0, 2.0]) == 3.0
    assert p95([]) is None


def test_metrics_are_absent_rather_than_zero_when_nothing_to_measure():
    only_alarms = group_metrics("fa", [false_alarm(abstained=True)])
    assert only_alarms.ac1 is None and only_alarms.mrr is None and only_alarms.specificity == 1.0
    only_incidents = group_metrics("inc", [incident("a", ["a"])])
    assert only_incidents.specificity is None and only_incidents.cause_accuracy is None


def test_calibration_bins_and_expected_calibration_error():
    cases = [
        incident("a", ["a"], top_confidence=0.9),   # bin 0.9-1.0, correct
        incident("a", ["b"], top_confidence=1.0),   # bin 0.9-1.0 (top edge), wrong
        incident("a", ["b"], top_confidence=0.25),  # bin 0.2-0.3, wrong
        incident("a", ["a"], top_confidence=0.35),  # bin 0.3-0.4, correct
        incident("a", ["a"], top_confidence=0.8, abstained=True),  # no #1: left out
        false_alarm(ranked_resources=["a"], top_confidence=0.7),   # not a real incident: left out
    ]
    cal = calibration(cases)
    assert cal.cases == 4
    by_low = {round(b.low, 1): b for b in cal.bins if b.count}
    assert set(by_low) == {0.2, 0.3, 0.9}
    assert by_low[0.9].count == 2
    assert by_low[0.9].mean_confidence == pytest.approx(0.95)
    assert by_low[0.9].accuracy == pytest.approx(0.5)
    # 2/4 * |0.5 - 0.95| + 1/4 * |0 - 0.25| + 1/4 * |1 - 0.35|
    assert cal.ece == pytest.approx(0.45)
    # Over-confident: the 0.9 bin (95 % said, half right) and the 0.2 bin (25 % said, none right);
    # the 0.3 bin said 35 % of an answer that was right, which misleads no one into acting.
    assert cal.ece_over == pytest.approx(2 / 4 * 0.45 + 1 / 4 * 0.25)


def test_calibration_without_any_hypothesis_has_no_ece():
    assert calibration([incident("a", [], abstained=True)]).ece is None


def test_report_groups_by_dataset_subset_and_fault_type():
    cases = [
        CaseResult(bundle="p/lt/test/1", dataset="petshop", subset="low_traffic/test", truth_resource="a",
                   ranked_resources=["a"], fault="latency"),
        CaseResult(bundle="p/lt/train/1", dataset="petshop", subset="low_traffic/train", truth_resource="a",
                   ranked_resources=["b"], fault="latency"),
        CaseResult(bundle="p/lt/noissue/fa", dataset="petshop", subset="low_traffic/noissue", false_alarm=True, abstained=True),
        CaseResult(bundle="n/d/1", dataset="nezha", subset="2023-01-29", truth_resource="s",
                   ranked_resources=["t", "s"], fault="exception"),
    ]
    report = build_report("out/bundles", cases)
    groups = {g.group: g for g in report.groups}
    assert set(groups) == {"all", "petshop", "petshop/low_traffic/test", "petshop/low_traffic/train",
                           "petshop/low_traffic/noissue", "nezha", "nezha/2023-01-29"}
    assert groups["all"].ac1 == pytest.approx(1 / 3)
    assert groups["petshop"].ac1 == pytest.approx(1 / 2)
    assert groups["petshop/low_traffic/test"].ac1 == 1.0
    assert groups["nezha"].mrr == pytest.approx(0.5)
    assert groups["petshop"].specificity == 1.0
    faults = {g.group: g for g in report.by_fault}
    assert set(faults) == {"petshop latency", "nezha exception"}
    assert faults["petshop latency"].incidents == 2


def test_gate_reports_each_value_below_its_minimum(tmp_path):
    report = build_report("x", CASES)
    gate_file = tmp_path / "gate.yaml"
    gate_file.write_text("ds:\n  ac1: 0.5\n  ac5: 0.5\n  specificity: 0.2\nmissing:\n  mrr: 0.1\n")
    problems = shortfalls(report, read_gate(gate_file))
    assert len(problems) == 2
    assert problems[0].startswith("ds.ac1: 0.167 is below the minimum 0.500")
    assert problems[1].startswith("missing.mrr: group not in the report")


def test_gate_passes_at_exactly_the_minimum(tmp_path):
    gate_file = tmp_path / "gate.yaml"
    gate_file.write_text("ds:\n  ac1: 0.1666666666666667\n  avg5: 0.3333333333333333\n")
    assert shortfalls(build_report("x", CASES), read_gate(gate_file)) == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("ds:\n  acc1: 0.5\n", "ds.acc1: unknown metric"),
        ("ds:\n  ac1: high\n", "ds.ac1: 'high' is not a number"),
        ("- ac1\n", "expected a mapping of group"),
        ("ds: [\n", "not valid YAML"),
    ],
)
def test_bad_gate_files_name_the_problem(tmp_path, text, message):
    gate_file = tmp_path / "gate.yaml"
    gate_file.write_text(text)
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace(".", r"\.")):
        read_gate(gate_file)


def test_path_ok_at_1_is_the_share_of_correct_number_ones_whose_path_fully_checks():
    # Three incidents with the truth at #1: path checks, path fails a check, no path (not checked).
    # The wrong #1 and the abstention do not count, even with a path that checks: 1 of 3.
    cases = [
        incident("a", ["a"], top_path_ok=True),
        incident("a", ["a", "b"], top_path_ok=False),
        incident("a", ["a"]),
        incident("a", ["b", "a"], top_path_ok=True),
        incident("a", ["a"], abstained=True, top_path_ok=True),
    ]
    assert group_metrics("ds", cases).path_ok1 == pytest.approx(1 / 3)
    assert group_metrics("ds", cases[3:]).path_ok1 is None


def test_path_ok_at_1_is_in_the_table_and_the_json_per_dataset():
    cases = [CaseResult(bundle="p/1", dataset="petshop", truth_resource="a", ranked_resources=["a"], top_path_ok=True),
             CaseResult(bundle="p/2", dataset="petshop", truth_resource="a", ranked_resources=["a"], top_path_ok=False)]
    report = build_report("out", cases)
    lines = to_markdown(report).splitlines()
    header = next(line for line in lines if line.startswith("| group"))
    column = [c.strip() for c in header.split("|")].index("path ok @1")
    row = next(line for line in lines if line.startswith("| petshop "))
    assert [c.strip() for c in row.split("|")][column] == "0.500"
    groups = {g["group"]: g for g in json.loads(to_json(report))["groups"]}
    assert groups["petshop"]["path_ok1"] == 0.5
