"""Candidates: the resources that might be the root cause, and what their findings say.

A resource's anomaly combines its strongest finding of each kind (metric, log, trace):
independent kinds that agree raise it, many findings of one kind do not. Reads only the
findings' typed details (domain/findings.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.ranking.thresholds import (
    ANOMALOUS, CLEAR_DEMAND, DEFAULT_PERIOD_S, METRIC_CLOCK_SLACK, ONSET_SCORE_BAND, ONSET_TOLERANCE, PLAIN_FAULT, RECOVERY_MARGIN,
    RECOVERY_POINTS, SYMPTOM_KINDS, TRAFFIC_WEIGHT,
)
from agent.state import Scope
from domain.findings import ChangeDetails, MetricDetails, TraceDetails
from domain.models import Edge, Finding, Topology
from tools.analysis.semantics import (
    carried_by_calls, is_backlog_metric, is_call_time, is_compute, is_outgoing, is_percentage, is_utilization,
)


@dataclass
class Candidate:
    resource: str
    anomaly: float = 0.0
    onset: datetime | None = None
    symptoms: list[Finding] = field(default_factory=list)
    changes: list[Finding] = field(default_factory=list)
    health: list[Finding] = field(default_factory=list)
    fault: float = 0.0  # anomaly of failure signals only (traffic shifts excluded)
    victim_of: str | None = None
    victim: float = 0.0
    explains: float = 0.0
    explains_alarm: float = 0.0
    change: float = 0.0
    score: float = 0.0
    recovered_at: datetime | None = None  # when its anomaly ended by itself, if it did
    # The failing callers whose failure a change without telemetry of its own is credited with.
    inherits_from: list[str] = field(default_factory=list)
    loads: str | None = None  # a neighbour: the failing dependency its extra requests explain (load.py)
    # The caller whose extra requests explain it: a neighbour's load, or demand it is only busier with.
    loaded_by: str | None = None
    buffer: bool = False  # a queue, stream or topic (`BUFFER_TYPES`): senders are done once it holds the message


def metric(f: Finding) -> MetricDetails | None:
    """The finding's metric details, None for other kinds."""
    return f.evidence.details if isinstance(f.evidence.details, MetricDetails) else None


def is_usage(f: Finding) -> bool:
    """A metric finding of what the resource uses or is asked for (CPU, memory, connections,
    traffic): not a quantity its callers' calls carry (`carried_by_calls`: time, failures)."""
    details = metric(f)
    return details is not None and not carried_by_calls(details.metric, details.namespace or None)


def is_traffic(f: Finding) -> bool:
    details = metric(f)
    return details is not None and details.traffic


def via(f: Finding) -> str | None:
    """The resource whose partition alone moved (a zone seen through a service), if any."""
    details = metric(f)
    return details.via if details is not None else None


def reported_by(f: Finding) -> list[str]:
    details = metric(f)
    return details.reported_by if details is not None else []


def quiet_alarm(f: Finding) -> bool:
    """An observation that the alarmed metric shows no sustained shift (not an anomaly)."""
    details = metric(f)
    return details is not None and details.alarm_metric_normal


def constraint(f: Finding) -> bool:
    """The analysis that saw the finding named a violated hard limit in it."""
    return getattr(f.evidence.details, "constraint", None) is not None


def limit_reached(f: Finding) -> bool:
    """An absolute check saw a hard limit reached (expired, exhausted, at its limit)."""
    details = metric(f)
    return details is not None and details.limit_reached


def automatic(f: Finding) -> bool:
    details = f.evidence.details
    return isinstance(details, ChangeDetails) and details.automatic


def period(f: Finding) -> float | None:
    details = metric(f)
    return float(details.period_s) if details is not None and details.period_s is not None else None


def combine(findings: list[Finding]) -> float:
    """Noisy-OR over the strongest finding of each kind."""
    strongest: dict[str, float] = {}
    for f in findings:
        strongest[f.kind] = max(strongest.get(f.kind, 0.0), f.score)
    miss = 1.0
    for score in strongest.values():
        miss *= 1.0 - score
    return 1.0 - miss


