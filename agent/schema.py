"""Versions of the stored investigation state, and the upgrades from older ones.

Every investigation is stored with the `schema_version` of the build that wrote it. Reading
one works on what was stored as plain data (a model revived from an older build may lack a
field the class now requires, so its attributes are read, never its methods): an older
version is upgraded step by step to this one and then validated; a newer one, or an older one
that does not validate, is an `IncompatibleState` naming the investigation, the versions and
what to do. The engineer's decisions are read one by one, so those that still validate can be
carried into a fresh investigation even when the rest of the state cannot be read.

Changing the shape of `InvestigationState` (or of a model in it) in a way old data does not
validate against: bump `SCHEMA_VERSION` and add the step from the previous version to
`UPGRADES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from domain.errors import UserError
from domain.models import Decision
from agent.state import SCHEMA_VERSION, InvestigationState

# Builds before versioning stamped nothing; their state has this schema's shape.
UNSTAMPED = 1


def _from_unstamped(values: dict[str, Any]) -> dict[str, Any]:
    return values


# version n -> the step that turns plain data of version n into version n + 1
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_unstamped}


class IncompatibleState(UserError):
    """A stored investigation this build cannot read (written by a newer or a too different build)."""


def plain(value: Any) -> Any:
    """`value` as plain data: models become the dicts of what they hold (as stored, even when
    the class has gained a required field since), lists and dicts recursively."""
    if isinstance(value, BaseModel):
        return {name: plain(item) for name, item in vars(value).items()}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def stored_version(values: dict[str, Any]) -> int:
    version = values.get("schema_version", UNSTAMPED)
    return version if isinstance(version, int) else UNSTAMPED


def readable_decisions(values: dict[str, Any]) -> tuple[list[Decision], int]:
    """The stored decisions that still validate, and how many do not."""
    readable, unreadable = [], 0
    for raw in values.get("decisions") or []:
        try:
            readable.append(Decision.model_validate(plain(raw)))
        except (ValidationError, AttributeError, TypeError, ValueError):
            unreadable += 1
    return readable, unreadable


def first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where}: {error['msg']}" if where else error["msg"]
    return f"{type(exc).__name__}: {exc}"


def too_new(inv_id: str, version: int) -> IncompatibleState:
    return IncompatibleState(
        f"investigation {inv_id} was stored by a newer investigator (state schema {version}; this one reads "
        f"{UNSTAMPED} to {SCHEMA_VERSION}): open it with that version, or upgrade investigator"
    )


def too_old(inv_id: str, version: int, problem: str, values: dict[str, Any]) -> IncompatibleState:
    decisions, _ = readable_decisions(values)
    which = (f"was stored by an older investigator (state schema {version}; this one reads schema {SCHEMA_VERSION}) "
             f"and cannot be upgraded" if version < SCHEMA_VERSION else f"(state schema {version}) cannot be read")
    return IncompatibleState(
        f"investigation {inv_id} {which} ({problem}): `investigator rerun {inv_id} --fresh` "
        f"investigates it again from its telemetry and carries over its {len(decisions)} decision(s)"
    )


def upgraded(inv_id: str, values: dict[str, Any]) -> InvestigationState:
    """The stored state of `inv_id` in this build's schema, or `IncompatibleState`."""
    version = stored_version(values)
    if version > SCHEMA_VERSION:
        raise too_new(inv_id, version)
    data = {name: plain(value) for name, value in values.items() if name in InvestigationState.model_fields}
    for step in range(version, SCHEMA_VERSION):
        data = UPGRADES[step](data)
    data["schema_version"] = SCHEMA_VERSION
    try:
        return InvestigationState.model_validate(data)
    # A model validator of a changed class can fail on old data with more than a ValidationError.
    except (ValidationError, AttributeError, TypeError, ValueError, KeyError) as exc:
        raise too_old(inv_id, version, first_problem(exc), values) from exc
