"""Load from a neighbour: another caller of a dependency sends more requests just before it fails.

The alarm's neighbourhood is what its resource depends on, but a shared dependency (a
database two services use) can fail under load that comes from outside it: a crawler on the
other service. An engineer looks at who else calls the failing dependency. A neighbour (see
Scope.neighbours) explains a dependency's failure when its own request volume rose clearly
(CLEAR_DEMAND) no later than the dependency began to fail, while none of the dependency's
callers inside the neighbourhood sent clearly more: then the extra load came from the
neighbour, not from the users behind the alarm (that is the entry's traffic story, `cause`).

The neighbour then takes the dependency's place as the explanation: its score is the
dependency's, times how clear its rise in demand is, and the dependency is discounted as the
victim of that load. A neighbour that merely failed itself, or sent more only after the
dependency had begun to fail (retries, a backlog), explains nothing and is not proposed.

Inside the neighbourhood the same load shows differently (`working_for_callers`): a database
whose CPU and I/O rose when its caller's requests did, while no call to it got slower or
failed, is doing the extra work, not failing; the surge at the caller is the story.
"""

from __future__ import annotations

from agent.ranking.candidates import Candidate, demand_onset, is_traffic, is_usage, tolerance
from agent.ranking.thresholds import ANOMALOUS, VICTIM_DISCOUNT
from domain.models import Topology


def demand_strength(cand: Candidate) -> float:
    """The score of the candidate's strongest rise in request volume (0 when none rose)."""
    return max((f.score for f in cand.symptoms if is_traffic(f) and f.direction == "up"), default=0.0)


def load_sources(
    neighbours: dict[str, Candidate], anomalous: dict[str, Candidate], cands: dict[str, Candidate], topology: Topology,
) -> list[Candidate]:
    """The neighbours whose load explains a failing dependency, scored; the dependencies they
    explain are discounted as their victims. `anomalous`: the scored in-scope candidates."""
    sources = []
    for cand in neighbours.values():
        demand = demand_onset(cand)
        if demand is None:
            continue
        strength = demand_strength(cand)
        for resource in topology.callees(cand.resource):
            dependency = anomalous.get(resource)
            if dependency is None or dependency.fault < ANOMALOUS or dependency.onset is None:
                continue
            if demand > dependency.onset + tolerance(dependency):
                continue  # more requests only after it began to fail: retries, a backlog
            inside = [cands[r] for r in topology.callers(resource) if r in cands and r not in neighbours]
            if any((d := demand_onset(c)) is not None and d <= dependency.onset + tolerance(dependency) for c in inside):
                continue  # the alarm's own side sent more too: the load is not this neighbour's
            score = dependency.score * strength
            if score <= cand.score:
                continue
            cand.score, cand.loads, cand.onset, cand.explains = score, resource, demand, dependency.explains
            if dependency.loaded_by is None:
                # A victim of the load, as of a failing dependency of its own.
                dependency.score *= 1.0 - VICTIM_DISCOUNT * strength
                dependency.loaded_by = cand.resource
        if cand.loads:
            sources.append(cand)
    return sources


def only_busier(cand: Candidate) -> bool:
    """Whether every sign of trouble on the candidate is in what it uses (CPU, I/O, connections,
    memory; `is_usage`): no call to it got slower or failed, no log or span shows a
    failure, no health event. Such a resource is working harder; it is not failing its callers."""
    return not cand.health and bool(cand.symptoms) and all(is_usage(f) for f in cand.symptoms)


def working_for_callers(pool: list[Candidate], cands: dict[str, Candidate], topology: Topology) -> None:
    """Discount a dependency that is only busier (`only_busier`) from when a caller of its, in
    the alarm's neighbourhood, began sending clearly more requests (CLEAR_DEMAND, no later than
    its onset): the extra work is those requests, so the surge is the story, not the dependency.
    Discounted as a victim of the load is (`load_sources`), before scoring, so that it no
    longer accounts for the failure of the caller that loads it; `loaded_by` names the caller. A
    dependency whose calls got slower or failed keeps its score: that is where the extra
    requests ran out of capacity."""
    for cand in pool:
        if cand.loaded_by is not None or cand.onset is None or not only_busier(cand):
            continue
        callers = [
            c for r in topology.callers(cand.resource) if (c := cands.get(r)) is not None
            and (d := demand_onset(c)) is not None and d <= cand.onset + tolerance(cand)
        ]
        if not callers:
            continue
        caller = max(callers, key=demand_strength)
        # Less of a fault (so it accounts for less of its callers' trouble) and less anomalous.
        discount = 1.0 - VICTIM_DISCOUNT * demand_strength(caller)
        cand.fault *= discount
        cand.anomaly *= discount
        cand.loaded_by = caller.resource
