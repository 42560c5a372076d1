"""Fitting the confidence map of agent/calibration.py: a logistic regression of "hypothesis #1
is right" on the logit of its evidence score, plus one indicator per unfamiliar signal.

    P(right) = sigmoid(slope * logit(score) + intercept + sum of cost[s] over the incident's signals s)

Pooled over datasets, every incident weighing the same. Weighing each dataset the same in total
(`equal_dataset_weights`) was the first choice, so that the game days (five times Nezha's
incidents) would not make the map the simulator's; measured leave-one-dataset-out on the dev
eval it generalised worse (ECE left out 0.20 / 0.40 / 0.15 on game days / Nezha / PetShop,
against 0.15 / 0.41 / 0.10 per incident): a dataset of 16 answers then weighs as much as one of
126, and its binning noise moves the whole map. The weighting stays selectable. A Gaussian prior pulls the map towards leaving the score as it is
(slope 1, intercept 0) and every cost towards the documented default shrink
(DEFAULT_SIGNAL_COST), with the weight of `prior_weight` incidents: where the data say little,
as for a signal that few fitting incidents show, the map stays near those. A cost is never
positive; a signal whose fitted cost would be is refitted at 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from agent.calibration import DEFAULT_SIGNAL_COST, SIGNAL_COSTS, calibrated, logit

PRIOR_WEIGHT = 3.0
SIGNALS: tuple[str, ...] = tuple(SIGNAL_COSTS)


class FitPoint(BaseModel):
    """One proposed hypothesis #1: its dataset, evidence score, whether it was right, its incident's signals."""

    dataset: str
    score: float
    right: bool
    unfamiliar: list[str] = Field(default_factory=list)


class CalibrationMap(BaseModel):
    slope: float
    intercept: float
    costs: dict[str, float] = Field(default_factory=dict, description="logit shift per unfamiliar signal, <= 0")

    def confidence(self, score: float, unfamiliar: Sequence[str] = ()) -> float:
        return calibrated(score, self.slope, self.intercept, unfamiliar, self.costs)


def equal_dataset_weights(points: Sequence[FitPoint]) -> list[float]:
    """Weights giving every dataset the same total, summing to the number of points (so the
    prior weight keeps its meaning in incidents)."""
    sizes: dict[str, int] = {}
    for p in points:
        sizes[p.dataset] = sizes.get(p.dataset, 0) + 1
    return [len(points) / (len(sizes) * sizes[p.dataset]) for p in points]


def _newton(x: np.ndarray, y: np.ndarray, w: np.ndarray, prior: np.ndarray, prior_weight: float, steps: int) -> np.ndarray:
    theta = prior.copy()
    ridge = (prior_weight + 1e-9) * np.eye(len(prior))
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ theta)))
        gradient = x.T @ (w * (y - p)) - prior_weight * (theta - prior)
        hessian = x.T @ (x * (w * p * (1.0 - p))[:, None]) + ridge
        step = np.linalg.solve(hessian, gradient)
        theta = theta + step
        if float(np.abs(step).sum()) < 1e-10:
            break
    return theta


def fit_map(
    points: Sequence[FitPoint], prior_weight: float = PRIOR_WEIGHT, weights: Sequence[float] | None = None,
    signals: Sequence[str] = SIGNALS, steps: int = 100,
) -> CalibrationMap:
    """The map maximising the (weighted) log-likelihood plus the prior, by Newton's method.

    `weights` default to one per incident (see the module doc; `equal_dataset_weights` for the other).
    """
    if len(points) < 2:
        raise ValueError("need at least two scored incidents to fit a calibration")
    w = np.asarray(weights if weights is not None else np.ones(len(points)), dtype=float)
    y = np.asarray([1.0 if p.right else 0.0 for p in points])
    active = list(signals)
    while True:
        x = np.asarray([[logit(p.score), 1.0] + [1.0 if s in p.unfamiliar else 0.0 for s in active] for p in points])
        prior = np.asarray([1.0, 0.0] + [DEFAULT_SIGNAL_COST] * len(active))
        theta = _newton(x, y, w, prior, prior_weight, steps)
        positive = [s for s, cost in zip(active, theta[2:]) if cost > 0.0]
        if not positive:
            break
        active = [s for s in active if s not in positive]
    costs = {s: 0.0 for s in signals} | {s: float(c) for s, c in zip(active, theta[2:])}
    return CalibrationMap(slope=float(theta[0]), intercept=float(theta[1]), costs=costs)


def fit_platt(points: Sequence[tuple[float, bool]], prior_weight: float = PRIOR_WEIGHT, steps: int = 200) -> tuple[float, float]:
    """(slope, intercept) of plain Platt scaling on one dataset's (score, right) points.

    Why the prior: on a suite where nearly every proposed hypothesis is right, the plain fit
    goes flat and near 1 (every hypothesis would read 95 %+); the prior keeps the map close to
    the score where the data say little, and it keeps the fit finite when outcomes separate.
    """
    fitted = fit_map([FitPoint(dataset="", score=s, right=r) for s, r in points], prior_weight, signals=(), steps=steps)
    return fitted.slope, fitted.intercept
