"""What a metric means: which way is bad, which team looks at it, whether it is load.

AWS metrics are looked up by namespace and name in `tools.analysis.metric_table` (as the AWS
documentation describes them). Every other metric (custom namespaces, Prometheus-style and
application metrics) is read from the words of its name, by one rule set:

1. The name is split into words at underscores, dots, spaces, brackets and other punctuation,
   and at case changes: `HTTPCode_Target_5XX_Count` -> http code target 5xx count,
   `CPUUtilization` -> cpu utilization, `p99Latency` -> p99 latency, `SuccessRate(%)` ->
   success rate %. "Un" joins the word after it (`UnHealthyHostCount` -> unhealthy host count).
   Rules match whole words only: "age" is not in "messages", "load" is not in "workload".
2. Bad direction, the first of these that has a word in the name:
   - failure words (error, fault, fail, 5xx, 4xx, exception, throttle, reject, timeout, drop,
     loss, retry, unhealthy, crash, restart, reset, evict, deadlock, conflict, miss, dlq...):
     bad **up**;
   - time words (latency, duration, time, delay, wait, lag, age, backlog, depth...): bad **up**
     (`SuccessfulRequestLatency` is a latency);
   - headroom and success words (success, available, availability, healthy, free, balance,
     remaining, left, uptime, running, expiry, a hit rate or ratio...): bad **down**
     (`CPUCreditBalance` is a balance);
   - saturation words (utilization, usage, used, cpu, memory, disk, swap, load, pressure,
     queue, pending, inflight, visible, concurrency, spillover...): bad **up**;
   - otherwise **both**: a shift either way is worth a look.
3. Traffic: bad both ways and a volume word (count, number, requests, invocations, calls,
   bytes, packets, messages, records, ops, iops, workload, throughput, sent, received,
   consumed, processed, queries, hits, 2xx/3xx, or network with in/out/receive/transmit):
   `NumberOfMessagesSent`.
4. Domain: network words (network, packet, tcp, udp, tls, ssl, dns, nat...) -> network;
   infrastructure words (cpu, memory, disk, storage, swap, throttle, capacity, concurrency,
   connections, host, task, node, queue, syscall...) -> infrastructure; otherwise application.
5. Percentage: a "%" or percent word, or utilization, availability, success rate.
6. Outgoing: a time word together with client, dependency, downstream, outbound, outgoing or
   remote (`PodClientLatencyP90(s)`, `DependencyLatency`).
7. Carried by calls: a time word of a call (latency, duration, time), a failure word, or a
   success or availability word: what a dependency's failure passes on to its callers, so that
   a caller's shift and its dependency's can be compared in size (CPU, memory, traffic cannot).

These are vocabulary rules about metric names, not about any service or dataset. Callers pass
the metric's namespace where they have it; without one, a name the table knows with a single
meaning in every namespace is read from the table, any other by the word rules.
"""

from __future__ import annotations

import re

from domain.models import Domain
from tools.analysis.metric_table import BadDirection, MetricMeaning, by_metric_name, table

__all__ = ["BadDirection", "MetricMeaning", "bad_direction", "carried_by_calls", "is_call_time", "is_outgoing",
           "is_percentage", "is_traffic", "meaning", "metric_domain", "words"]

_SEPARATORS = re.compile(r"[^A-Za-z0-9%]+")
_BOUNDARIES = re.compile(
    r"(?<=[a-z])(?=[A-Z])"  # camelCase
    r"|(?<=[A-Z])(?=[A-Z][a-z])"  # the end of an acronym: CPU|Utilization, 4XX|Error
    r"|(?<=[0-9])(?=[A-Z][a-z])"  # p99|Latency
    r"|(?<=[a-z]{2})(?=[0-9])"  # http|5xx, but p99 stays a word
    r"|(?=%)|(?<=%)"
)


def words(metric: str) -> list[str]:
    """The words of a metric name, lower-cased (see rule 1 in the module docstring)."""
    found: list[str] = []
    for part in _SEPARATORS.split(metric):
        found += [w.lower() for w in _BOUNDARIES.split(part) if w]
    joined: list[str] = []
    for word in found:
        if joined and joined[-1] == "un":
            joined[-1] = "un" + word
        else:
            joined.append(word)
    return joined


