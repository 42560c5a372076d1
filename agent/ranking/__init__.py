"""Deterministic ranking: from findings to root-cause hypotheses with a confidence.

The idea, as an engineer would reason along the dependency graph:
1. A resource's anomaly combines its strongest finding of each kind (`candidates`).
2. A candidate is an anomalous resource in the alarm's neighbourhood, or a resource that
   changed shortly before the onset while the resources that call it are anomalous.
3. The root cause is usually the most downstream anomalous dependency whose anomaly started
   earliest and explains the symptoms above it (`scoring`).
4. A change on the candidate shortly before its onset raises the score.

The cause category comes from the typed evidence on the candidate (`cause`), every constant
lives in `thresholds`, and the words (title, reasoning, next steps) are a reasoner's
(agent/reasoners/; `explanation` holds the deterministic one's templates). The ranker
abstains when no candidate is supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.calibration import calibrated
from agent.ranking.candidates import (
    Candidate, anomalous as anomalous_of, collect, demand_onset, inferred, inherited_recovery, is_traffic, limit_calls, magnitude,
    quiet_alarm, recovery,
)
from agent.ranking.cause import cause_of
from agent.ranking.explanation import DeterministicReasoner
from agent.ranking.familiarity import familiarity
from agent.ranking.load import load_sources, working_for_callers
from agent.ranking.mentions import named_calls
from agent.ranking.path import checked_path
from agent.ranking.scoring import (
    confidence, echoes as echoes_of, explains, failing_requests, quiet_alarm_factor, score, score_changes, share, support,
)
from agent.ranking.thresholds import (
    ABSTAIN_BELOW, ANOMALOUS, CITED_CHANGES, CITED_SYMPTOMS, MAX_HYPOTHESES, RECOVERED_DISCOUNT, SUPPORTED, SYMPTOM_KINDS,
)
from agent.reasoners.base import RankedCandidate, Reasoner, ReasoningRequest
from agent.state import Scope
from domain.models import Cause, Finding, Hypothesis, PathHop, Trigger, UnfamiliarSignal

__all__ = ["ABSTAIN_BELOW", "Candidate", "Ranking", "cause_of", "confidence", "explains", "inferred", "rank", "share"]

STRONGEST_OBSERVATIONS = 3  # observations an abstention names


@dataclass
class Ranking:
    hypotheses: list[Hypothesis]
    abstained: bool
    abstain_reason: str | None
    candidates: list[RankedCandidate] = field(default_factory=list)


def _strongest(findings: list[Finding]) -> str:
    strongest = sorted((f for f in findings if f.kind != "gap" and not quiet_alarm(f)), key=lambda f: -f.score)
    return "; ".join(f.summary for f in strongest[:STRONGEST_OBSERVATIONS]) or "no anomaly in any signal"


def _ranked(
    cand: Candidate, rank: int, evidence: float, cause: Cause, entry: str, supported: bool, path: list[PathHop],
    unfamiliar: list[UnfamiliarSignal],
) -> RankedCandidate:
    ordered = sorted(cand.symptoms + cand.health, key=lambda f: -f.score)
    changes = sorted(cand.changes, key=lambda f: -f.score)
    lead = ordered[0] if ordered else (changes[0] if changes else None)
    demand = [f for f in ordered if is_traffic(f) and f.direction == "up"]
    if cause == "traffic" and demand:
        lead = demand[0]  # the title names what the category rests on: the demand that rose
    return RankedCandidate(
        rank=rank, resource=cand.resource, cause=cause, confidence=calibrated(evidence, unfamiliar=unfamiliar), evidence_score=evidence,
        supported=supported, is_entry=cand.resource == entry, anomaly=cand.anomaly, onset=cand.onset,
        explains=cand.explains, victim_of=cand.victim_of, victim=cand.victim, change=cand.change,
        recovered_at=cand.recovered_at, loads=cand.loads, loaded_by=cand.loaded_by,
        symptoms=[f.id for f in ordered], changes=[f.id for f in changes],
        lead=lead.id if lead else None,
        supporting_findings=[f.id for f in ordered[:CITED_SYMPTOMS]] + [f.id for f in changes[:CITED_CHANGES] if f.score > 0],
        path=path,
    )


def rank(
    findings: list[Finding], scope: Scope, trigger: Trigger, observed: set[str] | None = None,
    reasoner: Reasoner | None = None,
) -> Ranking:
    """Rank hypotheses. `observed`: resources that had telemetry of their own in the window;
    `reasoner` writes their words (default: the deterministic one)."""
    observed = set(observed or ()) | {f.resource for f in findings if f.kind in SYMPTOM_KINDS}
    cands = collect(findings, scope)
    # Scored on the call graph as failures travel up it (not through a queue from its consumer
    # to its senders); with no graph for the alarmed resource, on one where it may depend on
    # anything, and where a resource calls what its errors name (`named_calls`). Paths are
    # checked on the graph as recorded: an assumed edge is not seen.
    topology = scope.topology.decoupled_at_buffers(scope.entry)
    graph_known = topology.maps(scope.entry)
    if not graph_known:
        named = [e for e in named_calls(findings, topology.ids()) if e.callee != scope.entry]
        topology = topology.assuming_dependencies_of(scope.entry)
        topology = topology.model_copy(update={"edges": [*topology.edges, *named, *limit_calls(cands, scope.entry)]})
    anomalous = anomalous_of(cands, topology)
    pool = [
        c for c in cands.values()
        if c.resource in anomalous or (c.changes and (c.resource == scope.entry or any(r in anomalous for r in topology.callers(c.resource))))
    ]
    score_changes(pool, anomalous, topology, trigger.state_change_time, observed, known_graph=scope.topology.maps(scope.entry))
    anomalous.update({c.resource: c for c in pool if c.fault >= ANOMALOUS and not inferred(topology, c.resource)})
    alarm_normal = [f for f in findings if f.resource == trigger.resource and quiet_alarm(f)]
    # What corroborates a quiet alarm: its metric faintly echoing a dependency's shift, or
    # requests failing in the alarm's neighbourhood (errors in their own logs or spans).
    echoes = {**failing_requests(alarm_normal, cands, topology, scope.entry), **echoes_of(alarm_normal, cands, topology, scope.entry)}
    if echoes:
        alarm_normal = []  # corroborated: the alarm saw a real shift, diluted
    for cand in pool:
        # Before any scoring: whether a dependency's anomaly lasted decides what it explains.
        cand.recovered_at = recovery(cand)
    for cand in pool:
        # A change credited with its callers' failure: whether that failure ended by itself.
        cand.recovered_at = cand.recovered_at or inherited_recovery(cand, cands)
    # A dependency only busier since its callers sent more: the extra work, not a failure.
    working_for_callers(pool, cands, topology)
    for cand in pool:
        score(cand, anomalous, topology, scope.entry, bool(alarm_normal), echoes, observed)
        if cand.recovered_at is not None:
            # Over before the data ends: less likely the cause of an alarm still firing.
            cand.score *= RECOVERED_DISCOUNT
    # Who else calls a failing dependency: a neighbour's extra requests may be why it fails.
    neighbours = {r: c for r, c in collect(findings, scope.model_copy(update={"resources": scope.neighbours})).items()
                  if r in set(scope.neighbours)}
    sources = load_sources(neighbours, anomalous, cands, topology)
    pool.extend(sources)
    cands.update({c.resource: c for c in sources})
    if alarm_normal:
        # The metric that paged barely moved against its baseline: a false alarm is likely,
        # so every candidate needs proportionally stronger evidence of its own.
        factor = quiet_alarm_factor(alarm_normal[0])
        for cand in pool:
            cand.score *= factor
    # Equal scores (nothing in the call graph tells the candidates apart) go to the larger relative
    # shift: a fault's relative effect is largest where it starts, as each caller adds its own time
    # to its dependency's and mixes the failing calls with others; then to the earlier onset.
    pool.sort(key=lambda c: (-c.score, -(magnitude(c) or 0.0), c.onset or trigger.state_change_time, c.resource))
    leads = [c for c in pool if c.score > 0]
    if not leads:
        why = f"{alarm_normal[0].summary}, and n" if alarm_normal else "N"
        return Ranking([], True, f"{why}o root cause is supported by the evidence. Strongest observations: {_strongest(findings)}")
    trigger_anomalous = not alarm_normal
    entry = cands.get(scope.entry)
    entry_demand = demand_onset(entry) if entry else None
    scores: list[float] = []
    for i, cand in enumerate(leads[:MAX_HYPOTHESES]):
        runner_up = leads[i + 1] if i + 1 < len(leads) else None
        evidence = confidence(cand, runner_up if i == 0 else leads[0], trigger_anomalous)
        scores.append(min(evidence, scores[-1]) if scores else evidence)
    supported_by = support(leads[0], scores[0], trigger_anomalous, graph_known)
    abstained = leads[0].score < SUPPORTED or supported_by < ABSTAIN_BELOW
    familiar = familiarity(findings, scope, trigger)
    ranked = [
        _ranked(cand, i + 1, evidence, cause_of(cand, topology, entry_demand), scope.entry,
                supported=not abstained and (i == 0 or (cand.score >= SUPPORTED and evidence >= ABSTAIN_BELOW)),
                path=checked_path(scope.topology, cand.resource, scope.entry, cands, loads=cand.loads), unfamiliar=familiar.signals)
        for i, (cand, evidence) in enumerate(zip(leads, scores))
    ]
    reasoner = reasoner or DeterministicReasoner()
    hypotheses = reasoner.explain(ReasoningRequest(trigger=trigger, candidates=ranked, findings=findings, abstained=abstained))
    # Answered though a rival costs the top most of its evidence (`support`): say who.
    rival = (
        f"{leads[1].resource} scores nearly as high ({leads[1].score:.2f} against {leads[0].score:.2f}): "
        "the evidence barely tells them apart, so check both."
        if not abstained and scores[0] < ABSTAIN_BELOW and len(leads) > 1 else None
    )
    why_lower = familiar.sentence()
    hypotheses = [
        h.model_copy(update={"unfamiliar": familiar.signals, "reasoning": " ".join(filter(None, [
            h.reasoning, rival if h.resource == leads[0].resource else None, why_lower,
        ]))})
        for h in hypotheses
    ]
    if not abstained:
        return Ranking(hypotheses, False, None, ranked)
    # Shown as weak leads: the engineer may still want to look, but nothing is claimed.
    # Name the rule that decided: the candidate's own score, or the discounted evidence score.
    shortfall = (
        f"best candidate score {leads[0].score:.2f} for {leads[0].resource}, below {SUPPORTED:.2f}"
        if leads[0].score < SUPPORTED else
        f"best evidence score {supported_by:.3f} for {leads[0].resource}, below {ABSTAIN_BELOW:.2f}"
    )
    return Ranking(hypotheses, True, (
        f"No root cause is supported strongly enough ({shortfall}); the hypotheses below are weak leads. "
        f"Strongest observations: {_strongest(findings)}"
    ), ranked)
