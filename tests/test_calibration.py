"""Confidence calibration: the map keeps the ranking, and the fit recovers a known model."""

from __future__ import annotations

import math
import random

import pytest

from agent.calibration import calibrated, logit
from evals.calibrate import fit_platt, fitting_points, main
from evals.metrics import CaseResult


def test_calibration_is_monotone_so_the_ranking_and_abstention_do_not_change():
    scores = [i / 100 for i in range(1, 100)]
    values = [calibrated(s) for s in scores]
    assert values == sorted(values)
    assert all(0.0 <= v <= 0.99 for v in values)
    assert calibrated(0.0) == 0.0


def test_identity_constants_leave_the_score_as_it_is():
    # slope 1, intercept 0 is the identity on the logit scale
    for score in (0.1, 0.4, 0.75):
        assert calibrated(score, 1.0, 0.0) == pytest.approx(score, abs=1e-3)


def test_fit_recovers_the_model_that_generated_the_outcomes():
    rng = random.Random(7)
    slope, intercept = 2.0, 1.0
    points = []
    for _ in range(4000):
        score = rng.uniform(0.3, 0.95)
        p = 1.0 / (1.0 + math.exp(-(slope * logit(score) + intercept)))
        points.append((score, rng.random() < p))
    a, b = fit_platt(points)
    assert a == pytest.approx(slope, abs=0.35)
    assert b == pytest.approx(intercept, abs=0.25)


def test_fit_on_perfectly_separated_outcomes_stays_finite():
    a, b = fit_platt([(0.3, False), (0.35, False), (0.8, True), (0.9, True)])
    assert math.isfinite(a) and math.isfinite(b) and a > 0


def _case(bundle: str, right: bool, score: float | None, **kw) -> CaseResult:
    return CaseResult(bundle=bundle, dataset="gameday", truth_resource="db",
                      ranked_resources=["db" if right else "web"], top_evidence_score=score, **kw)


def test_every_proposed_hypothesis_is_fitted_on_and_one_on_a_false_alarm_is_wrong():
    cases = [
        _case("a", True, 0.8),
        _case("b", False, 0.5),
        _case("c", True, 0.3, abstained=True),  # a weak lead: not a claim
        _case("d", True, 0.6, false_alarm=True),  # any hypothesis on a false alarm is wrong
        _case("e", False, None, error="boom"),
    ]
    assert fitting_points(cases) == [(0.8, True), (0.5, False), (0.6, False)]


def test_cli_rejects_a_file_that_is_not_an_eval_json(tmp_path, capsys):
    bad = tmp_path / "eval.json"
    bad.write_text("{}")
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


def test_a_suite_where_everything_proposed_is_right_does_not_flatten_the_map():
    # 60 proposed hypotheses, all right: the plain maximum-likelihood fit would push every
    # score towards 100 %; the prior keeps low scores visibly less certain than high ones.
    points = [(0.4 + 0.01 * i, True) for i in range(60)]
    a, b = fit_platt(points)
    assert a > 0.5
    assert calibrated(0.9, a, b) - calibrated(0.4, a, b) > 0.1


# --- pooled fit, equal weight per dataset, leave-one-dataset-out -----------------------------

from evals.calibration_fit import FitPoint, equal_dataset_weights, fit_map  # noqa: E402
from evals.metrics import build_report, leave_one_dataset_out  # noqa: E402
from evals.report import to_markdown  # noqa: E402


def _generated(dataset: str, n: int, shift: float, seed: int, unfamiliar: list[str] | None = None) -> list[CaseResult]:
    """Cases whose #1 is right with probability sigmoid(logit(score) + shift): shift 0 is a
    score that is already a probability, a negative shift a dataset harder than its scores say."""
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        score = rng.uniform(0.3, 0.95)
        right = rng.random() < 1.0 / (1.0 + math.exp(-(logit(score) + shift)))
        cases.append(CaseResult(bundle=f"{dataset}/{i}", dataset=dataset, truth_resource="db",
                                ranked_resources=["db" if right else "web"], top_evidence_score=score,
                                unfamiliar=unfamiliar or []))
    return cases


