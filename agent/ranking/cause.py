"""The cause category of a candidate, from the typed evidence on it (strongest first)."""

from __future__ import annotations

from datetime import datetime

from agent.ranking.candidates import Candidate, constraint, demand_onset, is_traffic, onset, reported_by, tolerance, via
from agent.ranking.thresholds import CAUSE_FINDINGS, CHANGE_CAUSE
from domain.findings import TraceDetails
from domain.models import Cause, Finding, Topology


def _seen_from_callers(f: Finding, callers: set[str]) -> bool:
    """Measured on the caller's side: a zone's partition, the network path, or a client-side
    metric that one of the resource's callers reports about it."""
    return bool(via(f)) or f.domain == "network" or bool(set(reported_by(f)) & callers)


def cause_of(cand: Candidate, topology: Topology, entry_demand: datetime | None) -> Cause:
    """The cause category, from what the evidence on the candidate says.

    `entry_demand`: when the request volume at the entry point (where users' requests come
    in) rose clearly, if it did.
    """
    if cand.loads:
        return "traffic"  # a neighbour's extra requests fail a dependency (load.py)
    if cand.change >= CHANGE_CAUSE:
        return "change"
    strongest = sorted(cand.symptoms + cand.health, key=lambda f: -f.score)[:CAUSE_FINDINGS]
    failures = [f for f in strongest if not is_traffic(f)]
    # Demand beyond capacity: more requests came in at the entry and reached the candidate
    # no later than it began to fail. Demand that rises only after the failure is retries or
    # a backlog draining, a consequence; demand that rises at the candidate alone (a batch
    # job) against a fixed limit is that limit's story (constraint, below).
    demand = demand_onset(cand)
    failing = onset([f for f in cand.symptoms + cand.health if not is_traffic(f)])
    latest = failing + tolerance(cand) if failing else None
    if demand and entry_demand and (latest is None or max(demand, entry_demand) <= latest):
        return "traffic"
    # The analyses name the limit they saw (a throttling metric, "pool exhausted" in a log
    # line, an expired certificate): never read back from the summaries.
    if any(constraint(f) for f in failures):
        return "constraint"
    dependents = {via(f) for f in failures if via(f)}
    if len(dependents) >= 2:
        return "component"  # a shared piece of infrastructure (a zone) failing under several dependents
    # A resource seen mostly through its callers (client-side metrics, the network path) and
    # without telemetry of its own showing trouble is outside our control: a dependency.
    # A gap measured between a caller's client span and the resource's own server span needs
    # spans the resource wrote itself: it is instrumented, ours, even where its callers see
    # the trouble first (a slow network edge into it). Spans named after a third party (a
    # caller's subsegment for an external API) can fail or be slow, but show no such gap.
    callers = set(topology.callers(cand.resource))
    seen_from_callers = [f for f in failures if _seen_from_callers(f, callers)]
    # Calls on one edge slowing while its other callers are served as before say the same of
    # the path into it: the trouble is on our side of that edge, not a third party's outage.
    instrumented = any(
        isinstance(d := f.evidence.details, TraceDetails) and d.test in ("network_gap", "edge_latency") for f in cand.symptoms
    )
    if failures and len(seen_from_callers) * 2 > len(failures) and not cand.health and not instrumented:
        return "dependency"
    return "component" if cand.symptoms or cand.health else "unknown"