def _vocabulary(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns))


_FAILURE = _vocabulary(
    r"errors?", r"faults?", r"fail(s|ed|ure|ures|ing)?", r"[45]xx", r"[45]\d\d", r"exceptions?", r"throttl(e|es|ed|ing)",
    r"reject(s|ed|ion|ions)?", r"timeouts?", r"timedout", r"drop(s|ped)?", r"loss", r"lost", r"retr(y|ies|ied)",
    r"unhealthy", r"unavailable", r"crash(es|ed)?", r"restarts?", r"oom", r"kill(s|ed)?", r"evict(s|ed|ion|ions)?",
    r"deadlocks?", r"miss(es)?", r"abort(s|ed)?", r"denied", r"exceeded", r"resets?", r"blocked", r"conflicts?",
    r"stall(s|ed)?", r"anomalous", r"anomal(y|ies)", r"dlq", r"deadletter",
)
_TIME = _vocabulary(
    r"latency", r"latencies", r"duration", r"time", r"rtt", r"delay", r"wait(ing)?", r"elapsed", r"lag", r"age",
    r"backlog", r"depth", r"behind",
)
_HEADROOM = _vocabulary(
    r"success(es|ful)?", r"succeeded", r"available", r"availability", r"healthy", r"free", r"freeable", r"balance",
    r"remaining", r"left", r"headroom", r"uptime", r"running", r"expiry", r"hitrate", r"hitratio",
)
_SATURATION = _vocabulary(
    r"utili[sz]ation", r"utili[sz]ed", r"usage", r"used", r"cpu", r"memory", r"mem", r"disk", r"swap", r"load",
    r"pressure", r"saturation", r"queue", r"queued", r"pending", r"inflight", r"visible", r"iowait", r"gpu",
    r"concurrency", r"concurrent", r"spillover",
)
_VOLUME = _vocabulary(
    r"count", r"counts", r"number", r"requests?", r"invocations?", r"calls?", r"bytes?", r"packets?", r"messages?",
    r"records?", r"ops", r"operations", r"iops", r"workload", r"throughput", r"qps", r"rps", r"tps", r"sent",
    r"received", r"consumed", r"processed", r"queries", r"attempts", r"evaluations", r"cmds", r"commands", r"hits",
    r"[23]xx",
)
_NETWORK_FLOW = _vocabulary(r"in", r"out", r"rx", r"tx", r"receive", r"transmit")
_NETWORK = _vocabulary(
    r"network", r"net", r"packets?", r"tcp", r"udp", r"rx", r"tx", r"tls", r"ssl", r"handshake", r"dns",
    r"rtt", r"nat", r"vpn", r"bandwidth", r"sockets?",
)
_INFRASTRUCTURE = _vocabulary(
    r"cpu", r"memory", r"mem", r"disk", r"storage", r"iops", r"swap", r"filesystem", r"throttl(e|es|ed|ing)",
    r"capacity", r"concurrency", r"concurrent", r"connections", r"hosts?", r"tasks?", r"nodes?", r"freeable",
    r"burst", r"credits?", r"saturation", r"load", r"queue", r"visible", r"syscalls?", r"heap",
)
_PERCENT = _vocabulary(r"%", r"percent", r"percentage", r"pct", r"utili[sz]ation", r"availability")
_CALLER_SIDE = _vocabulary(r"client", r"dependency", r"dependencies", r"downstream", r"outbound", r"outgoing", r"remote")
_OUTGOING_TIME = _vocabulary(r"latency", r"latencies", r"duration", r"time")


def _has(vocabulary: re.Pattern[str], name: list[str]) -> bool:
    return any(vocabulary.fullmatch(w) for w in name)


def _hit_rate(name: list[str]) -> bool:
    """A cache's hit rate or ratio (a share that should stay high), not a count of hits."""
    return "hit" in name and ("rate" in name or "ratio" in name)