def test_a_dataset_left_out_of_the_fit_is_calibrated_worse_than_in_sample():
    # Two datasets of different reliability: a map fitted on one is over- or under-confident on
    # the other, and the pooled map sits between them, so each held-out ECE exceeds its in-sample one.
    cases = _generated("easy", 600, 1.5, seed=1) + _generated("hard", 600, -1.5, seed=2)
    pooled, fits = leave_one_dataset_out(cases)
    assert pooled is not None
    assert [f.dataset for f in fits] == ["easy", "hard"]
    for fit in fits:
        assert fit.cases == 600
        assert fit.ece_left_out > fit.ece_in_sample + 0.1


def test_equal_dataset_weights_make_each_dataset_weigh_the_same_however_many_incidents_it_has():
    # 1000 incidents right 90 % of the time at score 0.7 and 50 right 30 % of the time: weighted
    # equally, the map reads about the mean of the two (60 %) at that score; per incident (the
    # default) it reads the pooled share, 87 %.
    big = [FitPoint(dataset="big", score=0.7, right=i % 10 != 0) for i in range(1000)]
    small = [FitPoint(dataset="small", score=0.7, right=i % 10 < 3) for i in range(50)]
    weights = equal_dataset_weights(big + small)
    assert sum(weights) == pytest.approx(1050)
    assert sum(weights[:1000]) == pytest.approx(sum(weights[1000:]))
    assert fit_map(big + small, weights=weights).confidence(0.7) == pytest.approx(0.6, abs=0.03)
    assert fit_map(big + small).confidence(0.7) == pytest.approx((900 + 15) / 1050, abs=0.02)


def test_a_signal_that_makes_answers_less_reliable_is_fitted_a_cost_and_a_harmless_one_none():
    familiar = _generated("a", 800, 0.0, seed=3)
    stale = _generated("a", 800, -1.5, seed=4, unfamiliar=["stale_baseline"])
    few = _generated("a", 800, 0.0, seed=5, unfamiliar=["few_findings"])
    fitted = fit_map([FitPoint(dataset="a", score=c.top_evidence_score, right=c.rank == 1, unfamiliar=c.unfamiliar)
                      for c in familiar + stale + few])
    assert fitted.costs["stale_baseline"] == pytest.approx(-1.5, abs=0.35)
    assert -0.3 <= fitted.costs["few_findings"] <= 0.0
    # Signals no fitting incident shows keep the documented default shrink.
    assert fitted.costs["one_modality"] == pytest.approx(-0.5, abs=1e-6)


def test_calibrate_prints_the_pooled_constants_and_a_leave_one_out_table(tmp_path, capsys):
    cases = _generated("gameday", 120, 1.0, seed=6) + _generated("nezha", 30, -1.0, seed=7)
    path = tmp_path / "eval.json"
    path.write_text(build_report("b", cases).model_dump_json())
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert 'FITTED_ON = "pooled: gameday, nezha"' in out and "SLOPE = " in out and "SIGNAL_COSTS = " in out
    assert "| dataset | n | ECE in-sample (pooled fit) | ECE leave-one-out |" in out
    assert "| gameday | 120 |" in out and "| nezha | 30 |" in out


def test_the_eval_report_shows_the_left_out_ece_beside_the_in_sample_one():
    cases = _generated("gameday", 120, 1.0, seed=8) + _generated("petshop", 40, -1.0, seed=9)
    report = build_report("b", cases)
    assert {f.dataset for f in report.calibration_fit} == {"gameday", "petshop"}
    assert all(f.ece_left_out is not None and f.ece_in_sample is not None for f in report.calibration_fit)
    markdown = to_markdown(report)
    assert "ECE leave-one-out" in markdown and "| petshop | 40 |" in markdown


def test_the_left_out_ece_says_how_much_of_it_is_over_confidence():
    # A map fitted on the hard dataset alone reads too low on the easy one (under-confident: none
    # of its error would make an engineer act on a wrong answer); fitted on the easy one, it reads
    # too high on the hard one, and nearly all of that ECE is over-confidence.
    cases = _generated("easy", 600, 1.5, seed=1) + _generated("hard", 600, -1.5, seed=2)
    _, fits = leave_one_dataset_out(cases)
    by_name = {f.dataset: f for f in fits}
    easy, hard = by_name["easy"], by_name["hard"]
    assert easy.ece_left_out > 0.1 and easy.ece_over_left_out < 0.02
    assert hard.ece_left_out > 0.1 and hard.ece_over_left_out > hard.ece_left_out - 0.02
    assert "of it over-confident" in to_markdown(build_report("b", cases))
