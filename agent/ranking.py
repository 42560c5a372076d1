"""Deterministic ranking: from findings to root-cause hypotheses with a confidence.

The idea, as an engineer would reason along the dependency graph:
1. A resource's anomaly combines its strongest finding of each kind (metric, log, trace):
   independent kinds that agree raise it, many findings of one kind do not.
2. A candidate is an anomalous resource in the alarm's neighbourhood, or a resource that
   changed shortly before the onset while the resources that call it are anomalous.
3. The root cause is usually the most downstream anomalous dependency whose anomaly started
   earliest and explains the symptoms above it. So a candidate is discounted when one of
   its own dependencies is anomalous from no later on (it is then more likely a victim), and
   credited for the share of other anomalous resources that sit above it.
4. A change on the candidate shortly before its onset raises the score.

The confidence is computed from the same quantities (see `confidence`), and the ranker
abstains when no candidate is supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.calibration import calibrated
from domain.models import Cause, Finding, Hypothesis, Topology, Trigger
from agent.state import Scope
from tools.analysis.changes import proximity
from tools.analysis.semantics import is_outgoing

ANOMALOUS = 0.5  # a finding at or above this score is an anomaly, below it an observation
SUPPORTED = 0.5  # a candidate must score this much to be proposed at all
ONSET_TOLERANCE = timedelta(minutes=2)  # onsets this close count as simultaneous
# Credit a cause gets for an effect it moved no common metric with: timing fits, size unknown.
UNCOMPARABLE = 0.5
SYMPTOM_KINDS = ("metric", "log", "trace")
MAX_HYPOTHESES = 5
EXPLAIN_ALARM = 0.25  # weight of explaining the alarmed resource; the rest of the half explains the other anomalies
# The operating point for abstention: below this confidence the top hypothesis is shown
# as a weak lead but the investigation says no root cause is supported (false alarms).
ABSTAIN_BELOW = 0.4
# When the alarmed metric shows no sustained shift, a false alarm is as plausible as a fault
# the alarm metric barely saw (a one-point breach on 5-minute data looks the same for both):
# confidence is discounted by this factor (on top of the score factor 0.5 + s applied in
# `rank`): with 0.6 the candidate's score times its margin factor must reach 0.67 to be
# proposed. The value was chosen on the PetShop development split, where results are the same
# for 0.6 to 0.67 (0.5 abstained on three incidents whose root cause was the only anomaly, 0.75
# answered a false alarm): an operating point picked on dev data, to be checked on held-out data.
ALARM_NORMAL_DISCOUNT = 0.6
# A candidate whose every symptom ended by itself, followed by at least RECOVERY_MARGIN and
# RECOVERY_POINTS normal points of its own data, with no change or health event behind it,
# looks like a transient blip as much as a fault: the same even-ish prior as a quiet alarm,
# so the same discount, applied to its score (it also orders candidates: a resource that is
# still failing is likelier to be what keeps the alarm firing).
RECOVERY_MARGIN = timedelta(minutes=5)
RECOVERY_POINTS = 3
RECOVERED_DISCOUNT = ALARM_NORMAL_DISCOUNT


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


@dataclass
class Ranking:
    hypotheses: list[Hypothesis]
    abstained: bool
    abstain_reason: str | None


def _combine(findings: list[Finding]) -> float:
    """Noisy-OR over the strongest finding of each kind."""
    strongest: dict[str, float] = {}
    for f in findings:
        strongest[f.kind] = max(strongest.get(f.kind, 0.0), f.score)
    miss = 1.0
    for score in strongest.values():
        miss *= 1.0 - score
    return 1.0 - miss


def _load_like(f: Finding) -> bool:
    """A symptom that is not the resource's own failure: a shift in request volume (load), or
    the latency of its outgoing calls measured on its own side without naming the dependency
    (`reported_by` is set when the metric names it, and the finding then sits on that
    dependency). Every caller of a slow dependency shows the latter, so it counts like load:
    half, and never as a failure that a dependency must explain."""
    if f.evidence.details.get("traffic"):
        return True
    return f.kind == "metric" and not f.evidence.details.get("reported_by") and is_outgoing(str(f.evidence.details.get("metric", "")))


def _collect(findings: list[Finding], scope: Scope) -> dict[str, Candidate]:
    in_scope = set(scope.resources)
    known = scope.topology.ids()
    by_resource: dict[str, Candidate] = {}
    for f in findings:
        # Resources outside the topology (e.g. a recording without one) are still considered.
        if f.resource in known and f.resource not in in_scope:
            continue
        cand = by_resource.setdefault(f.resource, Candidate(resource=f.resource))
        if f.kind in SYMPTOM_KINDS and f.score >= ANOMALOUS:
            cand.symptoms.append(f)
        elif f.kind == "change" and not f.evidence.details.get("automatic"):
            # An autoscaler's action reacts to load: it cannot have caused the failure.
            cand.changes.append(f)
        elif f.kind == "health":
            cand.health.append(f)
    for cand in by_resource.values():
        # A shared dependency (a zone) is blamed only when several dependents agree: one
        # service misbehaving in one zone is that service's problem.
        via = {f.evidence.details.get("via") for f in cand.symptoms if f.evidence.details.get("via")}
        if len(via) == 1:
            cand.symptoms = [f for f in cand.symptoms if not f.evidence.details.get("via")]
        failures = [f for f in cand.symptoms if not _load_like(f)]
        traffic = [f for f in cand.symptoms if _load_like(f)]
        # A shift in request volume is load, not failure: it counts half, and never makes
        # a dependency the explanation of its caller's failure (nor does a slower dependency
        # seen from this side, see `_load_like`).
        cand.fault = _combine(failures + cand.health)
        cand.anomaly = max(cand.fault, 0.5 * _combine(traffic))
        cand.onset = _onset(cand.symptoms + cand.health)
    return by_resource


def _onset(findings: list[Finding]) -> datetime | None:
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
    onsets = sorted(f.onset for f in timed if f.score >= top - 0.1)
    return onsets[(len(onsets) - 1) // 2]


def inferred(topology: Topology, resource: str) -> bool:
    """X-Ray-style inferred nodes (a call as seen by its caller) are views, not resources."""
    node = topology.get(resource)
    return node is not None and node.attributes.get("xray_inferred", "").lower() == "true"


def _anomalous(cands: dict[str, Candidate], topology: Topology) -> dict[str, Candidate]:
    return {r: c for r, c in cands.items() if c.anomaly >= ANOMALOUS and not inferred(topology, r)}


def _deltas(cand: Candidate) -> dict[tuple[str, str], float]:
    """Size of each metric shift by (metric, stat)."""
    out: dict[tuple[str, str], float] = {}
    for f in cand.symptoms:
        details = f.evidence.details
        if f.kind != "metric" or f.evidence.baseline_value is None or f.evidence.incident_value is None:
            continue
        delta = abs(f.evidence.incident_value - f.evidence.baseline_value)
        key = (str(details.get("metric")), str(details.get("stat")))
        out[key] = max(out.get(key, 0.0), delta)
    return out


def _calls(cand: Candidate) -> float | None:
    values = [float(f.evidence.details["calls"]) for f in cand.symptoms if "calls" in f.evidence.details]
    return max(values) if values else None


def _tolerance(cand: Candidate) -> timedelta:
    """How late a cause's onset may look: a metric sampled every 5 minutes shows a change up
    to 5 minutes after it happened."""
    periods = [float(f.evidence.details.get("period_s", 0)) for f in cand.symptoms]
    return max(ONSET_TOLERANCE, timedelta(seconds=max(periods, default=0.0)))


def share(cause: Candidate, effect: Candidate) -> float:
    """How much of `effect`'s anomaly `cause` can account for, in [0, 1].

    Where both moved on the same metric and statistic (hence the same unit), compare sizes:
    a dependency whose latency rose by 1 ms cannot explain a caller that got 450 ms slower.
    Otherwise magnitudes are not comparable and timing decides: a cause starts no later.
    """
    if cause.fault < ANOMALOUS:
        return 0.0  # a shift in traffic alone explains no failure
    if cause.onset and effect.onset and cause.onset > effect.onset + _tolerance(cause):
        return 0.0
    mine, theirs = _deltas(cause), _deltas(effect)
    common = [k for k in mine if k in theirs and theirs[k] > 0]
    if not common:
        # A violated hard limit (expired, exhausted, at its limit) is a known way to fail:
        # it accounts for its callers' failure without a metric in common.
        if any(f.evidence.details.get("constraint") for f in cause.symptoms):
            return 1.0
        return UNCOMPARABLE
    # Means add up over calls, percentiles do not: compare averages where both have them.
    averages = [k for k in common if k[1].lower() in ("average", "avg", "mean")]
    # A dependency called k times per call of its caller adds k times its own slowdown.
    calls_cause, calls_effect = _calls(cause), _calls(effect)
    flow = calls_cause / calls_effect if calls_cause and calls_effect else 1.0
    return max(min(1.0, mine[k] * flow / theirs[k]) for k in (averages or common))


def explains(cause: Candidate, effect: Candidate, anomalous: dict[str, Candidate], topology: Topology) -> float:
    """`share` along the graph: a cause reaches an effect through the resources in between,
    so it must also account for at least one anomalous resource on the way."""
    direct = share(cause, effect)
    between = topology.upstream(cause.resource) & topology.downstream(effect.resource)
    hops = [anomalous[r] for r in between if r in anomalous and r != cause.resource]
    if not hops:
        return direct
    return min(direct, max(share(cause, hop) for hop in hops))


def _changes(
    pool: list[Candidate], anomalous: dict[str, Candidate], topology: Topology, alarm_time: datetime, observed: set[str]
) -> None:
    """Score each candidate's changes by proximity to its onset.

    A changed resource without telemetry of its own (a security group, a policy, a
    configuration) is judged by the resources that depend on it: it inherits their failure,
    weighted by how close before their onset it changed, and its onset is the change. A
    resource whose own telemetry looks normal inherits nothing: it was seen to be healthy.
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
            cand.fault = max(cand.fault, max(c.fault for c in callers) * cand.change)
            cand.anomaly = max(cand.anomaly, cand.fault)
            cand.onset = min(f.onset for f in cand.changes if f.onset)


