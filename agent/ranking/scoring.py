"""Scoring candidates along the dependency graph.

The root cause is usually the most downstream anomalous dependency whose anomaly started
earliest and explains the symptoms above it. So a candidate is discounted when one of its
own dependencies is anomalous from no later on (it is then more likely a victim), and
credited for the share of other anomalous resources that sit above it; a change on the
candidate shortly before its onset raises the score.
"""

from __future__ import annotations

import re
from datetime import datetime

from agent.ranking.candidates import (
    Candidate, calls, deltas, demand_led, limit_reached, magnitude, metric, observed_end, rejects_callers, sender_facing, tolerance,
)
from agent.ranking.thresholds import (
    ALARM_NORMAL_DISCOUNT, ANOMALOUS, BLOCKED_ROUTE, CHANGE_WEIGHT, DEMAND_LED, EXPLAIN_ALARM, EXPLAIN_BASE, FULL_MARGIN,
    MARGIN_FLOOR, MARGIN_WEIGHT, MAX_EVIDENCE_SCORE, PLAIN_FAULT, QUIET_ALARM_BASE, QUIET_ALARM_MAX_FACTOR, UNCOMPARABLE,
    VICTIM_DISCOUNT,
)
from domain.findings import LogDetails, TraceDetails
from domain.models import Finding, Topology
from tools.analysis.changes import proximity


# CloudWatch's percentile-like statistics (p99, tm90, wm99, tc, ts, pr): no sum over calls.
_PERCENTILE = re.compile(r"^(p|tm|wm|tc|ts|pr)\d", re.IGNORECASE)


def share(cause: Candidate, effect: Candidate) -> float:
    """How much of `effect`'s anomaly `cause` can account for, in [0, 1].

    Where both moved on the same metric and statistic (hence the same unit), compare sizes:
    a dependency whose latency rose by 1 ms cannot explain a caller that got 450 ms slower.
    Otherwise magnitudes are not comparable and timing decides: a cause starts no later. An
    effect whose own demand rose no later than its failure (`demand_led`) is explained by it in
    part, so a dependency that failed for other reasons accounts for less of it (DEMAND_LED);
    one that the same extra requests reached and failed is where they ran out of capacity.
    """
    if cause.fault < ANOMALOUS:
        return 0.0  # a shift in traffic alone explains no failure
    if rejects_callers(cause) or (cause.buffer and not sender_facing(cause)):
        # It refused what its callers sent (the fault is on their side), or all that is wrong
        # with it is a backlog, which waits for its consumers and fails no sender.
        return 0.0
    if cause.onset and effect.onset and cause.onset > effect.onset + tolerance(cause):
        return 0.0
    value = lasting(cause, effect) * _share_while_both(cause, effect)
    return value * DEMAND_LED if demand_led(effect) and not demand_led(cause) else value


def lasting(cause: Candidate, effect: Candidate) -> float:
    """The share of the effect's anomalous time that the cause's anomaly lasted through, in [0, 1].

    A cause that ended by itself (`recovered_at`) cannot account for what its effect does
    after it: a blip that was over before its caller's trouble began explains none of it,
    one that covered half of it at most half. 1 when the cause is still going on, or when
    either span is unknown."""
    if cause.recovered_at is None or effect.onset is None:
        return 1.0
    end = effect.recovered_at or observed_end(effect)
    cause_end = cause.recovered_at + tolerance(cause)
    if end is None or end <= effect.onset or cause_end >= end:
        return 1.0
    covered = (cause_end - max(effect.onset, cause.onset or effect.onset)).total_seconds()
    return max(0.0, min(1.0, covered / (end - effect.onset).total_seconds()))


_COUNTS = {"sum", "samplecount"}  # statistics that count events in a period


