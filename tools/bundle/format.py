"""Recorded-incident bundle, format v1 (see docs/bundle-format.md).

A bundle is a directory:

    incident.yaml      required: id, title, trigger, window, topology, optional baseline/ground_truth
    metrics.parquet    optional, long form: resource, namespace, metric, stat, dimensions, timestamp, value
    logs.parquet       optional: timestamp, resource, log_group, log_stream, message, trace_id
    spans.parquet      optional: trace_id, span_id, parent_id, service, operation, start, end, error, fault, status
    changes.jsonl      optional: one ChangeEvent per line (CloudTrail-shaped)
    health.jsonl       optional: one HealthEvent per line
"""

from __future__ import annotations

from pydantic import Field

from domain.models import GroundTruth, Model, TimeWindow, Topology, Trigger

FORMAT_VERSION = 1
MANIFEST = "incident.yaml"
METRICS = "metrics.parquet"
LOGS = "logs.parquet"
SPANS = "spans.parquet"
CHANGES = "changes.jsonl"
HEALTH = "health.jsonl"
KNOWN_FILES = {MANIFEST, METRICS, LOGS, SPANS, CHANGES, HEALTH}
# Files a human may leave beside the data without making the bundle invalid.
TOLERATED_FILES = {"README.md", "NOTES.md", ".gitattributes"}
# A bundle being written lives under a name ending so and is renamed when complete.
PARTIAL_SUFFIX = ".partial"

# Required columns and the kind of value each holds ("time", "str", "float", "bool").
COLUMNS: dict[str, dict[str, str]] = {
    METRICS: {
        "resource": "str", "namespace": "str", "metric": "str", "stat": "str",
        "dimensions": "str", "timestamp": "time", "value": "float",
    },
    LOGS: {
        "timestamp": "time", "resource": "str", "log_group": "str", "log_stream": "str",
        "message": "str", "trace_id": "str?",
    },
    SPANS: {
        "trace_id": "str", "span_id": "str", "parent_id": "str?", "service": "str", "operation": "str",
        "start": "time", "end": "time", "error": "bool", "fault": "bool", "status": "str?",
    },
}


class IncidentManifest(Model):
    """The contents of `incident.yaml`."""

    format_version: int = FORMAT_VERSION
    id: str = Field(min_length=1)
    title: str
    description: str = ""
    trigger: Trigger
    window: TimeWindow = Field(description="the incident window the investigation looks at")
    baseline: TimeWindow | None = Field(
        default=None, description="a normal-operation window to compare against; default: before `window`"
    )
    topology: Topology
    region: str | None = Field(default=None, description="the AWS region it was recorded in, for console links")
    ground_truth: GroundTruth | None = None
