"""The alarm that pages: thresholds set from normal operation, evaluated like CloudWatch does.

An engineer sets the threshold a margin beyond what the metric did in normal operation; the
alarm goes to ALARM when (usually three) consecutive one-minute datapoints breach it, and CloudWatch
changes the state shortly after the last period closes. Alarms on rare, bursty errors
(load balancer 5xx) use fewer datapoints, as engineers set them.
"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np

from domain.models import Trigger
from evals.gameday.metrics import MetricBook
from evals.gameday.scenario import AlarmSpec, Injection

LATEST_MINUTES_AFTER_ONSET = 12


class NoAlarmFired(RuntimeError):
    """The scenario's fault did not breach any of its alarms: a generator defect, not user input."""


def _nice(value: float, up: bool) -> float:
    """Round to two significant digits, away from the normal range."""
    if value <= 0:
        return 0.0
    exponent = math.floor(math.log10(value)) - 1
    steps = (math.ceil if up else math.floor)(value / 10**exponent)
    return round(steps * 10**exponent, max(0, -exponent))


def _threshold(normal: np.ndarray, greater: bool, tight: bool = False) -> float:
    normal = normal[~np.isnan(normal)]
    if greater and tight:
        return _nice(normal.max() * 1.05, up=True)
    if greater:
        return _nice(max(normal.max() * 1.25, normal.max() + 3 * normal.std()), up=True)
    return _nice(normal.min() * 0.6, up=False)


def evaluate(book: MetricBook, spec: AlarmSpec, onset: int) -> tuple[float, int] | None:
    """(threshold, minute of the third breaching datapoint), or None when it does not fire in time."""
    keys = [k for k in book.series if k.resource == spec.resource and k.metric == spec.metric and k.stat == spec.stat
            and k.dimensions == tuple(sorted(spec.dimensions))]
    if not keys:
        return None
    series = book.series[keys[0]]
    greater = spec.comparison.startswith("Greater")
    threshold = _threshold(series[:onset], greater, spec.tight)
    if greater:
        threshold = max(threshold, spec.floor)
    breach = series > threshold if greater else series < threshold
    n = spec.datapoints
    for t in range(onset + n - 1, min(len(series), onset + LATEST_MINUTES_AFTER_ONSET)):
        if breach[t - n + 1: t + 1].all():
            return threshold, t
    return None


def choose(book: MetricBook, inj: Injection) -> tuple[Trigger, int]:
    """The trigger of the bundle: one of the scenario's alarms that fires, picked by the seed."""
    order = list(inj.rng.permutation(len(inj.alarms)))
    for index in order:
        spec = inj.alarms[index]
        fired = evaluate(book, spec, inj.onset)
        if fired is None:
            continue
        threshold, minute = fired
        changed = inj.at(minute + 1) + timedelta(seconds=int(inj.rng.integers(5, 50)))
        trigger = Trigger(alarm_name=spec.name, resource=spec.resource, metric=spec.metric, namespace=spec.namespace,
                          statistic=spec.stat, threshold=threshold, comparison=spec.comparison, state_change_time=changed)
        return trigger, minute + 1
    names = ", ".join(a.name for a in inj.alarms)
    raise NoAlarmFired(f"none of the alarms ({names}) fired within {LATEST_MINUTES_AFTER_ONSET} minutes of the onset")