def _score(
    cand: Candidate, anomalous: dict[str, Candidate], topology: Topology, entry: str,
    alarm_normal: bool = False, echoes: dict[str, Candidate] | None = None,
) -> None:
    """`alarm_normal`: the alarmed metric showed no sustained shift against its baseline.
    `echoes`: the dependencies whose shift the alarmed metric echoed faintly (see `_echoes`)."""
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
        sum(explains(cand, anomalous[r], anomalous, topology) for r in others if r in above) / len(others)
        if others else 1.0
    )
    # Above all, a root cause must explain what paged: the alarmed resource.
    if cand.resource == entry:
        cand.explains_alarm = 1.0
    elif entry in above and entry in anomalous:
        cand.explains_alarm = explains(cand, anomalous[entry], anomalous, topology)
    elif echoes:
        # The alarm barely moved but echoed these dependencies: explaining one explains the alarm.
        cand.explains_alarm = max(
            1.0 if r == cand.resource else explains(cand, echo, anomalous, topology) if r in above else 0.0
            for r, echo in echoes.items()
        )
    elif entry in above and alarm_normal:
        # Nothing at the alarmed resource moved, so how much of it the candidate accounts for
        # cannot be measured: credit it as for magnitudes that cannot be compared. Counting it
        # as "explains none of it" would weigh the quiet alarm twice: the alarm-normal discount
        # in `rank` already covers the chance of a false alarm.
        cand.explains_alarm = UNCOMPARABLE
    cand.score = cand.anomaly * (1.0 - 0.8 * cand.victim) * (0.5 + EXPLAIN_ALARM * cand.explains_alarm + (0.5 - EXPLAIN_ALARM) * cand.explains)
    cand.score = min(1.0, cand.score + 0.5 * cand.change * (1.0 - cand.score))


