"""The `investigator` command line.

Every command runs inside one error boundary (`main`): a `UserError` becomes a one-line
message and exit code 2; anything unexpected becomes a one-line message and exit code 1,
with the traceback only under `--debug`. Tests call the command functions directly and
see the real exceptions.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from domain.errors import UserError
from domain.extras import DISTRIBUTION
from tools.sanitize import for_terminal
from ui.options import EndpointUrl, Profile, Region, cli_overrides, settings_from
from ui.commands.review import STORE_HELP, store_location
from ui.commands import review as _review

if TYPE_CHECKING:
    from domain.models import Investigation

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Investigate AWS incidents: from a CloudWatch alarm to ranked root-cause hypotheses.",
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"investigator {_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    _version_flag: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="print the version and exit"
    ),
    _debug: bool = typer.Option(False, "--debug", help="show the full traceback of an unexpected error"),
) -> None:
    """Investigate AWS incidents: from a CloudWatch alarm to ranked root-cause hypotheses."""
    # --debug is acted on by `main` (the error boundary), which sees it anywhere on the line.


def _bundle_path(path: Path) -> Path:
    """`path` as given, or the installed demo bundle it names when run outside a checkout."""
    if path.exists():
        return path
    from evals.demo import shipped_bundle

    shipped = shipped_bundle(path)
    if shipped is None:
        return path
    err_console.print(f"using the demo bundle installed with the package: {shipped}", markup=False)
    return shipped


@app.command()
def validate(bundle: Path = typer.Argument(..., help="bundle directory holding incident.yaml")) -> None:
    """Check a recorded-incident bundle; list every problem with its file and field."""
    from tools.bundle.validate import validate_bundle

    problems = validate_bundle(_bundle_path(bundle))
    if problems:
        for problem in problems:
            err_console.print(for_terminal(str(problem)), markup=False)
        raise typer.Exit(code=2)
    Console(highlight=False).print(f"{bundle}: valid bundle", markup=False)


@app.command()
def investigate(
    bundle: Path | None = typer.Option(None, "--bundle", help="investigate a recorded-incident bundle directory"),
    alarm: str | None = typer.Option(None, "--alarm", help="investigate a live CloudWatch alarm by name (AWS or the emulator)"),
    region: Region = None,
    profile: Profile = None,
    endpoint_url: EndpointUrl = None,
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON (schema: docs/output-schema.md)"),
    report: Path | None = typer.Option(None, "--report", help="also write a Markdown incident report to this file"),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    reasoner: str | None = typer.Option(None, "--reasoner", help="deterministic (default, no model) or claude (see README)"),
) -> None:
    """Investigate an alarm, print ranked root-cause hypotheses and keep the investigation for review."""
    import json

    from agent.output import to_json
    from agent.render import render
    from agent.report import markdown_report
    from tools.atomic import write_text_atomic

    if (bundle is None) == (alarm is None):
        raise UserError("say what to investigate: --bundle DIR (a recorded incident) or --alarm NAME (a live alarm)")
    from agent.reasoners.choice import with_reasoner

    settings = with_reasoner(settings_from(region, profile, endpoint_url), reasoner)
    target = _bundle_path(bundle) if bundle is not None else None
    investigation, extra, location, not_saved = _investigate_and_keep(target, alarm, settings, store_location(store))
    if investigation.reasoner is not None:
        from agent.reasoners.claude.cost import usage_line as model_usage_line

        err_console.print(f"reasoner: {for_terminal(investigation.reasoner.note)}", markup=False)
        err_console.print(f"model usage: {model_usage_line(investigation.reasoner.usage)}", markup=False)
    # The result first: a report or a store that cannot be written must not cost the engineer the answer.
    if as_json:
        typer.echo(json.dumps(to_json(investigation, extra), indent=2))
    else:
        render(investigation, Console(highlight=False, soft_wrap=True))
    problems = []
    if report is not None:
        try:
            write_text_atomic(report, markdown_report(investigation))
        except OSError as exc:
            problems.append(f"cannot write the report to {report}: {exc.strerror or exc}; the previous file, if any, is unchanged")
        else:
            if not as_json:
                err_console.print(f"report written to {report}", markup=False)
    if not_saved is not None:
        problems.append(f"investigation {investigation.id} was not saved: {not_saved}")
    else:
        err_console.print(
            f"investigation {investigation.id} (revision {investigation.revision}) stored in {location}; "
            f"review it with `investigator show {investigation.id}`",
            markup=False,
        )
    for problem in problems[:-1]:
        err_console.print(for_terminal(f"error: {problem}"), markup=False)
    if problems:
        raise UserError(problems[-1])


def _investigate_and_keep(
    bundle: Path | None, alarm: str | None, settings, location: str,
) -> tuple[Investigation, dict | None, str | None, str | None]:
    """(investigation, extra JSON, where it is stored, None); when the store cannot take it, the
    investigation is run again without a store: (investigation, extra JSON, None, why not saved)."""
    from agent.schema import IncompatibleState
    from agent.store import StoreUnavailable, open_store

    try:
        with open_store(location) as opened:
            investigation, extra = _investigate(bundle, alarm, settings, opened)
            return investigation, extra, opened.location, None
    except (StoreUnavailable, IncompatibleState) as exc:
        investigation, extra = _investigate(bundle, alarm, settings, None)
        return investigation, extra, None, str(exc)


def _investigate(bundle: Path | None, alarm: str | None, settings, store):
    """Run the investigation (kept in `store` unless it is None), showing progress."""
    from agent.origin import bundle_origin
    from agent.runner import collect, open_bundle, stream

    with err_console.status("investigating...") as status:
        progress = lambda event: status.update(f"investigating: {event.describe()}")  # noqa: E731
        if alarm is not None:
            from agent.live import investigate_alarm, usage_line

            run = investigate_alarm(alarm, settings=settings, on_progress=progress, store=store)
            err_console.print(usage_line(run.usage), markup=False)
            return run.investigation, {"usage": run.usage.model_dump(mode="json")}
        source, args = open_bundle(bundle)
        if store is None:
            events = stream(source, **args, settings=settings)
        else:
            events = store.investigate(source, **args, origin=bundle_origin(bundle).model_dump_json(), settings=settings)
        return collect(events, on_progress=progress), None


@app.command()
def record(
    alarm: str = typer.Option(..., "--alarm", help="name of the CloudWatch alarm"),
    out: Path = typer.Option(..., "--out", help="bundle directory to write (created; must be empty or absent)"),
    region: Region = None,
    profile: Profile = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Investigate a live alarm and write everything it read (secrets redacted) as a replayable bundle."""
    from agent.live import investigate_alarm, usage_line

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} exists and is not an empty directory: pass a new --out path")
    settings = settings_from(region, profile, endpoint_url)
    with err_console.status(f"investigating alarm {alarm}") as status:
        run = investigate_alarm(
            alarm, settings=settings, record_to=out,
            on_progress=lambda event: status.update(f"investigating: {event.describe()}"),
        )
    top = run.investigation.hypotheses[0] if run.investigation.hypotheses else None
    verdict = f"#1 {top.resource} ({top.cause}, {top.confidence:.2f})" if top else "no hypothesis (abstained)"
    Console(highlight=False, soft_wrap=True).print(for_terminal(f"recorded {out}: {verdict}"), markup=False)
    err_console.print(usage_line(run.usage), markup=False)
    err_console.print(f"replay it with: investigator investigate --bundle {out}", markup=False)


