"""What the console does, without Streamlit: find bundles and alarms, run, store, decide, rerun, report.

Kept apart from the page code so that the flows can be tested without a browser, and so that
the console and the CLI go through the same settings, runner and store (agent/store.py): an
investigation started here is listed, shown and decided by `investigator list/show/decide`,
and the other way round. Every call opens the store and closes it again, as the CLI does, so
a decision is committed when the call returns and no connection outlives a page run.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from domain.errors import UserError
from domain.extras import require
from domain.models import Finding, Investigation
from domain.settings import Settings
from agent.runner import Event, NodeFinished, collect
from agent.store import DecisionRequest, InvestigationStore, StoredInvestigation, Summary, open_store

BUNDLES_ENV = "INVESTIGATOR_CONSOLE_BUNDLES"
Verdict = Literal["accepted", "discarded", "noted"]
ReasonerChoice = Literal["deterministic", "claude"]
REASONERS: tuple[ReasonerChoice, ...] = ("deterministic", "claude")
ProgressCallback = Callable[[NodeFinished], None]


def default_bundle_folder() -> Path:
    """The folder of recorded incidents offered first: the one named by the environment, else
    the demo's folder."""
    named = os.environ.get(BUNDLES_ENV)
    if named:
        return Path(named).expanduser()
    from importlib.resources import files

    return Path(str(files("evals.demo")))


def bundles_in(folder: Path) -> list[Path]:
    """Bundle directories (holding incident.yaml) at most three levels below `folder`, by path
    (a game-day suite is suite/scenario/seed deep)."""
    if not folder.is_dir():
        return []
    found: set[Path] = set()
    for pattern in ("incident.yaml", "*/incident.yaml", "*/*/incident.yaml", "*/*/*/incident.yaml"):
        found |= {p.parent for p in folder.glob(pattern)}
    return sorted(found, key=str)


def reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "unknown"


def run_settings(reasoner: ReasonerChoice) -> Settings:
    """The settings an investigation started here runs with: the same as the CLI's (environment,
    config file) with the reasoner chosen on the page; a UserError saying what to set when Claude
    cannot run."""
    from agent.reasoners.choice import with_reasoner
    from domain.settings import load_settings

    if reasoner == "claude":
        require("anthropic", extra="llm", purpose="the Claude reasoner")
    return with_reasoner(load_settings(), reasoner)


def claude_unavailable() -> str | None:
    """Why the Claude reasoner cannot be chosen in this console (what to set), or None."""
    try:
        run_settings("claude")
    except UserError as exc:
        return str(exc)
    return None


def configured_reasoner() -> ReasonerChoice:
    """The reasoner the settings name (INVESTIGATOR_REASONER__NAME, the config file), else deterministic."""
    from domain.settings import load_settings

    try:
        return load_settings().reasoner.name
    except UserError:
        return "deterministic"


class Failed(BaseModel):
    """An investigation that stopped with an error: the reason, and what it had found by then."""

    reason: str
    findings: list[Finding]
    steps: list[str]


class AlarmChoice(BaseModel):
    name: str
    metric: str
    state_reason: str


