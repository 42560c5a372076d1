"""The seam between ranking and explanation.

The ranker (agent/ranking/) decides which resources to propose, in what order, with what
cause and confidence; a reasoner writes what an engineer reads about each: the title, the
reasoning and the next steps. The deterministic reasoner does it from templates; a
model-backed reasoner may do it from the same request, and may reorder or drop hypotheses
only by returning them so (the confidence stays the ranker's).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from domain.models import Cause, Finding, Hypothesis, PathHop, Trigger


class RankedCandidate(BaseModel):
    """One proposed resource as the ranker scored it, with the quantities behind the score."""

    model_config = ConfigDict(extra="forbid")

    rank: int = Field(ge=1)
    resource: str
    cause: Cause
    confidence: float = Field(ge=0.0, le=1.0, description="calibrated probability (what users see)")
    evidence_score: float = Field(ge=0.0, le=1.0, description="the ranker's score before calibration")
    supported: bool = Field(description="the evidence supports proposing it (its score and evidence score pass the bars)")
    is_entry: bool = Field(description="it is the alarmed resource itself")
    anomaly: float = Field(description="combined anomaly of its own findings, 0..1")
    onset: datetime | None = None
    explains: float = Field(description="share of the other anomalous resources it accounts for")
    victim_of: str | None = Field(default=None, description="its anomalous dependency that best accounts for it")
    victim: float = Field(default=0.0, description="how much of its anomaly that dependency accounts for")
    change: float = Field(default=0.0, description="proximity of its strongest change to its onset, 0..1")
    recovered_at: datetime | None = Field(default=None, description="when its anomaly ended by itself, if it did")
    loads: str | None = Field(default=None, description="a neighbour outside the alarm's dependencies: the failing dependency its extra requests explain")
    loaded_by: str | None = Field(
        default=None, description="the caller whose extra requests explain its trouble: a neighbour's load, or demand it is only busier with",
    )
    symptoms: list[str] = Field(default_factory=list, description="ids of its symptom and health findings, strongest first")
    changes: list[str] = Field(default_factory=list, description="ids of its change findings, strongest first")
    lead: str | None = Field(default=None, description="id of the finding the category rests on most")
    supporting_findings: list[str] = Field(default_factory=list, description="ids a hypothesis should cite")
    path: list[PathHop] = Field(default_factory=list, description="its propagation path, root first, each hop checked")


class ReasoningRequest(BaseModel):
    """Everything a reasoner may read: the ranked candidates and the findings they cite."""

    model_config = ConfigDict(extra="forbid")

    trigger: Trigger
    candidates: list[RankedCandidate]
    findings: list[Finding]
    abstained: bool


@runtime_checkable
class Reasoner(Protocol):
    """Turns ranked candidates into hypotheses with a title, reasoning and next steps."""

    def explain(self, request: ReasoningRequest) -> list[Hypothesis]: ...
