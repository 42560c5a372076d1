"""The reasoner seam: the ranker decides, a reasoner words; the graph takes it from its Context."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.reasoners.base import Reasoner, ReasoningRequest
from agent.reasoners.deterministic import DeterministicReasoner
from agent.runner import investigate_bundle
from domain.models import Hypothesis

DEMO = Path(__file__).resolve().parents[1] / "evals" / "demo" / "bad-deploy"


class Terse:
    """A reasoner of our own: one-word titles, no reasoning beyond the cause, one step."""

    def __init__(self) -> None:
        self.requests: list[ReasoningRequest] = []

    def explain(self, request: ReasoningRequest) -> list[Hypothesis]:
        self.requests.append(request)
        return [
            Hypothesis(id=f"H-{c.resource}", resource=c.resource, cause=c.cause, confidence=c.confidence,
                       evidence_score=c.evidence_score, title=c.resource.upper(), reasoning=c.cause,
                       supporting_findings=c.supporting_findings, next_steps=["look"])
            for c in request.candidates
        ]


@pytest.fixture(scope="module")
def demo_default():
    return investigate_bundle(DEMO)


def test_both_reasoners_satisfy_the_protocol() -> None:
    assert isinstance(DeterministicReasoner(), Reasoner)
    assert isinstance(Terse(), Reasoner)


def test_the_graph_words_hypotheses_with_the_reasoner_of_its_context(demo_default) -> None:
    terse = Terse()
    worded = investigate_bundle(DEMO, reasoner=terse)
    assert len(terse.requests) == 1
    request = terse.requests[0]
    # The request cites only findings it carries, and ranks from 1.
    ids = {f.id for f in request.findings}
    assert all(set(c.supporting_findings) <= ids for c in request.candidates)
    assert [c.rank for c in request.candidates] == list(range(1, len(request.candidates) + 1))
    # The words are the reasoner's; what was ranked, and how confidently, is the ranker's.
    assert [h.title for h in worded.hypotheses] == [h.resource.upper() for h in demo_default.hypotheses]
    assert [(h.resource, h.cause, h.confidence) for h in worded.hypotheses] == [
        (h.resource, h.cause, h.confidence) for h in demo_default.hypotheses
    ]


def test_only_a_supported_first_hypothesis_is_said_to_be_where_the_fault_starts(demo_default) -> None:
    claim = "the fault most likely starts here"
    first, *rest = demo_default.hypotheses
    assert not demo_default.abstained and claim in first.reasoning
    # The demo's benign catalog deploy, far down the list at about 0 %, claims nothing of the kind.
    catalog = next(h for h in rest if h.resource == "catalog")
    assert catalog.confidence < 0.05
    assert all(claim not in h.reasoning for h in rest)
