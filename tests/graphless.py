"""The scope of a recording whose topology lists resources but no calls (shared by ranking tests)."""

from __future__ import annotations

from datetime import datetime, timedelta

from agent.state import Scope
from domain.models import Resource, TimeWindow, Topology


def assumed_scope(t0: datetime, entry: str, resources: list[str]) -> Scope:
    """An incident window around `t0`, a baseline before it, and every resource a service with no edge."""
    return Scope(
        incident=TimeWindow(start=t0 - timedelta(hours=1), end=t0 + timedelta(minutes=30)),
        baseline=TimeWindow(start=t0 - timedelta(hours=4), end=t0 - timedelta(hours=1)),
        entry=entry, resources=resources, call_graph="assumed",
        topology=Topology(resources=[Resource(id=r, type="service") for r in resources]),
    )
