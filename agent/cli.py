"""The `investigator` command line.

Every command runs inside one error boundary (`main`): a `UserError` becomes a one-line
message and exit code 2; anything unexpected becomes a one-line message and exit code 1,
with the traceback only under `--debug`. Tests call the command functions directly and
see the real exceptions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from agent.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Investigate AWS incidents: from a CloudWatch alarm to ranked root-cause hypotheses.",
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@app.callback()
def _root() -> None:
    """Investigate AWS incidents: from a CloudWatch alarm to ranked root-cause hypotheses."""


@app.command()
def validate(bundle: Path = typer.Argument(..., help="bundle directory holding incident.yaml")) -> None:
    """Check a recorded-incident bundle; list every problem with its file and field."""
    from tools.bundle.validate import validate_bundle

    problems = validate_bundle(bundle)
    if problems:
        for problem in problems:
            err_console.print(str(problem), markup=False)
        raise typer.Exit(code=2)
    Console(highlight=False).print(f"{bundle}: valid bundle", markup=False)


@app.command()
def investigate(
    bundle: Path | None = typer.Option(None, "--bundle", help="investigate a recorded-incident bundle directory"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON (schema: docs/output-schema.md)"),
    report: Path | None = typer.Option(None, "--report", help="also write a Markdown incident report to this file"),
) -> None:
    """Investigate an alarm and print ranked root-cause hypotheses."""
    import json

    from agent.output import to_json
    from agent.render import render
    from agent.report import markdown_report
    from agent.runner import investigate_bundle

    if bundle is None:
        raise UserError("say what to investigate: --bundle DIR (a recorded incident)")
    with err_console.status("investigating...") as status:
        investigation = investigate_bundle(bundle, on_progress=lambda node: status.update(f"investigating: {node} done"))
    if report is not None:
        try:
            report.write_text(markdown_report(investigation), encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write the report to {report}: {exc.strerror}") from exc
    if as_json:
        typer.echo(json.dumps(to_json(investigation), indent=2))
    else:
        render(investigation, Console(highlight=False, soft_wrap=True))
        if report is not None:
            err_console.print(f"report written to {report}", markup=False)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: the error boundary around the typer app."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        # standalone mode: typer reports usage errors itself (exit 2) and turns Exit into SystemExit.
        app(args=args, prog_name="investigator", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except UserError as exc:
        err_console.print(f"error: {exc}", markup=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        return 130
    except Exception as exc:  # the boundary: users get one line, --debug gives the traceback
        if debug:
            raise
        err_console.print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", markup=False)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