def _share_while_both(cause: Candidate, effect: Candidate) -> float:
    mine, theirs = deltas(cause), deltas(effect)
    common = [k for k in mine if k in theirs and theirs[k] > 0]
    if not common:
        # A violated hard limit (expired, exhausted, at its limit) is a known way to fail:
        # it accounts for its callers' failure without a metric in common.
        if any(limit_reached(f) for f in cause.symptoms):
            return 1.0
        return uncomparable(cause, effect)
    # Means add up over calls, percentiles do not: compare averages where both have them.
    averages = [k for k in common if k[1].lower() in ("average", "avg", "mean")]
    # A dependency called k times per call of its caller adds k times its own slowdown (or
    # failure rate) to each call. A count (a Sum of errors) is not per call: each failed call
    # below fails at most one call above, whatever the ratio of calls.
    calls_cause, calls_effect = calls(cause), calls(effect)
    flow = calls_cause / calls_effect if calls_cause and calls_effect else 1.0
    measured = max(
        min(1.0, mine[k] * (1.0 if k[1].lower() in _COUNTS else flow) / theirs[k]) for k in (averages or common)
    )
    if averages or not all(_PERCENTILE.match(stat) for _, stat in common):
        return measured
    # Percentiles alone do not add up over calls (queueing, fan-out and retries amplify a
    # dependency's tail at its caller): a smaller shift below bounds nothing, so it never
    # credits less than magnitudes that cannot be compared at all.
    return max(measured, uncomparable(cause, effect))


def uncomparable(cause: Candidate, effect: Candidate) -> float:
    """The share of an effect that a cause with no metric in common can account for.

    Timing fits but units differ, so UNCOMPARABLE; scaled down when the cause's shift is much
    smaller, relative to its own level, than the effect's: a 3 % memory drift on a database
    does not explain its caller's latency growing six-fold, though both are statistically
    clear. Never scaled up: a large shift below does not prove it travelled upward.
    """
    mine, theirs = magnitude(cause), magnitude(effect)
    if mine is None:
        return UNCOMPARABLE
    if not theirs:
        # The effect's size is unknown (its evidence is logs or traces): the cause's own size
        # is all there is, against a doubling, the least that is plainly a fault whatever the
        # metric. A 3 % memory drift explains little of anything, however clear statistically.
        return UNCOMPARABLE * min(1.0, mine / PLAIN_FAULT)
    return UNCOMPARABLE * min(1.0, mine / theirs)


def explains(
    cause: Candidate, effect: Candidate, anomalous: dict[str, Candidate], topology: Topology,
    observed: set[str] | None = None,
) -> float:
    """`share` along the graph: a cause reaches an effect through the resources in between,
    so it must also account for at least one anomalous resource on the way.

    `observed`: resources with telemetry of their own. When every route from the cause up to
    the effect passes a resource that was observed and showed no shift, the failure would have
    travelled through something seen healthy: the claim is discounted (BLOCKED_ROUTE)."""
    direct = share(cause, effect)
    between = topology.upstream(cause.resource) & topology.downstream(effect.resource)
    hops = [anomalous[r] for r in between if r in anomalous and r != cause.resource]
    value = min(direct, max(share(cause, hop) for hop in hops)) if hops else direct
    if observed is not None and value > 0 and not _open_route(cause.resource, effect.resource, topology, anomalous, observed):
        value *= BLOCKED_ROUTE
    return value


def _open_route(
    cause: str, effect: str, topology: Topology, anomalous: dict[str, Candidate], observed: set[str]
) -> bool:
    """Whether some chain of callers leads from `cause` to `effect` through resources that are
    anomalous or have no telemetry of their own (so could not be seen healthy)."""
    frontier, seen = [cause], {cause}
    while frontier:
        node = frontier.pop()
        for caller in topology.callers(node):
            if caller == effect:
                return True
            if caller in seen or (caller in observed and caller not in anomalous):
                continue
            seen.add(caller)
            frontier.append(caller)
    return False


def score_changes(
    pool: list[Candidate], anomalous: dict[str, Candidate], topology: Topology, alarm_time: datetime, observed: set[str],
    known_graph: bool = True,
) -> None:
    """Score each candidate's changes by proximity to its onset.

    A changed resource without telemetry of its own (a security group, a policy, a
    configuration) is judged by the resources that depend on it: it inherits their failure,
    weighted by how close before their onset it changed, and its onset is the change. A
    resource whose own telemetry looks normal inherits nothing: it was seen to be healthy.
    Only the part of that failure its callers' failing dependencies leave unexplained, when the
    call graph is known (`known_graph`): with every resource assumed to be the alarmed one's
    dependency, which of them explains it is a guess, too weak to take a change's credit away.
    """
    for cand in pool:
        if cand.fault >= ANOMALOUS or not cand.changes or cand.resource in observed:
            reference = cand.onset or alarm_time
            cand.change = max((proximity(f.onset, reference) for f in cand.changes if f.onset), default=0.0)
            continue
        callers = [anomalous[r] for r in topology.callers(cand.resource) if r in anomalous]
        if not callers:
            continue
        reference = min((c.onset for c in callers if c.onset), default=alarm_time)
        cand.change = max((proximity(f.onset, reference) for f in cand.changes if f.onset), default=0.0)
        if cand.change > 0:
            # Only the part of a caller's failure that its failing dependencies leave unexplained:
            # a caller failing because the API it calls times out does not need its flag flipped.
            own = max(c.fault * (1.0 - VICTIM_DISCOUNT * (_explained(c, anomalous, topology) if known_graph else 0.0))
                      for c in callers)
            cand.fault = max(cand.fault, own * cand.change)
            cand.anomaly = max(cand.anomaly, cand.fault)
            cand.onset = min(f.onset for f in cand.changes if f.onset)
            cand.inherits_from = [c.resource for c in callers]


