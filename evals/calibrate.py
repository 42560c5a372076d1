"""Fit the confidence calibration of agent/calibration.py from an eval run.

    investigator eval out/bundles --json out/eval.json      # any eval run that holds the fitting set
    python -m evals.calibrate out/eval.json [--fit-on gameday]

Fits Platt scaling (a logistic regression of "hypothesis #1 is right" on the logit of its
evidence score, with a weak prior towards leaving the score as it is) on the incidents of one
dataset where the agent proposed a hypothesis,
prints the two constants to paste into agent/calibration.py, and the expected calibration error
(ECE) per dataset before and after: the datasets not fitted on are the out-of-sample check.
Fit on our own game-day suite, never on the datasets the project is judged on.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from agent.calibration import calibrated, logit
from evals.metrics import CaseResult, calibration


def fitting_points(cases: Sequence[CaseResult]) -> list[tuple[float, bool]]:
    """(evidence score, was #1 right) wherever the agent proposed a hypothesis: real incidents,
    and false alarms it did not recognise (a hypothesis there is always wrong, and the user saw
    its confidence all the same; leaving them out would fit an over-confident map)."""
    return [
        (c.top_evidence_score, c.rank == 1)
        for c in cases
        if c.error is None and not c.abstained and c.top_evidence_score is not None
    ]


PRIOR_WEIGHT = 3.0


def fit_platt(points: Sequence[tuple[float, bool]], prior_weight: float = PRIOR_WEIGHT, steps: int = 200) -> tuple[float, float]:
    """(slope, intercept) of P(right) = sigmoid(slope * logit(score) + intercept), by Newton's
    method on the log-likelihood plus a Gaussian prior pulling towards the identity map
    (slope 1, intercept 0) with the weight of `prior_weight` incidents.

    Why the prior: on a suite where nearly every proposed hypothesis is right, the plain fit
    goes flat and near 1 (every hypothesis would read 95 %+); the prior keeps the map close to
    the score where the data say little, and it keeps the fit finite when outcomes separate.
    """
    if len(points) < 2:
        raise ValueError("need at least two scored incidents to fit a calibration")
    xs = [logit(score) for score, _ in points]
    ys = [1.0 if right else 0.0 for _, right in points]
    a, b = 1.0, 0.0
    for _ in range(steps):
        ga, gb = -prior_weight * (a - 1.0), -prior_weight * b
        haa = hbb = prior_weight + 1e-9
        hab = 0.0
        for x, y in zip(xs, ys):
            p = 1.0 / (1.0 + math.exp(-(a * x + b)))
            w = p * (1.0 - p)
            ga += (y - p) * x
            gb += y - p
            haa += w * x * x
            hab += w * x
            hbb += w
        det = haa * hbb - hab * hab
        if det <= 0:
            break
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a, b = a + da, b + db
        if abs(da) + abs(db) < 1e-10:
            break
    return a, b


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("eval_json", type=Path, help="the JSON written by `investigator eval --json`")
    parser.add_argument("--fit-on", default="gameday", help="dataset to fit on (default: gameday)")
    parser.add_argument("--prior-weight", type=float, default=PRIOR_WEIGHT,
                        help=f"pull towards the identity map, in incidents (default: {PRIOR_WEIGHT:g})")
    args = parser.parse_args(argv)
    try:
        cases = [CaseResult(**c) for c in json.loads(args.eval_json.read_text())["cases"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {args.eval_json}: not a readable eval JSON ({exc})", file=sys.stderr)
        return 2
    points = fitting_points([c for c in cases if c.dataset == args.fit_on])
    if len(points) < 2:
        print(f"error: {args.eval_json}: fewer than two scored {args.fit_on!r} incidents to fit on", file=sys.stderr)
        return 2
    slope, intercept = fit_platt(points, args.prior_weight)
    print(f"fitted on {len(points)} {args.fit_on} incidents:\nSLOPE = {slope:.3f}\nINTERCEPT = {intercept:.3f}\n")
    print("ECE per dataset (before calibration -> with these constants):")
    for dataset in sorted({c.dataset for c in cases}):
        mine = [c for c in cases if c.dataset == dataset and c.top_evidence_score is not None]
        raw = calibration([c.model_copy(update={"top_confidence": c.top_evidence_score}) for c in mine])
        fitted = calibration([
            c.model_copy(update={"top_confidence": calibrated(c.top_evidence_score, slope, intercept)}) for c in mine
        ])
        if raw.ece is not None and fitted.ece is not None:
            print(f"  {dataset}: {raw.ece:.3f} -> {fitted.ece:.3f} (n = {raw.cases})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
