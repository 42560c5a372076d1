"""Graph state. Everything here is a pydantic model so a SQLite checkpointer can persist it.

`InvestigationInput` is the narrow input a caller supplies; `InvestigationState` is what the
nodes read and write. Bulky telemetry never enters the state: only Findings (small, cited
by id) and the scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Callable, Literal

from pydantic import BaseModel, Field

from agent.reasoners.base import Reasoner
from domain.models import Decision, Finding, Hypothesis, Investigation, ReasonerReport, TimeWindow, Topology, Trigger
from domain.settings import Settings
from tools.source import TelemetrySource

# The shape of the stored state (agent/schema.py upgrades older ones): bump it with a change
# that old stored data does not validate against, and add the upgrade step there.
SCHEMA_VERSION = 2


def merge_findings(left: list[Finding], right: list[Finding]) -> list[Finding]:
    """Replace findings by id, keep first-seen order: a rerun measures the same finding again
    (ids are stable) and its newer measurement wins instead of being listed twice."""
    merged = {f.id: f for f in left}
    for finding in right:
        merged[finding.id] = finding
    return list(merged.values())


def merge_unique(left: list, right: list) -> list:
    """Append what is not there yet, keep order: notes and decisions a rerun repeats stay single."""
    merged = list(left)
    for item in right:
        if item not in merged:
            merged.append(item)
    return merged


class InvestigationInput(BaseModel):
    investigation_id: str
    trigger: Trigger
    window: TimeWindow | None = Field(default=None, description="incident window; default: around the alarm")
    baseline: TimeWindow | None = Field(default=None, description="normal period; default: before the incident")
    origin: str = Field(default="", description="where the telemetry comes from, so a rerun can read it again")
    started_at: datetime | None = Field(default=None, description="wall-clock time this revision was started")
    schema_version: int = Field(default=SCHEMA_VERSION, description="the state's shape, stored with it")
    decisions: list[Decision] = Field(
        default_factory=list, description="decisions carried over from an investigation started afresh"
    )


class ReviewRequest(BaseModel):
    """What the graph hands to the engineer when it stops for review (the interrupt's value)."""

    investigation_id: str
    revision: int
    findings: list[str]
    hypotheses: list[str]


class Revision(BaseModel):
    """One completed run of an investigation, kept so earlier revisions stay readable."""

    number: int
    started_at: datetime | None = None
    investigation: Investigation


class Scope(BaseModel):
    """Where and when to look: decided once, read by every domain node."""

    incident: TimeWindow
    baseline: TimeWindow
    pre_incident: TimeWindow | None = Field(
        default=None, description="the part of the incident window before the likely onset: normal too"
    )
    entry: str
    resources: list[str] = Field(description="the entry resource and everything it depends on")
    neighbours: list[str] = Field(
        default_factory=list,
        description="other callers of what the entry depends on: the load they send may be what fails it",
    )
    topology: Topology
    call_graph: Literal["recorded", "traced", "assumed"] = Field(
        default="recorded",
        description="where the alarmed resource's calls in `topology` come from: the recorded topology, the incident's "
                    "traces (the topology had none), or nowhere (every resource assumed to be a possible dependency)",
    )


    def normal_windows(self) -> list[TimeWindow]:
        return [self.baseline] + ([self.pre_incident] if self.pre_incident else [])


class InvestigationState(InvestigationInput):
    scope: Scope | None = None
    # Domain nodes run in parallel and each adds its findings and notes; a rerun adds them again.
    findings: Annotated[list[Finding], merge_findings] = Field(default_factory=list)
    notes: Annotated[list[str], merge_unique] = Field(default_factory=list)
    observed: Annotated[list[str], merge_unique] = Field(
        default_factory=list, description="resources that had telemetry of their own in the incident window"
    )
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    abstained: bool = False
    abstain_reason: str | None = None
    root_cause: Hypothesis | None = None
    reasoner_report: ReasonerReport | None = None
    investigation: Investigation | None = None
    decisions: Annotated[list[Decision], merge_unique] = Field(default_factory=list)
    revision: int = 1
    revisions: Annotated[list[Revision], merge_unique] = Field(default_factory=list)


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
