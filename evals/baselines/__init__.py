"""Plain baselines the engine is measured against, beside it in the same eval table.

Each baseline reads a bundle only through the `TelemetrySource` (as the engine does) and
returns resources, most likely root cause first. They are deliberately simple and use no
topology: if the engine cannot beat them, the engine's extra machinery is not earning its keep.

- `nsigma`: the largest robust z-score (median / MAD against the baseline) of any of a
  resource's metric series after the likely onset (evals/baselines/nsigma.py).
- `last-change`: resources by their most recent change before the alarm
  (evals/baselines/last_change.py).
"""

from __future__ import annotations

from collections.abc import Callable

from evals.baselines import last_change, nsigma
from tools.bundle.format import IncidentManifest
from tools.source import TelemetrySource

RankFn = Callable[[TelemetrySource, IncidentManifest], list[str]]

BASELINES: dict[str, RankFn] = {"nsigma": nsigma.rank, "last-change": last_change.rank}
