"""Turn the ranker's evidence score into a calibrated probability that hypothesis #1 is right.

The ranker's score (`agent.ranking.confidence`) orders hypotheses well but is not a
probability, so the reported confidence goes through Platt scaling with one extra term per
sign that the incident is unlike the data the map was fitted on (agent/ranking/familiarity.py):

    confidence = sigmoid(SLOPE * logit(score) + INTERCEPT + sum of SIGNAL_COSTS of its signals)

For one incident this is a monotone map of the score (the signals are the incident's, shared by
all its hypotheses), so the ranking and the abstention decision (taken on the score) are
unchanged; an unfamiliar incident only reads less confident.

The constants are fitted by `python -m evals.calibrate` on the pooled development data (PetShop
dev, Nezha dev and the game days, every incident weighing the same), and checked by leaving one
dataset out at a time; see docs/evaluation.md. Refit them whenever the ranking changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from domain.models import UnfamiliarSignal

FITTED_ON = "pooled: gameday, nezha, petshop"  # the datasets (as the eval names them) the constants were fitted on
SLOPE = 0.976
INTERCEPT = 1.765
# Added to the logit per unfamiliar signal. -0.5 is the documented default shrink (a 90 % reads
# 84 %, two signals 77 %) and the prior mean of the fit: it stands where the fitting data hold
# too few incidents with the signal to say more. A cost is never positive: being unlike the
# fitting data is no reason to be surer. A cost near 0 is the data's verdict: on the dev sets
# (2026-12-03) metrics-only evidence and far baselines are common in PetShop, whose answers are
# right, so they make an answer hardly less reliable there. `no_call_graph` rests on five
# no-tracing game days (2026-12-07 refit: two of five right after that day's ranking changes, so
# its cost grew from -0.57 to -1.06; -1.08 at the second refit that day; -0.95 at the fourth
# session's, once 4 of 5 were right; -0.94 at the fifth's).
DEFAULT_SIGNAL_COST = -0.5
SIGNAL_COSTS: dict[UnfamiliarSignal, float] = {
    "one_modality": -0.011,
    "few_findings": -0.440,
    "alarm_series_missing": -0.453,
    "stale_baseline": -0.067,
    "no_call_graph": -0.944,
}
_EDGE = 1e-4  # scores of exactly 0 or 1 have no logit


def logit(p: float) -> float:
    p = min(max(p, _EDGE), 1.0 - _EDGE)
    return math.log(p / (1.0 - p))


def signal_cost(unfamiliar: Iterable[str], costs: Mapping[str, float] | None = None) -> float:
    """The (non-positive) logit shift for these signals; each counts once."""
    table = SIGNAL_COSTS if costs is None else costs
    return sum(min(table.get(signal, 0.0), 0.0) for signal in set(unfamiliar))


def calibrated(
    score: float, slope: float = SLOPE, intercept: float = INTERCEPT,
    unfamiliar: Iterable[str] = (), costs: Mapping[str, float] | None = None,
) -> float:
    """The probability, in [0, 0.99], that a hypothesis with this evidence score is right, in an
    incident showing these unfamiliar signals (`costs` default: SIGNAL_COSTS)."""
    if score <= 0.0:
        return 0.0
    value = 1.0 / (1.0 + math.exp(-(slope * logit(score) + intercept + signal_cost(unfamiliar, costs))))
    # Never certain: the evidence is telemetry, and telemetry can mislead.
    return round(min(value, 0.99), 3)