def _recovery(cand: Candidate) -> datetime | None:
    """When the candidate's anomaly ended by itself: every symptom was followed by a stretch of
    normal data (RECOVERY_MARGIN, RECOVERY_POINTS), and no change or health event marks the resource.
    None when any symptom has no known end (log and trace findings) or was still going on."""
    if not cand.symptoms or cand.health or cand.change > 0:
        return None
    ends = []
    for f in cand.symptoms:
        until, seen = f.evidence.details.get("until"), f.evidence.details.get("observed_until")
        if not isinstance(until, str) or not isinstance(seen, str):
            return None
        end = datetime.fromisoformat(until)
        period = timedelta(seconds=float(f.evidence.details.get("period_s", 60)))
        if datetime.fromisoformat(seen) - end < max(RECOVERY_MARGIN, RECOVERY_POINTS * period):
            return None
        ends.append(end)
    return max(ends)


def confidence(top: Candidate, runner_up: Candidate | None, trigger_anomalous: bool) -> float:
    """The evidence score of a hypothesis: its candidate's score, discounted when a close rival
    exists or when the alarmed metric itself looks normal against the baseline. Abstention is
    decided on this; what users see is its calibrated probability (agent/calibration.py)."""
    margin = top.score - (runner_up.score if runner_up else 0.0)
    value = top.score * (0.6 + 0.4 * min(1.0, margin / 0.3))
    if not trigger_anomalous:
        value *= ALARM_NORMAL_DISCOUNT
    return round(max(0.0, min(0.99, value)), 3)


