"""The review commands: list, show, decide, rerun, report (registered by ui/cli.py).

Each opens the store named by the settings (`--store`, `INVESTIGATOR_STORE`, the config
file, else the state directory), does one thing, and returns only once what it wrote is
committed.
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from domain.errors import UserError

if TYPE_CHECKING:
    from domain.models import Investigation
    from domain.settings import Settings

STORE_HELP = "SQLite file or postgresql:// URL (default: INVESTIGATOR_STORE, the config file, else the state directory)"


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def store_location(store: str | None) -> str:
    from domain.settings import load_settings

    return load_settings(store=store).store_location()


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "unknown"


def _ids(values: list[str] | None) -> list[str]:
    """Repeated options and comma-separated lists both work: --accept a --accept b,c."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def list_command(
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    limit: int = typer.Option(20, "--limit", min=1, help="how many, newest alarm first"),
) -> None:
    """List recent investigations: id, alarm, time, state, #1."""
    from agent.store import open_store

    with open_store(store_location(store)) as opened:
        rows = opened.list(limit)
        location = opened.location
    console = _out()
    if not rows:
        console.print(f"no investigations in {location}", markup=False)
        return
    for row in rows:
        if row.status == "unreadable":
            console.print(f"{row.id}  {row.alarm} on {row.resource}  unreadable by this version "
                          f"(`investigator show {row.id}` says why and what to do)", markup=False)
            continue
        top = row.top or "no hypothesis"
        console.print(
            f"{row.id}  {row.alarm_time:%Y-%m-%d %H:%M} UTC  {row.alarm} on {row.resource}  "
            f"{row.status.replace('_', ' ')} (revision {row.revision})  #1 {top}",
            markup=False,
        )


