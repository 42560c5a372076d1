"""Which resources may ground Claude's hypothesis: the engine's checked path when it has one."""

from __future__ import annotations

from agent.reasoners.claude.grounding import ModelAnswer, ModelHypothesis, ground
from agent.reasoners.claude.paths import path_of
from domain.models import Edge, Finding, Hypothesis, PathHop, Resource, Topology

# alb calls api and cache; api calls db; cache calls db too (two routes from the alb to db).
TOPOLOGY = Topology(
    resources=[Resource(id=r) for r in ("alb", "api", "cache", "db")],
    edges=[Edge(caller="alb", callee="cache"), Edge(caller="cache", callee="db"),
           Edge(caller="alb", callee="api"), Edge(caller="api", callee="db")],
)


def _hop(resource: str, *, edge: bool = True) -> PathHop:
    return PathHop(resource=resource, edge=edge, significant=True, in_time=True)


def _hypothesis(resource: str, path: list[PathHop]) -> Hypothesis:
    return Hypothesis(id=f"H-{resource}", resource=resource, cause="component", confidence=0.7, title=resource,
                      reasoning="r", path=path)


def test_the_engines_path_is_read_from_the_alarm_down_to_the_candidate() -> None:
    # The engine went through api (where the shift was), not the first route the topology lists.
    hypothesis = _hypothesis("db", [_hop("db"), _hop("api"), _hop("alb")])
    assert path_of(hypothesis, TOPOLOGY, "alb") == ["alb", "api", "db"]


def test_without_a_path_the_topologys_shortest_route_is_used() -> None:
    assert path_of(_hypothesis("db", []), TOPOLOGY, "alb") == ["alb", "cache", "db"]


def test_a_path_with_a_missing_edge_grounds_only_the_resource_itself() -> None:
    hypothesis = _hypothesis("queue", [_hop("queue", edge=False), _hop("alb")])
    assert path_of(hypothesis, TOPOLOGY, "alb") == ["queue"]


def test_a_grounded_hypothesis_keeps_the_engines_path_and_a_new_one_has_none() -> None:
    findings = [Finding(id=f"metric-{r}", domain="application", kind="metric", resource=r, signal="s", summary="s",
                        score=0.9) for r in ("db", "cache")]
    engine = [_hypothesis("db", [_hop("db"), _hop("api"), _hop("alb")])]
    answer = ModelAnswer(hypotheses=[
        ModelHypothesis(resource="db", cause="component", reasoning="db", cited_findings=["metric-db"]),
        ModelHypothesis(resource="cache", cause="component", reasoning="cache", cited_findings=["metric-cache"]),
    ])
    grounded = ground(answer, engine, findings, {"db": ["alb", "api", "db"], "cache": ["cache"]})
    paths = {h.resource: h.path for h in grounded.hypotheses}
    assert paths == {"db": engine[0].path, "cache": []}
