"""Build one incident from (scenario, seed) and write it as a bundle; build a whole suite.

The same (scenario, seed) always gives the same content: every random draw comes from one
generator seeded with both.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from domain.models import ChangeEvent, GroundTruth, HealthEvent, TimeWindow
from domain.errors import UserError
from evals.gameday import alarm, distractors, logs, metrics, shapes, spans
from evals.gameday import realistic  # noqa: F401  (importing it registers the realistic families)
from evals.gameday.app import reference_app
from evals.gameday.scenario import REGISTRY, SUITES, Distractor, Injection, ScenarioSpec
from evals.gameday.scenarios import autoscaling_changes  # importing it registers the scenarios
from evals.gameday.sim import Simulation
from tools.bundle.format import IncidentManifest
from tools.bundle.writer import write_bundle

MINUTES = 150  # simulated; the bundle ends 20 minutes after the alarm
AFTER_ALARM = 20
WINDOW_BEFORE_ALARM = 60
DEFAULT_SEEDS = 5
EPOCH = datetime(2026, 3, 2, tzinfo=timezone.utc)


@dataclass
class GeneratedIncident:
    spec: ScenarioSpec
    seed: int
    manifest: IncidentManifest
    metrics: pd.DataFrame
    logs: pd.DataFrame
    spans: pd.DataFrame
    changes: list[ChangeEvent]
    health: list[HealthEvent]
    onset: datetime
    distractors: list[Distractor]
    summary: str

    @property
    def bundle_name(self) -> str:
        return self.manifest.id


def bundle_id(name: str, seed: int) -> str:
    """An opaque, stable id: the directory name must not give the scenario away."""
    return f"gameday-{hashlib.sha1(f'{name}:{seed}'.encode()).hexdigest()[:10]}"


def scenario_names(suite: str | None = None) -> list[str]:
    """Every scenario, or those of one suite (classic, realistic)."""
    if suite is not None and suite not in SUITES:
        raise UserError(f"unknown suite {suite!r}; valid suites: {', '.join(SUITES)}")
    return [name for name, (spec, _) in REGISTRY.items() if suite is None or spec.suite == suite]


def spec_of(name: str) -> ScenarioSpec:
    if name not in REGISTRY:
        raise UserError(f"unknown scenario {name!r}; valid names: {', '.join(REGISTRY)}")
    return REGISTRY[name][0]


def build(name: str, seed: int) -> GeneratedIncident:
    spec = spec_of(name)
    _, inject = REGISTRY[name]
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    start = EPOCH + timedelta(days=seed % 365, hours=int(rng.integers(5, 20)), minutes=int(rng.integers(0, 60)))
    app = reference_app()
    base_rps = float(rng.uniform(45, 75))
    sim = Simulation(app, start, MINUTES, rng, base_rps=base_rps)
    inj = Injection(app=app, sim=sim, rng=rng, onset=int(rng.integers(92, 113)))
    inject(inj)
    distractors.add_all(inj)
    sim.run()
    autoscaling_changes(inj)
    book = metrics.render(sim)
    for edit in inj.edits:
        edit(book)
    trigger, alarm_minute = alarm.choose(book, inj)
    end = min(MINUTES, alarm_minute + AFTER_ALARM)
    end_time = sim.times[end - 1]
    window = TimeWindow(start=sim.times[alarm_minute - WINDOW_BEFORE_ALARM], end=end_time)
    traces = spans.render(sim, end)
    recording = shapes.apply(inj, shapes.Recording(
        window=window, baseline=TimeWindow(start=sim.times[0], end=window.start), metrics=book.frame(end),
        logs=logs.render(sim, end, traces), spans=traces,
        changes=sorted((c for c in inj.changes if c.time <= end_time), key=lambda c: c.time),
    ), trigger, alarm_minute, base_rps)
    cause = inj.cause or spec.cause
    # Nothing the investigation reads names the scenario: players of a game day, and the
    # analysis, must find the cause from the evidence. ground_truth and NOTES.md hold the answer.
    manifest = IncidentManifest(
        id=bundle_id(name, seed),
        title=f"{trigger.alarm_name} in ALARM",
        description="Game-day incident on the reference shop application (evals/gameday). "
                    "The answer is in ground_truth and in NOTES.md, for the facilitator.",
        trigger=trigger,
        window=recording.window,
        baseline=recording.baseline,
        # Without tracing there is no service map: the resources are known, their calls are not.
        topology=app.topology.model_copy(update={"edges": []}) if inj.shape.no_tracing else app.topology,
        ground_truth=(GroundTruth(fault=spec.fault, false_alarm=True) if inj.false_alarm
                      else GroundTruth(resource=inj.root, cause=cause, fault=spec.fault)),
    )
    return GeneratedIncident(
        spec=spec, seed=seed, manifest=manifest, metrics=recording.metrics, logs=recording.logs,
        spans=recording.spans, changes=recording.changes, health=inj.health, onset=sim.times[inj.onset], distractors=inj.distractors, summary=inj.summary,
    )


def notes(incident: GeneratedIncident) -> str:
    """NOTES.md: what was injected, for the game-day facilitator (the investigation never reads it)."""
    lines = [
        f"# {incident.manifest.id}: {incident.spec.name}, seed {incident.seed}", "",
        f"- scenario: {incident.spec.name} ({incident.manifest.ground_truth.cause or incident.spec.cause})",
        f"- root cause: `{incident.manifest.ground_truth.resource or 'none (false alarm)'}` — {incident.summary}",
        f"- onset: {incident.onset.isoformat()}",
        f"- alarm: {incident.manifest.trigger.alarm_name} at {incident.manifest.trigger.state_change_time.isoformat()}",
        "", "## Distractors", "",
    ]
    lines += [f"- {d.kind}: `{d.resource}` at minute {d.minute} — {d.detail}" for d in incident.distractors]
    return "\n".join(lines) + "\n"


def write(incident: GeneratedIncident, out: Path) -> Path:
    path = out / incident.bundle_name
    write_bundle(path, incident.manifest, metrics=incident.metrics, logs=incident.logs, spans=incident.spans,
                 changes=incident.changes, health=incident.health)
    (path / "NOTES.md").write_text(notes(incident), encoding="utf-8")
    return path


def suite(out: Path, names: Sequence[str] | None = None, seeds: Sequence[int] | None = None,
          progress: Callable[[str], None] | None = None, suite_name: str | None = None,
          skipped: Callable[[str], None] | None = None) -> list[Path]:
    """Write every (scenario, seed) bundle under `out` (of one suite when named); returns the paths.

    A draw whose fault trips none of its alarms (`alarm.NoAlarmFired`: too mild at that seed's
    traffic) has no incident to investigate: it is reported to `skipped` and the others are
    still written; without `skipped` it raises."""
    chosen = list(names) if names else scenario_names(suite_name)
    for name in chosen:
        spec_of(name)
    paths = []
    for seed in seeds if seeds is not None else range(1, DEFAULT_SEEDS + 1):
        for name in chosen:
            try:
                incident = build(name, seed)
            except alarm.NoAlarmFired as exc:
                if skipped is None:
                    raise
                skipped(f"{name} seed {seed}: {exc}")
                continue
            path = write(incident, out)
            paths.append(path)
            if progress:
                progress(f"{path.name}  {name} seed {seed}")
    return paths
