"""What a scenario is: a named, seeded fault on the reference app, with its ground truth.

A scenario function receives an `Injection` (the simulation before it runs, the seeded
random generator and the onset minute) and changes the simulation's inputs, registers the
log texts of its fault, the CloudTrail and Health events it implies, the alarms an engineer
would have set for it, and metric edits that are not a consequence of load (a disk filling
up, a certificate's remaining days).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from pydantic import BaseModel

from domain.models import Cause, ChangeEvent, ComparisonOperator, HealthEvent
from evals.gameday.app import ACCOUNT, ReferenceApp
from evals.gameday.metrics import MetricBook
from evals.gameday.sim import Simulation


Suite = Literal["classic", "realistic"]
SUITES: tuple[str, ...] = ("classic", "realistic")


class ScenarioSpec(BaseModel):
    """The catalogue entry `investigator gameday list` shows."""

    name: str
    cause: Cause
    root_kind: str  # CloudFormation type of the root-cause resource
    fault: str
    description: str
    # classic: the first 15 scenarios; realistic: families shaped like real recordings (docs/gameday.md)
    suite: Suite = "classic"


@dataclass
class Shape:
    """How the recording differs from the simulator's tidy default (evals/gameday/shapes.py).

    The default is a 60-minute window before the alarm with the normal period right before it,
    every metric at one-minute resolution and the alarmed series present.
    """

    window_opens_after_onset: bool = False  # the window opens with the fault already in effect
    baseline_days_away: float | None = None  # the normal period is this many days before the incident
    resolution_s: int = 60  # 300: five-minute datapoints (but the alarmed series); 1: one-second app metrics
    drop_alarm_series: bool = False  # the alarmed metric is not in the recording
    no_tracing: bool = False  # tracing was off: no spans, and so no call graph (resources without edges)
    metrics_only: bool = False  # no logs and no spans were exported; metrics, changes and the service map are there


@dataclass(frozen=True)
class AlarmSpec:
    """An alarm as an engineer would have set it; the threshold is derived from normal operation."""

    name: str
    resource: str
    namespace: str
    metric: str
    stat: str
    comparison: ComparisonOperator = "GreaterThanThreshold"
    dimensions: tuple[tuple[str, str], ...] = ()
    datapoints: int = 3  # consecutive breaching one-minute datapoints before ALARM
    floor: float = 0.0  # no engineer alarms below this (e.g. a queue age of a few seconds)
    tight: bool = False  # set just above the normal maximum, as over-eager alarms are


class Distractor(BaseModel):
    """Something in the telemetry that is not the cause (recorded for NOTES.md and the tests)."""

    kind: Literal["benign-change", "noisy-metric", "louder-upstream", "slow-creep", "small-drift"]
    resource: str
    minute: int
    detail: str


@dataclass
class Injection:
    app: ReferenceApp
    sim: Simulation
    rng: np.random.Generator
    onset: int
    root: str = ""  # empty for a false alarm
    false_alarm: bool = False
    hit: set[str] = field(default_factory=set)  # resources the fault touches directly: distractors avoid them
    alarms: list[AlarmSpec] = field(default_factory=list)
    changes: list[ChangeEvent] = field(default_factory=list)
    health: list[HealthEvent] = field(default_factory=list)
    edits: list[Callable[[MetricBook], None]] = field(default_factory=list)
    distractors: list[Distractor] = field(default_factory=list)
    summary: str = ""
    shape: Shape = field(default_factory=Shape)
    cause: Cause | None = None  # set by families that wrap another scenario's fault: that fault's cause

    def at(self, minute: float) -> datetime:
        return self.sim.start + timedelta(minutes=minute)

    def pick(self, options: list | tuple):
        return options[int(self.rng.integers(0, len(options)))]

    def uniform(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def event_id(self) -> str:
        h = "".join(self.rng.choice(list("0123456789abcdef"), 32))
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def change(self, minute: float, source: str, event_name: str, resource: str | None, actor: str, /,
               **parameters: object) -> ChangeEvent:
        event = ChangeEvent(id=self.event_id(), time=self.at(minute), source=source, event_name=event_name,
                            resource=resource, actor=actor, parameters=dict(parameters))
        self.changes.append(event)
        return event


DEPLOYER = f"arn:aws:sts::{ACCOUNT}:assumed-role/github-actions-deploy/deploy-{{run}}"
HUMANS = (f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_PlatformAdmin_3f1c/maria.santos",
          f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_PowerUser_91ab/tom.okafor",
          f"arn:aws:iam::{ACCOUNT}:user/terraform-ci")
AUTOSCALING = "application-autoscaling.amazonaws.com"


def deployer(inj: Injection) -> str:
    return DEPLOYER.format(run=int(inj.rng.integers(4000, 9999)))


def human(inj: Injection) -> str:
    return inj.pick(HUMANS)


ScenarioFn = Callable[[Injection], None]
REGISTRY: dict[str, tuple[ScenarioSpec, ScenarioFn]] = {}


def scenario(name: str, cause: Cause, root_kind: str, fault: str, description: str,
             suite: Suite = "classic") -> Callable[[ScenarioFn], ScenarioFn]:
    def register(fn: ScenarioFn) -> ScenarioFn:
        REGISTRY[name] = (ScenarioSpec(name=name, cause=cause, root_kind=root_kind, fault=fault, description=description,
                                       suite=suite), fn)
        return fn

    return register