def _explained(effect: Candidate, anomalous: dict[str, Candidate], topology: Topology) -> float:
    """How much of `effect`'s failure its anomalous dependencies account for (as `victim` is)."""
    below = topology.downstream(effect.resource)
    return max((d.fault * share(d, effect) for r, d in anomalous.items() if r != effect.resource and r in below), default=0.0)


def score(
    cand: Candidate, anomalous: dict[str, Candidate], topology: Topology, entry: str,
    alarm_normal: bool = False, echoes: dict[str, Candidate] | None = None, observed: set[str] | None = None,
) -> None:
    """Set `cand.score` (and what it is made of: victim, explains, explains_alarm).

    `alarm_normal`: the alarmed metric showed no sustained shift against its baseline.
    `echoes`: the dependencies whose shift the alarmed metric echoed faintly (see `echoes`).
    `observed`: the resources with telemetry of their own (see `explains`)."""
    below = topology.downstream(cand.resource)
    above = topology.upstream(cand.resource)
    # Victim: an anomalous dependency that accounts for our anomaly.
    for other, oc in anomalous.items():
        if other == cand.resource or other not in below:
            continue
        victim = oc.fault * share(oc, cand)
        if victim > cand.victim:
            cand.victim, cand.victim_of = victim, other
    # Resources whose only anomaly is less traffic are consequences, not symptoms to explain.
    others = [r for r, c in anomalous.items() if r != cand.resource and c.fault >= ANOMALOUS]
    cand.explains = (
        sum(explains(cand, anomalous[r], anomalous, topology, observed) for r in others if r in above) / len(others)
        if others else 1.0
    )
    # Above all, a root cause must explain what paged: the alarmed resource.
    if cand.resource == entry:
        cand.explains_alarm = 1.0
    elif echoes:
        # The alarm barely moved but echoed these dependencies: explaining one explains the alarm.
        # Before the alarmed resource's own anomaly: with its alarmed metric quiet, that anomaly
        # is in its other metrics (its CPU, its traffic), which are not what paged.
        cand.explains_alarm = max(
            1.0 if r == cand.resource else explains(cand, echo, anomalous, topology, observed) if r in above else 0.0
            for r, echo in echoes.items()
        )
    elif entry in above and entry in anomalous:
        cand.explains_alarm = explains(cand, anomalous[entry], anomalous, topology, observed)
    elif entry in above and alarm_normal:
        # Nothing at the alarmed resource moved, so how much of it the candidate accounts for
        # cannot be measured: credit it as for magnitudes that cannot be compared. Counting it
        # as "explains none of it" would weigh the quiet alarm twice: the alarm-normal discount
        # in `confidence` already covers the chance of a false alarm.
        cand.explains_alarm = UNCOMPARABLE
    explained = EXPLAIN_BASE + EXPLAIN_ALARM * cand.explains_alarm + (1.0 - EXPLAIN_BASE - EXPLAIN_ALARM) * cand.explains
    cand.score = cand.anomaly * (1.0 - VICTIM_DISCOUNT * cand.victim) * explained
    # A change makes the candidate's own failure likelier its doing; the part of it that an
    # anomalous dependency accounts for (a zone losing power under it) is not its own.
    own = 1.0 - VICTIM_DISCOUNT * cand.victim
    cand.score = min(1.0, cand.score + CHANGE_WEIGHT * cand.change * own * (1.0 - cand.score))


def quiet_alarm_factor(observation: Finding) -> float:
    """What a quiet alarm leaves of every candidate's score: more the nearer its metric came to a shift."""
    return min(QUIET_ALARM_MAX_FACTOR, QUIET_ALARM_BASE + observation.score)


