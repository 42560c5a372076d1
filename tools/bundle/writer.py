"""Write a bundle. Every producer (demo, importers, game days, `record`) goes through here."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import yaml

from domain.models import ChangeEvent, HealthEvent
from tools.bundle.format import CHANGES, COLUMNS, HEALTH, LOGS, MANIFEST, METRICS, SPANS, IncidentManifest


def _normalise(frame: pd.DataFrame, file: str) -> pd.DataFrame:
    spec = COLUMNS[file]
    missing = [c for c in spec if c not in frame.columns]
    for column in missing:
        if spec[column].endswith("?"):
            frame = frame.assign(**{column: None})
        elif spec[column] == "bool":
            frame = frame.assign(**{column: False})
        else:
            raise ValueError(f"{file}: missing column {column!r}")
    out = frame[list(spec)].copy()
    for column, kind in spec.items():
        if kind == "time":
            out[column] = pd.to_datetime(out[column], utc=True).astype("datetime64[ms, UTC]")
        elif kind == "float":
            out[column] = out[column].astype("float64")
        elif kind == "bool":
            out[column] = out[column].fillna(False).astype(bool)
        elif column == "dimensions":
            out[column] = [v if isinstance(v, str) else json.dumps(v or {}, sort_keys=True) for v in out[column]]
        else:
            out[column] = out[column].astype("string").astype(object).where(out[column].notna(), None)
    return out


def write_bundle(
    out: Path,
    manifest: IncidentManifest,
    *,
    metrics: pd.DataFrame | None = None,
    logs: pd.DataFrame | None = None,
    spans: pd.DataFrame | None = None,
    changes: Iterable[ChangeEvent] = (),
    health: Iterable[HealthEvent] = (),
) -> Path:
    """Write `manifest` and telemetry under `out` (created if needed); returns `out`."""
    out.mkdir(parents=True, exist_ok=True)
    body = manifest.model_dump(mode="json", exclude_none=True)
    (out / MANIFEST).write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for name, frame in ((METRICS, metrics), (LOGS, logs), (SPANS, spans)):
        if frame is not None and len(frame):
            sort_key = "start" if name == SPANS else "timestamp"
            _normalise(frame, name).sort_values(sort_key, kind="stable").to_parquet(
                out / name, index=False, compression="zstd"
            )
    for name, events in ((CHANGES, list(changes)), (HEALTH, list(health))):
        if events:
            lines = [json.dumps(e.model_dump(mode="json", exclude_none=True), sort_keys=True) for e in events]
            (out / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
