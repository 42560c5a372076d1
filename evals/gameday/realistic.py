"""Game-day families shaped like real recordings (suite "realistic"; docs/gameday.md).

Two kinds. Shaped recordings wrap one of the classic faults, picked by the seed, in a
recording that looks like real data: the fault already in effect when the window opens, a
normal period days away, five-minute or one-second metrics, the alarmed series missing, a slow
creep that began inside the baseline. New faults are what public fault-injection datasets
have and the classic suite lacks: CPU and memory hogs whose callers show the latency, delay on
one network edge or on everything one service sends, a noisy neighbour on a shared database, a canary deploy with per-revision
metrics beside a benign one, and one huge shift among small drifts in many places.

They are targets, not tuned cases: nothing here is shaped to what the engine finds.
"""

from __future__ import annotations

import numpy as np

from evals.gameday.app import (
    ACCOUNT, APP_NAMESPACE, CART_TABLE, CLUSTER, DB, ENTRY_SERVICE, ORDERS_TABLE, QUEUE, REGION, SERVICES,
)
from evals.gameday.metrics import MetricBook
from evals.gameday.scenario import REGISTRY, AlarmSpec, Distractor, Injection, Shape, deployer, scenario
from evals.gameday.scenarios import ALB_5XX, ALB_AVG, ALB_P99, BAD_DEPLOY_TEXT, ENTRY_ERRORS

# Classic faults the shaped recordings wrap: every cause of failure, alarms on the entry.
WRAPPED = ("external-api-timeout", "rds-max-connections", "bad-deploy", "ecs-oom-crashloop", "iam-policy-detached",
           "dynamodb-throttling", "wrong-environment-config", "gray-failure-az", "rds-storage-full")
CHECKOUT_P99 = AlarmSpec("checkout-latency-p99-high", "checkout", APP_NAMESPACE, "Latency", "p99",
                         dimensions=(("Service", "checkout"),))
CANARY_CONFIG = "CodeDeployDefault.ECSCanary10Percent5Minutes"


def _wrap(inj: Injection, shape: Shape) -> None:
    name = inj.pick(WRAPPED)
    spec, inject = REGISTRY[name]
    inject(inj)
    inj.cause = spec.cause
    inj.shape = shape
    inj.summary = f"{name}: {inj.summary}"


def _free_services(inj: Injection) -> list[str]:
    return [s for s in SERVICES if s not in inj.hit and s != inj.root]


# --- shaped recordings of classic faults ------------------------------------------------------


@scenario("fault-under-way-at-window-start", "unknown", "varies", "fault-under-way-at-window-start",
          "A classic fault (picked by the seed) already in effect when the recorded window opens; the normal "
          "period ends 10-40 minutes before the onset and nothing was recorded in between.", suite="realistic")
def under_way(inj: Injection) -> None:
    _wrap(inj, Shape(window_opens_after_onset=True))


@scenario("baseline-days-away", "unknown", "varies", "baseline-days-away",
          "A classic fault whose only normal data is an hour of the same system hours to days earlier, at "
          "another time of day (another traffic level).", suite="realistic")
def far_baseline(inj: Injection) -> None:
    _wrap(inj, Shape(baseline_days_away=round(inj.uniform(0.3, 6.0), 2)))


@scenario("five-minute-metrics", "unknown", "varies", "five-minute-metrics",
          "A classic fault recorded at a five-minute period (basic monitoring), the alarmed series at one minute.",
          suite="realistic")
def five_minutes(inj: Injection) -> None:
    _wrap(inj, Shape(resolution_s=300))


@scenario("one-second-metrics", "unknown", "varies", "one-second-metrics",
          "A classic fault whose application metrics are high-resolution (one-second datapoints, noisy "
          "percentiles); AWS metrics at one minute.", suite="realistic")
def one_second(inj: Injection) -> None:
    _wrap(inj, Shape(resolution_s=1))


@scenario("alarmed-series-missing", "unknown", "varies", "alarmed-series-missing",
          "A classic fault whose alarmed metric is not in the recording (exported from another account, or "
          "metric math); the rest of the telemetry is there.", suite="realistic")
def alarm_missing(inj: Injection) -> None:
    _wrap(inj, Shape(drop_alarm_series=True))


@scenario("no-tracing", "unknown", "varies", "no-tracing",
          "A classic fault in a system without tracing: no spans and no service map, so the recording names "
          "the resources but not who calls whom; metrics, logs and changes are there.", suite="realistic")
def no_tracing(inj: Injection) -> None:
    _wrap(inj, Shape(no_tracing=True))


@scenario("creep-since-baseline", "unknown", "varies", "creep-since-baseline",
          "A classic fault beside a slow creep that began inside the baseline (CPU 14 % -> 22 % over the "
          "recording) on a resource the fault does not touch: a trend, not the incident.", suite="realistic")