def load_like(f: Finding) -> bool:
    """A symptom that is not the resource's own failure: a shift in request volume (load), or
    the latency of its outgoing calls measured on its own side without naming the dependency
    (`reported_by` is set when the metric names it, and the finding then sits on that
    dependency). Every caller of a slow dependency shows the latter, so it counts like load:
    half, and never as a failure that a dependency must explain."""
    details = metric(f)
    if details is None:
        return False
    return details.traffic or (not details.reported_by and is_outgoing(details.metric, details.namespace or None))


def limit_calls(cands: dict[str, Candidate], entry: str) -> list[Edge]:
    """With no call graph: edges from every other failing resource to each failing resource at
    a hard limit (storage used up, a certificate expired, usage at a limit recorded on it).

    A used-up limit fails whoever depends on it, at once and whatever they ask: it is the one
    failure that is a dependency's by its nature, read from its value and not against a
    baseline. Without a recorded graph nothing says who calls it, and nothing rules out that
    the failing resources whose trouble began no earlier than its own do (with the tolerance
    its sampling leaves, as `share` judges a cause); one already failing before cannot have
    failed because of it, and no edge is assumed from it."""
    sources = [c for c in cands.values() if c.fault >= ANOMALOUS and c.onset and any(limit_reached(f) for f in c.symptoms)]
    names = {s.resource for s in sources}
    return [
        Edge(caller=c.resource, callee=s.resource)
        for c in cands.values() if c.resource != entry and c.resource not in names and c.fault >= ANOMALOUS and c.onset
        for s in sorted(sources, key=lambda s: s.resource) if s.onset <= c.onset + tolerance(s)
    ]


def collect(findings: list[Finding], scope: Scope) -> dict[str, Candidate]:
    in_scope = set(scope.resources)
    known = scope.topology.ids()
    by_resource: dict[str, Candidate] = {}
    for f in findings:
        # Resources outside the topology (e.g. a recording without one) are still considered.
        if f.resource in known and f.resource not in in_scope:
            continue
        cand = by_resource.setdefault(f.resource, Candidate(resource=f.resource, buffer=_buffer(scope.topology, f.resource)))
        if f.kind in SYMPTOM_KINDS and f.score >= ANOMALOUS and not quiet_alarm(f):
            cand.symptoms.append(f)
        elif f.kind == "change" and not automatic(f):
            # An autoscaler's action reacts to load: it cannot have caused the failure.
            cand.changes.append(f)
        elif f.kind == "health":
            cand.health.append(f)
    starved = _compute_bound(by_resource)
    for cand in by_resource.values():
        cand.symptoms = [f for f in cand.symptoms if not _gap_of_a_starved_caller(f, starved)]
        # A shared dependency (a zone) is blamed only when several dependents agree: one
        # service misbehaving in one zone is that service's problem.
        if len({via(f) for f in cand.symptoms if via(f)}) == 1:
            cand.symptoms = [f for f in cand.symptoms if not via(f)]
        failures = [f for f in cand.symptoms if not load_like(f)]
        traffic = [f for f in cand.symptoms if load_like(f)]
        # A shift in request volume is load, not failure: it counts half, and never makes
        # a dependency the explanation of its caller's failure (nor does a slower dependency
        # seen from this side, see `load_like`).
        cand.fault = combine(failures + cand.health)
        cand.anomaly = max(cand.fault, TRAFFIC_WEIGHT * combine(traffic))
        cand.onset = onset(cand.symptoms + cand.health)
    return by_resource


def _compute_bound(cands: dict[str, Candidate]) -> dict[str, datetime]:
    """The earliest time each resource's processor use may have risen, for those whose did
    (`is_compute`): a metric seen normal one period before its first abnormal point rose after it."""
    out: dict[str, datetime] = {}
    for r, cand in cands.items():
        onsets = [f.onset - timedelta(seconds=period(f) or 0.0) for f in cand.symptoms if f.onset and f.direction == "up"
                  and (d := metric(f)) is not None and is_compute(d.metric)]
        if onsets:
            out[r] = min(onsets)
    return out


