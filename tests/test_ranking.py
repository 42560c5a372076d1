"""The deterministic ranker on hand-built findings: does it reason along the dependency graph
the way an engineer would?

Clock used throughout: incident window 09:00-10:30, alarm at 10:05 on the load balancer's
5xx count. Scores are hand-picked anomaly strengths (0.5 and above is anomalous).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


from agent.calibration import calibrated
from domain.findings import ChangeDetails, ConstraintKind, HealthDetails, LogDetails, MetricDetails, PerRequest, TraceDetails
from domain.models import Edge, Evidence, Finding, Resource, TimeWindow, Topology, Trigger
from agent.ranking import ABSTAIN_BELOW, rank
from agent.state import Scope

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
ALARM = T0 + timedelta(minutes=5)
ALARM_METRIC = "HTTPCode_Target_5XX_Count"
TRIGGER = Trigger(
    alarm_name="alb-5xx", resource="alb", namespace="AWS/ApplicationELB", metric=ALARM_METRIC,
    statistic="Sum", threshold=10, comparison="GreaterThanThreshold", state_change_time=ALARM,
)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _topology(edges: list[tuple[str, str]], types: dict[str, str] | None = None) -> Topology:
    ids = sorted({r for edge in edges for r in edge})
    types = types or {}
    return Topology(
        resources=[Resource(id=i, type=types.get(i, "service")) for i in ids],
        edges=[Edge(caller=a, callee=b) for a, b in edges],
    )


def _scope(topology: Topology, entry: str = "alb") -> Scope:
    return Scope(
        incident=TimeWindow(start=T0 - timedelta(hours=1), end=T0 + timedelta(minutes=30)),
        baseline=TimeWindow(start=T0 - timedelta(hours=4), end=T0 - timedelta(hours=1)),
        entry=entry,
        resources=[entry, *sorted(topology.downstream(entry))],
        topology=topology,
    )


def _metric(resource: str, metric: str, score: float, onset_minute: float, *, domain: str = "application") -> Finding:
    signal = f"Test/{metric} Average"
    return Finding(
        id=Finding.make_id("metric", resource, signal), domain=domain, kind="metric", resource=resource, signal=signal,
        summary=f"{signal} on {resource} shifted", onset=_at(onset_minute), score=score, direction="up",
        evidence=Evidence(baseline_value=1.0, incident_value=2.0, details=MetricDetails(metric=metric)),
    )


def _change(resource: str, event_name: str, minute: float, score: float, *, domain: str = "application") -> Finding:
    signal = f"change {event_name} on {resource}"
    return Finding(
        id=Finding.make_id("change", resource, signal), domain=domain, kind="change", resource=resource, signal=signal,
        summary=f"{event_name} on {resource}", onset=_at(minute), score=score,
        evidence=Evidence(event_ids=[f"evt-{resource}"], details=ChangeDetails(event_id=f"evt-{resource}", event_name=event_name)),
    )


def _assert_cites_only_existing_findings(ranking, findings: list[Finding]) -> None:
    ids = {f.id for f in findings}
    for hypothesis in ranking.hypotheses:
        assert set(hypothesis.supporting_findings) <= ids, hypothesis
        assert set(hypothesis.contradicting_findings) <= ids, hypothesis
        assert hypothesis.supporting_findings, f"{hypothesis.resource} is proposed without evidence"
    confidences = [h.confidence for h in ranking.hypotheses]
    assert confidences == sorted(confidences, reverse=True)


def _cascade() -> tuple[list[Finding], Scope]:
    # alb -> api -> db. db slows first (10:00), api errors a minute later, and the alb's 5xx,
    # the loudest symptom and the alarmed metric, a few minutes after that.
    findings = [
        _metric("alb", ALARM_METRIC, 0.99, 3),
        _metric("api", "Errors", 0.9, 1),
        _metric("db", "ReadLatency", 0.8, 0),
    ]
    return findings, _scope(_topology([("alb", "api"), ("api", "db")]))


def test_cascade_ranks_the_downstream_cause_first_not_the_loudest_symptom() -> None:
    findings, scope = _cascade()
    ranking = rank(findings, scope, TRIGGER)
    assert not ranking.abstained
    assert ranking.hypotheses[0].resource == "db"
    resources = [h.resource for h in ranking.hypotheses]
    # The victims, if proposed at all, come after the cause.
    assert all(resources.index(r) > 0 for r in ("alb", "api") if r in resources)
    _assert_cites_only_existing_findings(ranking, findings)
    db_metric = findings[2].id
    assert db_metric in ranking.hypotheses[0].supporting_findings


def test_a_dependency_that_degrades_after_its_caller_broke_is_not_the_cause() -> None:
    # api breaks at 10:00 and the alb's 5xx follow at 10:01; db only degrades at 10:08 (e.g.
    # under api's retries), after the symptoms it would have to explain had started.
    findings = [
        _metric("alb", ALARM_METRIC, 0.99, 1),
        _metric("api", "Errors", 0.9, 0),
        _metric("db", "ReadLatency", 0.8, 8),
    ]
    trigger = TRIGGER.model_copy(update={"state_change_time": _at(12)})
    ranking = rank(findings, _scope(_topology([("alb", "api"), ("api", "db")])), trigger)
    assert ranking.hypotheses[0].resource == "api"


def _sampled(resource: str, metric: str, score: float, onset_minute: float, period_s: int = 60) -> Finding:
    """A metric finding from a series sampled every `period_s` seconds."""
    finding = _metric(resource, metric, score, onset_minute)
    details = MetricDetails(metric=metric, period_s=period_s)
    return finding.model_copy(update={"evidence": finding.evidence.model_copy(update={"details": details})})


def test_a_dependency_seen_normal_after_its_caller_began_failing_did_not_cause_it() -> None:
    # api logs errors in most calls from 10:00:00. db's 1-minute latency is first abnormal at
    # 10:01:50, so its point at 10:00:50 was normal: fifty seconds after api's failure began,
    # db was still fine. Two minutes of blur (the old rule) let db pass as api's cause.
    topology = _topology([("alb", "api"), ("api", "db")])
    alarm = _metric("alb", ALARM_METRIC, 0.99, 2)
    failing = _log_finding("api", 0.95, 0)
    late = rank([alarm, failing, _sampled("db", "ReadLatency", 0.95, 110 / 60)], _scope(topology), TRIGGER)
    assert late.hypotheses[0].resource == "api"
    assert "victim" not in late.hypotheses[0].reasoning
    # First abnormal at 10:01:00: the point before it (10:00:00) is the onset itself, so db may
    # have begun at the same moment as api: then it is the likelier cause, api its victim.
    early = rank([alarm, failing, _sampled("db", "ReadLatency", 0.95, 1)], _scope(topology), TRIGGER)
    assert early.hypotheses[0].resource == "db"
    # A 5-minute series first abnormal 110 s after api's onset may have turned at api's onset.
    coarse = rank([alarm, failing, _sampled("db", "ReadLatency", 0.95, 110 / 60, 300)], _scope(topology), TRIGGER)
    assert coarse.hypotheses[0].resource == "db"


def test_a_benign_change_on_an_unrelated_healthy_resource_does_not_outrank_the_anomaly() -> None:
    # alb -> api (broken from 10:00) and alb -> catalog (healthy: its metrics are normal),
    # catalog deployed at 09:58, as close to the onset as a culprit's deploy would be.
    topology = _topology([("alb", "api"), ("alb", "catalog")])
    findings = [
        _metric("alb", ALARM_METRIC, 0.95, 2),
        _metric("api", "Errors", 0.9, 0),
        _metric("catalog", "Latency", 0.1, 0),
        _change("catalog", "UpdateService", -2, 0.95),
    ]
    ranking = rank(findings, _scope(topology), TRIGGER)
    assert ranking.hypotheses[0].resource == "api"
    for hypothesis in ranking.hypotheses[1:]:
        assert hypothesis.confidence < ranking.hypotheses[0].confidence
    _assert_cites_only_existing_findings(ranking, findings)


def test_a_change_on_a_resource_without_telemetry_is_proposed_through_its_anomalous_caller() -> None:
    # alb -> api -> api-sg: an ingress rule of api's security group was revoked at 09:58; the
    # security group has no metrics of its own, but api, which depends on it, broke at 10:00.
    topology = _topology([("alb", "api"), ("api", "api-sg")], {"api-sg": "AWS::EC2::SecurityGroup"})
    change = _change("api-sg", "RevokeSecurityGroupIngress", -2, 0.95, domain="network")
    findings = [_metric("alb", ALARM_METRIC, 0.95, 2), _metric("api", "Errors", 0.9, 0), change]
    ranking = rank(findings, _scope(topology), TRIGGER)
    proposed = {h.resource: h for h in ranking.hypotheses}
    assert "api-sg" in proposed
    assert proposed["api-sg"].cause == "change"
    assert change.id in proposed["api-sg"].supporting_findings
    _assert_cites_only_existing_findings(ranking, findings)


def test_a_change_on_a_resource_whose_callers_are_healthy_is_not_proposed() -> None:
    # Same change, but on the security group of catalog, which is healthy; api broke on its own.
    topology = _topology([("alb", "api"), ("alb", "catalog"), ("catalog", "catalog-sg")])
    findings = [
        _metric("alb", ALARM_METRIC, 0.95, 2),
        _metric("api", "Errors", 0.9, 0),
        _change("catalog-sg", "RevokeSecurityGroupIngress", -2, 0.95, domain="network"),
    ]
    ranking = rank(findings, _scope(topology), TRIGGER)
    assert ranking.hypotheses[0].resource == "api"
    assert "catalog-sg" not in {h.resource for h in ranking.hypotheses}


def test_nothing_anomalous_abstains_with_a_reason() -> None:
    findings = [
        _metric("alb", ALARM_METRIC, 0.3, 2),
        _metric("api", "Errors", 0.2, 0),
        _metric("db", "ReadLatency", 0.1, 0),
    ]
    ranking = rank(findings, _scope(_topology([("alb", "api"), ("api", "db")])), TRIGGER)
    assert ranking.abstained
    assert ranking.hypotheses == []
    assert ranking.abstain_reason and len(ranking.abstain_reason) > 20


def test_a_change_alone_with_nothing_anomalous_abstains() -> None:
    findings = [_metric("alb", ALARM_METRIC, 0.2, 2), _change("api", "UpdateService", -3, 0.9)]
    ranking = rank(findings, _scope(_topology([("alb", "api")])), TRIGGER)
    assert ranking.abstained
    assert ranking.hypotheses == []


def test_no_findings_at_all_abstains() -> None:
    ranking = rank([], _scope(_topology([("alb", "api")])), TRIGGER)
    assert ranking.abstained and ranking.abstain_reason


def test_confidence_is_lower_when_the_alarmed_metric_itself_looks_normal() -> None:
    findings, scope = _cascade()
    confirmed = rank(findings, scope, TRIGGER)
    # Same anomaly on alb, but carried by another metric; the metric analysis observed that the
    # alarmed metric itself stayed within its baseline (the observation it emits in that case).
    normal = Finding(
        id=Finding.make_id("metric", "alb", f"{ALARM_METRIC} (alarmed metric)"), domain="application", kind="metric",
        resource="alb", signal=f"{ALARM_METRIC} (alarmed metric)", summary="the alarmed metric shows no sustained shift",
        score=0.2, evidence=Evidence(details=MetricDetails(metric=ALARM_METRIC, alarm_metric_normal=True)),
    )
    unconfirmed_findings = [_metric("alb", "TargetResponseTime", 0.99, 3), normal, *findings[1:]]
    unconfirmed = rank(unconfirmed_findings, scope, TRIGGER)
    assert confirmed.hypotheses[0].resource == unconfirmed.hypotheses[0].resource == "db"
    assert unconfirmed.hypotheses[0].confidence < confirmed.hypotheses[0].confidence
    _assert_cites_only_existing_findings(unconfirmed, unconfirmed_findings)


def test_a_change_just_before_the_onset_raises_the_changed_resource() -> None:
    # Two anomalous siblings, alike but for a deploy on one of them two minutes before its onset.
    topology = _topology([("alb", "api"), ("alb", "worker")])
    base = [_metric("alb", ALARM_METRIC, 0.95, 2), _metric("api", "Errors", 0.8, 0), _metric("worker", "Errors", 0.8, 0)]
    deploy = _change("worker", "UpdateService", -2, 0.95)
    ranking = rank([*base, deploy], _scope(topology), TRIGGER)
    top = ranking.hypotheses[0]
    assert top.resource == "worker"
    assert top.cause == "change"
    assert deploy.id in top.supporting_findings
    _assert_cites_only_existing_findings(ranking, [*base, deploy])


def test_findings_outside_the_alarm_neighbourhood_are_not_blamed() -> None:
    # batch is in the topology but nothing the alarmed alb depends on; its anomaly is unrelated.
    topology = _topology([("alb", "api"), ("batch", "queue")])
    findings = [_metric("alb", ALARM_METRIC, 0.95, 2), _metric("api", "Errors", 0.9, 0), _metric("batch", "Errors", 0.99, -5)]
    ranking = rank(findings, _scope(topology), TRIGGER)
    assert "batch" not in {h.resource for h in ranking.hypotheses}
    assert ranking.hypotheses[0].resource == "api"


def test_a_likely_false_alarm_abstains_but_keeps_what_it_saw() -> None:
    # The alarmed metric is within its baseline (the observation the metric analysis emits for
    # it), and the only anomaly is a moderate one on api: not enough to name a root cause.
    observation = Finding(
        id=Finding.make_id("metric", "alb", f"{ALARM_METRIC} (alarmed metric)"), domain="application", kind="metric",
        resource="alb", signal=f"{ALARM_METRIC} (alarmed metric)", summary="the alarmed metric shows no sustained shift",
        score=0.02, evidence=Evidence(details=MetricDetails(metric=ALARM_METRIC, alarm_metric_normal=True)),
    )
    findings = [observation, _metric("api", "Latency", 0.7, 0)]
    ranking = rank(findings, _scope(_topology([("alb", "api")])), TRIGGER)
    assert ranking.abstained
    assert ranking.abstain_reason
    # Whatever is still listed is a weak lead, not a confident answer.
    assert all(h.evidence_score < ABSTAIN_BELOW for h in ranking.hypotheses)
    _assert_cites_only_existing_findings(ranking, findings)


def test_reported_confidence_is_the_calibrated_evidence_score_in_the_same_order() -> None:
    findings, scope = _cascade()
    ranking = rank(findings, scope, TRIGGER)
    assert len(ranking.hypotheses) >= 2
    for h in ranking.hypotheses:
        assert h.confidence == calibrated(h.evidence_score, unfamiliar=h.unfamiliar)
    scores = [h.evidence_score for h in ranking.hypotheses]
    assert scores == sorted(scores, reverse=True)
    assert [h.confidence for h in ranking.hypotheses] == sorted((h.confidence for h in ranking.hypotheses), reverse=True)


def _partition(zone: str, via: str, score: float, onset_minute: float, delta: float = 300.0) -> Finding:
    signal = f"Test/Latency p99 of {via} only in {zone}"
    return Finding(
        id=Finding.make_id("metric", zone, signal), domain="infrastructure", kind="metric", resource=zone, signal=signal,
        summary=f"{via} latency moved only in {zone}", onset=_at(onset_minute), score=score, direction="up",
        evidence=Evidence(baseline_value=100.0, incident_value=100.0 + delta,
                          details=MetricDetails(metric="Latency", stat="p99", via=via)),
    )


def _latency(resource: str, score: float, onset_minute: float, delta: float) -> Finding:
    signal = "Test/Latency p99"
    return Finding(
        id=Finding.make_id("metric", resource, signal), domain="application", kind="metric", resource=resource, signal=signal,
        summary=f"{resource} latency up", onset=_at(onset_minute), score=score, direction="up",
        evidence=Evidence(baseline_value=100.0, incident_value=100.0 + delta,
                          details=MetricDetails(metric="Latency", stat="p99")),
    )


def _zonal_topology() -> Topology:
    edges = [("alb", "web"), ("web", "api")] + [(s, z) for s in ("web", "api") for z in ("az-a", "az-b")]
    return _topology(edges, {"az-a": "AWS::EC2::AvailabilityZone", "az-b": "AWS::EC2::AvailabilityZone"})


def test_a_zone_that_several_services_degrade_in_is_blamed_over_the_services() -> None:
    # web and api both got slower, and in both the slowdown sits in az-b: a zonal gray failure.
    findings = [
        _metric("alb", ALARM_METRIC, 0.95, 1),
        _latency("web", 0.95, 0, 250.0),
        _latency("api", 0.95, 0, 200.0),
        _partition("az-b", "web", 0.95, 0),
        _partition("az-b", "api", 0.95, 0),
    ]
    ranking = rank(findings, _scope(_zonal_topology()), TRIGGER)
    assert ranking.hypotheses[0].resource == "az-b"


def test_one_service_misbehaving_in_one_zone_does_not_blame_the_zone() -> None:
    # Only api's series in az-b moved: that is api's problem (one bad task), not the zone's.
    findings = [
        _metric("alb", ALARM_METRIC, 0.95, 1),
        _latency("api", 0.95, 0, 200.0),
        _partition("az-b", "api", 0.95, 0),
    ]
    ranking = rank(findings, _scope(_zonal_topology()), TRIGGER)
    assert ranking.hypotheses[0].resource == "api"
    assert "az-b" not in [h.resource for h in ranking.hypotheses]


def test_a_changed_resource_seen_healthy_inherits_nothing_from_its_callers() -> None:
    # alb -> api -> config. api fails right after config changed: config is the suspect when
    # nothing is known of it, but not when its own telemetry was observed and looked normal.
    topology = _topology([("alb", "api"), ("api", "config")])
    findings = [
        _metric("alb", ALARM_METRIC, 0.95, 2),
        _metric("api", "Errors", 0.95, 0),
        _change("config", "PutParameter", -3, 0.9),
    ]
    unseen = rank(findings, _scope(topology), TRIGGER)
    assert unseen.hypotheses[0].resource == "config"
    seen = rank(findings, _scope(topology), TRIGGER, observed={"config"})
    assert seen.hypotheses[0].resource == "api"


def test_a_small_slowdown_below_cannot_explain_a_large_one_above() -> None:
    # alb -> api -> db: db's p99 rose by 2 ms, api's by 400 ms. db is anomalous (its baseline is
    # tight) but cannot account for api's slowdown: api spends the time itself.
    topology = _topology([("alb", "api"), ("api", "db")])
    findings = [
        _metric("alb", ALARM_METRIC, 0.95, 1),
        _latency("api", 0.99, 0, 400.0),
        _latency("db", 0.99, 0, 2.0),
    ]
    ranking = rank(findings, _scope(topology), TRIGGER)
    assert ranking.hypotheses[0].resource == "api"


def test_an_expired_dependency_explains_its_caller_without_a_metric_in_common() -> None:
    # alb -> cert. The alb fails TLS handshakes from 10:00; the certificate's expiry shows at
    # the next 5-minute datapoint. The expiry is a hard limit: it accounts for the alb.
    expired = Finding(
        id=Finding.make_id("metric", "cert", "DaysToExpiry expired"), domain="infrastructure", kind="metric",
        resource="cert", signal="DaysToExpiry expired", summary="cert has expired", onset=_at(4), score=0.95,
        evidence=Evidence(incident_value=0.0, details=MetricDetails(
            metric="DaysToExpiry", constraint="expiry", limit_reached=True, period_s=300)),
    )
    findings = [_metric("alb", ALARM_METRIC, 0.99, 0), _metric("alb", "ClientTLSNegotiationErrorCount", 0.99, 0), expired]
    ranking = rank(findings, _scope(_topology([("alb", "cert")])), TRIGGER)
    assert ranking.hypotheses[0].resource == "cert"
    assert ranking.hypotheses[0].cause == "constraint"


def _observed(resource: str, metric: str, score: float, onset_minute: float, *, traffic: bool = False,
              constraint: ConstraintKind | None = None, reported_by: str = "") -> Finding:
    """A metric finding with the details the cause category reads."""
    signal = f"Test/{metric} Sum"
    details = MetricDetails(metric=metric, stat="Sum", traffic=traffic, constraint=constraint,
                            reported_by=[reported_by] if reported_by else [])
    return Finding(
        id=Finding.make_id("metric", resource, signal), domain="application", kind="metric", resource=resource,
        signal=signal, summary=f"{signal} on {resource} went up", onset=_at(onset_minute), score=score,
        direction="up", evidence=Evidence(baseline_value=1.0, incident_value=2.0, details=details),
    )


def test_a_resource_seen_only_through_its_callers_client_side_metrics_is_a_failing_dependency() -> None:
    # alb -> payments -> gateway. payments reports the gateway's errors and latency itself
    # (client-side metrics naming payments): the gateway has no telemetry of its own.
    topology = _topology([("alb", "payments"), ("payments", "gateway")])
    findings = [
        _metric("alb", ALARM_METRIC, 0.99, 2),
        _metric("payments", "Errors", 0.95, 1),
        _observed("gateway", "DependencyErrors", 0.99, 0, reported_by="payments"),
        _observed("gateway", "DependencyLatency", 0.99, 0, reported_by="payments"),
    ]
    top = rank(findings, _scope(topology), TRIGGER).hypotheses[0]
    assert (top.resource, top.cause) == ("gateway", "dependency")
    assert "dependency" in top.title
    # The same shifts in the gateway's own metrics: a component of ours that fails.
    own = [f.model_copy(update={"evidence": f.evidence.model_copy(update={"details": MetricDetails(metric="Errors")})})
           if f.resource == "gateway" else f for f in findings]
    assert rank(own, _scope(topology), TRIGGER).hypotheses[0].cause == "component"


def test_a_slow_network_edge_into_an_instrumented_service_is_not_an_outside_dependency() -> None:
    # storefront's calls to cart lose 200 ms between the two services while cart's own spans
    # say its own time is unchanged: seen through its caller, but cart has spans of its own,
    # so it is ours (a component), not a third party outside our control.
    topology = _topology([("alb", "storefront"), ("storefront", "cart")])
    gap = Finding(
        id=Finding.make_id("trace", "cart", "network gap"), domain="network", kind="trace", resource="cart",
        signal="network gap storefront -> cart", summary="calls storefront -> cart lose time between the services",
        onset=_at(0), score=1.0, direction="up", evidence=Evidence(details=TraceDetails(test="network_gap", caller="storefront")),
    )
    findings = [_metric("alb", ALARM_METRIC, 0.99, 2), _metric("storefront", "Latency", 0.95, 1), gap]
    top = rank(findings, _scope(topology), TRIGGER).hypotheses[0]
    assert (top.resource, top.cause) == ("cart", "component")
    assert "outside our control" not in top.reasoning


def _surge(entry_demand_minute: float) -> list[Finding]:
    # alb -> api. api gets many more requests from minute 0 and rejects what it cannot serve.
    return [
        _metric("alb", ALARM_METRIC, 0.99, 1),
        _observed("alb", "RequestCount", 0.99, entry_demand_minute, traffic=True),
        _observed("api", "Requests", 0.99, 0, traffic=True),
        # The log analysis named the limit it read ("request rejected: too many requests").
        _observed("api", "Errors", 0.99, 0, constraint="limit"),
    ]


def test_demand_that_rose_at_the_entry_no_later_than_the_failure_is_a_traffic_surge() -> None:
    topology = _topology([("alb", "api")])
    ranking = rank(_surge(0), _scope(topology), TRIGGER)
    assert (ranking.hypotheses[0].resource, ranking.hypotheses[0].cause) == ("api", "traffic")


def test_demand_that_rose_at_the_entry_only_after_the_failure_is_not_the_cause() -> None:
    # Retries and backlogs raise the entry's request count after a failure: the limit that
    # the api names is the story.
    topology = _topology([("alb", "api")])
    ranking = rank(_surge(15), _scope(topology), TRIGGER)
    assert (ranking.hypotheses[0].resource, ranking.hypotheses[0].cause) == ("api", "constraint")


def test_an_autoscalers_scale_out_is_not_a_change_that_caused_the_failure() -> None:
    topology = _topology([("alb", "api")])
    scale_out = _change("api", "UpdateService", 1, 0.0)
    scale_out = scale_out.model_copy(update={"evidence": Evidence(event_ids=["evt-api"], details=ChangeDetails(event_id="evt-api", automatic=True))})
    findings = [*_surge(0), scale_out]
    top = rank(findings, _scope(topology), TRIGGER).hypotheses[0]
    assert (top.resource, top.cause) == ("api", "traffic")
    assert scale_out.id not in top.supporting_findings


def _ended(resource: str, metric: str, score: float, onset_minute: float, until_minute: float, data_until_minute: float) -> Finding:
    finding = _metric(resource, metric, score, onset_minute)
    details = finding.evidence.details.model_copy(
        update={"period_s": 60, "until": _at(until_minute), "observed_until": _at(data_until_minute)})
    return finding.model_copy(update={"evidence": finding.evidence.model_copy(update={"details": details})})


def test_a_blip_that_recovered_by_itself_ranks_below_a_fault_that_persists() -> None:
    # Two siblings under alb, equally anomalous; "cache" was back to normal at minute 6 and
    # stayed normal for 24 minutes of data, "api" is still failing when the data ends.
    topology = _topology([("alb", "api"), ("alb", "cache")])
    findings = [
        _ended("alb", ALARM_METRIC, 0.99, 2, 30, 30),
        _ended("cache", "Latency", 0.95, 0, 6, 30),
        _ended("api", "Errors", 0.95, 1, 30, 30),
    ]
    ranking = rank(findings, _scope(topology), TRIGGER)
    order = [h.resource for h in ranking.hypotheses]
    assert order[0] == "api"
    assert order.index("cache") > order.index("api")
    cache = next(h for h in ranking.hypotheses if h.resource == "cache")
    assert "transient" in cache.reasoning
    assert "transient" not in ranking.hypotheses[0].reasoning


def test_a_lone_blip_that_recovered_by_itself_is_not_claimed_as_a_root_cause() -> None:
    # The only anomaly below the alarm, over after four minutes, with 20 minutes of normal data after it.
    findings = [_ended("alb", ALARM_METRIC, 0.99, 1, 30, 30), _ended("api", "Latency", 0.9, 0, 4, 24)]
    lone = rank(findings, _scope(_topology([("alb", "api")])), TRIGGER)
    still = rank([findings[0], _ended("api", "Latency", 0.9, 0, 24, 24)], _scope(_topology([("alb", "api")])), TRIGGER)
    assert still.hypotheses[0].resource == "api"
    # Not claimed: either nothing is, or what is claimed is what kept failing after it (alb).
    assert lone.abstained or lone.hypotheses[0].resource != "api"
    lone_api = next(h for h in lone.hypotheses if h.resource == "api")
    assert "transient" in lone_api.reasoning
    assert lone_api.evidence_score < still.hypotheses[0].evidence_score


def test_a_blip_on_a_service_whose_memory_keeps_creeping_still_reads_as_a_blip() -> None:
    # api's latency was abnormal for four minutes, then normal for twenty; its memory has crept
    # up since fifteen minutes before and still does (a cache warming). Its callers saw the
    # latency, which ended: the creep does not make the blip a lasting fault.
    alarm = _ended("alb", ALARM_METRIC, 0.99, 1, 30, 30)
    creep = _ended("api", "MemoryUtilization", 0.95, -15, 24, 24)
    blip = rank([alarm, _ended("api", "Latency", 0.9, 0, 4, 24), creep], _scope(_topology([("alb", "api")])), TRIGGER)
    api = next(h for h in blip.hypotheses if h.resource == "api")
    assert "transient" in api.reasoning
    # Latency that is still abnormal when the data ends is a lasting fault, creep or not.
    still_slow = _ended("api", "Latency", 0.9, 0, 24, 24)
    lasting = rank([alarm, still_slow, creep], _scope(_topology([("alb", "api")])), TRIGGER)
    assert lasting.hypotheses[0].resource == "api"
    assert "transient" not in lasting.hypotheses[0].reasoning
    assert api.evidence_score < lasting.hypotheses[0].evidence_score


def test_a_recovery_brought_by_a_rollback_is_not_mistaken_for_a_blip() -> None:
    # A deploy at minute -2, errors until minute 6, rolled back at minute 5: the errors did not
    # end by themselves, and the deploy explains them.
    topology = _topology([("alb", "api")])
    findings = [_ended("alb", ALARM_METRIC, 0.99, 1, 30, 30), _ended("api", "Errors", 0.9, 0, 6, 30),
                _change("api", "UpdateService", -2, 0.95), _change("api", "StopDeployment", 5, 0.0)]
    ranking = rank(findings, _scope(topology), TRIGGER)
    assert ranking.hypotheses[0].resource == "api"
    assert "transient" not in ranking.hypotheses[0].reasoning


def test_trouble_that_ended_with_the_change_still_in_place_still_reads_as_a_blip() -> None:
    # The same deploy, but nothing reverted it and the errors stopped anyway: what a change
    # breaks stays broken, so the change does not make the blip a lasting fault.
    topology = _topology([("alb", "api")])
    kept = [_ended("alb", ALARM_METRIC, 0.99, 1, 30, 30), _ended("api", "Errors", 0.9, 0, 6, 30),
            _change("api", "UpdateService", -2, 0.95)]
    rolled_back = [*kept, _change("api", "StopDeployment", 5, 0.0)]
    api = next(h for h in rank(kept, _scope(topology), TRIGGER).hypotheses if h.resource == "api")
    fixed = next(h for h in rank(rolled_back, _scope(topology), TRIGGER).hypotheses if h.resource == "api")
    assert "transient" in api.reasoning
    assert api.evidence_score < fixed.evidence_score


def _flag_flip(api_until_minute: float, *, rolled_back: bool = False) -> list[Finding]:
    # alb -> api -> api-config: a feature flag of api flipped at minute -2 (the configuration
    # has no telemetry of its own), api got slower from minute 0 until `api_until_minute`, and
    # the data goes on to minute 30.
    findings = [_ended("alb", ALARM_METRIC, 0.99, 1, api_until_minute, 30), _ended("api", "Latency", 0.9, 0, api_until_minute, 30),
                _change("api-config", "PutParameter", -2, 0.95)]
    return [*findings, _change("api-config", "PutParameter", 5, 0.0)] if rolled_back else findings


def test_a_change_whose_callers_recovered_with_the_change_still_in_place_is_discounted() -> None:
    # The slowdown was over at minute 6 and nobody touched the flag again: what a flag breaks
    # stays broken until it is flipped back, so the flag is unlikely to be why api was slow.
    topology = _topology([("alb", "api"), ("api", "api-config")], {"api-config": "AWS::SSM::Parameter"})
    lasting = next(h for h in rank(_flag_flip(30), _scope(topology), TRIGGER).hypotheses if h.resource == "api-config")
    blip = next(h for h in rank(_flag_flip(6), _scope(topology), TRIGGER).hypotheses if h.resource == "api-config")
    fixed = next(h for h in rank(_flag_flip(6, rolled_back=True), _scope(topology), TRIGGER).hypotheses
                 if h.resource == "api-config")
    assert "ended by itself" in blip.reasoning and "ended by itself" not in lasting.reasoning
    assert blip.evidence_score < lasting.evidence_score
    # Flipped back at minute 5, just before the slowdown ended: the flag did not stop breaking things by itself.
    assert "ended by itself" not in fixed.reasoning
    assert fixed.evidence_score > blip.evidence_score


def test_a_callers_cpu_is_not_compared_with_its_dependencys() -> None:
    # db failed 20 requests from minute 0; api, which calls it, failed as many from minute 1 and
    # its CPU rose far more than db's (retries, error handling). Failed calls travel up a call
    # chain; CPU does not: a caller's CPU is not made of its dependency's, so db's smaller CPU
    # rise says nothing of how much of api's failure it explains.
    findings = [
        _metric("alb", ALARM_METRIC, 0.99, 2),
        _shift("db", "Errors", 0, 20, 0, stat="Sum"), _shift("db", "CPUUtilization", 20, 30, 0, stat="Average"),
        _shift("api", "Errors", 0, 20, 1, stat="Sum"), _shift("api", "CPUUtilization", 20, 80, 1, stat="Average"),
    ]
    ranking = rank(findings, _scope(_topology([("alb", "api"), ("api", "db")])), TRIGGER)
    assert ranking.hypotheses[0].resource == "db"


def test_failed_calls_below_are_compared_as_counts_not_per_call() -> None:
    # api serves 100 requests a minute; db failed 20 calls a minute and api 20 requests. Each
    # failed call fails at most one request above, so db's 20 account for all of api's 20,
    # whether api calls db on every request or on a fifth of them.
    def ranked(db_calls: float):
        findings = [_metric("alb", ALARM_METRIC, 0.99, 2), _shift("db", "Errors", 0, 20, 0, stat="Sum", calls=db_calls),
                    _shift("api", "Errors", 0, 20, 1, stat="Sum", calls=100)]
        return rank(findings, _scope(_topology([("alb", "api"), ("api", "db")])), TRIGGER).hypotheses

    every, fifth = ranked(100), ranked(20)
    assert every[0].resource == fifth[0].resource == "db"
    assert fifth[0].evidence_score == every[0].evidence_score


def test_a_canary_failing_half_its_requests_explains_its_callers_failed_count() -> None:
    # web -> api; both deployed 2 minutes before the onset. api's new revision (a canary) fails
    # half of its 500 requests a minute from minute 0, known only as errors per request (0.001
    # -> 0.5) because a new series has no count baseline; api's old revision, now serving less,
    # failed 4 -> 20 a minute. web fails 10 -> 250 a minute from minute 1. The canary's 250
    # failed calls a minute account for web's 240 extra failures; the old revision's 16 do not.
    canary = _shift("api", "Errors per request", 0.001, 0.5, 0)
    old = _shift("api", "Errors", 4, 20, 0, stat="Sum")
    findings = [
        _metric("alb", ALARM_METRIC, 0.99, 2), old, _shift("web", "Errors", 10, 250, 1, stat="Sum"),
        _change("api", "UpdateService", -2, 0.9), _change("web", "UpdateService", -2, 0.9),
    ]
    topology = _topology([("alb", "web"), ("web", "api")])
    counted = canary.model_copy(deep=True)
    counted.evidence.details.per_request = PerRequest(metric="Errors", stat="Sum", requests=500)
    assert rank([*findings, counted], _scope(topology), TRIGGER).hypotheses[0].resource == "api"
    # Read as a rate alone (not turned back into a count), the canary explains a fifteenth of web's failures.
    assert rank([*findings, canary], _scope(topology), TRIGGER).hypotheses[0].resource == "web"


def test_a_failure_that_began_with_its_own_surge_in_demand_is_not_blamed_on_an_unrelated_dependency() -> None:
    # api got six times its usual requests from minute 0 and began to fail at minute 1; its
    # database's CPU had risen at minute -3 (a reporting query) without api failing for three
    # minutes. The surge explains api's failure with no help from the database.
    topology = _topology([("alb", "api"), ("api", "db")])
    db = _shift("db", "CPUUtilization", 20, 65, -3)
    failing = _shift("api", "Errors", 0, 40, 1, stat="Sum")
    surge = _observed("api", "Requests", 0.99, 0, traffic=True)
    alarm = _metric("alb", ALARM_METRIC, 0.99, 2)
    assert rank([alarm, db, failing, surge], _scope(topology), TRIGGER).hypotheses[0].resource == "api"
    # Without the surge, the database that went first below is the likelier cause.
    assert rank([alarm, db, failing], _scope(topology), TRIGGER).hypotheses[0].resource == "db"


def _behind_a_queue() -> Topology:
    # alb -> api -> orders (a queue) -> worker: api sends a message and is done; worker reads it later.
    return _topology([("alb", "api"), ("api", "orders"), ("orders", "worker"), ("alb", "web")],
                     {"orders": "AWS::SQS::Queue"})


def test_a_consumer_behind_a_queue_does_not_explain_an_alarm_on_the_senders_side() -> None:
    # The front end got slower, and the worker behind the queue failed a few messages at the
    # same minute. Its failures make the backlog grow, not api's requests slower: not the cause.
    findings = [_metric("alb", ALARM_METRIC, 0.99, 1), _metric("web", "Latency", 0.9, 0), _metric("worker", "Errors", 0.95, 0)]
    ranking = rank(findings, _scope(_behind_a_queue()), TRIGGER)
    assert ranking.hypotheses[0].resource == "web"
    # Without the queue between them (api calls worker and waits), the worker is the likelier cause.
    synchronous = _topology([("alb", "api"), ("api", "worker"), ("alb", "web")])
    assert rank(findings, _scope(synchronous), TRIGGER).hypotheses[0].resource == "worker"


def test_an_alarm_on_the_queue_still_reaches_its_consumer() -> None:
    # The alarm is on the queue's backlog: the consumer that stopped reading it is the cause.
    findings = [_metric("orders", "ApproximateAgeOfOldestMessage", 0.99, 1), _metric("worker", "Errors", 0.95, 0)]
    ranking = rank(findings, _scope(_behind_a_queue(), entry="orders"), TRIGGER)
    assert ranking.hypotheses[0].resource == "worker"


def test_latency_of_outgoing_calls_is_not_the_callers_own_failure() -> None:
    # "a" only reports that its outgoing calls got slower (client-side latency that names no
    # dependency); "b" fails on its own. The louder client-side shift must not outrank it.
    findings = [
        _metric("a", "PodClientLatencyP90(s)", 0.99, 0),
        _metric("b", "Errors", 0.9, 0),
    ]
    ranking = rank(findings, _scope(_topology([("alb", "a"), ("alb", "b")])), TRIGGER)
    assert ranking.hypotheses[0].resource == "b"
    # The same metric naming its dependency is that dependency's symptom, and counts in full.
    named = findings[0].model_copy(update={"evidence": findings[0].evidence.model_copy(
        update={"details": MetricDetails(metric="DependencyLatency", reported_by=["alb"])})})
    ranking = rank([named, findings[1]], _scope(_topology([("alb", "a"), ("alb", "b")])), TRIGGER)
    assert ranking.hypotheses[0].resource == "a"


def _quiet_alarm(score: float) -> Finding:
    return Finding(
        id=Finding.make_id("metric", "alb", f"{ALARM_METRIC} (alarmed metric)"), domain="application", kind="metric",
        resource="alb", signal=f"{ALARM_METRIC} (alarmed metric)", summary="the alarmed metric shows no sustained shift",
        score=score, evidence=Evidence(details=MetricDetails(metric=ALARM_METRIC, alarm_metric_normal=True)),
    )


def test_below_a_quiet_alarm_a_clear_unrivalled_anomaly_is_still_proposed() -> None:
    # The alarmed metric barely moved (0.49: just short of a shift) and nothing else at the alb
    # did, so whether api accounts for the alarm cannot be measured: it is credited as for
    # magnitudes that cannot be compared, not counted as explaining none of it. Its clear,
    # unrivalled anomaly is then proposed; a moderate one is not.
    topology = _topology([("alb", "api"), ("alb", "other")])
    strong = rank([_quiet_alarm(0.49), _metric("api", "Errors", 0.85, 0)], _scope(topology), TRIGGER)
    assert not strong.abstained
    assert strong.hypotheses[0].resource == "api"
    moderate = rank([_quiet_alarm(0.49), _metric("api", "Errors", 0.6, 0)], _scope(topology), TRIGGER)
    assert moderate.abstained


def _alarm_normal(echoes: str | None = None) -> Finding:
    details = MetricDetails(metric=ALARM_METRIC, alarm_metric_normal=True, echoes=[echoes] if echoes else [])
    return Finding(
        id=Finding.make_id("metric", "alb", f"{ALARM_METRIC} (alarmed metric)"), domain="application", kind="metric",
        resource="alb", signal=f"{ALARM_METRIC} (alarmed metric)", summary="the alarmed metric shows no sustained shift",
        score=0.2, evidence=Evidence(details=details),
    )


def test_an_alarm_that_echoes_a_dependency_is_explained_by_it_not_taken_for_a_false_alarm() -> None:
    # The alb's 5xx count stayed within its noise, but dipped exactly where api's errors rose
    # (the metric analysis names api as echoed): api's failure, diluted at the top, paged.
    topology = _topology([("alb", "api"), ("alb", "worker")])
    symptoms = [_metric("api", ALARM_METRIC, 0.95, 0), _metric("worker", "Latency", 0.7, 0)]
    unechoed = rank([_alarm_normal(), *symptoms], _scope(topology), TRIGGER)
    echoed = rank([_alarm_normal("api"), *symptoms], _scope(topology), TRIGGER)
    assert unechoed.abstained
    assert not echoed.abstained
    assert echoed.hypotheses[0].resource == "api"
    assert echoed.hypotheses[0].confidence > unechoed.hypotheses[0].confidence
    _assert_cites_only_existing_findings(echoed, [_alarm_normal("api"), *symptoms])


def test_an_echo_of_a_resource_the_alarmed_one_does_not_depend_on_corroborates_nothing() -> None:
    topology = _topology([("alb", "api"), ("batch", "queue")])
    symptoms = [_metric("api", "Latency", 0.7, 0), _metric("queue", ALARM_METRIC, 0.95, 0)]
    ranking = rank([_alarm_normal("queue"), *symptoms], _scope(topology), TRIGGER)
    assert ranking.abstained


def _shift(resource: str, metric: str, before: float, after: float, onset_minute: float, *, stat: str = "Average",
           calls: float | None = None) -> Finding:
    signal = f"Test/{metric} {stat}"
    return Finding(
        id=Finding.make_id("metric", resource, signal), domain="application", kind="metric", resource=resource,
        signal=signal, summary=f"{signal} on {resource} {before} -> {after}", onset=_at(onset_minute), score=0.99,
        direction="up" if after > before else "down",
        evidence=Evidence(baseline_value=before, incident_value=after, details=MetricDetails(metric=metric, stat=stat, calls=calls)),
    )


def test_a_tiny_drift_below_does_not_explain_a_huge_shift_above() -> None:
    # alb -> api -> db, all from 10:00. api's CPU goes 30 -> 97 % and its latency 70 -> 460 ms;
    # db's free memory drifts down 3 %. Both are certainly real (score 0.99), and db is the most
    # downstream, but a 3 % drift cannot account for a six-fold slowdown: api is the cause.
    topology = _topology([("alb", "api"), ("api", "db")])
    findings = [
        _shift("api", "CPUUtilization", 30.0, 97.0, 0), _shift("api", "Latency", 70.0, 460.0, 0, stat="p99"),
        _shift("db", "FreeableMemory", 5.40e9, 5.23e9, 0),
        _shift("alb", "TargetResponseTime", 0.04, 0.43, 0),
    ]
    ranking = rank(findings, _scope(topology), TRIGGER)
    assert ranking.hypotheses[0].resource == "api"


def test_a_tiny_drift_below_does_not_make_a_caller_failing_in_its_logs_a_victim() -> None:
    # alb -> api -> db. api logs an error in most calls from 10:00 (its only evidence: logs
    # carry no levels to compare), db's memory drifts 3 % from the same minute. The drift is
    # certainly real but explains little of anything: api is the cause. A db whose CPU more
    # than doubled at that minute could well be why api fails: then db comes first.
    topology = _topology([("alb", "api"), ("api", "db")])
    alarm = _metric("alb", ALARM_METRIC, 0.99, 1)
    drift = rank([alarm, _log_finding("api", 0.99, 0), _shift("db", "MemoryUtilization", 33.0, 34.0, 0)], _scope(topology), TRIGGER)
    assert drift.hypotheses[0].resource == "api"
    doubled = rank([alarm, _log_finding("api", 0.99, 0), _shift("db", "CPUUtilization", 30.0, 95.0, 0)], _scope(topology), TRIGGER)
    assert doubled.hypotheses[0].resource == "db"


def test_a_large_shift_below_still_explains_its_caller_without_a_metric_in_common() -> None:
    # The same, but db's CPU goes 20 -> 95 % (a comparable size): the downstream db is the cause.
    topology = _topology([("alb", "api"), ("api", "db")])
    findings = [
        _shift("api", "Latency", 70.0, 460.0, 0, stat="p99"),
        _shift("db", "CPUUtilization", 20.0, 95.0, 0),
        _shift("alb", "TargetResponseTime", 0.04, 0.43, 0),
    ]
    ranking = rank(findings, _scope(topology), TRIGGER)
    assert ranking.hypotheses[0].resource == "db"


def test_a_dependencys_smaller_tail_latency_still_explains_its_callers_tail() -> None:
    # Percentiles do not add up over calls: the caller's p99 rising 110 -> 300 ms while the
    # dependency's rises 37 -> 105 ms (its CPU 42 -> 89 %) is the dependency's tail amplified.
    topology = _topology([("alb", "web"), ("web", "cart")])
    findings = [
        _shift("web", "Latency", 110.0, 300.0, 0, stat="p99"),
        _shift("cart", "Latency", 37.0, 105.0, 0, stat="p99"), _shift("cart", "CPUUtilization", 42.0, 89.0, 0),
        _shift("alb", "TargetResponseTime", 0.04, 0.18, 0),
    ]
    ranking = rank(findings, _scope(topology), TRIGGER)
    assert ranking.hypotheses[0].resource == "cart"


def _health(zone: str, minute: float, score: float = 0.9) -> Finding:
    signal = f"health AWS_EC2_OPERATIONAL_ISSUE {zone}"
    return Finding(
        id=Finding.make_id("health", zone, signal), domain="infrastructure", kind="health", resource=zone, signal=signal,
        summary=f"AWS Health issue AWS_EC2_OPERATIONAL_ISSUE for EC2 in {zone}", onset=_at(minute), score=score,
        evidence=Evidence(event_ids=["evt-zone"], details=HealthDetails(
            event_id="evt-zone", event_type_code="AWS_EC2_OPERATIONAL_ISSUE", service="EC2", availability_zone=zone)),
    )


def test_a_routine_change_on_a_service_failing_with_its_zone_does_not_make_it_the_cause() -> None:
    # AWS Health reports zone-a impaired from 09:59; api and web, both placed in it, fail from
    # 10:00. Someone re-applied api's scaling policy at 09:57. The zone accounts for api's
    # failure as for web's: a change makes only the part of api's failure that is its own
    # likelier its doing, so the zone stays the cause.
    topology = _topology([("alb", "api"), ("alb", "web"), ("api", "zone-a"), ("web", "zone-a")],
                         {"zone-a": "AWS::EC2::AvailabilityZone"})
    failing = [_metric("alb", ALARM_METRIC, 0.99, 1), _metric("api", "Errors", 0.95, 0), _metric("web", "Errors", 0.95, 0)]
    ranking = rank([*failing, _health("zone-a", -1), _change("api", "PutScalingPolicy", -3, 0.9)], _scope(topology), TRIGGER)
    assert ranking.hypotheses[0].resource == "zone-a"
    # With no impaired zone, the same change on the failing api is the likeliest story.
    alone = rank([*failing[:2], _change("api", "PutScalingPolicy", -3, 0.9)], _scope(topology), TRIGGER)
    assert (alone.hypotheses[0].resource, alone.hypotheses[0].cause) == ("api", "change")


def test_a_changes_timing_is_stated_against_the_candidates_own_onset() -> None:
    # api's deploy at 10:04, its errors from 10:10 (six minutes later), the alarm at 10:05 is
    # irrelevant to that gap: the reasoning says 6 min before its onset, not a distance from the alarm.
    topology = _topology([("alb", "api")])
    findings = [_change("api", "UpdateService", 4, 0.9), _metric("api", "Errors", 0.95, 10), _metric("alb", ALARM_METRIC, 0.9, 10)]
    ranking = rank(findings, _scope(topology), TRIGGER)
    api = next(h for h in ranking.hypotheses if h.resource == "api")
    assert "A change came 6 min before its onset (10:10 UTC)" in api.reasoning


def _log_finding(
    resource: str, score: float, onset_minute: float, test: str = "calls_with_errors", *,
    direction: str = "up", error: bool = False,
) -> Finding:
    """A log finding of one test (default: a share of calls that log an error)."""
    signal = f"log {test} {direction}{' error' if error else ''}"
    return Finding(
        id=Finding.make_id("log", resource, signal), domain="application", kind="log", resource=resource, signal=signal,
        summary=f"{resource}: log test {test} ({direction})", onset=_at(onset_minute), score=score, direction=direction,
        evidence=Evidence(details=LogDetails(test=test, error=error)),
    )


def test_requests_failing_below_a_quiet_alarm_corroborate_it() -> None:
    # The alb's latency percentile did not move, but api logs an error in most of its calls
    # from 10:00 (a fast failure): a real incident the alarm saw faintly, not a false alarm.
    topology = _topology([("alb", "api"), ("alb", "worker")])
    failing = [_alarm_normal(), _log_finding("api", 0.8, 0), _metric("worker", "Latency", 0.7, 0)]
    slow_only = [_alarm_normal(), _metric("api", "Latency", 0.8, 0), _metric("worker", "Latency", 0.7, 0)]
    corroborated, uncorroborated = rank(failing, _scope(topology), TRIGGER), rank(slow_only, _scope(topology), TRIGGER)
    assert not corroborated.abstained
    assert corroborated.hypotheses[0].resource == "api"
    # The same strength of anomaly as a latency shift is what a false alarm's noise looks like.
    assert uncorroborated.abstained


def test_calls_cut_short_below_a_quiet_alarm_corroborate_it() -> None:
    # An exception part-way through api's requests: each call now stops before its usual log
    # lines, nothing new is logged. Per call, like an error rate: the alarm saw a real fault.
    topology = _topology([("alb", "api"), ("alb", "worker")])
    cut_short = [_alarm_normal(), _log_finding("api", 0.8, 0, "lines_per_call", direction="down"), _metric("worker", "Latency", 0.7, 0)]
    ranking = rank(cut_short, _scope(topology), TRIGGER)
    assert not ranking.abstained
    assert ranking.hypotheses[0].resource == "api"
    # A longer code path (more lines per call: a retry loop, debug logging) is not a failure.
    longer = [_alarm_normal(), _log_finding("api", 0.8, 0, "lines_per_call", direction="up"), _metric("worker", "Latency", 0.7, 0)]
    assert rank(longer, _scope(topology), TRIGGER).abstained


def test_a_new_error_template_below_a_quiet_alarm_corroborates_it() -> None:
    # api starts logging an error it never logged before while the alarm's percentile stays
    # put: requests fail there, as an error rate would show. A new info line is not a failure.
    topology = _topology([("alb", "api"), ("alb", "worker")])
    errors = rank([_alarm_normal(), _log_finding("api", 0.8, 0, "new", error=True), _metric("worker", "Latency", 0.7, 0)], _scope(topology), TRIGGER)
    assert not errors.abstained
    assert errors.hypotheses[0].resource == "api"
    info = rank([_alarm_normal(), _log_finding("api", 0.8, 0, "new", error=False), _metric("worker", "Latency", 0.7, 0)], _scope(topology), TRIGGER)
    assert info.abstained


def test_failing_requests_outside_the_alarms_neighbourhood_corroborate_nothing() -> None:
    topology = _topology([("alb", "api"), ("batch", "queue")])
    ranking = rank([_alarm_normal(), _log_finding("queue", 0.9, 0), _metric("api", "Latency", 0.7, 0)], _scope(topology), TRIGGER)
    assert ranking.abstained


def test_below_a_quiet_alarm_the_failing_requests_are_what_paged_not_the_entrys_other_metrics() -> None:
    # The alb's alarmed metric stayed put, but its CPU rose (an anomaly of the alb, though not
    # what paged) and api fails most of its calls from 10:00. worker's latency shifted at the
    # same time, more strongly. The alarm is corroborated by api's failing requests, so a root
    # cause must explain those: api, not worker, which the alb's CPU would credit as much.
    topology = _topology([("alb", "api"), ("alb", "worker")])
    findings = [
        _alarm_normal(), _metric("alb", "CPUUtilization", 0.8, 1),
        _log_finding("api", 0.9, 0), _metric("worker", "Latency", 0.95, 0),
    ]
    ranking = rank(findings, _scope(topology), TRIGGER)
    assert ranking.hypotheses[0].resource == "api"
    # Without the failing requests nothing corroborates the alarm's page: worker leads, weakly.
    slow_only = [_alarm_normal(), _metric("alb", "CPUUtilization", 0.8, 1), _metric("worker", "Latency", 0.95, 0)]
    assert rank(slow_only, _scope(topology), TRIGGER).hypotheses[0].resource == "worker"


def test_a_dependency_blip_that_was_over_before_the_trouble_began_does_not_make_its_caller_a_victim() -> None:
    # db's latency blip ran from minute 0 to 3 and was normal for 27 minutes after; web's
    # errors start at minute 8 and last until the data ends. db cannot account for them.
    topology = _topology([("alb", "web"), ("web", "db")])
    findings = [
        _ended("alb", ALARM_METRIC, 0.99, 8, 30, 30),
        _ended("web", "Errors", 0.95, 8, 30, 30),
        _ended("db", "Latency", 0.95, 0, 3, 30),
    ]
    ranking = rank(findings, _scope(topology), TRIGGER)
    top = ranking.hypotheses[0]
    assert top.resource == "web"
    assert "victim" not in top.reasoning
    # The same db anomaly still going on when web's trouble begins does make web a likely victim.
    lasting = [*findings[:2], _ended("db", "Latency", 0.95, 0, 30, 30)]
    web = next(h for h in rank(lasting, _scope(topology), TRIGGER).hypotheses if h.resource == "web")
    assert "victim" in web.reasoning


def _sized(finding: Finding, before: float, after: float) -> Finding:
    return finding.model_copy(update={"evidence": finding.evidence.model_copy(update={"baseline_value": before, "incident_value": after})})


def test_a_dependency_spike_that_ended_is_over_though_a_small_drift_on_it_goes_on() -> None:
    # db's CPU more than doubled from minute 0 to 9 (a reporting query), then was normal for 21
    # minutes of data; its read latency has drifted 13 % up since minute 0 and still is. web's
    # errors begin at minute 5 and last. What made db a plain fault ended while web kept
    # failing: the drift does not keep the spike going, and web is not its victim.
    topology = _topology([("alb", "web"), ("web", "db")])
    findings = [
        _ended("alb", ALARM_METRIC, 0.99, 5, 30, 30),
        _ended("web", "Errors", 0.95, 5, 30, 30),
        _sized(_ended("db", "CPUUtilization", 0.99, 0, 9, 30), 30.0, 70.0),
        _sized(_ended("db", "ReadLatency", 0.95, 0, 30, 30), 1.0, 1.13),
    ]
    assert rank(findings, _scope(topology), TRIGGER).hypotheses[0].resource == "web"
    # A read latency that stays two and a half times its level is a plain fault still going on:
    # db is failing, and web is its likely victim.
    lasting = [*findings[:3], _sized(_ended("db", "ReadLatency", 0.95, 0, 30, 30), 1.0, 2.5)]
    assert rank(lasting, _scope(topology), TRIGGER).hypotheses[0].resource == "db"


def test_a_cause_whose_only_route_to_the_alarm_passes_a_resource_seen_healthy_is_discounted() -> None:
    # web calls store directly and db through mid. store and db shift alike at web's onset.
    # mid has telemetry of its own that stayed normal (a sub-threshold finding), so the failure
    # would have had to cross a resource seen healthy to reach web from db.
    topology = _topology([("alb", "web"), ("web", "store"), ("web", "mid"), ("mid", "db")])
    shifts = [
        _metric("alb", ALARM_METRIC, 0.99, 1), _metric("web", "Latency", 0.95, 1),
        _metric("store", "Memory", 0.95, 0), _metric("db", "Memory", 0.95, 0),
    ]
    healthy_mid = _metric("mid", "Latency", 0.2, 0)
    ranking = rank([*shifts, healthy_mid], _scope(topology), TRIGGER)
    scores = {h.resource: h.evidence_score for h in ranking.hypotheses}
    assert ranking.hypotheses[0].resource == "store"
    assert scores["db"] < scores["store"]
    # Without telemetry of its own mid could not be seen healthy: the two routes weigh the same.
    unseen = {h.resource: h.evidence_score for h in rank(shifts, _scope(topology), TRIGGER).hypotheses}
    assert unseen["db"] == unseen["store"]


def _network_gap(caller: str, callee: str, onset_minute: float) -> Finding:
    signal = f"trace network_gap {caller}->{callee}"
    return Finding(
        id=Finding.make_id("trace", callee, signal), domain="network", kind="trace", resource=callee, signal=signal,
        summary=f"calls {caller} -> {callee} lose time between the services", onset=_at(onset_minute), score=0.99,
        direction="up", evidence=Evidence(baseline_value=20.0, incident_value=95.0,
                                          details=TraceDetails(test="network_gap", caller=caller, calls=60)),
    )


def test_time_lost_between_a_cpu_starved_caller_and_its_dependency_is_the_callers() -> None:
    # alb -> api -> db. From minute 0 api's p99 goes 70 -> 340 ms; from minute 1 its calls to db
    # lose time between the two while db's own time holds. With api's CPU at 95 % from minute 0
    # (a runaway thread), api sends and reads late: the gap is api's own, and api is the cause.
    topology = _topology([("alb", "api"), ("api", "db")])
    findings = [_metric("alb", ALARM_METRIC, 0.99, 1), _shift("api", "Latency", 70, 340, 0, stat="p99"), _network_gap("api", "db", 1)]
    starved = rank([*findings, _shift("api", "CPUUtilization", 40, 95, 0)], _scope(topology), TRIGGER)
    assert starved.hypotheses[0].resource == "api"
    # With api's CPU as before, the time lost on the way to db is the network's, or db's: db first.
    assert rank(findings, _scope(topology), TRIGGER).hypotheses[0].resource == "db"
    # And a CPU that rose only after the gap opened (retries, error handling) does not take it over.
    late = rank([*findings, _shift("api", "CPUUtilization", 40, 95, 3)], _scope(topology), TRIGGER)
    assert late.hypotheses[0].resource == "db"


def test_a_gap_seen_in_few_traced_calls_may_have_begun_as_early_as_the_last_normal_one() -> None:
    # alb -> api -> db. api's p99 rises at minute 0 and its CPU (waiting threads) at minute 2; the
    # first slow call to db that was traced is at minute 3, but few calls are traced and the last
    # normal one was 3.5 minutes before it: the gap began somewhere in between, possibly before
    # either. Nothing says api slowed or starved first: db (where the time is lost) is first.
    topology = _topology([("alb", "api"), ("api", "db")])
    gap = _network_gap("api", "db", 3)
    gap.evidence.details.seen_normal_s = 210.0
    findings = [_metric("alb", ALARM_METRIC, 0.99, 1), _shift("api", "Latency", 70, 340, 0, stat="p99"),
                _shift("api", "CPUUtilization", 40, 60, 2), gap]
    assert rank(findings, _scope(topology), TRIGGER).hypotheses[0].resource == "db"
    # Densely traced (the last normal call 5 s before the first slow one), the gap began after
    # api's slowdown and after its CPU rose: the time lost is api's own, and api is first.
    gap.evidence.details.seen_normal_s = 5.0
    assert rank(findings, _scope(topology), TRIGGER).hypotheses[0].resource == "api"


def _own_errors(resource: str, onset_minute: float, errors: int, rejected: int) -> Finding:
    """Errors in the resource's own spans, `rejected` of them client errors (4xx)."""
    signal = "trace own errors"
    return Finding(
        id=Finding.make_id("trace", resource, signal), domain="application", kind="trace", resource=resource,
        signal=signal, summary=f"{resource} fails in its own spans: {errors}/100", onset=_at(onset_minute), score=0.99,
        direction="up", evidence=Evidence(baseline_value=0.0, incident_value=errors / 100,
                                          details=TraceDetails(test="own_errors", errors=errors, spans=100, rejected=rejected)),
    )