def show_command(
    investigation_id: str = typer.Argument(..., metavar="ID", help="an id from `investigator list`"),
    as_json: bool = typer.Option(False, "--json", help="print the investigation as JSON"),
    show_feed: bool = typer.Option(False, "--feed", help="print the feed: what the agent added and what was decided, in time order"),
    revision: int | None = typer.Option(None, "--revision", help="an earlier revision (default: the latest)"),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Show a stored investigation (its latest revision unless --revision)."""
    from agent.feed import feed
    from agent.output import to_json
    from agent.render import render
    from agent.store import open_store

    with open_store(store_location(store)) as opened:
        stored = opened.load(investigation_id)
    if show_feed:
        entries = feed(stored.revisions, stored.decisions)
        if as_json:
            typer.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
        else:
            for entry in entries:
                _out().print(entry.line(), markup=False)
        return
    if stored.investigation is None:
        raise UserError(f"investigation {investigation_id} has no completed revision yet ({stored.status.replace('_', ' ')})")
    inv = stored.investigation if revision is None else stored.at_revision(revision)
    if as_json:
        typer.echo(json.dumps(to_json(inv, {"status": stored.status, "revisions": [r.number for r in stored.revisions]}), indent=2))
        return
    console = _out()
    render(inv, console)
    _review_footer(inv, stored.status, console)


def _review_footer(inv, status: str, console: Console) -> None:
    from agent.decisions import verdicts

    decided = verdicts(inv.decisions)
    if inv.root_cause is not None:
        console.print(f"\nRoot cause of record: {inv.root_cause.id} {inv.root_cause.title}", markup=False, style="bold")
    if decided.accepted or decided.discarded:
        console.print(f"Accepted: {', '.join(decided.accepted) or '-'}; discarded: {', '.join(decided.discarded) or '-'}", markup=False)
    console.print(f"Revision {inv.revision}, {status.replace('_', ' ')}: "
                  f"`investigator decide {inv.id} --accept ID --discard ID`, then `investigator rerun {inv.id}`",
                  markup=False, style="dim")


def decide_command(
    investigation_id: str = typer.Argument(..., metavar="ID", help="an id from `investigator list`"),
    accept: list[str] | None = typer.Option(None, "--accept", help="a finding or hypothesis id to accept (repeatable, or a,b,c)"),
    discard: list[str] | None = typer.Option(None, "--discard", help="a finding or hypothesis id to discard (repeatable)"),
    note: tuple[str, str] | None = typer.Option(None, "--note", metavar="ID TEXT", help='--note ID "text": a note on a finding or hypothesis'),
    reason: str = typer.Option("", "--reason", help="why: kept with every --accept/--discard of this command"),
    by: str | None = typer.Option(None, "--by", help="who decides (default: the OS user)"),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Accept, discard or annotate findings and hypotheses; `rerun` then honours them."""
    from agent.store import DecisionRequest, open_store

    requests = [DecisionRequest(target_id=i, verdict="accepted", note=reason) for i in _ids(accept)]
    requests += [DecisionRequest(target_id=i, verdict="discarded", note=reason) for i in _ids(discard)]
    if note and note[0] is not None:
        requests.append(DecisionRequest(target_id=note[0], verdict="noted", note=note[1] or ""))
    if any(r.verdict == "noted" and not r.note.strip() for r in requests):
        raise UserError('a note needs text: --note ID "what you saw"')
    with open_store(store_location(store)) as opened:
        made = opened.decide(investigation_id, requests, by=by or default_user())
        location = opened.location
    for decision in made:
        _out().print(f"{decision.verdict} {decision.target_id} by {decision.by} at {decision.at:%Y-%m-%d %H:%M:%S} UTC",
                     markup=False)
    _err().print(f"saved in {location}; `investigator rerun {investigation_id}` applies them", markup=False)


def rerun_command(
    investigation_id: str = typer.Argument(..., metavar="ID", help="an id from `investigator list`"),
    as_json: bool = typer.Option(False, "--json", help="print the new revision as JSON"),
    fresh: bool = typer.Option(False, "--fresh", help="investigate again from scratch one stored by a version "
                               "that cannot be upgraded: its decisions carried over, the old state kept in a file"),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    reasoner: str | None = typer.Option(None, "--reasoner", help="deterministic (default, no model) or claude (see README)"),
) -> None:
    """Run an investigation again honouring its decisions; kept as a new revision."""
    from agent.output import to_json
    from agent.reasoners.choice import with_reasoner
    from agent.render import render
    from domain.settings import load_settings

    settings = with_reasoner(load_settings(), reasoner)
    inv, where = (_rerun_afresh if fresh else _rerun)(investigation_id, store_location(store), settings)
    if as_json:
        typer.echo(json.dumps(to_json(inv, {"revision": inv.revision}), indent=2))
    else:
        render(inv, _out())
        _review_footer(inv, "awaiting review", _out())
    _err().print(where, markup=False)


def _rerun(investigation_id: str, location: str, settings: Settings) -> tuple[Investigation, str]:
    """The next revision, and the line saying where it is stored."""
    from agent.origin import open_origin, parse_origin
    from agent.runner import collect
    from agent.store import open_store

    with open_store(location) as opened:
        stored = opened.load(investigation_id)
        if stored.status == "running":
            raise UserError(f"investigation {investigation_id} is still running; rerun it when it has finished")
        origin = parse_origin(stored.origin)
        source = open_origin(origin)
        with _err().status("rerunning...") as status:
            inv = collect(
                opened.rerun(investigation_id, source.source, clock=source.clock,
                             window=source.window if origin.kind == "alarm" else None, settings=settings),
                on_progress=lambda event: status.update(f"rerunning: {event.describe()}"),
            )
        return inv, f"investigation {inv.id} revision {inv.revision} stored in {opened.location}"


def _rerun_afresh(investigation_id: str, location: str, settings: Settings) -> tuple[Investigation, str]:
    """A fresh first revision of an investigation this version cannot read, and the line saying
    where its old state is kept and what was carried over."""
    from agent.origin import open_origin, parse_origin
    from agent.runner import collect
    from agent.store import open_store

    with open_store(location) as opened:
        start = opened.fresh_start(investigation_id)
        source = open_origin(parse_origin(start.origin))  # before anything is moved: a source gone is an error first
        with _err().status("investigating afresh...") as status:
            inv = collect(
                opened.investigate_afresh(start, source.source, start.trigger or source.trigger, source.window,
                                          source.baseline, clock=source.clock, settings=settings),
                on_progress=lambda event: status.update(f"investigating afresh: {event.describe()}"),
            )
        lost = f"; {start.unreadable_decisions} unreadable decision(s) are only in that file" if start.unreadable_decisions else ""
        return inv, (f"the old state of {start.id} (schema {start.version}) is kept in {start.archive}; investigation "
                     f"{inv.id} started afresh in {opened.location} with {len(start.decisions)} decision(s) carried over{lost}")


def report_command(
    investigation_id: str = typer.Argument(..., metavar="ID", help="an id from `investigator list`"),
    out: Path = typer.Option(..., "--out", help="file to write"),
    fmt: str = typer.Option("md", "--format", help="md (Markdown) or json"),
    revision: int | None = typer.Option(None, "--revision", help="an earlier revision (default: the latest)"),
    owner: str = typer.Option("", "--owner", help="owner written on every action item (default: unassigned)"),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Write the post-incident (correction-of-error) report of a stored investigation."""
    from agent.coe import build_report, render_markdown
    from agent.store import open_store

    if fmt not in ("md", "json"):
        raise UserError(f"--format must be md or json, not {fmt!r}")
    with open_store(store_location(store)) as opened:
        stored = opened.load(investigation_id)
    if stored.investigation is None:
        raise UserError(f"investigation {investigation_id} has no completed revision yet ({stored.status.replace('_', ' ')})")
    inv = stored.investigation if revision is None else stored.at_revision(revision)
    history = [r.investigation for r in stored.revisions if r.number < inv.revision]
    report = build_report(inv, owner=owner, history=history)
    text = render_markdown(report) if fmt == "md" else json.dumps(report.model_dump(mode="json"), indent=2) + "\n"
    write_atomically(out, text)
    _err().print(f"report written to {out}", markup=False)


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a report."""
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UserError(f"cannot write the report to {path}: {exc.strerror or exc}") from exc


def register(app: typer.Typer) -> None:
    app.command("list")(list_command)
    app.command("show")(show_command)
    app.command("decide")(decide_command)
    app.command("rerun")(rerun_command)
    app.command("report")(report_command)