_CONSTRAINT = re.compile(
    r"throttl|limit|quota|exceed|exhaust|too many|no space|disk full|storage full|expir|certificate|"
    r"reserved|max_?conn|out of capacity|insufficient", re.IGNORECASE)


def _evidence_text(findings: list[Finding]) -> str:
    parts = []
    for f in findings:
        parts += [f.signal, f.summary, *f.evidence.sample_logs[:1]]
        parts += [str(f.evidence.details.get(k, "")) for k in ("exception_class", "exception_message", "constraint")]
    return " ".join(parts)


def _demand_onset(cand: Candidate) -> datetime | None:
    """When the resource's request volume rose clearly, if it did."""
    onsets = [
        f.onset for f in cand.symptoms
        if f.evidence.details.get("traffic") == 1 and f.direction == "up" and f.score >= 0.9 and f.onset
    ]
    return min(onsets, default=None)


def _seen_from_callers(f: Finding, callers: set[str]) -> bool:
    """Measured on the caller's side: a zone's partition, the network path, or a client-side
    metric that one of the resource's callers reports about it."""
    reporters = set(str(f.evidence.details.get("reported_by", "")).split(","))
    return bool(f.evidence.details.get("via")) or f.domain == "network" or bool(reporters & callers)


def cause_of(cand: Candidate, topology: Topology, entry_demand: datetime | None) -> Cause:
    """The cause category, from what the evidence on the candidate says (strongest first).

    `entry_demand`: when the request volume at the entry point (where users' requests come
    in) rose clearly, if it did.
    """
    if cand.change >= 0.25:
        return "change"
    strongest = sorted(cand.symptoms + cand.health, key=lambda f: -f.score)[:6]
    failures = [f for f in strongest if not f.evidence.details.get("traffic")]
    # Demand beyond capacity: more requests came in at the entry and reached the candidate
    # no later than it began to fail. Demand that rises only after the failure is retries or
    # a backlog draining, a consequence; demand that rises at the candidate alone (a batch
    # job) against a fixed limit is that limit's story (constraint, below).
    demand = _demand_onset(cand)
    failing = _onset([f for f in cand.symptoms + cand.health if not f.evidence.details.get("traffic")])
    latest = failing + _tolerance(cand) if failing else None
    if demand and entry_demand and (latest is None or max(demand, entry_demand) <= latest):
        return "traffic"
    if _CONSTRAINT.search(_evidence_text(failures)):
        return "constraint"
    dependents = {f.evidence.details.get("via") for f in failures if f.evidence.details.get("via")}
    if len(dependents) >= 2:
        return "component"  # a shared piece of infrastructure (a zone) failing under several dependents
    # A resource seen mostly through its callers (client-side metrics, the network path) and
    # without telemetry of its own showing trouble is outside our control: a dependency.
    callers = set(topology.callers(cand.resource))
    seen_from_callers = [f for f in failures if _seen_from_callers(f, callers)]
    if failures and len(seen_from_callers) * 2 > len(failures) and not cand.health:
        return "dependency"
    return "component" if cand.symptoms or cand.health else "unknown"


