"""Run the agent on every bundle below a directory, in parallel processes, and score the results.

Bundles are grouped by where they sit: the first path component below the evaluated
directory is the dataset, the rest of the parent path the subset
(`petshop/low_traffic/test/issue_3` -> dataset `petshop`, subset `low_traffic/test`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import cached_property
from pathlib import Path

import pandas as pd

from domain.models import Investigation
from domain.errors import UserError
from domain.settings import Settings
from evals.metrics import CaseResult
from tools.bundle.format import MANIFEST
from tools.bundle.source import BundleSource
from tools.source import LOG_COLUMNS, SPAN_COLUMNS, empty_frame

InvestigateFn = Callable[[Path], Investigation]
# Called after each bundle: (done, total, result).
ResultCallback = Callable[[int, int, CaseResult], None]


def discover(root: Path) -> list[Path]:
    """Every bundle directory (one holding incident.yaml) at or below `root`, sorted."""
    if not root.is_dir():
        raise UserError(f"{root}: not a directory; expected a directory holding bundles (folders with {MANIFEST})")
    found = sorted(p.parent for p in root.rglob(MANIFEST))
    if not found:
        raise UserError(f"{root}: no bundles found; expected folders holding {MANIFEST} (see `investigator import --help`)")
    return found


def placement(root: Path, bundle: Path) -> tuple[str, str]:
    """(dataset, subset) from the bundle's path below `root`."""
    parts = bundle.relative_to(root).parts
    if len(parts) < 2:
        return root.name, ""
    return parts[0], "/".join(parts[1:-1])


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _default_investigate(path: Path) -> Investigation:
    from agent.runner import investigate_bundle

    return investigate_bundle(path)


def investigate_without_call_graph(path: Path, settings: Settings | None = None) -> Investigation:
    """`investigate_bundle` as if the bundle's topology had no edges (a recording without a service
    map): the engine reads the calls from its traces where it has them, else assumes them."""
    from agent.runner import collect, open_bundle, stream

    source, args = open_bundle(path)
    topology = source.manifest.topology.model_copy(update={"edges": []})
    source.manifest = source.manifest.model_copy(update={"topology": topology})
    return collect(stream(source, **args, settings=settings))


