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
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field

from domain.errors import UserError
from domain.models import Decision, Investigation, TimeWindow, Trigger, Verdict
from domain.settings import Settings
from agent.decisions import apply_decisions
from agent.graph import build_graph
from agent.nodes.review import RerunRequest
from agent.reasoners.base import Reasoner
from agent.runner import Event, events, investigation_id, utc_now
from agent.serde import checkpoint_serializer
from agent.state import Context, InvestigationInput, InvestigationState, Revision
from tools.source import TelemetrySource

Status = Literal["awaiting_review", "running", "interrupted"]
# How long `decide` waits for another writer of the same investigation before "try again".
LOCK_WAIT_S = 10.0


def _context(source: TelemetrySource, clock, settings: Settings | None, reasoner: Reasoner | None) -> Context:
    """The run's dependencies: the caller's settings (the CLI's, the console's), else the defaults."""
    return Context(source=source, clock=clock, settings=settings or Settings.defaults(), reasoner=reasoner)


class Busy(UserError):
    """Another process holds the investigation (running, or deciding at this moment)."""


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


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class InvestigationStore:
    """Investigations kept in a checkpointer. Open it with `open_store()`; safe to use from
    several processes at once; one instance per thread of control."""

    def __init__(self, saver: Any, location: str, lock: Callable[[str, float], Any]) -> None:
        self._saver = saver
        self.location = location
        self._lock = lock
        self._graph = build_graph(saver)

    # ---------------------------------------------------------------- reading

    def _config(self, inv_id: str) -> dict:
        return {"configurable": {"thread_id": inv_id}}

    def _snapshot(self, inv_id: str):
        snapshot = self._graph.get_state(self._config(inv_id))
        # No trigger: a run killed before its first step; only `investigate` can start it again.
        if not snapshot.values or "trigger" not in snapshot.values:
            raise UserError(f"no investigation {inv_id} in {self.location} (see `investigator list`)")
        return snapshot

    def _status(self, inv_id: str, snapshot) -> Status:
        if tuple(snapshot.next) == ("review",):
            return "awaiting_review"
        try:
            with self._lock(inv_id, 0.0):
                return "interrupted"
        except Busy:
            return "running"

    def load(self, inv_id: str) -> StoredInvestigation:
        snapshot = self._snapshot(inv_id)
        state = InvestigationState.model_validate(snapshot.values)
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
            if "trigger" not in self._graph.get_state(self._config(inv_id)).values:
                continue  # killed before its first step: nothing to show
            stored = self.load(inv_id)
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
        context = _context(source, clock, settings, reasoner)
        inv_id = investigation_id(trigger)
        with self._lock(inv_id, 0.0):
            snapshot = self._graph.get_state(self._config(inv_id))
            if snapshot.values.get("trigger") is not None:
                yield from self._continue(inv_id, snapshot, context, origin, window, baseline)
                return
            payload = InvestigationInput(
                investigation_id=inv_id, trigger=trigger, window=window, baseline=baseline,
                origin=origin, started_at=utc_now(),
            )
            yield from events(self._graph, payload, context=context, config=self._config(inv_id))

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
            snapshot = self._snapshot(inv_id)
            context = _context(source, clock, settings, reasoner)
            yield from self._continue(inv_id, snapshot, context, None, window, baseline)

    def _continue(self, inv_id, snapshot, context: Context, origin, window, baseline) -> Iterator[Event]:
        from langgraph.types import Command

        if tuple(snapshot.next) == ("review",):
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
            stored = self.load(inv_id)
            if stored.status != "awaiting_review":
                self._refuse_not_reviewable(inv_id, self._graph.get_state(self._config(inv_id)))
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
        super().__init__(saver, str(path), lambda inv_id, wait: _file_lock(locks / f"{inv_id}.lock", wait))

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
        super().__init__(saver, _redacted(url), lambda inv_id, wait: _advisory_lock(url, inv_id, wait))

    @contextmanager
    def _cursor(self):
        with self._conn.cursor() as cur:
            yield cur


@contextmanager
def _file_lock(path: Path, wait_s: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(f"investigation {path.stem} is busy in another process; try again") from None
                time.sleep(0.05)
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
        deadline = time.monotonic() + wait_s
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise Busy(f"investigation {inv_id} is busy in another process; try again")
            time.sleep(0.05)
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
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"cannot connect to the store {_redacted(location)}: {first}") from exc
        with conn:
            yield _PostgresStore(conn, location)
        return
    path = Path(location).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise UserError(f"cannot open the store {path}: {exc}") from exc
    try:
        yield _SqliteStore(conn, path)
    except sqlite3.DatabaseError as exc:
        raise UserError(f"the store {path} cannot be read: {exc}") from exc
    finally:
        conn.close()
