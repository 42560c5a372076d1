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
"""

from __future__ import annotations

from agent.ranking.candidates import Candidate, demand_onset, is_traffic, tolerance
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
