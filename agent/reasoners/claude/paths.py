"""Propagation paths: the hops from the alarmed resource down to a candidate root cause."""

from __future__ import annotations

from collections import deque

from domain.models import Hypothesis, Topology


def propagation_path(topology: Topology, entry: str, resource: str) -> list[str]:
    """The shortest caller->callee path from `entry` to `resource` (both included).

    `[resource]` alone when the resource is the entry or not reachable from it: then only
    findings on the resource itself can ground a hypothesis about it.
    """
    if resource == entry:
        return [entry]
    previous: dict[str, str] = {}
    queue = deque([entry])
    while queue:
        node = queue.popleft()
        for callee in topology.callees(node):
            if callee in previous or callee == entry:
                continue
            previous[callee] = node
            if callee == resource:
                path = [resource]
                while path[-1] != entry:
                    path.append(previous[path[-1]])
                return path[::-1]
            queue.append(callee)
    return [resource]


def path_of(hypothesis: Hypothesis, topology: Topology, entry: str) -> list[str]:
    """The engine's checked path (`Hypothesis.path`, root first) turned to run from `entry` down
    to the hypothesis's resource, like `propagation_path`; the topology's shortest when the
    hypothesis has none (stored before paths existed). A path with a missing edge is not a route
    the failure can have taken: as for an unreachable resource, only the resource itself is kept."""
    if not hypothesis.path:
        return propagation_path(topology, entry, hypothesis.resource)
    if not all(hop.edge for hop in hypothesis.path):
        return [hypothesis.resource]
    return [hop.resource for hop in reversed(hypothesis.path)]
