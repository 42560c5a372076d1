"""`investigator eval BUNDLES_DIR`: run the agent on recorded incidents and report accuracy."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console


def chosen_baselines(names: list[str]) -> list[str]:
    """The baselines to run: both when none is named, none for `none`; a one-line error for a typo."""
    from domain.errors import UserError
    from evals.baselines import BASELINES

    if not names:
        return list(BASELINES)
    unknown = [n for n in names if n != "none" and n not in BASELINES]
    if unknown:
        raise UserError(f"--baseline {unknown[0]}: unknown; expected one of {', '.join(BASELINES)}, none")
    if "none" in names:
        if len(set(names)) > 1:
            raise UserError("--baseline none: cannot be combined with a baseline name")
        return []
    return list(dict.fromkeys(names))


def eval_command(
    bundles_dir: Path = typer.Argument(..., help="directory holding bundles (any depth), e.g. out/bundles"),
    json_out: Path | None = typer.Option(None, "--json", help="write the full report (metrics and every case) as JSON"),
    markdown_out: Path | None = typer.Option(None, "--markdown", help="write the tables as Markdown"),
    workers: int = typer.Option(0, "--workers", min=0, help="parallel processes (0 = one per CPU)"),
    gate: Path | None = typer.Option(None, "--gate", help="YAML of minimum values per group and metric; exit 1 below any"),
    reasoner: str | None = typer.Option(None, "--reasoner", help="deterministic (default, no model) or claude"),
    baseline: list[str] = typer.Option(
        [], "--baseline",
        help="plain baseline to score beside the engine: nsigma, last-change, or none (repeatable) [default: both]",
    ),
    without_call_graph: bool = typer.Option(
        False, "--without-call-graph",
        help="investigate every bundle as if its topology had no edges (no service map): calls read from traces, or assumed",
    ),
    metrics_only: bool = typer.Option(
        False, "--metrics-only",
        help="investigate every bundle (and score the baselines) as if only its metrics were recorded: "
             "no logs, traces, changes, health events or call graph",
    ),
) -> None:
    """Investigate every bundle below BUNDLES_DIR and report AC@k, MRR, specificity, calibration, time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from domain.errors import UserError
    from evals.gate import read_gate, shortfalls
    from evals.metrics import build_report
    from evals.report import to_json, to_markdown
    from functools import partial

    from evals.runner import (
        discover, investigate_metrics_only, investigate_with, investigate_without_call_graph, run_eval,
    )

    if metrics_only and without_call_graph:
        raise UserError("--metrics-only already drops the call graph: give one of --metrics-only and --without-call-graph")
    investigate = None
    if reasoner is not None:
        from agent.reasoners.choice import with_reasoner
        from domain.settings import load_settings

        settings = with_reasoner(load_settings(), reasoner)
        investigate = (partial(investigate_metrics_only, settings=settings) if metrics_only
                       else partial(investigate_without_call_graph, settings=settings) if without_call_graph
                       else partial(investigate_with, settings))
    elif metrics_only:
        investigate = investigate_metrics_only
    elif without_call_graph:
        investigate = investigate_without_call_graph
    minimums = read_gate(gate) if gate is not None else None  # a bad gate fails before hours of work
    baselines = chosen_baselines(baseline)
    discover(bundles_dir)
    try:
        import agent.runner  # noqa: F401
    except ImportError as exc:
        raise UserError(f"the agent cannot run: {exc}") from exc

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    failures: list[str] = []
    workers = workers or os.cpu_count() or 1
    if err.is_terminal:
        with Progress(TextColumn("investigating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=err) as progress:
            task = progress.add_task("", total=None)

            def on_result(done: int, total: int, result) -> None:
                progress.update(task, completed=done, total=total, description=result.bundle)
                if result.error:
                    failures.append(f"{result.bundle}: {result.error}")

            results, notes = run_eval(bundles_dir, workers=workers, investigate=investigate, on_result=on_result,
                                      baselines=baselines, metrics_only=metrics_only)
    else:
        # Logs (CI) get one line per bundle instead of a bar that only renders at the end.
        def on_result(done: int, total: int, result) -> None:
            status = f"failed: {result.error}" if result.error else f"{result.seconds:.1f} s"
            err.print(f"[{done:>{len(str(total))}}/{total}] {result.bundle}: {status}", markup=False)

        results, notes = run_eval(bundles_dir, workers=workers, investigate=investigate, on_result=on_result,
                                  baselines=baselines, metrics_only=metrics_only)
    for line in [*notes, *(f"failed: {f}" for f in failures)]:
        err.print(line, markup=False)

    report = build_report(str(bundles_dir), results)
    markdown = to_markdown(report)
    Console(highlight=False, soft_wrap=True).print(markdown, markup=False)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(to_json(report), encoding="utf-8")
    if markdown_out is not None:
        markdown_out.parent.mkdir(parents=True, exist_ok=True)
        markdown_out.write_text(markdown, encoding="utf-8")
    if minimums is not None:
        problems = shortfalls(report, minimums)
        for problem in problems:
            err.print(f"gate: {problem}", markup=False)
        if problems:
            raise typer.Exit(code=1)
        err.print(f"gate: all {sum(len(m) for m in minimums.values())} minimums met", markup=False)
