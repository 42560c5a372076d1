"""Turn the ranker's evidence score into a calibrated probability that hypothesis #1 is right.

The ranker's score (`agent.ranking.confidence`) orders hypotheses well but is not a
probability: on the game days, hypotheses it scored 0.4-0.5 were right 73 % of the time and
those above 0.7 every time. An engineer reading "45 %" at 3 a.m. would distrust a finding that
is usually right, so the reported confidence goes through Platt scaling,

    confidence = sigmoid(SLOPE * logit(score) + INTERCEPT),

a monotone map: the ranking and the abstention decision (taken on the score) are unchanged.

The two constants are fitted by `python -m evals.calibrate` on the game-day suite only (our
own simulation, never the real datasets), and checked out of sample on the PetShop split; see
docs/evaluation.md. Refit them whenever the ranking changes.
"""

from __future__ import annotations

import math

FITTED_ON = "gameday"  # the dataset (as the eval names it) the constants below were fitted on
SLOPE = 1.375
INTERCEPT = 1.369
_EDGE = 1e-4  # scores of exactly 0 or 1 have no logit


def logit(p: float) -> float:
    p = min(max(p, _EDGE), 1.0 - _EDGE)
    return math.log(p / (1.0 - p))


def calibrated(score: float, slope: float = SLOPE, intercept: float = INTERCEPT) -> float:
    """The probability, in [0, 0.99], that a hypothesis with this evidence score is right."""
    if score <= 0.0:
        return 0.0
    value = 1.0 / (1.0 + math.exp(-(slope * logit(score) + intercept)))
    # Never certain: the evidence is telemetry, and telemetry can mislead.
    return round(min(value, 0.99), 3)