@app.command("config")
def show_config(region: Region = None, profile: Profile = None, endpoint_url: EndpointUrl = None) -> None:
    """Print the effective settings and where each value came from."""
    from domain.settings import config_path, explain

    settings = settings_from(region, profile, endpoint_url)
    out = Console(highlight=False, soft_wrap=True)
    out.print(f"config file: {config_path()}" + ("" if config_path().is_file() else " (absent)"), markup=False)
    for key, value, origin in explain(settings, **cli_overrides(region, profile, endpoint_url)):
        out.print(f"{key} = {value!r}  (from {origin})", markup=False)


from tools.emulator.cli import emulator_app  # noqa: E402 - registered here, heavy imports stay inside

app.add_typer(emulator_app, name="emulator")

from evals.gameday.cli import app as _gameday_app  # noqa: E402

app.add_typer(_gameday_app, name="gameday")

from evals.cli import eval_command as _eval  # noqa: E402
from evals.importers.cli import import_app  # noqa: E402

app.command("eval")(_eval)
_review.register(app)

from ui.console.launch import console as _console  # noqa: E402 - Streamlit itself is imported only when it runs

app.command("console")(_console)
app.add_typer(import_app, name="import")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: the error boundary around the typer app."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:  # accepted anywhere on the line; the root callback declares it (and shows it in --help)
        args = ["--debug"] + [a for a in args if a != "--debug"]
    try:
        # standalone mode: typer reports usage errors itself (exit 2) and turns Exit into SystemExit.
        app(args=args, prog_name="investigator", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except UserError as exc:
        err_console.print(for_terminal(f"error: {exc}"), markup=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        return 130
    except Exception as exc:  # the boundary: users get one line, --debug gives the traceback
        if debug:
            raise
        err_console.print(for_terminal(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)"), markup=False)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
