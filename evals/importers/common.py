"""What every importer shares: reading source files with one-line errors, and running cases.

An importer turns a dataset into independent *cases* (one issue, one fault, one false alarm).
A broken case is reported on one line and skipped; the others are still imported. A source
that is wrong as a whole (wrong layout, nothing to import) raises `UserError` straight away.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from domain.errors import UserError


class SourceError(UserError):
    """A source file is missing or unreadable; the message names the path and what was expected."""


class SkippedCase(BaseModel):
    case: str
    reason: str


class ImportSummary(BaseModel):
    """What an import run produced, for the CLI summary line and for tests."""

    dataset: str
    written: list[str] = Field(default_factory=list, description="bundle directories, relative to OUT")
    skipped: list[SkippedCase] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Case(BaseModel):
    """One bundle to write: `label` is its path relative to OUT (also shown in progress lines)."""

    label: str
    payload: dict[str, Any] = Field(default_factory=dict)


# Reports one finished case: (index from 1, total, label, None when written or the skip reason).
ProgressCallback = Callable[[int, int, str, str | None], None]

_UNREADABLE = (OSError, EOFError, UnicodeDecodeError, zlib.error, gzip.BadGzipFile, pd.errors.ParserError,
               pd.errors.EmptyDataError, ValueError)


def require_file(path: Path, expected: str) -> Path:
    if not path.is_file():
        raise SourceError(f"{path}: missing; expected {expected}")
    return path


def first_existing(candidates: Sequence[Path]) -> Path | None:
    return next((p for p in candidates if p.is_file()), None)


def read_csv(path: Path, expected: str, **kwargs: Any) -> pd.DataFrame:
    """`pd.read_csv` whose failures become one line naming the file and what it should hold."""
    require_file(path, expected)
    try:
        return pd.read_csv(path, **kwargs)
    except _UNREADABLE as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(f"{path}: not readable as {expected} ({reason})") from exc


def read_json(path: Path, expected: str) -> Any:
    require_file(path, expected)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}; expected {expected}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot be read ({exc}); expected {expected}") from exc


def field(mapping: Any, path: str, where: Path, expected: str) -> Any:
    """`mapping[a][b]...` for `path` = "a.b", or SourceError naming the file and the field."""
    value = mapping
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise SourceError(f"{where}: field {path!r} missing; expected {expected}")
        value = value[part]
    return value


def run_cases(
    cases: Sequence[Case],
    build: Callable[[Case], None],
    summary: ImportSummary,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Build every case; a case failing with `UserError` (or a bad value) is recorded and skipped."""
    total = len(cases)
    for index, case in enumerate(cases, start=1):
        reason: str | None = None
        try:
            build(case)
        except UserError as exc:
            reason = str(exc)
        except (ValueError, KeyError) as exc:  # pydantic's ValidationError is a ValueError
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        if reason is None:
            summary.written.append(case.label)
        else:
            summary.skipped.append(SkippedCase(case=case.label, reason=reason))
        if progress is not None:
            progress(index, total, case.label, reason)
    return summary
