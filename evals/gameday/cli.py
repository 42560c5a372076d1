"""`investigator gameday`: list the scenarios and generate incident bundles."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

from domain.errors import UserError

app = typer.Typer(no_args_is_help=True, help="Game-day scenarios: AWS-shaped incidents with known root causes.")


@app.command("list")
def list_scenarios() -> None:
    """Show every scenario: name, cause category, root-cause resource kind, what happens."""
    from evals.gameday.generate import scenario_names, spec_of

    # Plain aligned lines rather than a table: readable at any terminal width and easy to grep.
    console = Console(highlight=False, soft_wrap=True)
    for name in scenario_names():
        spec = spec_of(name)
        # A shaped recording wraps a classic fault picked by the seed: its cause varies with it.
        cause = "varies" if spec.root_kind == "varies" else spec.cause
        console.print(f"{spec.name:<34} {spec.suite:<10} {cause:<11} {spec.root_kind}", markup=False)
        console.print(f"    {spec.description}", markup=False)


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", help="directory to write bundles into (created if needed)"),
    seed: int | None = typer.Option(None, "--seed", help="first seed [default: 1]"),
    count: int | None = typer.Option(None, "--count", help="seeds per scenario [default: 5, or 1 when --seed is given]"),
    scenario: list[str] = typer.Option([], "--scenario", help="only this scenario (repeatable); default: all"),
    suite_name: str | None = typer.Option(None, "--suite", help="only this suite: classic or realistic [default: both]"),
) -> None:
    """Write one bundle per (scenario, seed) under OUT; the same seed always gives the same incident."""
    from evals.gameday.generate import DEFAULT_SEEDS, scenario_names, spec_of, suite

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    for name in scenario:
        spec_of(name)  # one-line error listing the valid names
    names = scenario or scenario_names(suite_name)  # a bad suite is a one-line error too
    if scenario and suite_name is not None:
        raise UserError("--scenario and --suite: give one or the other")
    per_scenario = count if count is not None else (DEFAULT_SEEDS if seed is None else 1)
    if per_scenario < 1:
        raise UserError(f"--count {per_scenario}: must be at least 1")
    if seed is not None and seed < 0:
        raise UserError(f"--seed {seed}: must be 0 or more")
    err = Console(stderr=True, highlight=False)
    started = time.perf_counter()
    first = 1 if seed is None else seed
    seeds = range(first, first + per_scenario)
    total = per_scenario * len(names)
    done = 0

    def progress(name: str) -> None:
        nonlocal done
        done += 1
        err.print(f"[{done}/{total}] {name}", markup=False)

    missed: list[str] = []

    def skipped(what: str) -> None:
        missed.append(what)
        err.print(f"skipped {what}", markup=False)

    try:
        paths = suite(out, names, seeds, progress=progress, skipped=skipped)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write bundles there ({exc.strerror or exc})") from exc
    size = sum(f.stat().st_size for p in paths for f in p.iterdir())
    elapsed = time.perf_counter() - started
    Console(highlight=False).print(
        f"wrote {len(paths)} bundles to {out} ({size / 1e6:.1f} MB, largest {_largest(paths) / 1e3:.0f} KB) in {elapsed:.1f} s",
        markup=False,
    )
    if missed:
        # Every other draw is written; the exit code still says that the suite is incomplete.
        raise UserError(f"{len(missed)} of {total} draws skipped: their fault tripped none of their alarms "
                        f"(first: {missed[0]})")


def _largest(paths: list[Path]) -> int:
    return max((sum(f.stat().st_size for f in p.iterdir()) for p in paths), default=0)
