"""Check a bundle and report every problem with its file and field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from pydantic import ValidationError

from domain.models import ChangeEvent, HealthEvent
from tools.bundle.errors import BundleError, Problem
from tools.bundle.format import (
    CHANGES,
    COLUMNS,
    FORMAT_VERSION,
    HEALTH,
    KNOWN_FILES,
    MANIFEST,
    METRICS,
    PARTIAL_SUFFIX,
    TOLERATED_FILES,
    IncidentManifest,
)


def _pydantic_problems(file: str, error: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        message = item["msg"]
        if item["type"] in ("datetime_from_date_parsing", "datetime_parsing", "datetime_type"):
            message = f"not a valid timestamp: {item.get('input')!r} (use ISO 8601, e.g. 2024-05-01T12:00:00Z)"
        problems.append(Problem(file=file, field=prefix + field, message=message))
    return problems


def read_manifest(bundle: Path) -> tuple[IncidentManifest | None, list[Problem]]:
    path = bundle / MANIFEST
    if not path.is_file():
        return None, [Problem(file=str(path), message="missing: every bundle needs an incident.yaml")]
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        field = f"line {mark.line + 1}" if mark is not None else ""
        return None, [Problem(file=MANIFEST, field=field, message=f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file=MANIFEST, message=f"cannot be read: {exc}")]
    if not isinstance(raw, dict):
        return None, [Problem(file=MANIFEST, message="must be a YAML mapping with id, title, trigger, window, topology")]
    version = raw.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        return None, [Problem(file=MANIFEST, field="format_version", message=f"unsupported version {version!r}; this build reads {FORMAT_VERSION}")]
    try:
        manifest = IncidentManifest.model_validate(raw)
    except ValidationError as exc:
        return None, _pydantic_problems(MANIFEST, exc)
    return manifest, _semantic_problems(manifest)


def _semantic_problems(manifest: IncidentManifest) -> list[Problem]:
    problems: list[Problem] = []
    ids = manifest.topology.ids()
    if manifest.trigger.resource not in ids:
        problems.append(Problem(
            file=MANIFEST, field="trigger.resource",
            message=f"unknown resource {manifest.trigger.resource!r}: it is not in topology.resources",
        ))
    for i, edge in enumerate(manifest.topology.edges):
        for end in ("caller", "callee"):
            name = getattr(edge, end)
            if name not in ids:
                problems.append(Problem(file=MANIFEST, field=f"topology.edges.{i}.{end}", message=f"unknown resource {name!r}"))
    seen: set[str] = set()
    for i, resource in enumerate(manifest.topology.resources):
        if resource.id in seen:
            problems.append(Problem(file=MANIFEST, field=f"topology.resources.{i}.id", message=f"duplicate resource {resource.id!r}"))
        seen.add(resource.id)
    window, baseline = manifest.window, manifest.baseline
    if not window.contains(manifest.trigger.state_change_time):
        problems.append(Problem(
            file=MANIFEST, field="trigger.state_change_time",
            message=f"{manifest.trigger.state_change_time.isoformat()} is outside the window "
                    f"{window.start.isoformat()} .. {window.end.isoformat()}: the investigation would not see the alarm",
        ))
    # A baseline after the window is fine (two real datasets record their fault-free data
    # after the fault); one overlapping it compares the incident with itself.
    if baseline is not None and baseline.start < window.end and baseline.end > window.start:
        problems.append(Problem(
            file=MANIFEST, field="baseline",
            message=f"{baseline.start.isoformat()} .. {baseline.end.isoformat()} overlaps the window "
                    f"{window.start.isoformat()} .. {window.end.isoformat()}: a baseline must be normal operation outside the incident",
        ))
    truth = manifest.ground_truth
    if truth is not None and truth.resource is not None and truth.resource not in ids:
        problems.append(Problem(file=MANIFEST, field="ground_truth.resource", message=f"unknown resource {truth.resource!r}"))
    return problems


def _column_problems(file: str, frame_path: Path) -> list[Problem]:
    try:
        schema = pq.read_schema(frame_path)
    except (pa.ArrowInvalid, OSError) as exc:
        return [Problem(file=file, message=f"not a readable Parquet file: {exc}")]
    problems: list[Problem] = []
    for column, kind in COLUMNS[file].items():
        if column not in schema.names:
            problems.append(Problem(file=file, field=column, message="missing column"))
            continue
        dtype = schema.field(column).type
        if kind == "time":
            if pa.types.is_timestamp(dtype):
                continue
            if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
                values = pq.read_table(frame_path, columns=[column]).column(column).to_pandas()
                parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
                bad = values[parsed.isna() & values.notna()]
                if len(bad):
                    problems.append(Problem(
                        file=file, field=column,
                        message=f"not a valid timestamp in row {int(bad.index[0])}: {bad.iloc[0]!r} (use ISO 8601 UTC)",
                    ))
                continue
            problems.append(Problem(file=file, field=column, message=f"must hold timestamps, found {dtype}"))
        elif kind == "float" and not (pa.types.is_floating(dtype) or pa.types.is_integer(dtype)):
            problems.append(Problem(file=file, field=column, message=f"must be numeric, found {dtype}"))
        elif kind == "bool" and not pa.types.is_boolean(dtype):
            problems.append(Problem(file=file, field=column, message=f"must be true/false, found {dtype}"))
        elif kind.startswith("str") and not (pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_null(dtype)):
            problems.append(Problem(file=file, field=column, message=f"must be text, found {dtype}"))
    return problems


def _metric_value_problems(file: str, frame_path: Path) -> list[Problem]:
    """What the analyses cannot use in metrics: malformed dimensions, non-finite values, duplicate points."""
    frame = pd.read_parquet(frame_path, columns=list(COLUMNS[file]))
    problems: list[Problem] = []
    for row, text in zip(frame.index, frame["dimensions"]):
        if text is None or text == "":
            continue
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(file=file, field=f"dimensions, row {int(row)}", message=f"not valid JSON: {exc.msg}: {text!r}"))
            break
        if not isinstance(parsed, dict):
            problems.append(Problem(file=file, field=f"dimensions, row {int(row)}", message=f"must be a JSON object of name to value, found {text!r}"))
            break
    values = frame["value"].astype("float64")
    infinite = values[np.isinf(values.to_numpy())]
    if len(infinite):
        problems.append(Problem(
            file=file, field=f"value, row {int(infinite.index[0])}", blocking=False,
            message=f"{len(infinite)} infinite value(s), first {infinite.iloc[0]}: the investigation ignores them",
        ))
    series = ["resource", "namespace", "metric", "stat", "dimensions"]
    empty = values.isna().groupby([frame[c] for c in series], dropna=False).all()
    for key in empty[empty].index[:1]:
        problems.append(Problem(
            file=file, field="value", blocking=False,
            message=f"series {dict(zip(series, key))} holds only NaN values: it carries no data",
        ))
    repeated = frame.duplicated(subset=[*series, "timestamp"], keep="first")
    if repeated.any():
        first = int(repeated.idxmax())
        problems.append(Problem(
            file=file, field=f"row {first}", blocking=False,
            message=f"{int(repeated.sum())} duplicate point(s) (same series and timestamp as an earlier row): "
                    "the investigation counts each point once",
        ))
    return problems


def _jsonl_problems(file: str, path: Path, model: type) -> list[Problem]:
    problems: list[Problem] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(file=file, message=f"cannot be read: {exc}")]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            model.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(Problem(file=file, field=f"line {number}", message=f"not valid JSON: {exc.msg}"))
        except ValidationError as exc:
            problems.extend(_pydantic_problems(file, exc, prefix=f"line {number}: "))
    return problems


def validate_bundle(bundle: Path) -> list[Problem]:
    """Every problem found in the bundle at `bundle`; an empty list means it is valid."""
    if not bundle.exists():
        return [Problem(file=str(bundle), message="no such bundle directory")]
    if not bundle.is_dir():
        return [Problem(file=str(bundle), message="a bundle is a directory holding incident.yaml")]
    if bundle.name.endswith(PARTIAL_SUFFIX):
        return [Problem(file=str(bundle), message="an unfinished write (a recording interrupted midway): record it again")]
    _, problems = read_manifest(bundle)
    for entry in sorted(bundle.iterdir()):
        name = entry.name
        if name.startswith(".") or name in TOLERATED_FILES:
            continue
        if name not in KNOWN_FILES:
            problems.append(Problem(file=name, message=f"unknown file; a v1 bundle holds only {', '.join(sorted(KNOWN_FILES))}"))
        elif name in COLUMNS:
            column_problems = _column_problems(name, entry)
            problems.extend(column_problems)
            if name == METRICS and not column_problems:
                problems.extend(_metric_value_problems(name, entry))
        elif name == CHANGES:
            problems.extend(_jsonl_problems(name, entry, ChangeEvent))
        elif name == HEALTH:
            problems.extend(_jsonl_problems(name, entry, HealthEvent))
    # Name files by their full path so that a message is useful on its own.
    return [p.model_copy(update={"file": str(bundle / p.file)}) for p in problems]


def load_manifest(bundle: Path) -> IncidentManifest:
    """The manifest of a usable bundle, or BundleError naming the first problem.

    Problems the investigation handles itself (non-finite or duplicate points, ignored with
    a note) do not stop it; `validate` still lists them.
    """
    problems = [p for p in validate_bundle(bundle) if p.blocking]
    if problems:
        raise BundleError(problems)
    manifest, _ = read_manifest(bundle)
    assert manifest is not None  # validate_bundle reported no problem
    return manifest