def _role_detached(table_rejects: bool) -> list[Finding]:
    # alb -> api -> table, and api runs as api-role (no telemetry of its own). api-role changed
    # at minute -1; from minute 0 api fails 40 requests a minute, and its calls to table fail in
    # table's spans (50 of 100), which api also counts as 40 failed calls to table a minute.
    rejected = 50 if table_rejects else 0
    reported = _observed("table", "Errors", 0.99, 0, reported_by="api")
    reported.evidence.baseline_value, reported.evidence.incident_value = 0.0, 40.0
    return [
        _metric("alb", ALARM_METRIC, 0.99, 1), _shift("api", "Errors", 0, 40, 0, stat="Sum"),
        _own_errors("table", 0.5, 50, rejected), reported, _change("api-role", "DetachRolePolicy", -1, 0.95),
    ]


def test_a_dependency_that_refused_its_callers_requests_does_not_explain_their_failure() -> None:
    # table answered 400 (access denied) to api's calls: it refused what api sent, so what api
    # sends with (its role) is where the fault is. Had table failed with 5xx faults of its own,
    # it would account for api's failure, and a role change would be a coincidence.
    topology = _topology([("alb", "api"), ("api", "table"), ("api", "api-role")], {"api-role": "AWS::IAM::Role"})
    assert rank(_role_detached(table_rejects=True), _scope(topology), TRIGGER).hypotheses[0].resource == "api-role"
    assert rank(_role_detached(table_rejects=False), _scope(topology), TRIGGER).hypotheses[0].resource == "table"
    # A table that refuses because it is throttled (its own limit reached) is the cause all the same.
    throttled = [*_role_detached(table_rejects=True), _observed("table", "ThrottledRequests", 0.99, 0, constraint="throttling")]
    assert rank(throttled, _scope(topology), TRIGGER).hypotheses[0].resource == "table"


