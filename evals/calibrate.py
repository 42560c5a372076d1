"""Fit the confidence calibration of agent/calibration.py from an eval run.

    investigator eval out/bundles --json out/eval.json      # an eval run over all dev datasets
    python -m evals.calibrate out/eval.json [--prior-weight 3]

Fits the map (Platt scaling plus one cost per unfamiliar signal; evals/calibration_fit.py) on
the pooled dev data of every dataset in the eval JSON (petshop, nezha, gameday), every incident
weighing the same (evals/calibration_fit.py says why not every dataset). It
prints the constants to paste into agent/calibration.py and, per dataset, the expected
calibration error (ECE) with the pooled map (in-sample) and with a map fitted on the other
datasets only (leave-one-dataset-out): the second is the honest, out-of-sample number.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from evals.calibration_fit import PRIOR_WEIGHT, fit_platt
from evals.metrics import CaseResult, fit_points, leave_one_dataset_out
from evals.report import lodo_table

__all__ = ["fit_platt", "fitting_points", "main"]


def fitting_points(cases: Sequence[CaseResult]) -> list[tuple[float, bool]]:
    """(evidence score, was #1 right) of every proposed hypothesis #1 (see `fit_points`)."""
    return [(p.score, p.right) for p in fit_points(cases)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("eval_json", type=Path, help="the JSON written by `investigator eval --json`")
    parser.add_argument("--prior-weight", type=float, default=PRIOR_WEIGHT,
                        help=f"pull towards the identity map and the default costs, in incidents (default: {PRIOR_WEIGHT:g})")
    args = parser.parse_args(argv)
    try:
        cases = [CaseResult(**c) for c in json.loads(args.eval_json.read_text())["cases"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {args.eval_json}: not a readable eval JSON ({exc})", file=sys.stderr)
        return 2
    pooled, fits = leave_one_dataset_out(cases, args.prior_weight)
    if pooled is None:
        print(f"error: {args.eval_json}: fewer than two scored incidents to fit on", file=sys.stderr)
        return 2
    datasets = sorted({c.dataset for c in cases})
    counts = {d: sum(p.dataset == d for p in fit_points(cases)) for d in datasets}
    print(f"fitted on {sum(counts.values())} proposed hypotheses, each weighing the same "
          f"({', '.join(f'{d} {n}' for d, n in counts.items())}):")
    print(f'FITTED_ON = "pooled: {", ".join(datasets)}"')
    print(f"SLOPE = {pooled.slope:.3f}\nINTERCEPT = {pooled.intercept:.3f}")
    print("SIGNAL_COSTS = {" + ", ".join(f'"{s}": {c:.3f}' for s, c in pooled.costs.items()) + "}\n")
    print("\n".join(lodo_table(fits)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