def creep_since_baseline(inj: Injection) -> None:
    _wrap(inj, Shape())
    slow_creep(inj)


def slow_creep(inj: Injection) -> None:
    """A metric drifting steadily since the first minute on something the fault does not touch."""
    sim = inj.sim
    t = np.arange(sim.minutes, dtype=float)
    rise = inj.uniform(7.0, 12.0)
    options = [f"cpu:{s}" for s in _free_services(inj)] + ([f"db-cpu:{DB}"] if DB not in inj.hit and inj.root != DB else [])
    kind, resource = inj.pick(options).split(":")
    if kind == "cpu":
        sim.cpu_extra[resource] += rise * t / sim.minutes
        detail = f"{resource} CPU creeps up {rise:.0f} points over the whole recording (a slow leak in a cache)"
    else:
        inj.edits.append(lambda book: book.get(DB, "CPUUtilization").__iadd__(rise * t / sim.minutes))
        detail = f"{DB} CPU creeps up {rise:.0f} points over the whole recording (table bloat)"
    inj.distractors.append(Distractor(kind="slow-creep", resource=resource, minute=0, detail=detail))


# --- new faults -------------------------------------------------------------------------------

HOG_TARGETS = ("catalog", "cart")  # called on most requests: their callers feel what they suffer


def _utilisation_at_onset(inj: Injection, service: str) -> float:
    return float(inj.sim.flow(perturbed=False)[service][inj.onset] * SERVICES[service].cpu_per_rps)


@scenario("cpu-hog", "component", "AWS::ECS::Service", "cpu-hog",
          "A process in one service's tasks burns CPU (a stress test left running, a runaway thread); the "
          "service saturates and its callers show the latency.", suite="realistic")