def test_a_configuration_change_does_not_inherit_a_failure_its_callers_dependency_explains() -> None:
    # alb -> checkout -> payments -> gateway; checkout reads checkout-config, whose flag changed
    # at minute -5. From minute 0 the gateway times out (payments reports its latency and
    # errors), payments fails and so does checkout. The flag did not make a third party slow.
    topology = _topology([("alb", "checkout"), ("checkout", "payments"), ("payments", "gateway"),
                          ("checkout", "checkout-config")], {"checkout-config": "AWS::AppConfig::ConfigurationProfile"})
    findings = [
        _metric("alb", ALARM_METRIC, 0.99, 1),
        _shift("checkout", "Errors", 0, 40, 0, stat="Sum"), _shift("payments", "Errors", 0, 40, 0, stat="Sum"),
        _observed("gateway", "DependencyErrors", 0.99, 0, reported_by="payments"),
        _observed("gateway", "DependencyLatency", 0.99, 0, reported_by="payments"),
        _change("checkout-config", "StartDeployment", -5, 0.8),
    ]
    ranking = rank(findings, _scope(topology), TRIGGER)
    assert ranking.hypotheses[0].resource == "gateway"
    # checkout failing on its own (payments and the gateway healthy): then the flag is the likely cause.
    alone = [findings[0], findings[1], findings[-1]]
    assert rank(alone, _scope(topology), TRIGGER).hypotheses[0].resource == "checkout-config"