_NEXT_STEPS: dict[str, list[str]] = {
    "change": [
        "Review the change cited below (who, what, diff) and whether its timing matches the onset.",
        "If it does, roll it back or disable it behind its flag, then watch the alarmed metric recover.",
    ],
    "constraint": [
        "Check the limit, quota or capacity named in the evidence (service quotas, provisioned capacity, expiry dates).",
        "Raise the limit or shed load; add an alarm on the headroom so it pages before users notice.",
    ],
    "component": [
        "Inspect the resource's health: task/instance status, restarts, resource saturation, Availability Zone.",
        "Replace or drain unhealthy capacity; shift traffic away from an impaired Availability Zone if one stands out.",
    ],
    "dependency": [
        ("Check the dependency's own health (its provider's status page or health dashboard) and the path to it "
         "(timeouts, DNS, security groups, routes)."),
        "Fail over, degrade gracefully or tighten timeouts and circuit breakers for this dependency.",
    ],
    "traffic": [
        "Confirm the surge source (legitimate growth, retry storm, bot) from request logs.",
        "Scale out or throttle; check that auto scaling reacted and how long it lagged.",
    ],
    "unknown": ["Open the cited evidence and confirm or discard this resource by hand."],
}


# Why the evidence points at the category, where the findings alone do not say it.
_WHY: dict[str, str] = {
    "traffic": "Its request volume rose, as did the entry's, no later than its failures began: demand beyond its capacity.",
    "dependency": ("It is seen mostly through its callers (their client-side metrics, the network path), "
                   "not through telemetry of its own: a dependency outside our control."),
}


def _hypothesis(cand: Candidate, score: float, cause: Cause, entry: str) -> Hypothesis:
    ordered = sorted(cand.symptoms + cand.health, key=lambda f: -f.score)
    changes = sorted(cand.changes, key=lambda f: -f.score)
    lead = ordered[0] if ordered else (changes[0] if changes else None)
    demand = [f for f in ordered if f.evidence.details.get("traffic") == 1 and f.direction == "up"]
    if cause == "traffic" and demand:
        lead = demand[0]  # the title names what the category rests on: the demand that rose
    title_cause = {
        "change": "a recent change", "constraint": "a limit or capacity constraint", "component": "a failing component",
        "dependency": "a failing dependency", "traffic": "a traffic surge", "unknown": "an unexplained anomaly",
    }[cause]
    title = f"{cand.resource}: {title_cause}" + (f" — {lead.signal}" if lead else "")
    parts = []
    if ordered:
        kinds = sorted({f.kind for f in ordered})
        when = f" from {cand.onset:%H:%M} UTC" if cand.onset else ""
        parts.append(f"{cand.resource} is anomalous{when} in {len(ordered)} finding(s) across {', '.join(kinds)} (combined {cand.anomaly:.2f}).")
    if cand.change > 0 and changes:
        parts.append(f"A change came shortly before: {changes[0].summary}.")
    if cause in _WHY:
        parts.append(_WHY[cause])
    if cand.recovered_at is not None:
        parts.append(f"Its anomaly ended by itself at {cand.recovered_at:%H:%M} UTC with no change or health event "
                     "behind it: it may have been a transient blip, so it is discounted.")
    if cand.resource != entry:
        parts.append(
            f"It accounts for {cand.explains:.0%} of the other anomalous resources (through those that depend on it)."
            if cand.explains > 0 else "It accounts for none of the other anomalous resources."
        )
    if cand.victim_of and cand.victim >= 0.25:
        parts.append(f"Its dependency {cand.victim_of} is anomalous too (from no later), so it may be a victim: discounted.")
    elif cand.victim_of:
        parts.append(f"Its dependency {cand.victim_of} is anomalous too but accounts for little of it: slightly discounted.")
    else:
        parts.append("None of its dependencies is anomalous earlier, so the fault most likely starts here.")
    supporting = [f.id for f in ordered[:6]] + [f.id for f in changes[:2] if f.score > 0]
    steps = [s.replace("the resource", cand.resource) for s in _NEXT_STEPS[cause]]
    if lead and lead.evidence.console_link:
        steps.append(f"Open {lead.evidence.console_link}")
    return Hypothesis(
        id=f"H-{cand.resource}", resource=cand.resource, cause=cause, confidence=calibrated(score), evidence_score=score, title=title,
        reasoning=" ".join(parts), supporting_findings=supporting, next_steps=steps,
    )


def _strongest(findings: list[Finding]) -> str:
    strongest = sorted((f for f in findings if f.kind not in ("gap",) and not f.evidence.details.get("alarm_metric_normal")),
                       key=lambda f: -f.score)[:3]
    return "; ".join(f.summary for f in strongest) or "no anomaly in any signal"


