"""X-Ray segment documents -> spans (SPAN_COLUMNS), and trace parent/child -> edges.

A segment is one service's view of a request; its subsegments are local work or calls to
downstream services. Every segment and subsegment becomes one span:

- service: the segment's `name`; for a subsegment in namespace `remote` or `aws` (a call to
  a downstream) the subsegment's `name`, otherwise the enclosing segment's service;
- operation: `aws.operation`, else `METHOD path` of `http.request`, else the `operation`
  annotation, else (subsegments) the subsegment's name;
- status: `http.response.status`; error/fault: the document's flags.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

from domain.models import Edge

DOWNSTREAM_NAMESPACES = {"remote", "aws"}


def _time(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


def _operation(doc: Mapping[str, Any], *, fallback: str = "") -> str:
    aws = doc.get("aws") or {}
    if isinstance(aws, Mapping) and aws.get("operation"):
        return str(aws["operation"])
    request = (doc.get("http") or {}).get("request") or {}
    if request.get("method") or request.get("url"):
        path = urlparse(str(request.get("url", ""))).path or str(request.get("url", ""))
        return f"{request.get('method', '')} {path}".strip()
    annotations = doc.get("annotations") or {}
    if annotations.get("operation"):
        return str(annotations["operation"])
    return fallback


def _status(doc: Mapping[str, Any]) -> str | None:
    status = ((doc.get("http") or {}).get("response") or {}).get("status")
    return None if status is None else str(status)


def _span(doc: Mapping[str, Any], trace_id: str, parent_id: str | None, service: str, *, fallback_op: str) -> dict[str, Any]:
    start = _time(doc["start_time"])
    end = _time(doc.get("end_time", doc["start_time"]))
    return {
        "trace_id": trace_id,
        "span_id": str(doc["id"]),
        "parent_id": parent_id,
        "service": service,
        "operation": _operation(doc, fallback=fallback_op),
        "start": start,
        "end": end,
        "error": bool(doc.get("error", False)),
        "fault": bool(doc.get("fault", False)),
        "status": _status(doc),
    }


def segment_spans(document: Mapping[str, Any] | str) -> list[dict[str, Any]]:
    """All spans of one segment document (the segment, then its subsegments depth first)."""
    doc = json.loads(document) if isinstance(document, str) else document
    trace_id = str(doc.get("trace_id", ""))
    service = str(doc["name"])
    spans = [_span(doc, trace_id, doc.get("parent_id"), service, fallback_op="")]

    def walk(children: Iterable[Mapping[str, Any]], parent_id: str, parent_service: str) -> None:
        for sub in children:
            downstream = sub.get("namespace") in DOWNSTREAM_NAMESPACES
            sub_service = str(sub.get("name")) if downstream else parent_service
            spans.append(_span(sub, trace_id, parent_id, sub_service, fallback_op=str(sub.get("name", ""))))
            walk(sub.get("subsegments") or [], str(sub["id"]), sub_service)

    walk(doc.get("subsegments") or [], str(doc["id"]), service)
    return spans


def trace_spans(trace: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Spans of one BatchGetTraces trace; the trace id is the trace's, whatever the documents say."""
    spans: list[dict[str, Any]] = []
    for segment in trace.get("Segments") or []:
        for span in segment_spans(segment["Document"]):
            span["trace_id"] = str(trace["Id"])
            spans.append(span)
    return spans


def edges_from_spans(spans: Iterable[Mapping[str, Any]]) -> list[Edge]:
    """caller -> callee wherever a span's parent belongs to another service."""
    rows = list(spans)
    service_of = {(r["trace_id"], r["span_id"]): r["service"] for r in rows}
    pairs: set[tuple[str, str]] = set()
    for row in rows:
        if not row.get("parent_id"):
            continue
        caller = service_of.get((row["trace_id"], row["parent_id"]))
        if caller is not None and caller != row["service"]:
            pairs.add((caller, row["service"]))
    return [Edge(caller=c, callee=d) for c, d in sorted(pairs)]


def service_graph_edges(services: Iterable[Mapping[str, Any]]) -> tuple[list[tuple[str, str]], list[Edge]]:
    """(node name, node type) pairs and edges of a GetServiceGraph answer."""
    services = list(services)
    by_ref = {s.get("ReferenceId"): str(s.get("Name", "")) for s in services}
    nodes = [(str(s.get("Name", "")), str(s.get("Type", "service"))) for s in services if s.get("Name")]
    edges = {
        (str(s.get("Name")), by_ref[e.get("ReferenceId")])
        for s in services
        for e in s.get("Edges") or []
        if s.get("Name") and e.get("ReferenceId") in by_ref and by_ref[e.get("ReferenceId")] != s.get("Name")
    }
    return nodes, [Edge(caller=c, callee=d) for c, d in sorted(edges)]
