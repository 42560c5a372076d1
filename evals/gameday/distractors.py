"""Distractors every scenario carries, chosen per seed.

- a benign change shortly before the onset on something the fault does not touch;
- a noisy metric on an unrelated resource, moving around the onset;
- a symptom louder upstream than at the cause (a caller's thread pool and retries, or the
  queue or load balancer in front of the cause).
"""

from __future__ import annotations

import numpy as np

from evals.gameday.app import (
    ALB, APPCONFIG_SERVICES, CERT, CLUSTER, DB, FUNCTION, ORDERS_TABLE, QUEUE, SERVICES, config_of, parameter_name,
)
from evals.gameday.metrics import MetricBook
from evals.gameday.scenario import Distractor, Injection, deployer, human
from evals.gameday.scenarios import deploy


def add_all(inj: Injection) -> None:
    benign_change(inj)
    noisy_metric(inj)
    if not inj.false_alarm:  # without a cause there is nothing to be upstream of
        louder_upstream(inj)


def _free_services(inj: Injection) -> list[str]:
    return [s for s in SERVICES if s not in inj.hit and s != inj.root]


def benign_change(inj: Injection) -> None:
    o = inj.onset
    options = ["deploy", "feature-flag", "scaling-policy"]
    if FUNCTION not in inj.hit and inj.root not in (FUNCTION, ORDERS_TABLE):
        options.append("lambda-config")
    kinds = [options[i] for i in inj.rng.choice(len(options), size=int(inj.rng.integers(1, 3)), replace=False)]
    for kind in kinds:
        minute = o - inj.uniform(3.0, 40.0)
        service = inj.pick(_free_services(inj))
        if kind == "deploy":
            whole = int(np.floor(minute))
            deploy(inj, service, whole, f"v{int(inj.rng.integers(2, 9))}.{int(inj.rng.integers(0, 40))}.{int(inj.rng.integers(0, 9))}")
            extra = SERVICES[service].tasks

            def rollout(book: MetricBook, service: str = service, whole: int = whole, extra: int = extra) -> None:
                # During a rolling deploy old and new tasks run side by side for a few minutes.
                running = book.get(service, "RunningTaskCount")
                running[whole + 1: whole + 4] += extra
                book.get(service, "CPUUtilization")[whole + 1: whole + 3] += 6.0

            inj.edits.append(rollout)
            inj.distractors.append(Distractor(kind="benign-change", resource=service, minute=whole,
                                              detail=f"routine deploy of {service} (UpdateService)"))
        elif kind == "feature-flag":
            config = config_of(service)
            if service in APPCONFIG_SERVICES:
                inj.change(minute, "appconfig.amazonaws.com", "StartDeployment", config, human(inj), applicationId="shop",
                           environmentId="prod", configurationProfileId=service,
                           configurationVersion=str(int(inj.rng.integers(10, 90))), deploymentStrategyId="AppConfig.Linear50PercentEvery30Seconds",
                           description="enable recommendations-v2 for 5% of users")
            else:
                inj.change(minute, "ssm.amazonaws.com", "PutParameter", config, human(inj), name=parameter_name(service),
                           type="String", overwrite=True, value="HIDDEN_DUE_TO_SECURITY_REASONS")
            inj.distractors.append(Distractor(kind="benign-change", resource=config, minute=int(minute),
                                              detail=f"feature-flag update for {service}"))
        elif kind == "scaling-policy":
            inj.change(minute, "application-autoscaling.amazonaws.com", "PutScalingPolicy", service, deployer(inj),
                       policyName=f"{service}-cpu-target", serviceNamespace="ecs", resourceId=f"service/{CLUSTER}/{service}",
                       scalableDimension="ecs:service:DesiredCount", policyType="TargetTrackingScaling",
                       targetTrackingScalingPolicyConfiguration={"targetValue": 60.0, "predefinedMetricSpecification":
                                                                 {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}})
            inj.distractors.append(Distractor(kind="benign-change", resource=service, minute=int(minute),
                                              detail=f"scaling policy of {service} re-applied unchanged"))
        else:
            inj.change(minute, "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", FUNCTION, deployer(inj),
                       functionName=FUNCTION, environment={"variables": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                       description="LOG_LEVEL=INFO")
            inj.distractors.append(Distractor(kind="benign-change", resource=FUNCTION, minute=int(minute),
                                              detail="log level of the order processor changed"))


def noisy_metric(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    options = ["cpu-spike", "memory-creep"]
    if DB not in inj.hit:
        options.append("db-cpu-spike")
    if inj.root not in (FUNCTION, ORDERS_TABLE) and FUNCTION not in inj.hit:
        options += ["queue-burst", "lambda-errors"]
    if inj.root != CERT:
        options.append("tls-scanner")
    kind = inj.pick(options)
    start = o + int(inj.rng.integers(-8, 5))
    length = int(inj.rng.integers(4, 14))
    span = slice(start, start + length)
    if kind == "db-cpu-spike":
        bump = inj.uniform(25, 45)
        inj.edits.append(lambda book: book.get(DB, "CPUUtilization").__setitem__(span, book.get(DB, "CPUUtilization")[span] + bump))
        resource, detail = DB, "reporting query spikes database CPU"
    elif kind == "cpu-spike":
        resource = inj.pick(_free_services(inj))
        sim.cpu_extra[resource][span] += inj.uniform(15, 25)
        detail = f"cache rebuild spikes {resource} CPU"
    elif kind == "memory-creep":
        resource = inj.pick(_free_services(inj))
        creep = np.clip((np.arange(sim.minutes) - (o - 30)) / 40.0, 0, 1) * inj.uniform(8, 15)
        base = sim.memory.get(resource, np.full(sim.minutes, SERVICES[resource].memory_pct))
        sim.memory[resource] = base + creep
        detail = f"{resource} memory creeps up (cache warming)"
    elif kind == "queue-burst":
        burst = inj.uniform(300, 900)
        inj.edits.append(lambda book: book.get(QUEUE, "ApproximateNumberOfMessagesVisible").__setitem__(
            span, book.get(QUEUE, "ApproximateNumberOfMessagesVisible")[span] + burst))
        resource, detail = QUEUE, "a batch import briefly fills the order queue"
    elif kind == "lambda-errors":
        count = inj.uniform(3, 8)
        inj.edits.append(lambda book: book.get(FUNCTION, "Errors").__setitem__(span, np.round(book.get(FUNCTION, "Errors")[span] + count)))
        for minute in range(start, start + min(length, 4)):
            sim.extra_logs.append((minute, FUNCTION, "ERROR", "KeyError: 'shipping_address' | Traceback (most recent call last):\n"
                                   "  File \"/var/task/handler.py\", line 41, in handle_record"))
        resource, detail = FUNCTION, "a poison message makes the order processor fail a few times"
    else:
        hits = inj.uniform(40, 200)
        inj.edits.append(lambda book: book.get(ALB, "ClientTLSNegotiationErrorCount").__setitem__(
            span, np.round(book.get(ALB, "ClientTLSNegotiationErrorCount")[span] + hits)))
        resource, detail = ALB, "a TLS scanner causes handshake errors"
    inj.distractors.append(Distractor(kind="noisy-metric", resource=resource, minute=start, detail=detail))


def _sync_upstream_services(inj: Injection) -> list[str]:
    runtime = {c.caller for c in inj.app.calls} | {c.callee for c in inj.app.calls}
    frontier = [inj.root] if inj.root in runtime else [r for r in inj.app.topology.callers(inj.root) if r in runtime]
    seen = set(frontier)
    while frontier:
        node = frontier.pop()
        for call in inj.app.callers(node):
            if not call.asynchronous and call.caller not in seen:
                seen.add(call.caller)
                frontier.append(call.caller)
    return sorted(s for s in seen if s in SERVICES and s not in inj.hit and s != inj.root)


def louder_upstream(inj: Injection) -> None:
    """A caller of the cause suffers more than the cause: retries and a saturated thread pool."""
    sim, o = inj.sim, inj.onset
    candidates = _sync_upstream_services(inj)
    if not candidates:
        front = QUEUE if inj.root in (FUNCTION, ORDERS_TABLE) or FUNCTION in inj.hit else ALB
        inj.distractors.append(Distractor(kind="louder-upstream", resource=front, minute=o,
                                          detail=f"the symptom shows first and loudest at {front}"))
        return
    service = inj.pick(candidates)
    lag = int(inj.rng.integers(1, 3))
    gain = inj.uniform(3.0, 6.0)
    ramp = sim.ramp(o + lag, 2)
    sim.own_latency[service] += sim.zonal(gain * SERVICES[service].base_latency_ms * ramp)
    sim.cpu_extra[service] += inj.uniform(12, 25) * ramp
    inj.distractors.append(Distractor(kind="louder-upstream", resource=service, minute=o + lag,
                                      detail=f"{service} retries and exhausts its thread pool: latency x{gain:.1f}"))