def _echoes(alarm_normal: list[Finding], cands: dict[str, Candidate], topology: Topology, entry: str) -> dict[str, Candidate]:
    """The failing dependencies of the alarmed resource whose shift of the alarmed metric the
    alarmed series echoed, too faintly to count as a shift of its own (the metric analysis
    names them: an aggregate dilutes a dependency's failure by its share of the requests).
    Such an echo corroborates the alarm: it is not the noise a false alarm is made of."""
    if not alarm_normal:
        return {}
    named = str(alarm_normal[0].evidence.details.get("echoes", "")).split(",")
    below = topology.downstream(entry)
    return {r: cands[r] for r in named if r in cands and r in below and cands[r].fault >= ANOMALOUS}


def rank(findings: list[Finding], scope: Scope, trigger: Trigger, observed: set[str] | None = None) -> Ranking:
    """Rank hypotheses. `observed`: resources that had telemetry of their own in the window."""
    observed = set(observed or ()) | {f.resource for f in findings if f.kind in SYMPTOM_KINDS}
    cands = _collect(findings, scope)
    topology = scope.topology
    anomalous = _anomalous(cands, topology)
    pool = [
        c for c in cands.values()
        if c.resource in anomalous or (c.changes and (c.resource == scope.entry or any(r in anomalous for r in topology.callers(c.resource))))
    ]
    _changes(pool, anomalous, topology, trigger.state_change_time, observed)
    anomalous.update({c.resource: c for c in pool if c.fault >= ANOMALOUS and not inferred(topology, c.resource)})
    alarm_normal = [f for f in findings if f.resource == trigger.resource and f.evidence.details.get("alarm_metric_normal")]
    echoes = _echoes(alarm_normal, cands, topology, scope.entry)
    if echoes:
        alarm_normal = []  # corroborated: the alarm saw a real shift, diluted
    for cand in pool:
        _score(cand, anomalous, topology, scope.entry, bool(alarm_normal), echoes)
        cand.recovered_at = _recovery(cand)
        if cand.recovered_at is not None:
            # Over before the data ends: less likely the cause of an alarm still firing.
            cand.score *= RECOVERED_DISCOUNT
    if alarm_normal:
        # The metric that paged barely moved against its baseline: a false alarm is likely,
        # so every candidate needs proportionally stronger evidence of its own.
        for cand in pool:
            cand.score *= 0.5 + alarm_normal[0].score
    pool.sort(key=lambda c: (-c.score, c.onset or trigger.state_change_time, c.resource))
    leads = [c for c in pool if c.score > 0]
    if not leads:
        why = f"{alarm_normal[0].summary}, and n" if alarm_normal else "N"
        return Ranking([], True, f"{why}o root cause is supported by the evidence. Strongest observations: {_strongest(findings)}")
    trigger_anomalous = not alarm_normal
    entry = cands.get(scope.entry)
    entry_demand = _demand_onset(entry) if entry else None
    hypotheses = []
    for i, cand in enumerate(leads[:MAX_HYPOTHESES]):
        runner_up = leads[i + 1] if i + 1 < len(leads) else None
        score = confidence(cand, runner_up if i == 0 else leads[0], trigger_anomalous)
        if i > 0:
            score = min(score, hypotheses[-1].evidence_score)
        hypotheses.append(_hypothesis(cand, score, cause_of(cand, topology, entry_demand), scope.entry))
    if leads[0].score < SUPPORTED or hypotheses[0].evidence_score < ABSTAIN_BELOW:
        # Shown as weak leads: the engineer may still want to look, but nothing is claimed.
        # Name the rule that decided: the candidate's own score, or the discounted evidence score.
        shortfall = (
            f"best candidate score {leads[0].score:.2f} for {leads[0].resource}, below {SUPPORTED:.2f}"
            if leads[0].score < SUPPORTED else
            f"best evidence score {hypotheses[0].evidence_score:.2f} for {hypotheses[0].resource}, below {ABSTAIN_BELOW:.2f}"
        )
        return Ranking(hypotheses, True, (
            f"No root cause is supported strongly enough ({shortfall}); the hypotheses below are weak leads. "
            f"Strongest observations: {_strongest(findings)}"
        ))
    return Ranking(hypotheses, False, None)
