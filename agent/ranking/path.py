"""The propagation path of a hypothesis: root -> ... -> the alarmed resource, each hop checked.

An engineer believes a root cause when the failure can be followed from it up to what paged:
every hop is a real call in the topology (structure), shows a shift of its own (statistics),
and began no earlier than the hop below it (time). Hops that fail a check are marked, never
hidden: a path that does not hold is itself evidence against the hypothesis.

Among the routes the topology offers, the path takes the one with the fewest hops that show
no shift, then the fewest hops: the failure travelled through resources that saw it, not
necessarily along the shortest route. Reads the candidates as the ranking scored them and
changes nothing of their scores.
"""

from __future__ import annotations

import heapq
from datetime import datetime

from agent.ranking.candidates import Candidate, tolerance
from agent.ranking.thresholds import ANOMALOUS
from domain.models import Finding, PathHop, Topology


def _strongest(cand: Candidate | None) -> Finding | None:
    """The hop's strongest symptom or health event (the first of equals, as the ranking lists them)."""
    if cand is None:
        return None
    shown = sorted(cand.symptoms + cand.health, key=lambda f: -f.score)
    return shown[0] if shown else None


def _scored_change(cand: Candidate | None) -> Finding | None:
    """The candidate's strongest change when the ranking blamed its dependents' failure on it:
    a resource without telemetry of its own that changed just before (a resource seen to be
    healthy inherits nothing, so its fault stays below the anomaly threshold)."""
    if cand is None or cand.change <= 0 or not cand.changes or cand.fault < ANOMALOUS:
        return None
    return max(cand.changes, key=lambda f: f.score)


def _shifted(cand: Candidate | None) -> bool:
    return any(f.score >= ANOMALOUS for f in (cand.symptoms + cand.health if cand else []))


def route(topology: Topology, root: str, entry: str, cands: dict[str, Candidate]) -> list[str] | None:
    """The resources from `root` up to `entry` along callee->caller edges, root first; None when
    the entry does not reach the root. Fewest hops without a shift first, then fewest hops, then
    the alphabetically first route (so that the same incident always gets the same path)."""
    if root == entry:
        return [root]
    start = (0 if _shifted(cands.get(root)) else 1, 1, [root])
    heap = [start]
    settled: set[str] = set()
    while heap:
        silent, hops, path = heapq.heappop(heap)
        node = path[-1]
        if node == entry:
            return path
        if node in settled:
            continue
        settled.add(node)
        for caller in topology.callers(node):
            if caller not in settled and caller not in path:
                heapq.heappush(heap, (silent + (0 if _shifted(cands.get(caller)) else 1), hops + 1, [*path, caller]))
    return None


def checked_path(
    topology: Topology, root: str, entry: str, cands: dict[str, Candidate], loads: str | None = None,
) -> list[PathHop]:
    """The hypothesis's path with its marks (see the module doc). A root the entry does not reach
    in the topology gets [root, entry], its missing edge marked. A neighbour whose load fails a
    dependency (`loads`, see load.py) starts the path, followed by that dependency's route: its
    hop's edge is its own call to the dependency."""
    if loads is not None:
        rest = route(topology, loads, entry, cands) or [loads, entry]
        hops = checked_path(topology, loads, entry, cands) if rest[0] == loads else []
        own = cands.get(root)
        first = PathHop(
            resource=root, finding_id=(_strongest(own).id if _strongest(own) else None), onset=own.onset if own else None,
            edge=loads in topology.callees(root), significant=_shifted(own), in_time=True,
        )
        return [first, *hops]
    resources = route(topology, root, entry, cands) or [root, entry]
    hops: list[PathHop] = []
    below: tuple[datetime, Candidate] | None = None  # the nearest hop underneath with a known onset
    for i, resource in enumerate(resources):
        cand = cands.get(resource)
        onset = cand.onset if cand is not None else None
        caller = resources[i + 1] if i + 1 < len(resources) else None
        # An unknown onset cannot contradict the order: it is not marked late or early.
        in_time = onset is None or below is None or below[0] <= onset + tolerance(below[1])
        strongest = _strongest(cand)
        # A root with no telemetry of its own (a security group, a policy) shows its fault as
        # the change the ranking scored near its dependents' onset: that is its finding.
        change = _scored_change(cand) if i == 0 and strongest is None else None
        hops.append(PathHop(
            resource=resource, finding_id=(strongest or change).id if (strongest or change) else None, onset=onset,
            edge=caller is None or resource in topology.callees(caller),
            significant=_shifted(cand) or change is not None, in_time=in_time,
        ))
        if onset is not None and cand is not None:
            below = (onset, cand)
    return hops


def describe(path: list[PathHop]) -> str:
    """One line for the engineer: `db (12:01) -> api (12:03) -> web (12:04)`, failing checks
    marked after their hop (`✗ no shift`, `✗ starts before db`, `✗ no edge to web`)."""
    parts = []
    for i, hop in enumerate(path):
        text = hop.resource + (f" ({hop.onset:%H:%M})" if hop.onset is not None else "")
        if not hop.significant:
            text += " ✗ no shift"
        if not hop.in_time:
            earlier = next((h.resource for h in reversed(path[:i]) if h.onset is not None), "the hop below")
            text += f" ✗ starts before {earlier}"
        if not hop.edge and i + 1 < len(path):
            text += f" ✗ no edge to {path[i + 1].resource}"
        parts.append(text)
    return " -> ".join(parts)
