"""The plain baselines (evals/baselines): crafted bundles whose answer is known by construction.

Each bundle is written with the real bundle writer and read back through the BundleSource, as
the eval does. Metric series are built here: a normal period with known spread, then an
incident period where the shifts are placed deliberately.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from domain.models import ChangeEvent, Edge, GroundTruth, Resource, TimeWindow, Topology, Trigger
from evals.baselines import last_change, nsigma
from evals.metrics import build_report
from evals.report import to_markdown
from evals.runner import run_eval
from tools.bundle.format import IncidentManifest
from tools.bundle.source import BundleSource
from tools.bundle.writer import write_bundle
from ui.cli import main

ALARM = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
START = ALARM - timedelta(minutes=60)
RESOURCES = ["front", "api", "db", "cache", "early", "late", "before", "after", "svc", "noisy", "quiet", "canary", "steady"]


def _manifest(name: str, truth: str | None = None, *, lookback_s: float | None = None,
              baseline: TimeWindow | None = None) -> IncidentManifest:
    return IncidentManifest(
        id=name, title=name,
        trigger=Trigger(alarm_name="a", resource="front", metric="latency", state_change_time=ALARM, onset_lookback_s=lookback_s),
        window=TimeWindow(start=START, end=ALARM + timedelta(minutes=15)),
        baseline=baseline,
        # The topology says `front` depends on everything: a baseline that used it could tell;
        # these baselines must not (they rank on the data alone).
        topology=Topology(resources=[Resource(id=r) for r in RESOURCES],
                          edges=[Edge(caller="front", callee=r) for r in RESOURCES[1:]]),
        ground_truth=GroundTruth(resource=truth, fault="crafted") if truth else GroundTruth(false_alarm=True),
    )


def _series(resource: str, metric: str, values: np.ndarray, start: datetime = START) -> pd.DataFrame:
    return pd.DataFrame({
        "resource": resource, "namespace": "Test", "metric": metric, "stat": "Average",
        "dimensions": json.dumps({}), "timestamp": [start + timedelta(minutes=i) for i in range(len(values))],
        "value": values.astype(float),
    })


def _normal(rng: np.random.Generator, level: float, spread: float, minutes: int = 76) -> np.ndarray:
    return level + rng.normal(0.0, spread, minutes)


def _write(tmp_path: Path, manifest: IncidentManifest, frames: list[pd.DataFrame], changes=()) -> BundleSource:
    path = write_bundle(tmp_path / manifest.id, manifest, metrics=pd.concat(frames, ignore_index=True), changes=changes)
    return BundleSource(path)


def test_nsigma_ranks_the_largest_shift_in_units_of_its_own_spread_first(tmp_path):
    rng = np.random.default_rng(7)
    # Onset 15 minutes before the alarm (the default lookback): index 45 of 76 one-minute points.
    onset = 45
    db = _normal(rng, 5.0, 0.2)
    db[onset:] += 4.0  # +20 sigma: small in absolute terms, huge for a series this steady
    api = _normal(rng, 100.0, 10.0)
    api[onset:] += 60.0  # +6 sigma: larger in absolute terms, ordinary for this noisy series
    front = _normal(rng, 300.0, 30.0)
    front[onset:] += 90.0  # +3 sigma
    cache = _normal(rng, 50.0, 2.0)  # nothing happens
    frames = [_series("db", "latency", db), _series("api", "latency", api), _series("front", "latency", front),
              _series("cache", "hits", cache)]
    source = _write(tmp_path, _manifest("shift", "db"), frames)
    assert nsigma.rank(source, source.manifest)[:3] == ["db", "api", "front"]
    assert nsigma.rank(source, source.manifest)[-1] == "cache"


def test_nsigma_ignores_a_shift_that_happened_before_the_likely_onset(tmp_path):
    rng = np.random.default_rng(3)
    early = _normal(rng, 10.0, 0.5)
    early[10:] += 30.0  # shifted 50 minutes before the alarm: part of the normal period, so normal
    late = _normal(rng, 10.0, 0.5)
    late[50:] += 5.0  # shifted 10 minutes before the alarm: after the likely onset
    source = _write(tmp_path, _manifest("early", "late"), [_series("early", "x", early), _series("late", "x", late)])
    assert nsigma.rank(source, source.manifest)[0] == "late"


def test_nsigma_uses_the_alarm_as_onset_when_the_alarm_marks_the_fault_start(tmp_path):
    rng = np.random.default_rng(5)
    before_alarm = _normal(rng, 10.0, 0.5)
    before_alarm[50:60] += 40.0  # a blip 10 minutes before the alarm, over by the alarm
    after_alarm = _normal(rng, 10.0, 0.5)
    after_alarm[60:] += 8.0
    manifest = _manifest("at-alarm", "after", lookback_s=0)
    source = _write(tmp_path, manifest, [_series("before", "x", before_alarm), _series("after", "x", after_alarm)])
    # With lookback 0 the blip sits in the normal period and widens nothing much: `after` wins.
    assert nsigma.rank(source, source.manifest)[0] == "after"


def test_nsigma_reads_a_separate_baseline_window_when_the_bundle_has_one(tmp_path):
    rng = np.random.default_rng(11)
    far = ALARM - timedelta(days=2)
    baseline = TimeWindow(start=far, end=far + timedelta(minutes=60))
    # In the window `db` sits at 20 throughout (the fault began before the window opened);
    # against the baseline two days earlier, at 5, it is the one that moved.
    frames = [_series("db", "latency", _normal(rng, 5.0, 0.3, 60), start=far),
              _series("db", "latency", _normal(rng, 20.0, 0.3)),
              _series("api", "latency", _normal(rng, 50.0, 2.0, 60), start=far),
              _series("api", "latency", _normal(rng, 52.0, 2.0))]
    source = _write(tmp_path, _manifest("far", "db", baseline=baseline), frames)
    assert nsigma.rank(source, source.manifest) == ["db", "api"]


def test_nsigma_scores_any_departure_of_a_flat_counter_above_every_finite_shift(tmp_path):
    rng = np.random.default_rng(13)
    errors = np.zeros(76)
    errors[50:] = 3.0  # always 0 before: no spread, so any departure is infinitely unusual
    noisy = _normal(rng, 100.0, 1.0)
    noisy[50:] += 30.0  # 30 sigma
    flat = np.full(76, 7.0)  # flat and unchanged: z = 0, not NaN
    source = _write(tmp_path, _manifest("flat", "svc"), [_series("svc", "errors", errors), _series("noisy", "x", noisy),
                                                         _series("quiet", "x", flat)])
    assert nsigma.rank(source, source.manifest) == ["svc", "noisy", "quiet"]


def test_nsigma_measures_a_sparse_counter_by_its_standard_deviation_not_a_zero_mad(tmp_path):
    rng = np.random.default_rng(19)
    sparse = np.zeros(76)
    sparse[[3, 11, 19, 27, 35, 43]] = 1.0  # a rare retry: MAD 0, standard deviation about 0.35
    sparse[55] = 1.0  # one more retry after the onset: about 3 standard deviations, not infinity
    shifted = _normal(rng, 10.0, 1.0)
    shifted[50:] += 8.0  # 8 sigma: the real change
    source = _write(tmp_path, _manifest("sparse", "svc"), [_series("noisy", "retries", sparse), _series("svc", "x", shifted)])
    assert nsigma.rank(source, source.manifest) == ["svc", "noisy"]


def test_nsigma_skips_a_series_without_normal_points(tmp_path):
    rng = np.random.default_rng(17)
    # A new task-definition revision's series starts at the deploy: no normal points of its own.
    canary = np.full(25, 80.0)
    frames = [_series("canary", "errors", canary, start=START + timedelta(minutes=51)),
              _series("steady", "x", _normal(rng, 10.0, 1.0))]
    source = _write(tmp_path, _manifest("canary", "canary"), frames)
    assert nsigma.rank(source, source.manifest) == ["steady"]


def _change(minute: float, resource: str | None, name: str = "UpdateService") -> ChangeEvent:
    return ChangeEvent(id=f"{resource}-{minute}", time=ALARM + timedelta(minutes=minute), source="ecs.amazonaws.com",
                       event_name=name, resource=resource)


def test_last_change_ranks_the_most_recently_changed_resource_before_the_alarm_first(tmp_path):
    rng = np.random.default_rng(1)
    changes = [_change(-40, "api"), _change(-12, "db"), _change(-3, "cache"), _change(-30, "db"),
               _change(+2, "front"),  # after the alarm: cannot have caused it
               _change(-1, None, "CreateLogGroup")]  # no resource: nothing to blame
    source = _write(tmp_path, _manifest("changes", "cache"), [_series("api", "x", _normal(rng, 1.0, 0.1))], changes)
    assert last_change.rank(source, source.manifest) == ["cache", "db", "api"]


def test_last_change_reads_changes_in_a_separate_baseline_window_too(tmp_path):
    rng = np.random.default_rng(2)
    far = ALARM - timedelta(hours=6)
    baseline = TimeWindow(start=far, end=far + timedelta(hours=1))
    changes = [_change(-6 * 60 + 10, "db")]  # inside the baseline window, hours before the incident window
    source = _write(tmp_path, _manifest("far-change", "db", baseline=baseline),
                    [_series("api", "x", _normal(rng, 1.0, 0.1))], changes)
    assert last_change.rank(source, source.manifest) == ["db"]


def test_last_change_without_changes_ranks_nothing(tmp_path):
    rng = np.random.default_rng(4)
    source = _write(tmp_path, _manifest("none", "db"), [_series("api", "x", _normal(rng, 1.0, 0.1))])
    assert last_change.rank(source, source.manifest) == []


def _crafted_suite(root: Path) -> None:
    """Two incidents where nsigma and last-change disagree, and one false alarm."""
    rng = np.random.default_rng(9)
    for name, truth in (("shifted", "db"), ("changed", "api")):
        db = _normal(rng, 5.0, 0.2)
        if truth == "db":
            db[50:] += 5.0
        frames = [_series("db", "x", db), _series("api", "x", _normal(rng, 5.0, 0.2))]
        write_bundle(root / "crafted" / "set" / name, _manifest(name, truth), metrics=pd.concat(frames, ignore_index=True),
                     changes=[_change(-5, "api")])
    write_bundle(root / "crafted" / "set" / "nothing", _manifest("nothing"),
                 metrics=_series("db", "x", _normal(rng, 5.0, 0.2)), changes=[_change(-5, "api")])


def blame_db(path: Path):
    from domain.models import Hypothesis, Investigation
    from tools.bundle.validate import load_manifest

    manifest = load_manifest(path)
    return Investigation(id=manifest.id, trigger=manifest.trigger, hypotheses=[
        Hypothesis(id="h1", resource="db", cause="component", confidence=0.9, title="db", reasoning="r")])


def test_the_eval_scores_the_baselines_on_the_same_incidents_beside_the_engine(tmp_path):
    _crafted_suite(tmp_path)
    results, _ = run_eval(tmp_path, workers=1, investigate=blame_db, baselines=["nsigma", "last-change"])
    report = build_report(str(tmp_path), results)
    group = next(g for g in report.groups if g.group == "crafted")
    assert group.incidents == 2
    assert group.ac1 == 0.5  # the engine stand-in always blames db: right on `shifted` only
    assert group.baselines["nsigma"].ac1 == 0.5  # db moved only in `shifted`; in `changed` nothing moved
    assert group.baselines["last-change"].ac1 == 0.5  # api changed in both: right on `changed` only
    assert group.baselines["last-change"].mrr == 0.5  # db never changed: a miss, not rank 2
    nothing = next(r for r in results if r.bundle.endswith("nothing"))
    assert nothing.baseline_rankings == {}, "false alarms are not ranked by the baselines"
    markdown = to_markdown(report)
    assert "Engine against plain baselines" in markdown
    header = next(line for line in markdown.splitlines() if line.startswith("| group | n | engine AC@1"))
    assert "nsigma AC@1" in header and "last-change AC@1" in header


def test_cli_rejects_an_unknown_baseline_in_one_line(tmp_path, capsys):
    _crafted_suite(tmp_path)
    assert main(["eval", str(tmp_path), "--baseline", "random"]) == 2
    err = capsys.readouterr().err
    assert "--baseline random" in err and "nsigma" in err and "Traceback" not in err


def test_cli_rejects_metrics_only_with_without_call_graph_in_one_line(tmp_path, capsys):
    _crafted_suite(tmp_path)
    assert main(["eval", str(tmp_path), "--metrics-only", "--without-call-graph"]) == 2
    err = capsys.readouterr().err
    assert "--metrics-only" in err and "--without-call-graph" in err and "Traceback" not in err
