"""A recording with resources but no call graph (X-Ray not enabled, a metrics-only export).

The front end `web` pages on its latency; the database `db` behind it is what got slow, and a
third resource `cache` stays normal. Nothing in the recording says `web` calls `db`. With no
edge touching the alarmed resource nothing rules a resource out as its dependency: every one is
looked at and may explain it, and the paths say that no edge was seen.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from agent.runner import investigate_bundle
from domain.models import ChangeEvent, Edge, Resource, TimeWindow, Topology, Trigger
from tools.bundle.format import IncidentManifest
from tools.bundle.writer import write_bundle

START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
ONSET = START + timedelta(minutes=60)
ALARM = ONSET + timedelta(minutes=3)
MINUTES = 90


def _series(resource: str, metric: str, before: float, after: float, rng: np.random.Generator) -> pd.DataFrame:
    times = [START + timedelta(minutes=i) for i in range(MINUTES)]
    level = np.where(np.arange(MINUTES) >= 60, after, before)
    return pd.DataFrame({
        "resource": resource, "namespace": "Test", "metric": metric, "stat": "Average", "dimensions": "{}",
        "timestamp": pd.to_datetime(times, utc=True), "value": level * (1.0 + 0.03 * rng.standard_normal(MINUTES)),
    })


def _spans(calls: list[tuple[str, str]]) -> pd.DataFrame:
    """One trace a minute through each (caller, callee) pair: a span of the caller, its child in the callee."""
    rows = []
    for i in range(MINUTES):
        t = START + timedelta(minutes=i)
        for caller, callee in calls:
            trace = f"{caller}-{callee}-{i}"
            rows += [(trace, f"{trace}-a", None, caller, "GET /", t, t + timedelta(milliseconds=20)),
                     (trace, f"{trace}-b", f"{trace}-a", callee, "query", t, t + timedelta(milliseconds=10))]
    frame = pd.DataFrame(rows, columns=["trace_id", "span_id", "parent_id", "service", "operation", "start", "end"])
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    return frame.assign(error=False, fault=False, status=None)


def _bundle(path: Path, edges: list[Edge], spans: pd.DataFrame | None = None, changes: list[ChangeEvent] = ()) -> Path:
    rng = np.random.default_rng(5)
    metrics = pd.concat([
        _series("web", "latency", 0.10, 0.60, rng),   # the alarm: 500 ms slower
        _series("db", "latency", 0.01, 0.50, rng),    # the cause: 490 ms slower
        _series("db", "cpu", 20.0, 85.0, rng),
        _series("cache", "latency", 0.002, 0.002, rng),
    ], ignore_index=True)
    manifest = IncidentManifest(
        id="no-call-graph", title="web latency", window=TimeWindow(start=ONSET - timedelta(minutes=15), end=START + timedelta(minutes=MINUTES)),
        baseline=TimeWindow(start=START, end=ONSET - timedelta(minutes=16)),
        trigger=Trigger(alarm_name="web latency high", resource="web", namespace="Test", metric="latency",
                        statistic="Average", threshold=0.3, comparison="GreaterThanThreshold", state_change_time=ALARM),
        topology=Topology(resources=[Resource(id=r) for r in ("web", "db", "cache")], edges=edges),
    )
    return write_bundle(path, manifest, metrics=metrics, spans=spans, changes=changes)


def test_with_no_call_graph_the_slow_resource_behind_the_alarm_is_found_and_its_path_says_no_edge_was_seen(tmp_path: Path) -> None:
    inv = investigate_bundle(_bundle(tmp_path / "b", edges=[]))
    assert not inv.abstained
    assert inv.hypotheses[0].resource == "db"
    path = inv.hypotheses[0].path
    assert [h.resource for h in path] == ["db", "web"] and not path[0].edge
    assert any("call graph" in note for note in inv.notes)
    assert "cache" not in {h.resource for h in inv.hypotheses}
    # An assumed call graph is unlike what the confidence was fitted on: it reads less sure, and says why.
    assert "no_call_graph" in inv.hypotheses[0].unfamiliar and "topology has no calls" in inv.hypotheses[0].reasoning


def test_with_the_call_graph_the_same_answer_is_reached_along_a_seen_edge(tmp_path: Path) -> None:
    inv = investigate_bundle(_bundle(tmp_path / "b", edges=[Edge(caller="web", callee="db")]))
    assert inv.hypotheses[0].resource == "db" and inv.hypotheses[0].path[0].edge
    assert not any("call graph" in note for note in inv.notes)


def test_an_edge_elsewhere_does_not_map_the_alarmed_resource() -> None:
    topology = Topology(resources=[Resource(id=r) for r in ("web", "db", "cache")], edges=[Edge(caller="db", callee="cache")])
    assert not topology.maps("web") and topology.maps("db")
    assumed = topology.assuming_dependencies_of("web")
    assert set(assumed.callees("web")) == {"db", "cache"} and assumed.callees("db") == ["cache"]
    mapped = topology.assuming_dependencies_of("db")
    assert mapped is topology


def test_with_no_call_graph_but_traces_the_calls_are_read_from_the_spans(tmp_path: Path) -> None:
    inv = investigate_bundle(_bundle(tmp_path / "b", edges=[], spans=_spans([("web", "db"), ("db", "unknown-host")])))
    assert inv.hypotheses[0].resource == "db"
    assert inv.hypotheses[0].path[0].edge, "web -> db was seen in the traces"
    assert any("read from the traces" in note for note in inv.notes)
    assert not any("does not connect" in note for note in inv.notes)
    # Traces show the services' calls, not their zones, configurations or permissions: less sure too.
    assert "no_call_graph" in inv.hypotheses[0].unfamiliar


def test_calls_between_known_resources_only_are_read_from_spans() -> None:
    from tools.analysis.call_graph import calls_from_spans

    spans = _spans([("web", "db"), ("web", "db"), ("db", "unknown-host"), ("cache", "cache")])
    edges = calls_from_spans(spans, {"web", "db", "cache"})
    assert [(e.caller, e.callee) for e in edges] == [("web", "db")]
    assert calls_from_spans(spans.iloc[0:0], {"web"}) == []


def test_with_no_call_graph_equal_scores_go_to_the_larger_relative_shift_not_to_the_name() -> None:
    # gateway and "z-function" both slowed at the same minute and nothing says which calls which:
    # their scores are equal. The function went from 100 ms to 400 ms (x4), the gateway in front
    # of it from 150 ms to 450 ms (x3): the same added time on a larger base, as a caller shows its
    # dependency's delay. Alphabetical order would have put the gateway first.
    from agent.ranking import rank
    from tests.test_ranking import TRIGGER, _latency, _scope

    topology = Topology(resources=[Resource(id=r) for r in ("alb", "gateway", "z-function")], edges=[])
    findings = [_latency("gateway", 0.99, 0, 300.0), _latency("z-function", 0.99, 0, 300.0)]
    findings[0].evidence.baseline_value, findings[0].evidence.incident_value = 150.0, 450.0
    scope = _scope(topology).model_copy(update={"resources": ["alb", "gateway", "z-function"]})
    ranking = rank(findings, scope, TRIGGER)
    assert [h.resource for h in ranking.hypotheses[:2]] == ["z-function", "gateway"]
    assert ranking.hypotheses[0].evidence_score == ranking.hypotheses[1].evidence_score


def test_the_eval_can_investigate_a_bundle_as_if_it_had_no_call_graph(tmp_path: Path) -> None:
    from evals.runner import investigate_without_call_graph

    bundle = _bundle(tmp_path / "b", edges=[Edge(caller="web", callee="db")])
    inv = investigate_without_call_graph(bundle)
    assert inv.hypotheses[0].resource == "db" and not inv.hypotheses[0].path[0].edge
    assert "no_call_graph" in inv.hypotheses[0].unfamiliar
    # The bundle on disk keeps its edges: only that investigation went without them.
    assert investigate_bundle(bundle).hypotheses[0].path[0].edge


def test_the_eval_can_investigate_a_bundle_as_if_only_its_metrics_were_recorded(tmp_path: Path) -> None:
    # The bundle has traces (which show web calling db) and a deploy of db two minutes before the
    # onset; a metrics-only recording of the same incident has neither, and the baselines may not
    # read them either.
    from evals.runner import investigate_metrics_only, run_baselines

    deploy = ChangeEvent(id="evt-1", time=ONSET - timedelta(minutes=2), source="ecs.amazonaws.com",
                         event_name="UpdateService", resource="db")
    bundle = _bundle(tmp_path / "b", edges=[], spans=_spans([("web", "db")]), changes=[deploy])
    full = investigate_bundle(bundle)
    assert "change" in {f.kind for f in full.findings} and full.hypotheses[0].path[0].edge
    assert run_baselines(bundle, ["last-change"])[0]["last-change"][:1] == ["db"]

    inv = investigate_metrics_only(bundle)
    assert {f.kind for f in inv.findings} <= {"metric", "gap"}
    assert inv.hypotheses[0].resource == "db" and not inv.hypotheses[0].path[0].edge
    assert "no_call_graph" in inv.hypotheses[0].unfamiliar
    assert run_baselines(bundle, ["last-change"], metrics_only=True)[0]["last-change"] == []


def test_with_no_call_graph_the_internet_facing_load_balancer_is_a_caller_of_the_alarmed_service() -> None:
    # The alarm is on the service web; the internet-facing load balancer in front of it relays
    # web's failures as its own 5XX, from the same minute and relatively larger (0 -> 40 against
    # web's 10 -> 40). Assumed to be one of web's dependencies, it would be blamed for them.
    from agent.ranking import rank
    from tests.test_ranking import _scope, _shift

    trigger = Trigger(alarm_name="web errors", resource="web", namespace="Test", metric="Errors", statistic="Sum",
                      threshold=20, comparison="GreaterThanThreshold", state_change_time=ALARM)

    def ranked(scheme: str) -> list[str]:
        topology = Topology(resources=[
            Resource(id="web"), Resource(id="db"),
            Resource(id="front", type="AWS::ElasticLoadBalancingV2::LoadBalancer", attributes={"scheme": scheme}),
        ])
        scope = _scope(topology, entry="web").model_copy(update={"resources": ["web", "db", "front"]})
        findings = [_shift("web", "Errors", 10, 40, 0, stat="Sum"), _shift("front", "HTTPCode_Target_5XX_Count", 0, 40, 0, stat="Sum")]
        return [h.resource for h in rank(findings, scope, trigger).hypotheses]

    assert ranked("internet-facing")[0] == "web"
    # An internal load balancer is one that services call: it may well be web's dependency.
    assert ranked("internal")[0] == "front"


def test_with_no_call_graph_a_processor_near_saturation_is_ahead_of_the_caller_that_shows_its_slowdown() -> None:
    # "api" and "web" slowed at the same minute and nothing says which calls which. web's p99
    # grew 4.5-fold (116 -> 520 ms), api's 3-fold (72 -> 222 ms): on latency alone web's is the
    # larger relative shift. But api's CPU went from 41 % to 91 %: its headroom fell from 59 % to
    # 9 %, and a queue's waiting time grows as 1 / (1 - utilisation), a 6.5-fold slowdown of its
    # own. web's CPU barely moved (34 % -> 46 %). The processor running out is where it starts.
    from agent.ranking import rank
    from agent.ranking.candidates import relative_effect
    from domain.findings import MetricDetails
    from tests.test_ranking import TRIGGER, _latency, _metric, _scope

    def cpu(resource: str, before: float, after: float):
        f = _metric(resource, "CPUUtilization", 0.99, 0)
        f.evidence.baseline_value, f.evidence.incident_value = before, after
        f.evidence.details = MetricDetails(metric="CPUUtilization", namespace="AWS/ECS", stat="Average")
        return f

    web, api = _latency("web", 0.99, 0, 404.0), _latency("api", 0.99, 0, 150.0)
    web.evidence.baseline_value, web.evidence.incident_value = 116.0, 520.0
    api.evidence.baseline_value, api.evidence.incident_value = 72.0, 222.0
    findings = [web, api, cpu("api", 41.0, 91.0), cpu("web", 34.0, 46.0)]
    assert abs(relative_effect(findings[2]) - (1 - 9 / 59)) < 1e-9  # not the CPU's growth, 1 - 41/91
    assert abs(relative_effect(findings[3]) - (1 - 34 / 46)) < 1e-9  # far from its limit: its growth is larger
    topology = Topology(resources=[Resource(id=r) for r in ("alb", "web", "api")], edges=[])
    scope = _scope(topology).model_copy(update={"resources": ["alb", "web", "api"]})
    ranking = rank(findings, scope, TRIGGER)
    assert [h.resource for h in ranking.hypotheses[:2]] == ["api", "web"]