def test_a_queue_s_backlog_does_not_explain_why_sending_to_it_failed() -> None:
    # alb -> checkout -> orders (a queue); checkout reads checkout-config, changed at minute -2 to
    # another environment's queue name. From minute 0 checkout fails, its sends refused by the
    # queue (4xx in the queue's spans). The queue's backlog had grown since minute -6 (a batch
    # import): messages waiting for a consumer, which fail no sender.
    topology = _topology([("alb", "checkout"), ("checkout", "orders"), ("checkout", "checkout-config")],
                         {"orders": "AWS::SQS::Queue", "checkout-config": "AWS::AppConfig::ConfigurationProfile"})
    backlog = _shift("orders", "ApproximateNumberOfMessagesVisible", 0, 400, -6)
    findings = [
        _metric("alb", ALARM_METRIC, 0.99, 1), _shift("checkout", "Errors", 0, 40, 0, stat="Sum"),
        _own_errors("orders", 0.5, 40, 40), backlog, _change("checkout-config", "StartDeployment", -2, 0.9),
    ]
    assert rank(findings, _scope(topology), TRIGGER).hypotheses[0].resource == "checkout-config"
    # The same growth on a service (not a buffer) is a failure of its own that began first.
    as_service = _topology([("alb", "checkout"), ("checkout", "orders"), ("checkout", "checkout-config")],
                           {"checkout-config": "AWS::AppConfig::ConfigurationProfile"})
    faults = [*findings[:2], _own_errors("orders", 0.5, 40, 0), backlog, findings[-1]]
    assert rank(faults, _scope(as_service), TRIGGER).hypotheses[0].resource == "orders"