def confidence(top: Candidate, runner_up: Candidate | None, trigger_anomalous: bool) -> float:
    """The evidence score of a hypothesis: its candidate's score, discounted when a close rival
    exists or when the alarmed metric itself looks normal against the baseline. Abstention is
    decided on this; what users see is its calibrated probability (agent/calibration.py)."""
    margin = top.score - (runner_up.score if runner_up else 0.0)
    value = top.score * (MARGIN_FLOOR + MARGIN_WEIGHT * min(1.0, margin / FULL_MARGIN))
    if not trigger_anomalous:
        value *= ALARM_NORMAL_DISCOUNT
    return round(max(0.0, min(MAX_EVIDENCE_SCORE, value)), 3)


def support(top: Candidate, evidence: float, trigger_anomalous: bool, graph_known: bool) -> float:
    """The evidence that the alarm has a root cause at all, on which the engine answers or abstains
    (`evidence`: the top's evidence score, `confidence`; `graph_known`: the calls of the alarmed
    resource were recorded, not assumed).

    Abstaining says no root cause is supported: the alarm may be false. With a recorded call
    graph, a rival scoring nearly as high as the top is ambiguous evidence (neither the graph nor
    the timing told them apart), so it counts. With none, every resource is assumed to be a
    dependency of the alarmed one and none of another (`Topology.assuming_dependencies_of`), so
    failing dependencies tie by construction: the tie says the map is missing, not that the alarm
    may be false. There, when the top accounts for (part of) the alarm, the rival lowers its
    confidence but not the decision to answer, and the support is the top's evidence without the
    rival. A top that accounts for none of the alarm is a cause only as far as it stands out from
    the other anomalies: for it the rival still counts."""
    if graph_known or top.explains_alarm <= 0.0:
        return evidence
    return confidence(top, None, trigger_anomalous)


def echoes(alarm_normal: list[Finding], cands: dict[str, Candidate], topology: Topology, entry: str) -> dict[str, Candidate]:
    """The failing dependencies of the alarmed resource whose shift of the alarmed metric the
    alarmed series echoed, too faintly to count as a shift of its own (the metric analysis
    names them: an aggregate dilutes a dependency's failure by its share of the requests).
    Such an echo corroborates the alarm: it is not the noise a false alarm is made of."""
    if not alarm_normal:
        return {}
    details = metric(alarm_normal[0])
    named = details.echoes if details is not None else []
    below = topology.downstream(entry)
    return {r: cands[r] for r in named if r in cands and r in below and cands[r].fault >= ANOMALOUS}


def failing_requests(
    alarm_normal: list[Finding], cands: dict[str, Candidate], topology: Topology, entry: str
) -> dict[str, Candidate]:
    """The alarmed resource or its dependencies whose own requests fail, by their logs or spans:
    a share of calls that log an error, an error rate, an error template new or more frequent,
    errors in their own spans, calls whose code path was cut short (fewer log lines per call).

    An alarm's metric is one view of the system: a latency percentile at the front can stay put
    while a dependency fails a tenth of the calls it serves (fast failures, retries, a fallback
    answer). Failing requests are seen independently of that metric, so they corroborate the
    alarm as an echo does: the alarm is then not taken for a false alarm, and explaining such a
    resource explains what paged. A latency or volume shift is not enough: the noise a false
    alarm is made of looks like that."""
    if not alarm_normal:
        return {}
    scope = topology.downstream(entry) | {entry}
    return {
        r: c for r, c in cands.items()
        if r in scope and c.fault >= ANOMALOUS and any(_fails_requests(f) for f in c.symptoms)
    }


def _fails_requests(f: Finding) -> bool:
    details = f.evidence.details
    if f.score < ANOMALOUS:
        return False
    if isinstance(details, LogDetails) and details.test == "lines_per_call":
        # Calls that leave fewer of their usual log lines end part-way through: an exception
        # or an early return cuts the code path short. Measured per call, like an error rate,
        # so neither request volume nor latency noise moves it.
        return f.direction == "down"
    if f.direction == "down":
        return False
    if isinstance(details, LogDetails):
        # An error template that is new or more frequent counts as an error rate does, per template.
        return details.test in ("calls_with_errors", "error_rate") or (details.test in ("new", "spike") and details.error)
    return isinstance(details, TraceDetails) and details.test == "own_errors"
