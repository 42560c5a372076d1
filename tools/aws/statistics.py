"""Which statistic to request for a metric that no alarm names.

Counters (requests, errors, invocations, bytes...) are only meaningful summed over the
period: their Average is the mean sample (often 1). Everything else (latency, utilisation,
queue depth) is read as the Average. The vocabulary is about metric names in general,
not about any service.
"""

from __future__ import annotations

import re

_COUNTER = re.compile(
    r"(count|errors?|faults?|requests?|invocations?|throttles?|bytes|packets|messages(sent|received|deleted)?|calls|hits|misses|drops)$",
    re.IGNORECASE,
)


def default_stat(metric: str) -> str:
    return "Sum" if _COUNTER.search(metric.replace("_", "")) else "Average"
