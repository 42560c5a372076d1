"""Which topology resource a metric, log group or CloudTrail resource name belongs to.

The rule, the same for every service (no service names in code):

1. A value naming a known resource wins. A dimension value (or a log group / stream name)
   names resource R when it equals R or one of its `/` or `:` separated parts equals R
   (`app/shop-alb/50dc6c495c0c9188` names `shop-alb`). When several dimensions name known
   resources, the first by dimension name (alphabetical) wins, so the choice is stable.
2. Otherwise a metric with a single dimension belongs to that dimension's value.
3. Otherwise the resource is the dimensions written `Name=value` joined by `,` in name order
   (`ClusterName=prod,ServiceName=web`), so distinct dimension sets never merge.

Location dimensions (`AvailabilityZone`, `Region`) slice a resource's metric rather than
name its resource: they take part only when a metric has no other dimension. A `Statistic`
dimension is not part of the identity at all: the local emulator uses it to carry series
whose statistic moto cannot compute (percentiles), see docs/live-aws.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

STAT_DIMENSION = "Statistic"
LOCATION_DIMENSIONS = frozenset({"AvailabilityZone", "Region"})
_SPLIT = re.compile(r"[/:]")


def names_resource(value: str, known: Iterable[str]) -> str | None:
    known_set = known if isinstance(known, (set, frozenset)) else set(known)
    if value in known_set:
        return value
    # A tail after a separator (the resource part of an ARN, even when the id holds ':' itself).
    for match in _SPLIT.finditer(value):
        if value[match.end():] in known_set:
            return value[match.end():]
    for part in reversed([p for p in _SPLIT.split(value) if p]):
        if part in known_set:
            return part
    return None


def identity(dimensions: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in dimensions.items() if k != STAT_DIMENSION}


def resource_for_dimensions(dimensions: Mapping[str, str], known: Iterable[str]) -> str | None:
    """The resource id of a metric with these dimensions; None for a metric without any."""
    dims = identity(dimensions)
    dims = {k: v for k, v in dims.items() if k not in LOCATION_DIMENSIONS} or dims
    known_set = set(known)
    for name in sorted(dims):
        hit = names_resource(dims[name], known_set)
        if hit is not None:
            return hit
    if len(dims) == 1:
        return next(iter(dims.values()))
    if not dims:
        return None
    return ",".join(f"{k}={dims[k]}" for k in sorted(dims))


def resource_for_log(group: str, stream: str, known: Iterable[str]) -> str:
    """The resource of a log stream: a known resource named by the stream, else by the group,
    else the group's last path part (`/aws/lambda/checkout` -> `checkout`)."""
    known_set = set(known)
    hit = names_resource(stream, known_set) if stream else None
    hit = hit or names_resource(group, known_set)
    if hit:
        return hit
    parts = [p for p in group.split("/") if p]
    return parts[-1] if parts else group
