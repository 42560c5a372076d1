"""Read-only tools Claude may call to dig deeper, over the investigation's TelemetrySource.

Every result is a `ToolResult` envelope, redacted, capped at `RESULT_CHARS` characters of
JSON, and says how to narrow a query that was cut. Identical repeated calls are refused.
Times are limited to the scope's windows: the model reads the incident, not the account.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from agent.reasoners.claude.compact import fenced_json
from agent.state import Scope
from domain.models import TimeWindow
from tools.redact import redact_text, redact_value
from tools.envelope import ToolResult
from tools.source import TelemetrySource

RESULT_CHARS = 6_000
LINE_CHARS = 300
MAX_LINES = 20
MAX_TRACES = 10

_WINDOW = {
    "type": "string", "enum": ["incident", "baseline"],
    "description": "which of the investigation's windows to read (default incident)",
}

TOOLS: list[dict[str, Any]] = [
    {
        "name": "metric_summary",
        "description": "Summary (count, min, mean, max, last) of one metric of one resource in the baseline and the "
                       "incident window, per statistic.",
        "input_schema": {"type": "object", "properties": {
            "resource": {"type": "string"}, "metric": {"type": "string"}}, "required": ["resource", "metric"]},
    },
    {
        "name": "search_logs",
        "description": f"Log lines of one resource containing a term (case-insensitive), at most {MAX_LINES}, "
                       "with the number of matches.",
        "input_schema": {"type": "object", "properties": {
            "resource": {"type": "string"}, "term": {"type": "string", "minLength": 2}, "window": _WINDOW},
            "required": ["resource", "term"]},
    },
    {
        "name": "slowest_traces",
        "description": f"The slowest spans of a service (optionally one operation) in a window, at most {MAX_TRACES}.",
        "input_schema": {"type": "object", "properties": {
            "service": {"type": "string"}, "operation": {"type": "string"}, "window": _WINDOW},
            "required": ["service"]},
    },
    {
        "name": "change_details",
        "description": "The full record of one change event by its id (as cited in a change finding's change_ids).",
        "input_schema": {"type": "object", "properties": {"change_id": {"type": "string"}}, "required": ["change_id"]},
    },
]


class Digger:
    """Runs the model's tool calls; one per investigation, so it can refuse repeats."""

    def __init__(self, source: TelemetrySource, scope: Scope):
        self.source, self.scope = source, scope
        self.seen: set[str] = set()

    def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        key = name + json.dumps(arguments, sort_keys=True, default=str)
        if key in self.seen:
            return ToolResult.failure(name, "error", "identical call already made; its result is above", arguments)
        self.seen.add(key)
        handler = getattr(self, f"_{name}", None)
        if handler is None or name not in {t["name"] for t in TOOLS}:
            return ToolResult.failure(name, "error", f"no such tool; use one of {', '.join(t['name'] for t in TOOLS)}", arguments)
        try:
            return handler(arguments)
        except (KeyError, TypeError, ValueError) as exc:  # a malformed call is the model's error, reported back to it
            return ToolResult.failure(name, "error", f"bad arguments: {exc}", arguments)

    def _window(self, arguments: dict[str, Any]) -> TimeWindow:
        return self.scope.baseline if arguments.get("window") == "baseline" else self.scope.incident

    def _metric_summary(self, args: dict[str, Any]) -> ToolResult:
        resource, metric = str(args["resource"]), str(args["metric"])
        summary: dict[str, Any] = {}
        for label, window in (("baseline", self.scope.baseline), ("incident", self.scope.incident)):
            result = self.source.metrics(window, [resource])
            if not result.ok:
                return ToolResult.failure("metric_summary", result.status, result.error or "unreadable", args)
            frame = result.data
            rows = frame[frame["metric"] == metric] if frame is not None and not frame.empty else pd.DataFrame()
            for stat, group in (rows.groupby("stat") if not rows.empty else []):
                values = group.sort_values("timestamp")["value"].astype(float)
                summary.setdefault(stat, {})[label] = {
                    "count": int(values.size), "min": round(float(values.min()), 4), "mean": round(float(values.mean()), 4),
                    "max": round(float(values.max()), 4), "last": round(float(values.iloc[-1]), 4)}
        if not summary:
            return ToolResult.success("metric_summary", {}, args, empty=True,
                                      note=f"no {metric} points for {resource}; check the names in the findings")
        return ToolResult.success("metric_summary", summary, args)

    def _search_logs(self, args: dict[str, Any]) -> ToolResult:
        resource, term = str(args["resource"]), str(args["term"])
        result = self.source.logs(self._window(args), [resource], limit=50_000)
        if not result.ok:
            return ToolResult.failure("search_logs", result.status, result.error or "unreadable", args)
        frame = result.data
        if frame is None or frame.empty:
            return ToolResult.success("search_logs", {"matches": 0, "lines": []}, args, empty=True)
        hits = frame[frame["message"].astype(str).str.contains(term, case=False, regex=False)]
        lines = [f"{pd.Timestamp(t).isoformat()} {redact_text(str(m))[:LINE_CHARS]}"
                 for t, m in zip(hits["timestamp"].head(MAX_LINES), hits["message"].head(MAX_LINES))]
        cut = len(hits) > MAX_LINES or bool(result.truncated)
        return ToolResult.success(
            "search_logs", {"matches": int(len(hits)), "lines": lines}, args, empty=hits.empty, truncated=cut,
            note="showing the first lines only: use a more specific term, or the baseline window to compare" if cut else None)

    def _slowest_traces(self, args: dict[str, Any]) -> ToolResult:
        service = str(args["service"])
        result = self.source.spans(self._window(args), [service], limit=200_000)
        if not result.ok:
            return ToolResult.failure("slowest_traces", result.status, result.error or "unreadable", args)
        frame = result.data
        if frame is not None and not frame.empty:
            frame = frame[frame["service"] == service]
            if args.get("operation"):
                frame = frame[frame["operation"] == args["operation"]]
        if frame is None or frame.empty:
            return ToolResult.success("slowest_traces", {"spans": 0, "slowest": []}, args, empty=True)
        durations = (pd.to_datetime(frame["end"], utc=True) - pd.to_datetime(frame["start"], utc=True)).dt.total_seconds() * 1000
        frame = frame.assign(duration_ms=durations.round(1)).sort_values("duration_ms", ascending=False)
        slowest = [
            {"trace_id": str(r.trace_id), "operation": redact_text(str(r.operation))[:LINE_CHARS],
             "duration_ms": float(r.duration_ms), "error": bool(r.error), "fault": bool(r.fault)}
            for r in frame.head(MAX_TRACES).itertuples()
        ]
        return ToolResult.success(
            "slowest_traces", {"spans": int(len(frame)), "median_ms": round(float(frame["duration_ms"].median()), 1),
                               "slowest": slowest}, args,
            truncated=len(frame) > MAX_TRACES,
            note=f"the {MAX_TRACES} slowest of {len(frame)}: name an operation to narrow" if len(frame) > MAX_TRACES else None)

    def _change_details(self, args: dict[str, Any]) -> ToolResult:
        change_id = str(args["change_id"])
        window = TimeWindow(start=min(self.scope.baseline.start, self.scope.incident.start), end=self.scope.incident.end)
        result = self.source.changes(window)
        if not result.ok:
            return ToolResult.failure("change_details", result.status, result.error or "unreadable", args)
        match = next((c for c in result.data or [] if c.id == change_id), None)
        if match is None:
            return ToolResult.success("change_details", None, args, empty=True,
                                      note="no change with that id in the investigation's windows")
        return ToolResult.success("change_details", redact_value(match.model_dump(mode="json")), args)


def envelope_text(result: ToolResult) -> str:
    """The envelope as fenced JSON, cut to RESULT_CHARS with the cut said in the envelope itself."""
    body = result.model_dump(mode="json")
    text = fenced_json(body)
    if len(text) <= RESULT_CHARS:
        return text
    data = fenced_json(body.get("data"))[: RESULT_CHARS // 2]
    body.update(data=data + "…", truncated=True,
                note=(body.get("note") or "") + f" result cut to {RESULT_CHARS} characters: narrow the query")
    return fenced_json(body)