class Console:
    """The console's operations on one store location (a SQLite path or a postgresql:// URL)."""

    def __init__(self, location: str) -> None:
        self.location = location

    @classmethod
    def from_settings(cls) -> "Console":
        """The store the settings name (INVESTIGATOR_STORE, the config file, else the state
        directory), checked by opening it once: a store that cannot be opened is a UserError."""
        from domain.settings import load_settings

        console = cls(load_settings().store_location())
        with console._store():
            pass
        return console

    @contextmanager
    def _store(self) -> Iterator[InvestigationStore]:
        with open_store(self.location) as store:
            yield store

    # ---------------------------------------------------------------- reading

    def history(self, limit: int = 30) -> list[Summary]:
        with self._store() as store:
            return store.list(limit)

    def load(self, inv_id: str) -> StoredInvestigation:
        with self._store() as store:
            return store.load(inv_id)

    def report(self, inv_id: str, fmt: Literal["md", "json"], revision: int | None = None) -> str:
        """The post-incident report of the latest revision (with every decision), as the CLI's
        `investigator report` writes it."""
        from agent.coe import build_report, render_markdown

        stored = self.load(inv_id)
        if stored.investigation is None:
            raise UserError(f"investigation {inv_id} has no completed revision yet")
        inv = stored.investigation if revision is None else stored.at_revision(revision)
        history = [r.investigation for r in stored.revisions if r.number < inv.revision]
        report = build_report(inv, owner="", history=history)
        return render_markdown(report) if fmt == "md" else json.dumps(report.model_dump(mode="json"), indent=2) + "\n"

    # ---------------------------------------------------------------- writing

    def investigate_bundle(self, bundle: Path, on_progress: ProgressCallback | None = None,
                           reasoner: ReasonerChoice = "deterministic") -> Investigation | Failed:
        """Investigate a recorded bundle and keep it for review; `reasoner` writes the hypotheses."""
        from agent.origin import bundle_origin
        from agent.runner import open_bundle
        from tools.bundle.validate import validate_bundle

        problems = validate_bundle(bundle)
        if problems:
            raise UserError(f"{bundle} is not a valid bundle: {problems[0]}")
        settings = run_settings(reasoner)
        source, args = open_bundle(bundle)
        with self._store() as store:
            return _drive(store.investigate(source, **args, origin=bundle_origin(bundle).model_dump_json(),
                                            settings=settings), on_progress)

    def investigate_alarm(
        self, alarm: str, *, region: str | None, endpoint_url: str | None, on_progress: ProgressCallback | None = None,
        reasoner: ReasonerChoice = "deterministic",
    ) -> Investigation | Failed:
        """Investigate a live (or emulated) alarm as it is now and keep it for review."""
        from agent.origin import Origin, open_origin

        settings = run_settings(reasoner)
        origin = Origin(kind="alarm", alarm=alarm, region=region, endpoint_url=endpoint_url)
        opened = open_origin(origin)
        with self._store() as store:
            outcome = _drive(store.investigate(
                opened.source, opened.trigger, opened.window, opened.baseline, clock=opened.clock,
                origin=origin.model_dump_json(), settings=settings,
            ), on_progress)
        return outcome

    def decide(self, inv_id: str, target_id: str, verdict: Verdict, note: str = "", by: str | None = None) -> None:
        if verdict == "noted" and not note.strip():
            raise UserError("a note needs text")
        with self._store() as store:
            store.decide(inv_id, [DecisionRequest(target_id=target_id, verdict=verdict, note=note.strip())],
                         by=by or reviewer())

    def rerun(self, inv_id: str, on_progress: ProgressCallback | None = None,
              reasoner: ReasonerChoice = "deterministic") -> Investigation | Failed:
        """Run again honouring the decisions, as `investigator rerun` does: a new revision."""
        from agent.origin import open_origin, parse_origin

        settings = run_settings(reasoner)
        with self._store() as store:
            stored = store.load(inv_id)
            if stored.status == "running":
                raise UserError(f"investigation {inv_id} is still running; rerun it when it has finished")
            origin = parse_origin(stored.origin)
            opened = open_origin(origin)
            window = opened.window if origin.kind == "alarm" else None
            return _drive(store.rerun(inv_id, opened.source, clock=opened.clock, window=window, settings=settings),
                          on_progress)


def _drive(events: Iterator[Event], on_progress: ProgressCallback | None) -> Investigation | Failed:
    """Run the stream to its end. A UserError (bad input) propagates; any other failure of the
    investigation is returned as `Failed` with the findings streamed before it, so the page can
    show what was learnt. The store keeps the partial run (`investigator rerun` resumes it)."""
    findings: list[Finding] = []
    steps: list[str] = []

    def heard(event: NodeFinished) -> None:
        findings.extend(event.findings)
        steps.append(event.describe())
        if on_progress is not None:
            on_progress(event)

    try:
        return collect(events, heard)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - shown to the user as the reason, with the partial findings
        return Failed(reason=f"{type(exc).__name__}: {exc}", findings=findings, steps=steps)


def alarms_in_alarm(region: str | None, endpoint_url: str | None) -> list[AlarmChoice]:
    """The metric alarms in ALARM state in the account and region (raises UserError without
    credentials or access, naming what to do)."""
    from tools.aws.alarm import alarms_in_state

    return [AlarmChoice(name=a.name, metric=a.metric, state_reason=a.state_reason)
            for a in alarms_in_state("ALARM", region=region, endpoint_url=endpoint_url)]


def gameday_folder() -> Path:
    """The game-day suite (one seed per scenario) in the state directory, written on first use."""
    from domain.settings import state_dir
    from evals.gameday.generate import suite

    folder = state_dir() / "gameday"
    if not bundles_in(folder):
        suite(folder, seeds=[1])
    return folder


def use_emulator_credentials() -> None:
    """The local emulator accepts any credentials but botocore refuses to sign without some:
    set dummy ones for this console process only when none are configured."""
    if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
        os.environ["AWS_ACCESS_KEY_ID"] = "emulator"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "emulator"
