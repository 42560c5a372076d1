"""`investigator import ...`: turn public incident datasets into bundles."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

import_app = typer.Typer(
    no_args_is_help=True,
    help="Import a public incident dataset as recorded-incident bundles (for `investigator eval`).",
)

_SRC = typer.Argument(..., help="dataset directory in its original layout")
_OUT = typer.Argument(..., help="directory to write bundles under (created if needed)")


def _console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _progress(console: Console):
    def report(index: int, total: int, label: str, reason: str | None) -> None:
        width = len(str(total))
        status = "wrote  " if reason is None else "skipped"
        line = f"[{index:>{width}}/{total}] {status} {label}"
        console.print(line if reason is None else f"{line}: {reason}", markup=False)

    return report


def _finish(console: Console, summary, out: Path, started: float) -> None:
    from domain.errors import UserError

    for note in summary.notes:
        console.print(f"note: {note}", markup=False)
    if not summary.written and summary.skipped:
        first = summary.skipped[0]
        more = f" (and {len(summary.skipped) - 1} more skipped)" if len(summary.skipped) > 1 else ""
        raise UserError(f"nothing imported: {first.case}: {first.reason}{more}")
    seconds = time.perf_counter() - started
    Console(highlight=False).print(
        f"{summary.dataset}: {len(summary.written)} bundles written to {out}, "
        f"{len(summary.skipped)} skipped ({seconds:.1f} s)",
        markup=False,
    )


@import_app.command("petshop")
def import_petshop_command(src: Path = _SRC, out: Path = _OUT) -> None:
    """PetShop (AWS PetAdoptions): <scenario>/graph.csv, <scenario>/<split>/issue_N/{metrics.csv,target.json}."""
    from evals.importers.petshop import import_petshop

    console, started = _console(), time.perf_counter()
    summary = import_petshop(src, out, progress=_progress(console))
    _finish(console, summary, out, started)


@import_app.command("nezha")
def import_nezha_command(
    src: Path = _SRC,
    out: Path = _OUT,
    before: int | None = typer.Option(
        None, "--minutes-before", min=1,
        help="metric minutes kept before each fault's minute, never reaching into an earlier fault's (default 1)",
    ),
) -> None:
    """Nezha TrainTicket: rca_data/<day>/{<day>-fault_list.json,metric,log,trace}, construct_data/<day>."""
    from evals.importers.nezha import import_nezha

    console, started = _console(), time.perf_counter()
    # Without the option the importer's own default applies (evals/importers/nezha.py).
    options = {"minutes_before": before} if before is not None else {}
    summary = import_nezha(src, out, progress=_progress(console), **options)
    _finish(console, summary, out, started)