def cpu_hog(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    service = inj.pick(HOG_TARGETS)
    inj.root, inj.hit = service, {service}
    target = inj.uniform(86.0, 93.0)
    # The service already runs at its scaling policy's maximum: scaling out cannot dilute the hog.
    sim.max_tasks[service] = SERVICES[service].tasks
    sim.cpu_extra[service] += (target - _utilisation_at_onset(inj, service)) * sim.ramp(o, int(inj.rng.integers(1, 3)))
    inj.alarms = [ALB_P99, ALB_AVG]
    inj.summary = f"a CPU hog takes {service} to about {target:.0f} % CPU from minute {o}"


GC_TEXT = {
    "java": "GC pause (G1 Evacuation Pause) took {ms} ms; heap 97% after collection",
    "go": "runtime: GC assist stalled goroutines for {ms} ms; heap near GOMEMLIMIT",
    "node": "Mark-Compact (reduce) took {ms} ms; heap near --max-old-space-size",
}


@scenario("memory-hog", "component", "AWS::ECS::Service", "memory-hog",
          "One service's tasks run out of headroom (a memory hog in the task); garbage collection stalls "
          "requests, a few fail, and its callers show the latency. Nothing is killed.", suite="realistic")
def memory_hog(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    service = inj.pick(HOG_TARGETS + (ENTRY_SERVICE,))
    inj.root, inj.hit = service, {service}
    svc = SERVICES[service]
    ramp = sim.ramp(o, int(inj.rng.integers(2, 5)))
    top = inj.uniform(93.0, 98.5)
    sim.memory[service] = np.full(sim.minutes, svc.memory_pct) + (top - svc.memory_pct) * ramp
    sim.own_latency[service] += sim.zonal(inj.uniform(2.0, 4.0) * svc.base_latency_ms * ramp)
    sim.own_errors[service] = np.maximum(sim.own_errors[service], sim.zonal(inj.uniform(0.005, 0.02) * ramp))
    for minute in range(o, sim.minutes):
        if inj.rng.random() < 0.7:
            sim.extra_logs.append((minute, service, "WARN" if svc.language == "java" else "warn",
                                   GC_TEXT[svc.language].replace("{ms}", str(int(inj.uniform(300, 1400))))))
    inj.alarms = [ALB_P99, ALB_AVG]
    inj.summary = f"{service} memory rises to {top:.0f} % from minute {o}; GC stalls add latency"


@scenario("network-edge-delay", "component", "AWS::ECS::Service / AWS::RDS::DBInstance", "network-edge-delay",
          "Packets into one resource are delayed (a degraded ENI, tc netem): its callers' client-side latency rises "
          "while its own server-side latency stays normal.", suite="realistic")
def edge_delay(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    caller, callee = inj.pick([("storefront", "catalog"), ("storefront", "cart"), ("catalog", DB)])
    inj.root, inj.hit = callee, {callee}
    delay = inj.uniform(60, 140) if callee == DB else inj.uniform(150, 350)
    sim.add_edge(caller, callee, latency_ms=sim.zonal(delay * sim.ramp(o, int(inj.rng.integers(1, 3)))))
    inj.alarms = [ALB_P99, ALB_AVG]
    inj.summary = f"calls {caller} -> {callee} take {delay:.0f} ms longer on the network from minute {o}"


@scenario("service-network-delay", "component", "AWS::ECS::Service", "service-network-delay",
          "Every packet one service sends is delayed (tc netem on its interface, as fault-injection tools do): its "
          "callers get its answers late, and its own calls to its dependencies take longer, while every service's "
          "own time stays normal.", suite="realistic")
def service_delay(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    service = inj.pick(["catalog", "cart", "checkout", "payments"])
    inj.root, inj.hit = service, {service}
    delay = inj.uniform(150, 350)
    ramp = sim.ramp(o, int(inj.rng.integers(1, 3)))
    # Its answers go out late to each caller, and its requests go out late to each dependency.
    for call in [*inj.app.callers(service), *inj.app.callees(service)]:
        sim.add_edge(call.caller, call.callee, latency_ms=sim.zonal(delay * ramp))
    inj.alarms = [ALB_P99, ALB_AVG]
    inj.summary = f"every packet {service} sends takes {delay:.0f} ms longer from minute {o}"


@scenario("noisy-neighbour", "traffic", "AWS::ECS::Service", "noisy-neighbour",
          "A crawler multiplies the catalog's requests; its uncached queries saturate the database it shares with "
          "checkout, which times out: the alarm is on the neighbour, the cause is the catalog's load.", suite="realistic")
def noisy_neighbour(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    inj.root, inj.hit = "catalog", {"catalog", DB}
    base = sim.flow(perturbed=False)
    ramp = sim.ramp(o, int(inj.rng.integers(2, 4)))
    factor = inj.uniform(1.6, 2.2)
    extra = base["catalog"] * (factor - 1.0) * ramp
    sim.extra_rps["catalog"] += extra
    sim.passthrough[ENTRY_SERVICE] += extra  # the crawler's page loads come through the load balancer
    sim.passthrough["shop-alb"] += extra
    contention = inj.uniform(25.0, 45.0)
    sim.own_latency[DB] += sim.zonal(contention * ramp)
    sim.add_edge("checkout", DB, errors=sim.zonal(inj.uniform(0.01, 0.04) * ramp))
    sim.texts.edge[("checkout", DB)] = [
        "Could not execute statement | org.postgresql.util.PSQLException: ERROR: canceling statement due to statement timeout",
    ]
    db_cpu = inj.uniform(30.0, 50.0)
    inj.edits.append(lambda book: book.get(DB, "CPUUtilization").__iadd__(db_cpu * ramp))
    inj.alarms = [CHECKOUT_P99]
    inj.summary = f"catalog requests x{factor:.1f} from minute {o} (a crawler); {DB} queries slow by {contention:.0f} ms"


@scenario("canary-deploy", "change", "AWS::ECS::Service", "canary-deploy",
          "A canary revision of one service (10-25 % of its tasks) fails requests, beside a healthy canary of "
          "another service at the same time; the application metrics are split by task definition revision.",
          suite="realistic")
def canary_deploy(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    service = inj.pick(["storefront", "catalog", "cart"])
    inj.root, inj.hit = service, {service}
    other = inj.pick([s for s in _free_services(inj) if s != "payments"])
    deployed = o - int(inj.rng.integers(1, 4))
    # The benign canary lands within a few minutes of the faulty one, as often after it as before.
    benign_at = deployed + int(inj.rng.integers(-4, 3))
    share, fail = inj.uniform(0.1, 0.25), inj.uniform(0.3, 0.7)
    revisions = {}
    for svc, minute in ((service, deployed), (other, benign_at)):
        revisions[svc] = (int(inj.rng.integers(40, 400)), minute)
        _codedeploy(inj, svc, minute, revisions[svc][0] + 1)
    # CodeDeploy shifts the canary's share of traffic once the replacement task set is healthy.
    canary = sim.ramp(o)
    sim.own_errors[service] = np.maximum(sim.own_errors[service], sim.zonal(share * fail * canary))
    sim.texts.own[service] = [BAD_DEPLOY_TEXT[SERVICES[service].language]]
    inj.distractors.append(Distractor(kind="benign-change", resource=other, minute=benign_at,
                                      detail=f"healthy canary of {other} beside the faulty one"))

    def split(book: MetricBook) -> None:
        for svc, (old, minute) in revisions.items():
            bad = svc == service
            _split_by_revision(book, svc, old, o if bad else minute + 2, share, fail if bad else 0.0)

    inj.edits.append(split)
    inj.alarms = [ALB_5XX, ENTRY_ERRORS]
    inj.summary = (f"canary of {service} (revision {revisions[service][0] + 1}, {share:.0%} of tasks) fails {fail:.0%} of its "
                   f"requests from minute {o} (deployed at {deployed}); {other} canaries a healthy revision at minute {benign_at}")


@scenario("canary-deploy-metrics-only", "change", "AWS::ECS::Service", "canary-deploy-metrics-only",
          "The canary deploy with metrics, changes and the service map only (no logs or spans exported): the faulty "
          "revision shows only in its own per-revision series, which start at its deploy.", suite="realistic")
def canary_metrics_only(inj: Injection) -> None:
    canary_deploy(inj)
    inj.shape = Shape(metrics_only=True)


def _codedeploy(inj: Injection, service: str, minute: int, revision: int) -> None:
    actor = deployer(inj)
    inj.change(minute - 0.6, "ecs.amazonaws.com", "RegisterTaskDefinition", service, actor, family=service,
               containerDefinitions=[{"name": service, "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{service}:"
                                      f"v{int(inj.rng.integers(2, 9))}.{int(inj.rng.integers(0, 40))}.0"}])
    inj.change(minute, "codedeploy.amazonaws.com", "CreateDeployment", service, actor,
               applicationName=f"AppECS-{CLUSTER}-{service}", deploymentGroupName=f"DgpECS-{CLUSTER}-{service}",
               deploymentConfigName=CANARY_CONFIG,
               revision={"taskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{service}:{revision}"})


def _split_by_revision(book: MetricBook, service: str, old: int, start: int, share: float, fail: float) -> None:
    """Replace the service's Requests, Errors and p99 Latency by one series per task definition revision."""
    sim = book.sim
    t = np.arange(sim.minutes)
    live = t >= start
    for metric in ("Requests", "Errors", "Latency"):
        key = next(k for k in book.find(service, metric) if dict(k.dimensions) == {"Service": service})
        values = book.series.pop(key)
        if metric == "Requests":
            new = np.where(live, np.round(values * share), np.nan)
            old_values = values - np.nan_to_num(new)
        elif metric == "Errors":
            # The canary's failures are its own; the old revision keeps the usual trickle.
            requests = book.get(service, "Requests", "Sum", TaskDefinitionRevision=str(old + 1))
            new = np.where(live, sim.rng.poisson(np.nan_to_num(requests) * max(fail, 0.0006)).astype(float), np.nan)
            old_values = np.maximum(values - np.nan_to_num(new), 0.0) if fail else np.round(values * np.where(live, 1 - share, 1.0))
        else:
            new = np.where(live, np.round(values * sim.rng.lognormal(0.0, 0.08, sim.minutes), 1), np.nan)
            old_values = values
        book.put(service, key.namespace, metric, key.stat, old_values, Service=service, TaskDefinitionRevision=str(old))
        book.put(service, key.namespace, metric, key.stat, new, Service=service, TaskDefinitionRevision=str(old + 1))


@scenario("huge-shift-small-drifts", "component", "AWS::ECS::Service", "huge-shift-small-drifts",
          "A runaway thread pins one service's CPU near 100 % (a huge shift) while small, statistically clear drifts "
          "start at the same minute in many places downstream (memory, capacity, latency); plus a slow creep.",
          suite="realistic")
def huge_shift(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    service = inj.pick(HOG_TARGETS)
    inj.root, inj.hit = service, {service}
    sim.max_tasks[service] = SERVICES[service].tasks  # at its scaling maximum, as in cpu-hog
    sim.cpu_extra[service] += (inj.uniform(95.0, 99.0) - _utilisation_at_onset(inj, service)) * sim.ramp(o, 1)
    drifts = [
        (DB, "FreeableMemory", -inj.uniform(0.02, 0.04)), (DB, "ReadLatency", inj.uniform(0.12, 0.2)),
        (CART_TABLE, "ProvisionedWriteCapacityUnits", 0.1), (ORDERS_TABLE, "SuccessfulRequestLatency", inj.uniform(0.15, 0.25)),
        (QUEUE, "ApproximateAgeOfOldestMessage", inj.uniform(0.15, 0.3)),
    ]
    drifts += [(s, "MemoryUtilization", inj.uniform(0.05, 0.08)) for s in _free_services(inj)[:3]]
    for resource, metric, relative in drifts:
        minute = o + int(inj.rng.integers(-1, 2))
        inj.edits.append(lambda book, r=resource, m=metric, x=relative, at=minute: book.get(r, m)[at:].__imul__(1 + x))
        inj.distractors.append(Distractor(kind="small-drift", resource=resource, minute=minute,
                                          detail=f"{metric} {relative:+.0%}"))
    slow_creep(inj)
    inj.alarms = [ALB_P99, ALB_AVG]
    inj.summary = f"a runaway thread pins {service} CPU near 100 % from minute {o}; {len(drifts)} small drifts alongside"

