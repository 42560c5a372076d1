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