def _gap_of_a_starved_caller(f: Finding, starved: dict[str, datetime]) -> bool:
    """A network gap (calls losing time between caller and callee while the callee's own time
    held) on calls from a caller whose processor use had already risen: a process short of CPU
    sends its requests and reads their replies late, and its own span records the wait as time
    between the two. The gap is the caller's, not the callee's or the network's. Both onsets are
    compared at the earliest each may have been: the processor's one sampling period before its
    first abnormal point, the gap's at the last normal call before its first slow one (few calls
    may be traced)."""
    details = f.evidence.details
    if not isinstance(details, TraceDetails) or details.test != "network_gap" or details.caller is None:
        return False
    since = starved.get(details.caller)
    if since is None or f.onset is None:
        return False
    return since <= f.onset - timedelta(seconds=details.seen_normal_s or 0.0)


def onset(findings: list[Finding]) -> datetime | None:
    """When the resource's trouble began: the earliest onset among its strongest findings.

    A weak early finding (noise that crossed the threshold once) must not pull the onset
    forward, or every real cause would look later than its victim.
    """
    timed = [f for f in findings if f.onset is not None]
    if not timed:
        return None
    top = max(f.score for f in timed)
    # Scores saturate, so many findings can be "strongest": take the middle of their onsets
    # (the lower median), not the earliest, which a single early blip would decide.
    onsets = sorted(f.onset for f in timed if f.score >= top - ONSET_SCORE_BAND)
    return onsets[(len(onsets) - 1) // 2]


def inferred(topology: Topology, resource: str) -> bool:
    """X-Ray-style inferred nodes (a call as seen by its caller) are views, not resources."""
    node = topology.get(resource)
    return node is not None and node.attributes.get("xray_inferred", "").lower() == "true"


def anomalous(cands: dict[str, Candidate], topology: Topology) -> dict[str, Candidate]:
    return {r: c for r, c in cands.items() if c.anomaly >= ANOMALOUS and not inferred(topology, r)}


def deltas(cand: Candidate) -> dict[tuple[str, str], float]:
    """Size of each shift of a quantity that calls carry (`carried_by_calls`: time, failures) by
    (metric, stat): the shifts a cause's and its effect's sizes can be compared on.

    A rate per request built for a new partition (a canary's errors over its own requests,
    `per_request`) also counts as the failures it adds per period: its rise times the
    partition's requests. Its own count is no measure of that (it has no baseline), nor is the
    old partition's, which lost the share of traffic the canary took."""
    out: dict[tuple[str, str], float] = {}

    def add(key: tuple[str, str], delta: float) -> None:
        out[key] = max(out.get(key, 0.0), delta)

    for f in cand.symptoms:
        details = metric(f)
        if details is None or f.evidence.baseline_value is None or f.evidence.incident_value is None or is_usage(f):
            continue
        delta = abs(f.evidence.incident_value - f.evidence.baseline_value)
        add((details.metric, details.stat), delta)
        if (rate := details.per_request) is not None:
            add((rate.metric, rate.stat), delta * rate.requests)
    return out


def relative_effect(f: Finding) -> float | None:
    """How large a shift is relative to the level it moved from, comparable across metrics and
    units, in [0, 1]: 1 - smaller/larger of the two levels (a doubling is 0.5, a 135x jump
    0.99, a 3 % drift 0.03; from zero to anything is 1). A bounded percentage whose bad
    direction is down (availability, success rate) is measured on its failing side (100 - v):
    99.9 -> 95 is the failures growing fifty-fold, not a 5 % dip. None when the finding has no
    levels to compare (logs, traces, health events) or the levels change sign.

    The robust z-score says whether a shift is real; this says how big it is. z is in units of
    each series' own noise, so a flat series makes a tiny drift look enormous, and it saturates
    in the score: two shifts that are both certainly real are then told apart by size only.
    """
    details = metric(f)
    before, after = f.evidence.baseline_value, f.evidence.incident_value
    if details is None or before is None or after is None:
        return None
    if f.direction == "down" and is_percentage(details.metric, details.namespace or None) and max(before, after) <= 100.0:
        before, after = 100.0 - before, 100.0 - after
    if before * after < 0:
        return None
    low, high = sorted((abs(before), abs(after)))
    growth = 1.0 - low / high if high > 0 else 0.0
    if f.direction == "up" and is_utilization(details.metric, details.namespace or None) and 0.0 <= before < after <= 100.0:
        # A capacity's use is also measured by the headroom it leaves: a queue's waiting time grows
        # as 1 / (1 - utilisation), so 41 % -> 91 % CPU slows each request ~6.5-fold (headroom
        # 59 -> 9), though the CPU used grew only 2.2-fold, and a caller's latency showing that
        # slowdown (plus its own time) is no larger an effect than its cause.
        growth = max(growth, 1.0 - (100.0 - after) / (100.0 - before))
    return growth


def magnitude(cand: Candidate) -> float | None:
    """The largest relative effect among the candidate's failure symptoms, None when none of
    them has levels to compare (its evidence is logs, traces or events)."""
    effects = [e for f in cand.symptoms if not load_like(f) and (e := relative_effect(f)) is not None]
    return max(effects, default=None)


def calls(cand: Candidate) -> float | None:
    """The candidate's request volume: from its traffic metrics, or the calls counted on a
    trace edge (the two are on different scales; kept as the ranking has always read them)."""
    values = [
        float(d.calls) for f in cand.symptoms
        if isinstance(d := f.evidence.details, (MetricDetails, TraceDetails)) and d.calls is not None
    ]
    return max(values) if values else None


def tolerance(cand: Candidate) -> timedelta:
    """How late a cause's onset may look: a metric sampled every 5 minutes shows a change up
    to 5 minutes after it happened.

    A cause seen in sampled metrics only was seen normal one period before its first abnormal
    point, so it began no earlier than that period before (and METRIC_CLOCK_SLACK, for the
    collectors' schedules): a caller already failing before then did not fail because of it.
    Onsets dated by log lines or spans keep ONSET_TOLERANCE, for batching and clocks, or the time
    since the last normal span before a trace finding's onset when that is longer."""
    periods = [period(f) for f in cand.symptoms]
    if periods and all(p is not None for p in periods):
        return timedelta(seconds=max(p for p in periods if p is not None)) + METRIC_CLOCK_SLACK
    # Spans are sampled: a shift dated by its first flagged span began after the last normal
    # one before it, which may be minutes earlier when few calls are traced.
    sampled = [d.seen_normal_s for f in cand.symptoms if isinstance(d := f.evidence.details, TraceDetails) and d.seen_normal_s]
    return max(ONSET_TOLERANCE, timedelta(seconds=max((p or 0.0 for p in periods), default=0.0)),
               timedelta(seconds=max(sampled, default=0.0)))


def recovery(cand: Candidate) -> datetime | None:
    """When the candidate's anomaly ended by itself: every symptom its callers felt (the time and
    failures of calls; every symptom when it shows none of those) was followed by a stretch of
    normal data (RECOVERY_MARGIN, RECOVERY_POINTS), no health event marks the resource and no
    change on it came while it was anomalous (a rollback or a fix: then it did not end by itself).
    None when any symptom has no known end (log and trace findings) or was still going on.

    A change before the onset does not stop a recovery from counting: what a change breaks
    stays broken until someone reverts it, so trouble that ended with the change still in
    place is less likely to be the change's doing, not more."""
    if not cand.symptoms or cand.health:
        return None
    # What its callers saw is the time and the failures of their calls (`carried_by_calls`): when
    # those ended, a drift in what it uses (memory creeping since before) does not keep the
    # failure going. A resource seen only in what it uses is judged on that.
    felt = [f for f in cand.symptoms if not is_usage(f)] or cand.symptoms
    # What made it a plain fault (a shift of half its level or more, PLAIN_FAULT): when every
    # such shift ended, smaller drifts still under way (memory 3 % down, a latency 13 % up) are
    # not the failure going on. A database whose CPU a reporting query doubled for nine minutes
    # is over, though its latency drifts on; judged on the drifts it would look ongoing, and
    # its spike would explain every caller that failed after it. Only where every symptom is a
    # metric's: a log or trace finding has no known end, so nothing says it ended.
    plain = [f for f in cand.symptoms if (e := relative_effect(f)) is not None and e >= PLAIN_FAULT]
    if plain and all(metric(f) is not None for f in cand.symptoms):
        felt = [f for f in plain if not is_usage(f)] or plain
    ends = []
    for f in felt:
        details = metric(f)
        if details is None or details.until is None or details.observed_until is None:
            return None
        step = timedelta(seconds=float(details.period_s if details.period_s is not None else DEFAULT_PERIOD_S))
        if details.observed_until - details.until < max(RECOVERY_MARGIN, RECOVERY_POINTS * step):
            return None
        ends.append(details.until)
    end = max(ends)
    # A change after the onset and no later than the end (a rollback, a fix) ended it.
    if any(f.onset and (cand.onset is None or f.onset > cand.onset) and f.onset <= end + tolerance(cand) for f in cand.changes):
        return None
    return end


def inherited_recovery(cand: Candidate, cands: dict[str, Candidate]) -> datetime | None:
    """When the failure a change without telemetry of its own inherits (`score_changes`) ended by
    itself: every caller it is credited with recovered (`recovery`), and no later change on it (a
    rollback, a fix) came before that. None otherwise.

    The reason is `recovery`'s: a change stays in place until someone reverts it, so trouble
    that ended while the change stayed is unlikely to be the change's doing."""
    if not cand.inherits_from:
        return None
    ends = [cands[r].recovered_at if r in cands else None for r in cand.inherits_from]
    if any(end is None for end in ends):
        return None
    end = max(e for e in ends if e is not None)
    first = min((f.onset for f in cand.changes if f.onset), default=None)
    if first is None or any(f.onset and first < f.onset <= end + ONSET_TOLERANCE for f in cand.changes):
        return None
    return end


def observed_end(cand: Candidate) -> datetime | None:
    """Where the candidate's metric data ends (its anomaly, if still going on, lasts until then)."""
    ends = [d.observed_until for f in cand.symptoms if (d := metric(f)) is not None and d.observed_until is not None]
    return max(ends, default=None)


def _buffer(topology: Topology, resource: str) -> bool:
    node = topology.get(resource)
    return node is not None and node.buffer()


def is_backlog(f: Finding) -> bool:
    """A metric of what waits in a buffer for its consumers (messages visible, the oldest
    message's age, a stream's iterator age, a consumer's lag)."""
    details = metric(f)
    return details is not None and is_backlog_metric(details.metric)


def sender_facing(cand: Candidate) -> list[Finding]:
    """The failure symptoms its callers can feel. A buffer's backlog is not among them: a queue
    with messages waiting still takes new ones, and its senders are done once it has."""
    failures = [f for f in cand.symptoms + cand.health if not load_like(f)]
    return [f for f in failures if not is_backlog(f)] if cand.buffer else failures


def rejects_callers(cand: Candidate) -> bool:
    """Whether all the candidate's failure is turning its callers' requests away: its only
    failure symptoms (`sender_facing`) are errors in its own spans, most of them client errors (a
    4xx: access denied, not found, invalid), and its callers' count of those failed calls. It
    answered, and said the request was at fault: what its callers sent changed (their
    permissions, configuration or code), not what it does. Not when it shows a limit of its own
    reached (storage full, throttled, connections exhausted): a full disk refuses writes too."""
    failures = sender_facing(cand)
    if any(limit_reached(f) or constraint(f) for f in failures):
        return False  # a limit of its own reached (storage full, throttled): its refusals are its capacity
    rejected = [f for f in failures if isinstance(d := f.evidence.details, TraceDetails) and d.test == "own_errors"
                and d.rejected is not None and d.errors and 2 * d.rejected > d.errors]
    if not rejected:
        return False
    # Its callers' own count of their failed calls to it (a client-side error metric) is the
    # same failures seen from their side; a slowdown is not a refusal.
    counted = [f for f in failures if (d := metric(f)) is not None and d.reported_by
               and not is_call_time(d.metric, d.namespace or None)]
    return len(rejected) + len(counted) == len(failures)


def demand_led(cand: Candidate) -> bool:
    """Whether the candidate's request volume rose clearly no later than it began to fail: its
    failure has an explanation of its own, the extra requests (retries and backlogs raise the
    volume only after a failure)."""
    demand = demand_onset(cand)
    failing = onset([f for f in cand.symptoms + cand.health if not is_traffic(f)])
    return demand is not None and failing is not None and demand <= failing + tolerance(cand)


def demand_onset(cand: Candidate) -> datetime | None:
    """When the resource's request volume rose clearly, if it did."""
    onsets = [
        f.onset for f in cand.symptoms
        if is_traffic(f) and f.direction == "up" and f.score >= CLEAR_DEMAND and f.onset
    ]
    return min(onsets, default=None)