class MetricsOnlySource(BundleSource):
    """A bundle read as if CloudWatch metrics were all that had been recorded: no logs, traces,
    changes or health events, and a topology without edges. That is what a metrics-only export
    holds (PetShop's, and several of the incident sets the engine is judged on without seeing
    them), and an account without X-Ray, CloudTrail or logs: the same incidents, seen that way."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        topology = self.manifest.topology.model_copy(update={"edges": []})
        self.manifest = self.manifest.model_copy(update={"topology": topology})

    @cached_property
    def _logs(self) -> pd.DataFrame:
        return empty_frame(LOG_COLUMNS)

    @cached_property
    def _spans(self) -> pd.DataFrame:
        return empty_frame(SPAN_COLUMNS)

    def _jsonl(self, name: str, model: type) -> list:
        return []  # changes and health events


def investigate_metrics_only(path: Path, settings: Settings | None = None) -> Investigation:
    """`investigate_bundle` reading the bundle through `MetricsOnlySource`."""
    from agent.runner import collect, open_bundle, stream

    _, args = open_bundle(path)
    return collect(stream(MetricsOnlySource(path), **args, settings=settings))


def investigate_with(settings: Settings, path: Path) -> Investigation:
    """`investigate_bundle` with these settings (a reasoner); module-level so that a partial of it pickles."""
    from agent.runner import investigate_bundle

    return investigate_bundle(path, settings=settings)


def _truth(root: Path, bundle: Path) -> CaseResult:
    """The unscored result of a bundle: where it sits and its ground truth (or why it has none)."""
    from tools.bundle.validate import load_manifest

    dataset, subset = placement(root, bundle)
    relative = str(bundle.relative_to(root)) if bundle != root else "."
    base = CaseResult(bundle=relative, dataset=dataset, subset=subset)
    try:
        manifest = load_manifest(bundle)
    except Exception as exc:  # a broken bundle is a scored failure, not a crashed eval
        return base.model_copy(update={"error": _one_line(exc)})
    truth = manifest.ground_truth
    return base.model_copy(update={
        "fault": truth.fault if truth else None,
        "truth_resource": truth.resource if truth else None,
        "truth_cause": truth.cause if truth else None,
        "false_alarm": bool(truth and truth.false_alarm),
    })


def run_baselines(bundle: Path, names: Sequence[str], metrics_only: bool = False) -> tuple[dict[str, list[str]], dict[str, str]]:
    """(rankings, errors) of the named plain baselines on one bundle, read through a BundleSource
    (a `MetricsOnlySource` when `metrics_only`: a baseline sees no more than the engine)."""
    from evals.baselines import BASELINES

    rankings: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    if not names:
        return rankings, errors
    source = MetricsOnlySource(bundle) if metrics_only else BundleSource(bundle)
    for name in names:
        try:
            rankings[name] = BASELINES[name](source, source.manifest)
        except Exception as exc:  # a baseline that breaks on one bundle is a miss for it, not a crashed eval
            errors[name] = _one_line(exc)
    return rankings, errors


def evaluate_bundle(root: Path, bundle: Path, investigate: InvestigateFn | None = None,
                    baselines: Sequence[str] = (), metrics_only: bool = False) -> CaseResult:
    """Investigate one bundle and score it; never raises: a failure is a result with `error`.
    `metrics_only`: the baselines read the bundle as `investigate_metrics_only` does."""
    base = _truth(root, bundle)
    if base.error is not None:
        return base
    if not base.false_alarm:
        rankings, errors = run_baselines(bundle, baselines, metrics_only)
        base = base.model_copy(update={"baseline_rankings": rankings, "baseline_errors": errors})
    started = time.perf_counter()
    try:
        result = (investigate or _default_investigate)(bundle)
    except Exception as exc:  # recorded as a miss with its reason; the eval goes on
        return base.model_copy(update={"error": _one_line(exc), "seconds": time.perf_counter() - started})
    seconds = time.perf_counter() - started
    top = result.hypotheses[0] if result.hypotheses else None
    return base.model_copy(update={
        "ranked_resources": [h.resource for h in result.hypotheses],
        "top_cause": top.cause if top else None,
        "top_confidence": top.confidence if top else None,
        "top_evidence_score": top.evidence_score if top else None,
        "top_path_ok": all(hop.ok for hop in top.path) if top and top.path else None,
        "unfamiliar": top.unfamiliar if top else [],
        "abstained": result.abstained,
        "seconds": seconds,
        "usage": result.reasoner.usage if result.reasoner else None,
        "fell_back": bool(result.reasoner and result.reasoner.fell_back),
    })


def _scored(bundle: Path) -> bool:
    """Bundles without ground truth cannot be scored and are left out."""
    import yaml

    try:
        body = yaml.safe_load((bundle / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True  # reported as a failure by evaluate_bundle
    return not isinstance(body, dict) or body.get("ground_truth") is not None


def run_eval(
    root: Path,
    *,
    workers: int | None = None,
    investigate: InvestigateFn | None = None,
    on_result: ResultCallback | None = None,
    baselines: Sequence[str] = (),
    metrics_only: bool = False,
) -> tuple[list[CaseResult], list[str]]:
    """Results for every scored bundle below `root` (sorted by bundle), and notes on skipped ones.

    `baselines` names plain baselines (evals.baselines.BASELINES) scored beside the engine;
    `metrics_only` has them read the bundles as `MetricsOnlySource` (pass the engine
    `investigate_metrics_only` with it).

    `investigate` defaults to `agent.runner.investigate_bundle`; it must be a module-level
    function when `workers` > 1, since it is sent to worker processes.
    """
    bundles = discover(root)
    notes = [f"{b}: no ground_truth in {MANIFEST}; not scored" for b in bundles if not _scored(b)]
    bundles = [b for b in bundles if _scored(b)]
    workers = max(1, workers or os.cpu_count() or 1)
    results: list[CaseResult] = []
    total = len(bundles)
    if workers == 1 or total <= 1:
        for bundle in bundles:
            results.append(evaluate_bundle(root, bundle, investigate, baselines, metrics_only))
            if on_result:
                on_result(len(results), total, results[-1])
    else:
        with ProcessPoolExecutor(max_workers=min(workers, total)) as pool:
            futures = {pool.submit(evaluate_bundle, root, bundle, investigate, tuple(baselines), metrics_only): bundle for bundle in bundles}
            for future in as_completed(futures):
                try:
                    results.append(future.result())
                except Exception as exc:  # a worker died (out of memory, killed): score it as a failure
                    failed = _truth(root, futures[future])
                    results.append(failed.model_copy(update={"error": f"worker failed: {_one_line(exc)}"}))
                if on_result:
                    on_result(len(results), total, results[-1])
    return sorted(results, key=lambda r: r.bundle), notes
