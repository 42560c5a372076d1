"""Calls read from logs: what the log lines of a resource's trouble name, when no call graph says whom it calls.

With no service map (no tracing, a metrics-and-logs export), every resource is assumed to be a
dependency of the alarmed one and nothing tells two anomalous resources apart but their
findings (`Topology.assuming_dependencies_of`). Yet a failing service's errors often say what
failed under it: "upstream catalog responded 503", "Slow call to shop-db", a connection string.
A log line of A's trouble that names B, another resource of the incident, is evidence that A
calls B: the edge a trace would have drawn. Only the lines of its trouble are read (errors more
frequent, templates new or spiking in the incident): a line that names a resource in passing,
such as a request's origin, was there before. And only names that stand as whole tokens:
`cart-table-staging` is not `cart-table`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.ranking.thresholds import ANOMALOUS
from domain.findings import LogDetails
from domain.models import Edge, Finding

# A name is a run of letters, digits, '-' and '_': dots, colons and slashes separate a host from
# its domain, port or path ("shop-db:5432", "catalog.internal").
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def _is_trouble(f: Finding) -> bool:
    """A log finding of the incident's trouble: errors more frequent, or a template new or
    spiking (a warning such as "Slow call to shop-db" included). Not what stopped or fell."""
    details = f.evidence.details
    if not isinstance(details, LogDetails) or f.score < ANOMALOUS or f.direction == "down":
        return False
    return details.test in ("new", "spike", "error_rate", "calls_with_errors")


def _texts(f: Finding) -> Iterable[str]:
    details = f.evidence.details
    assert isinstance(details, LogDetails)
    yield from (t for t in (details.template, details.exception_message) if t)
    yield from f.evidence.sample_logs


def named_calls(findings: list[Finding], resources: Iterable[str]) -> list[Edge]:
    """Edges caller -> callee for each resource whose logs of its trouble name another of `resources`."""
    by_token = {r.lower(): r for r in resources}
    edges: set[tuple[str, str]] = set()
    for f in findings:
        if f.resource not in by_token.values() or not _is_trouble(f):
            continue
        for text in _texts(f):
            for token in _TOKEN.findall(text):
                callee = by_token.get(token.lower())
                if callee is not None and callee != f.resource:
                    edges.add((f.resource, callee))
    return [Edge(caller=a, callee=b) for a, b in sorted(edges)]
