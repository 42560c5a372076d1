"""Graph state. Everything here is a pydantic model so a SQLite checkpointer can persist it.

`InvestigationInput` is the narrow input a caller supplies; `InvestigationState` is what the
nodes read and write. Bulky telemetry never enters the state: only Findings (small, cited
by id) and the scope.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Callable

from pydantic import BaseModel, Field

from agent.reasoners.base import Reasoner
from domain.models import Finding, Hypothesis, Investigation, ReasonerReport, TimeWindow, Topology, Trigger
from domain.settings import Settings
from tools.source import TelemetrySource


class InvestigationInput(BaseModel):
    investigation_id: str
    trigger: Trigger
    window: TimeWindow | None = Field(default=None, description="incident window; default: around the alarm")
    baseline: TimeWindow | None = Field(default=None, description="normal period; default: before the incident")


class Scope(BaseModel):
    """Where and when to look: decided once, read by every domain node."""

    incident: TimeWindow
    baseline: TimeWindow
    pre_incident: TimeWindow | None = Field(
        default=None, description="the part of the incident window before the likely onset: normal too"
    )
    entry: str
    resources: list[str] = Field(description="the entry resource and everything it depends on")
    topology: Topology


    def normal_windows(self) -> list[TimeWindow]:
        return [self.baseline] + ([self.pre_incident] if self.pre_incident else [])


class InvestigationState(InvestigationInput):
    scope: Scope | None = None
    # Domain nodes run in parallel and each appends its findings and notes.
    findings: Annotated[list[Finding], operator.add] = Field(default_factory=list)
    notes: Annotated[list[str], operator.add] = Field(default_factory=list)
    observed: Annotated[list[str], operator.add] = Field(
        default_factory=list, description="resources that had telemetry of their own in the incident window"
    )
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    abstained: bool = False
    abstain_reason: str | None = None
    reasoner_report: ReasonerReport | None = None
    investigation: Investigation | None = None


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Context:
    """Run-scoped dependencies handed to nodes by LangGraph; never checkpointed."""

    source: TelemetrySource
    clock: Callable[[], datetime] = field(default=_utc_now)
    settings: Settings = field(default_factory=Settings.defaults)
    # Writes the hypotheses' words; None is the deterministic reasoner (no LLM).
    reasoner: Reasoner | None = None
