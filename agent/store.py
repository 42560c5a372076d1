"""Durable investigations: LangGraph's checkpointer (SQLite by default, PostgreSQL for a team).

Every investigation is one checkpointer thread named by its id. The graph stops at the review
step with the investigation persisted; decisions are written into that stopped state (one
committed checkpoint per `decide`); a rerun resumes the review step and runs again as a new
revision, and every completed revision stays in the state (`revisions`).

Writers of one investigation are serialised by a lock that the operating system (SQLite: an
`flock` on a file beside the database) or the server (PostgreSQL: a session advisory lock)
releases when the holding process dies, so a `kill -9` never leaves it stuck. The lock also
tells "still running" apart from "stopped before it finished".

    with open_store(settings.store_location()) as store:
        for event in store.investigate(source, trigger, window, baseline, clock=clock, origin=origin):
            ...
        store.decide(inv_id, [DecisionRequest(target_id=..., verdict="accepted")], by="alice")
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field, ValidationError
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_random_exponential

from domain.errors import UserError
from domain.models import Decision, Investigation, TimeWindow, Trigger, Verdict
from domain.settings import Settings, state_dir
from agent.decisions import apply_decisions
from agent.graph import build_graph
from agent.nodes.review import RerunRequest
from agent.reasoners.base import Reasoner
from agent.runner import Event, events, investigation_id, run_context, utc_now
from agent.schema import (
    IncompatibleState, first_problem, plain, readable_decisions, stored_version, too_new, too_old, upgraded,
)
from agent.serde import checkpoint_serializer
from agent.state import SCHEMA_VERSION, Context, InvestigationInput, InvestigationState, Revision
from tools.atomic import write_text_atomic
from tools.source import TelemetrySource

Status = Literal["awaiting_review", "running", "interrupted", "unreadable"]
# How long `decide` waits for another writer of the same investigation before "try again".
LOCK_WAIT_S = 10.0


class Busy(UserError):
    """Another process holds the investigation (running, or deciding at this moment)."""


class StoreUnavailable(UserError):
    """The store cannot be opened, read or written (a path that cannot be created, a full disk,
    a file that is not a database, a server gone): nothing the caller asked to keep was kept."""


class DecisionRequest(BaseModel):
    target_id: str
    verdict: Verdict
    note: str = ""


class Summary(BaseModel):
    """One line of `investigator list`."""

    id: str
    alarm: str
    resource: str
    alarm_time: datetime
    status: Status
    revision: int
    top: str | None = Field(default=None, description="the root cause of record, else the #1 hypothesis")
    problem: str | None = Field(default=None, description="why an unreadable investigation cannot be read")


class FreshStart(BaseModel):
    """What an investigation this build cannot read leaves for a fresh one (`rerun --fresh`)."""

    id: str
    version: int = Field(description="the schema version it was stored with")
    origin: str
    trigger: Trigger | None = Field(description="the stored trigger, when it still validates")
    decisions: list[Decision]
    unreadable_decisions: int = Field(description="decisions kept only in the archive file")
    archive: Path = Field(description="where the whole stored state is written before the fresh start")


class StoredInvestigation(BaseModel):
    id: str
    status: Status
    revision: int
    origin: str
    trigger: Trigger
    investigation: Investigation | None = Field(description="the latest completed revision, with every decision so far")
    revisions: list[Revision]
    decisions: list[Decision]

    def at_revision(self, number: int) -> Investigation:
        for revision in self.revisions:
            if revision.number == number:
                return revision.investigation
        have = ", ".join(str(r.number) for r in self.revisions) or "none completed"
        raise UserError(f"investigation {self.id} has no revision {number} (revisions: {have})")

    def known_ids(self) -> set[str]:
        """Every finding and hypothesis id any revision showed: what a decision may name."""
        ids: set[str] = set()
        for revision in self.revisions:
            inv = revision.investigation
            ids.update(f.id for f in inv.findings)
            ids.update(h.id for h in inv.hypotheses)
            if inv.root_cause is not None:
                ids.add(inv.root_cause.id)
        return ids


def _unreadable_summary(inv_id: str, values: dict[str, Any], problem: str) -> Summary:
    """A list line for an investigation this build cannot read: listed, never hidden."""
    try:
        trigger = Trigger.model_validate(plain(values.get("trigger")))
        alarm, resource, at = trigger.alarm_name, trigger.resource, trigger.state_change_time
    except ValidationError:
        alarm, resource, at = "(unreadable)", "(unreadable)", datetime.min.replace(tzinfo=timezone.utc)
    return Summary(id=inv_id, alarm=alarm, resource=resource, alarm_time=at, status="unreadable",
                   revision=values.get("revision") if isinstance(values.get("revision"), int) else 0, problem=problem)


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class InvestigationStore:
    """Investigations kept in a checkpointer. Open it with `open_store()`; safe to use from
    several processes at once; one instance per thread of control."""

    def __init__(self, saver: Any, location: str, lock: Callable[[str, float], Any], archive_dir: Path) -> None:
        self._saver = saver
        self.location = location
        self._lock = lock
        self._archive_dir = archive_dir
        self._graph = build_graph(saver)

    # ---------------------------------------------------------------- reading

    def _config(self, inv_id: str) -> dict:
        return {"configurable": {"thread_id": inv_id}}

    def _stored_values(self, inv_id: str) -> dict[str, Any]:
        """The latest stored channel values as the serializer revives them, before LangGraph
        builds the state from them (which an older build's data can fail)."""
        stored = self._saver.get_tuple(self._config(inv_id))
        return dict(stored.checkpoint.get("channel_values") or {}) if stored is not None else {}

    def _read(self, inv_id: str) -> tuple[Any, InvestigationState, int]:
        """The graph's snapshot of `inv_id`, its state in this build's schema, and the schema
        version it was stored with."""
        values = self._stored_values(inv_id)
        # No trigger: a run killed before its first step; only `investigate` can start it again.
        if "trigger" not in values:
            raise UserError(f"no investigation {inv_id} in {self.location} (see `investigator list`)")
        state = upgraded(inv_id, values)
        version = stored_version(values)
        try:
            snapshot = self._graph.get_state(self._config(inv_id))
        except (ValidationError, AttributeError, TypeError, ValueError, KeyError) as exc:
            # What a run stopped mid-way left for its next step is older data too.
            raise too_old(inv_id, version, first_problem(exc), values) from exc
        return snapshot, state, version

    def _snapshot(self, inv_id: str):
        return self._read(inv_id)[0]

    def _status(self, inv_id: str, snapshot) -> Status:
        if tuple(snapshot.next) == ("review",):
            return "awaiting_review"
        try:
            with self._lock(inv_id, 0.0):
                return "interrupted"
        except Busy:
            return "running"

    def load(self, inv_id: str) -> StoredInvestigation:
        snapshot, state, _ = self._read(inv_id)
        return self._stored(inv_id, snapshot, state)

    def _stored(self, inv_id: str, snapshot, state: InvestigationState) -> StoredInvestigation:
        return StoredInvestigation(
            id=inv_id, status=self._status(inv_id, snapshot), revision=state.revision, origin=state.origin,
            trigger=state.trigger,
            investigation=apply_decisions(state.revisions[-1].investigation, state.decisions) if state.revisions else None,
            revisions=state.revisions, decisions=state.decisions,
        )

    def ids(self) -> list[str]:
        with self._cursor() as cur:
            cur.execute("SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = ''")
            rows = cur.fetchall()
        return [row["thread_id"] if isinstance(row, dict) else row[0] for row in rows]

    def list(self, limit: int = 20) -> list[Summary]:
        """The most recent investigations by alarm time, newest first."""
        summaries = []
        for inv_id in self.ids():
            values = self._stored_values(inv_id)
            if "trigger" not in values:
                continue  # killed before its first step: nothing to show
            try:
                stored = self.load(inv_id)
            except IncompatibleState as exc:
                summaries.append(_unreadable_summary(inv_id, values, str(exc)))
                continue
            inv = stored.investigation
            top = None
            if inv is not None:
                lead = inv.root_cause or (inv.hypotheses[0] if inv.hypotheses else None)
                top = f"{lead.resource} ({lead.cause})" if lead else None
            summaries.append(Summary(
                id=inv_id, alarm=stored.trigger.alarm_name, resource=stored.trigger.resource,
                alarm_time=stored.trigger.state_change_time, status=stored.status, revision=stored.revision, top=top,
            ))
        summaries.sort(key=lambda s: s.alarm_time, reverse=True)
        return summaries[:limit]

    # ---------------------------------------------------------------- writing

    def _write_upgrade(self, inv_id: str, state: InvestigationState, version: int) -> None:
        """Store an upgraded state in this build's schema (the whole state: a list a reducer
        merges is replaced, not merged with its older version), so later reads need no upgrade."""
        if version >= SCHEMA_VERSION:
            return
        from langgraph.types import Overwrite

        fields = InvestigationState.model_fields
        update = {
            name: Overwrite(getattr(state, name)) if any(callable(m) for m in fields[name].metadata) else getattr(state, name)
            for name in fields
        }
        self._graph.update_state(self._config(inv_id), update, as_node="report")

    def investigate(
        self,
        source: TelemetrySource,
        trigger: Trigger,
        window: TimeWindow | None = None,
        baseline: TimeWindow | None = None,
        *,
        clock: Callable[[], datetime],
        origin: str,
        settings: Settings | None = None,
        reasoner: Reasoner | None = None,
    ) -> Iterator[Event]:
        """Investigate and keep the result, stopping for review. The same incident investigated
        again (same id) becomes its next revision, honouring the decisions made so far."""
        context = run_context(source, clock, settings, reasoner)
        inv_id = investigation_id(trigger)
        with self._lock(inv_id, 0.0):
            if self._stored_values(inv_id).get("trigger") is not None:
                yield from self._continue(inv_id, context, origin, window, baseline)
                return
            yield from self._start(inv_id, trigger, window, baseline, context, origin, [])

    def _start(self, inv_id, trigger, window, baseline, context: Context, origin: str, decisions) -> Iterator[Event]:
        payload = InvestigationInput(
            investigation_id=inv_id, trigger=trigger, window=window, baseline=baseline,
            origin=origin, started_at=utc_now(), decisions=decisions,
        )
        yield from events(self._graph, payload, context=context, config=self._config(inv_id))

    def fresh_start(self, inv_id: str) -> FreshStart:
        """What starting `inv_id` afresh would carry over; refused for an investigation this
        build can read (`rerun` continues it) or one a newer build wrote (it would be lost to it)."""
        values = self._stored_values(inv_id)
        if "trigger" not in values:
            raise UserError(f"no investigation {inv_id} in {self.location} (see `investigator list`)")
        version = stored_version(values)
        if version > SCHEMA_VERSION:
            raise too_new(inv_id, version)
        try:
            self._read(inv_id)
        except IncompatibleState:
            pass
        else:
            raise UserError(f"investigation {inv_id} can be read: `investigator rerun {inv_id}` continues it "
                            "(--fresh is for one stored by a version that cannot be upgraded)")
        origin = values.get("origin")
        if not isinstance(origin, str) or not origin:
            raise UserError(f"investigation {inv_id} does not say where its telemetry came from: "
                            "investigate the incident again with --bundle or --alarm")
        try:
            trigger = Trigger.model_validate(plain(values["trigger"]))
        except ValidationError:
            trigger = None
        decisions, unreadable = readable_decisions(values)
        archive = self._archive_dir / f"{inv_id}.schema{version}.{utc_now():%Y%m%dT%H%M%S%fZ}.json"
        return FreshStart(id=inv_id, version=version, origin=origin, trigger=trigger, decisions=decisions,
                          unreadable_decisions=unreadable, archive=archive)

    def investigate_afresh(
        self,
        start: FreshStart,
        source: TelemetrySource,
        trigger: Trigger,
        window: TimeWindow | None = None,
        baseline: TimeWindow | None = None,
        *,
        clock: Callable[[], datetime],
        settings: Settings | None = None,
        reasoner: Reasoner | None = None,
    ) -> Iterator[Event]:
        """Write the whole stored state of `start.id` to `start.archive` (readable JSON), then
        investigate it again under the same id from scratch, with its readable decisions."""
        context = run_context(source, clock, settings, reasoner)
        with self._lock(start.id, LOCK_WAIT_S):
            values = self._stored_values(start.id)
            if stored_version(values) != start.version:
                raise UserError(f"investigation {start.id} changed meanwhile; run the command again")
            decisions, _ = readable_decisions(values)
            try:
                start.archive.parent.mkdir(parents=True, exist_ok=True)
                write_text_atomic(start.archive, json.dumps(plain(values), default=str, indent=2) + "\n")
            except OSError as exc:
                raise UserError(f"cannot keep the old state of {start.id} in {start.archive}: "
                                f"{exc.strerror or exc}; nothing was changed") from exc
            self._saver.delete_thread(start.id)
            yield from self._start(start.id, trigger, window, baseline, context, start.origin, decisions)

    def rerun(
        self,
        inv_id: str,
        source: TelemetrySource,
        *,
        clock: Callable[[], datetime],
        window: TimeWindow | None = None,
        baseline: TimeWindow | None = None,
        settings: Settings | None = None,
        reasoner: Reasoner | None = None,
    ) -> Iterator[Event]:
        """Run `inv_id` again as a new revision (or finish a run that was stopped)."""
        self._snapshot(inv_id)
        with self._lock(inv_id, 0.0):
            context = run_context(source, clock, settings, reasoner)
            yield from self._continue(inv_id, context, None, window, baseline)

    def _continue(self, inv_id, context: Context, origin, window, baseline) -> Iterator[Event]:
        from langgraph.types import Command

        snapshot, state, version = self._read(inv_id)
        if tuple(snapshot.next) == ("review",):
            self._write_upgrade(inv_id, state, version)
            # A live incident goes on: the rerun reads the window as it is now.
            moved = {k: v for k, v in (("window", window), ("baseline", baseline)) if v is not None}
            if moved:
                self._graph.update_state(self._config(inv_id), moved, as_node="report")
            payload: Any = Command(resume=RerunRequest(started_at=utc_now(), origin=origin).model_dump(mode="json"))
        else:
            payload = None  # stopped mid-run (the process died): carry on from the last checkpoint
        yield from events(self._graph, payload, context=context, config=self._config(inv_id))

    def decide(self, inv_id: str, requests: list[DecisionRequest], *, by: str) -> list[Decision]:
        """Record decisions; they are committed to the store when this returns."""
        if not requests:
            raise UserError("nothing to decide: give --accept ID, --discard ID or --note ID TEXT")
        snapshot = self._snapshot(inv_id)
        if tuple(snapshot.next) != ("review",):
            self._refuse_not_reviewable(inv_id, snapshot)
        with self._lock(inv_id, LOCK_WAIT_S):
            snapshot, state, version = self._read(inv_id)
            stored = self._stored(inv_id, snapshot, state)
            if stored.status != "awaiting_review":
                self._refuse_not_reviewable(inv_id, snapshot)
            known = stored.known_ids()
            unknown = [r.target_id for r in requests if r.target_id not in known]
            if unknown:
                raise UserError(
                    f"investigation {inv_id} has no finding or hypothesis {', '.join(unknown)} "
                    f"(ids are shown by `investigator show {inv_id}`)"
                )
            now = utc_now()
            decisions = [
                Decision(target_id=r.target_id, verdict=r.verdict, note=r.note, by=by, at=now, revision=stored.revision)
                for r in requests
            ]
            self._write_upgrade(inv_id, state, version)
            self._graph.update_state(self._config(inv_id), {"decisions": decisions}, as_node="report")
        return decisions

    def _refuse_not_reviewable(self, inv_id: str, snapshot) -> None:
        if self._status(inv_id, snapshot) == "running":
            raise Busy(f"investigation {inv_id} is still running; decide when it has finished")
        raise UserError(f"investigation {inv_id} stopped before it finished; run `investigator rerun {inv_id}` first")

    def _cursor(self):
        raise NotImplementedError


class _SqliteStore(InvestigationStore):
    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        from langgraph.checkpoint.sqlite import SqliteSaver

        saver = SqliteSaver(conn, serde=checkpoint_serializer())
        saver.setup()
        # WAL (set by setup) plus FULL sync: an acknowledged decision survives a crash of the machine too.
        conn.execute("PRAGMA synchronous=FULL")
        self._conn = conn
        locks = path.with_name(path.name + ".locks")
        super().__init__(saver, str(path), lambda inv_id, wait: _file_lock(locks / f"{inv_id}.lock", wait),
                         archive_dir=path.with_name(path.name + ".archive"))

    @contextmanager
    def _cursor(self):
        cur = self._conn.cursor()
        try:
            yield cur
        finally:
            cur.close()


class _PostgresStore(InvestigationStore):
    def __init__(self, conn: Any, url: str) -> None:
        from langgraph.checkpoint.postgres import PostgresSaver

        saver = PostgresSaver(conn, serde=checkpoint_serializer())
        saver.setup()
        self._conn = conn
        self._url = url
        super().__init__(saver, _redacted(url), lambda inv_id, wait: _advisory_lock(url, inv_id, wait),
                         archive_dir=state_dir() / "archive")

    @contextmanager
    def _cursor(self):
        with self._conn.cursor() as cur:
            yield cur


def _acquire(try_once: Callable[[], bool], wait_s: float, busy: str) -> None:
    """Call `try_once` until it takes the lock or `wait_s` is over (then `Busy`: "try again").

    Backoff with jitter: processes deciding on the same investigation at once do not retry in
    lockstep, and a short wait stays short (the first retries come within tens of ms).
    """
    if try_once():
        return
    try:
        Retrying(
            stop=stop_after_delay(wait_s),
            wait=wait_random_exponential(multiplier=0.02, max=0.5),
            retry=retry_if_result(lambda taken: not taken),
        )(try_once)
    except RetryError:
        raise Busy(busy) from None


@contextmanager
def _file_lock(path: Path, wait_s: float) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreUnavailable(f"cannot create the lock {path}: {exc.strerror or exc}") from exc

    def try_once() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    try:
        _acquire(try_once, wait_s, f"investigation {path.stem} is busy in another process; try again")
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _advisory_lock(url: str, inv_id: str, wait_s: float) -> Iterator[None]:
    import psycopg

    key = int.from_bytes(hashlib.sha1(inv_id.encode()).digest()[:8], "big", signed=True)
    # Its own session: the server drops the lock the moment this process (or connection) dies.
    with psycopg.connect(url, autocommit=True) as conn:
        _acquire(
            lambda: bool(conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]),
            wait_s, f"investigation {inv_id} is busy in another process; try again",
        )
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


@contextmanager
def open_store(location: str) -> Iterator[InvestigationStore]:
    """The store at `location`: a SQLite file path, or a `postgresql://` URL."""
    if location.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError:
            raise UserError(
                "a postgresql:// store needs the postgres extra: pip install 'aws-incident-investigator[postgres]'"
            ) from None
        try:
            conn = psycopg.connect(location, autocommit=True, prepare_threshold=0, row_factory=dict_row)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot connect to the store {_redacted(location)}: {_first_line(exc)}") from exc
        with conn:
            try:
                yield _PostgresStore(conn, location)
            except psycopg.Error as exc:
                raise StoreUnavailable(f"the store {_redacted(location)} failed: {_first_line(exc)}") from exc
        return
    path = Path(location).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise StoreUnavailable(f"cannot open the store {path}: {exc}") from exc
    try:
        yield _SqliteStore(conn, path)
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"the store {path} failed: {exc}") from exc
    finally:
        conn.close()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