def _from_words(metric: str) -> MetricMeaning:
    name = words(metric)
    bad: BadDirection = "both"
    for vocabulary, direction in ((_FAILURE, "up"), (_TIME, "up"), (_HEADROOM, "down"), (_SATURATION, "up")):
        if _has(vocabulary, name) or (vocabulary is _HEADROOM and _hit_rate(name)):
            bad = direction
            break
    network_flow = "network" in name and _has(_NETWORK_FLOW, name)
    domain: Domain = (
        "network" if _has(_NETWORK, name) else "infrastructure" if _has(_INFRASTRUCTURE, name) else "application"
    )
    return MetricMeaning(
        bad=bad,
        domain=domain,
        traffic=bad == "both" and (_has(_VOLUME, name) or network_flow),
        percent=_has(_PERCENT, name) or ("success" in name and "rate" in name),
        outgoing=_has(_CALLER_SIDE, name) and _has(_OUTGOING_TIME, name),
    )


def meaning(metric: str, namespace: str | None = None) -> MetricMeaning:
    """The table's entry for (namespace, metric), else the word rules' reading of the name."""
    if namespace is not None:
        known = table().get((namespace, metric))
    else:
        known = by_metric_name().get(metric)
    return known if known is not None else _from_words(metric)


def bad_direction(metric: str, namespace: str | None = None) -> BadDirection:
    """Which change of `metric` indicates trouble: up, down, both (traffic-like), or none (a
    level that is set, not measured: a change to it is a change event, not an anomaly)."""
    return meaning(metric, namespace).bad


def metric_domain(metric: str, namespace: str | None = None) -> Domain:
    """The team that would look at `metric` first."""
    return meaning(metric, namespace).domain


def is_percentage(metric: str, namespace: str | None = None) -> bool:
    """A share of a whole in percent, bounded by 0 and 100: near either bound, what varies is
    the small share on that side (errors of an availability near 100), not the level."""
    return meaning(metric, namespace).percent


def is_traffic(metric: str, namespace: str | None = None) -> bool:
    """Volume metrics (requests, bytes, packets, messages, records, I/O operations): a change
    here is load, not necessarily a fault. Bytes and packets moved are volume too: more of them
    is more (or larger) requests, whichever end of a slow call the resource is on."""
    return meaning(metric, namespace).traffic


def carried_by_calls(metric: str, namespace: str | None = None) -> bool:
    """A quantity a failure carries up a chain of calls: the time calls take and how many of
    them fail (errors, faults, 5xx, timeouts; a success rate or availability). A caller's such
    shift is made of its dependency's, so their sizes can be compared. What a resource uses
    (CPU, memory, connections, disk) or is asked for (traffic) stays where it is: a caller's
    CPU is not made of its dependency's."""
    name = words(metric)
    return (is_call_time(metric, namespace) or _has(_FAILURE, name)
            or bool({"success", "successes", "successful", "available", "availability"} & set(name)))


def is_utilization(metric: str, namespace: str | None = None) -> bool:
    """The share of a capacity in use, in percent (CPUUtilization, MemoryUsageRate(%), disk
    space used): bad when it rises, and what it measures stays at the resource (unlike an error
    rate in percent, which its callers' calls carry up)."""
    return (is_percentage(metric, namespace) and bad_direction(metric, namespace) == "up"
            and not carried_by_calls(metric, namespace))


def is_backlog_metric(metric: str) -> bool:
    """What waits in a queue or stream for its consumers: messages visible, the age of the
    oldest message, a stream's iterator age, a consumer group's lag, a backlog."""
    name = set(words(metric))
    return bool(name & {"visible", "oldest", "backlog", "lag"}) or {"iterator", "age"} <= name


def is_compute(metric: str) -> bool:
    """The processor a resource uses (CPUUtilization, cpu_usage, CpuUtilized): what a busy or
    starved process runs short of first."""
    return "cpu" in words(metric)


def is_call_time(metric: str, namespace: str | None = None) -> bool:
    """The time calls take (a latency, a duration, a response time), whatever the metric's name."""
    return bad_direction(metric, namespace) == "up" and _has(_OUTGOING_TIME, words(metric))


def is_outgoing(metric: str, namespace: str | None = None) -> bool:
    """Latency of the calls a resource makes, as its own client sees them: when the metric
    does not name the dependency it measures, a rise says that *some* dependency got slower,
    not that the resource itself failed."""
    return meaning(metric, namespace).outgoing
