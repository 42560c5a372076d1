"""What a metric means, read from its name: which way is bad, and which team looks at it.

These are vocabulary rules about metric names (CloudWatch's, Prometheus-style and
application metrics alike), not about any service or dataset. The first matching rule wins,
so more specific words come first ("unhealthy" before "healthy").
"""

from __future__ import annotations

import re
from typing import Literal

from domain.models import Domain

BadDirection = Literal["up", "down", "both"]

# (pattern, direction in which a change is bad)
_DIRECTION_RULES: list[tuple[str, BadDirection]] = [
    (r"unhealthy|error|fault|fail|5xx|4xx|exception|throttl|reject|timeout|drop|loss|retr(y|ies)", "up"),
    (r"availability|success|healthy|free|available|running|uptime|hit_?rate|hitratio", "down"),
    (r"latency|duration|response_?time|responsetime|rtt|wait|delay|elapsed|age|lag|backlog|depth", "up"),
    (r"cpu|memory|mem_|mem$|^mem|disk|swap|utili[sz]ation|saturation|syscall|load|usage|used|pressure|iowait", "up"),
    (r"visible|inflight|in_flight|pending|queue", "up"),
]

# (pattern, domain): who would look at this metric first
_DOMAIN_RULES: list[tuple[str, Domain]] = [
    (r"network|bytes|packet|tcp|udp|rx|tx|receive|transmit|connectionerror|connection_error|tls|ssl|handshake|dns|rtt|nat|vpn", "network"),
    (r"cpu|memory|mem_|mem$|^mem|disk|storage|iops|swap|filesystem|throttl|concurren|connections|healthyhost|unhealthy|runningtask|"
     r"capacity|syscall|node_|freeable|burst|credit|saturation|load|queue|visible|age", "infrastructure"),
]

_compiled_direction = [(re.compile(p, re.IGNORECASE), d) for p, d in _DIRECTION_RULES]
_compiled_domain = [(re.compile(p, re.IGNORECASE), d) for p, d in _DOMAIN_RULES]


def _words(metric: str) -> str:
    # Both the name as written ("unhealthyhostcount") and split at case changes
    # ("target_response_time"), so that rules see whole words and the parts.
    return metric.lower() + " " + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", metric).lower()


def bad_direction(metric: str) -> BadDirection:
    """Which change of `metric` indicates trouble; traffic-like metrics are bad both ways."""
    name = _words(metric)
    for pattern, direction in _compiled_direction:
        if pattern.search(name):
            return direction
    return "both"


def metric_domain(metric: str) -> Domain:
    name = _words(metric)
    for pattern, domain in _compiled_domain:
        if pattern.search(name):
            return domain
    return "application"


# Percentages of a whole (0 to 100): availability and success rates, utilisation, "(%)" units.
_PERCENTAGE = re.compile(r"%|percent|availability|success_?rate|utili[sz]ation")


def is_percentage(metric: str) -> bool:
    """A share of a whole in percent, bounded by 0 and 100: near either bound, what varies is
    the small share on that side (errors of an availability near 100), not the level."""
    return bool(_PERCENTAGE.search(_words(metric)))


def is_traffic(metric: str) -> bool:
    """Request-volume metrics: a change here is load, not necessarily a fault. Bytes and
    packets moved are volume too: more of them is more (or larger) requests, whichever end
    of a slow call the resource is on."""
    name = _words(metric)
    return bad_direction(metric) == "both" and bool(
        re.search(r"request|invocation|count|workload|qps|rps|throughput|calls|sent|messages|consumed|bytes|packets|network_?(in|out)\b", name))


# Latency measured on the calling side of outgoing requests ("PodClientLatency",
# "DependencyLatency", "downstream_duration"): the time the resource's dependencies took.
_OUTGOING = re.compile(r"client_?(latency|duration|response_?time)|dependency_?(latency|duration)|downstream|outbound|outgoing")


def is_outgoing(metric: str) -> bool:
    """Latency of the calls a resource makes, as its own client sees them: when the metric
    does not name the dependency it measures, a rise says that *some* dependency got slower,
    not that the resource itself failed."""
    return bool(_OUTGOING.search(_words(metric)))
