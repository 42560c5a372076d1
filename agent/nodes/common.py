"""Helpers the domain nodes share: reading through the source and turning gaps into findings."""

from __future__ import annotations

import pandas as pd

from domain.findings import GapDetails
from domain.models import Domain, Evidence, Finding, TimeWindow
from agent.state import Scope
from tools.analysis.resolution import standard_resolution
from tools.clean import clean_metric_points
from tools.envelope import ToolResult
from tools.source import TelemetrySource


def gap_finding(domain: Domain, result: ToolResult) -> Finding:
    """A source that could not be read is reported, not hidden: the engineer must know what was not seen."""
    signal = f"{result.tool} unavailable"
    return Finding(
        id=Finding.make_id("gap", result.tool, signal),
        domain=domain, kind="gap", resource=result.tool, signal=signal,
        summary=f"could not read {result.tool} ({result.status}): {result.error}",
        score=0.0,
        evidence=Evidence(details=GapDetails(tool=result.tool, status=result.status, error=result.error or "")),
    )


def read_frames(
    read, windows: list[TimeWindow], domain: Domain
) -> tuple[list[pd.DataFrame | None], list[Finding], list[str]]:
    """Call `read(window)` for each window; failures become gap findings, truncation a note."""
    frames: list[pd.DataFrame | None] = []
    gaps: list[Finding] = []
    notes: list[str] = []
    for window in windows:
        result: ToolResult = read(window)
        if not result.ok:
            frames.append(None)
            if not any(g.resource == result.tool for g in gaps):
                gaps.append(gap_finding(domain, result))
            continue
        frames.append(result.data)
        if result.truncated and result.note:
            notes.append(f"{result.tool}: {result.note}")
    return frames, gaps, notes


def metrics_for(source: TelemetrySource, scope: Scope, domain: Domain):
    """Baseline and incident metric points of the scope's resources and neighbours (one frame), gaps, notes."""
    windows = [scope.baseline, scope.incident]
    if scope.baseline.end >= scope.incident.start and scope.incident.end >= scope.baseline.start:
        # Touching or overlapping windows: one read of their union has no duplicates to
        # remove (drop_duplicates over millions of rows was most of the time and memory).
        windows = [TimeWindow(start=min(w.start for w in windows), end=max(w.end for w in windows))]
    # The neighbours' metrics too: the ranking reads their request volume (a noisy neighbour).
    resources = [*scope.resources, *scope.neighbours]
    frames, gaps, notes = read_frames(lambda w: source.metrics(w, resources), windows, domain)
    present = [f for f in frames if f is not None and not f.empty]
    if len(present) > 1:
        frame = pd.concat(present, ignore_index=True).drop_duplicates()
    else:
        frame = present[0] if present else pd.DataFrame()
    frame, note = clean_metric_points(frame)
    if note:
        notes.append(f"metrics: {note}")
    frame, note = standard_resolution(frame)
    if note:
        notes.append(f"metrics: {note}")
    return frame, gaps, notes
