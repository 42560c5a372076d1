"""A bundle moved in time so that its incident happened minutes ago, in AWS's own shapes.

Everything is shifted by the same whole number of minutes (so one-minute metric periods
still line up): the end of the bundle's window lands within the last minute before "now".
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from domain.models import ChangeEvent, HealthEvent, as_utc
from tools.aws.dimensions import LOCATION_DIMENSIONS, STAT_DIMENSION, resource_for_dimensions
from tools.aws.statistics import default_stat
from tools.bundle.format import IncidentManifest
from tools.bundle.source import BundleSource
from tools.clean import clean_metric_points

XRAY_TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
RESOURCE_DIMENSION = "Resource"


def shift_for(manifest: IncidentManifest, now: datetime) -> timedelta:
    """Whole minutes that move the end of the bundle's window to within the last minute."""
    gap = as_utc(now) - manifest.window.end
    return timedelta(minutes=gap // timedelta(minutes=1))


class Scenario(BaseModel):
    """The shifted incident: what the seeder writes into moto and what the front layer serves."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    manifest: IncidentManifest  # already shifted
    shift: timedelta
    region: str
    metrics: pd.DataFrame
    logs: pd.DataFrame
    spans: pd.DataFrame
    changes: list[ChangeEvent]
    health: list[HealthEvent]

    @property
    def alarm_name(self) -> str:
        return self.manifest.trigger.alarm_name


def _shift_frame(frame: pd.DataFrame, columns: list[str], delta: timedelta) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True) + delta
    return frame


def load_scenario(bundle: Path, now: datetime, region: str) -> Scenario:
    source = BundleSource(bundle)
    manifest = source.manifest
    delta = shift_for(manifest, now)
    shifted = manifest.model_copy(deep=True)
    shifted.trigger.state_change_time = manifest.trigger.state_change_time + delta
    shifted.window.start, shifted.window.end = manifest.window.start + delta, manifest.window.end + delta
    if shifted.baseline is not None and manifest.baseline is not None:
        shifted.baseline.start, shifted.baseline.end = manifest.baseline.start + delta, manifest.baseline.end + delta
    changes = [e.model_copy(update={"time": e.time + delta}) for e in source._jsonl("changes.jsonl", ChangeEvent)]
    health = [
        e.model_copy(update={"start": e.start + delta, "end": None if e.end is None else e.end + delta})
        for e in source._jsonl("health.jsonl", HealthEvent)
    ]
    return Scenario(
        manifest=shifted, shift=delta, region=region,
        # Seeding skips what the investigation would ignore: PutMetricData rejects inf and NaN.
        metrics=_shift_frame(clean_metric_points(source._metrics)[0], ["timestamp"], delta),
        logs=_shift_frame(source._logs, ["timestamp"], delta),
        spans=_shift_frame(source._spans, ["start", "end"], delta),
        changes=changes, health=health,
    )


# -- metrics ----------------------------------------------------------------------------------


def seeded_dimensions(resource: str, metric: str, stat: str, dimensions: str | dict, known: set[str]) -> dict[str, str]:
    """Dimensions under which a bundle series is stored so that the live source reads it back
    as the same (resource, stat): the bundle's own dimensions when they already name the
    resource, else `Resource=<id>` added; a `Statistic` dimension when the live source would
    otherwise choose another statistic (percentiles, which moto cannot compute)."""
    dims = json.loads(dimensions) if isinstance(dimensions, str) and dimensions else dict(dimensions or {})
    dims = {str(k): str(v) for k, v in dims.items()}
    if resource_for_dimensions(dims, known | {resource}) != resource:
        dims[RESOURCE_DIMENSION] = resource
        if resource_for_dimensions(dims, known | {resource}) != resource:
            # Keep the location slices so per-zone series stay apart.
            dims = {RESOURCE_DIMENSION: resource, **{k: v for k, v in dims.items() if k in LOCATION_DIMENSIONS}}
    if stat != default_stat(metric):
        dims[STAT_DIMENSION] = stat
    return dims


# -- traces -----------------------------------------------------------------------------------


def xray_trace_id(trace_id: str, start: datetime) -> str:
    if XRAY_TRACE_ID.match(trace_id):
        return trace_id
    return f"1-{int(start.timestamp()):08x}-{hashlib.sha1(trace_id.encode()).hexdigest()[:24]}"


def segment_documents(spans: pd.DataFrame) -> list[str]:
    """One X-Ray segment document per span; a span's parent becomes the segment's parent_id."""
    if spans.empty:
        return []
    first_start = spans.groupby("trace_id")["start"].min().to_dict()
    docs = []
    for row in spans.itertuples(index=False):
        doc: dict[str, Any] = {
            "name": str(row.service),
            "id": str(row.span_id),
            "trace_id": xray_trace_id(str(row.trace_id), first_start[row.trace_id]),
            "start_time": row.start.timestamp(),
            "end_time": row.end.timestamp(),
        }
        if isinstance(row.parent_id, str) and row.parent_id:
            doc["parent_id"] = row.parent_id
        if row.operation:
            doc["annotations"] = {"operation": str(row.operation)}
        if isinstance(row.status, str) and row.status:
            doc["http"] = {"response": {"status": int(row.status) if row.status.isdigit() else row.status}}
        # moto flags a trace as faulty when the key exists at all, so only write true flags.
        if bool(row.error):
            doc["error"] = True
        if bool(row.fault):
            doc["fault"] = True
        docs.append(json.dumps(doc))
    return docs


# -- CloudTrail, Health, service graph, alarm history (served by the front layer) -----------


def cloudtrail_event(event: ChangeEvent, region: str) -> dict[str, Any]:
    detail = {
        "eventVersion": "1.09",
        "eventID": event.id,
        "eventTime": event.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": event.source,
        "eventName": event.event_name,
        "awsRegion": region,
        "readOnly": False,
        "userIdentity": {"arn": event.actor} if event.actor else {},
        "requestParameters": event.parameters,
    }
    item: dict[str, Any] = {
        "EventId": event.id,
        "EventName": event.event_name,
        "ReadOnly": "false",
        "EventTime": event.time,
        "EventSource": event.source,
        "CloudTrailEvent": json.dumps(detail, default=str),
        "Resources": [{"ResourceType": "", "ResourceName": event.resource}] if event.resource else [],
    }
    if event.actor:
        item["Username"] = event.actor
    return item


def health_arn(event: HealthEvent, region: str) -> str:
    if event.id.startswith("arn:"):
        return event.id
    return f"arn:aws:health:{event.region or region}::event/{event.service}/{event.event_type_code}/{event.id}"


def health_item(event: HealthEvent, region: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "arn": health_arn(event, region),
        "service": event.service,
        "eventTypeCode": event.event_type_code,
        "eventTypeCategory": event.category,
        "region": event.region or region,
        "startTime": event.start,
        "lastUpdatedTime": event.end or event.start,
        "statusCode": event.status if event.status in ("open", "closed", "upcoming") else "open",
        "eventScopeCode": "ACCOUNT_SPECIFIC",
    }
    if event.availability_zone:
        item["availabilityZone"] = event.availability_zone
    if event.end is not None:
        item["endTime"] = event.end
    return item


def service_graph(manifest: IncidentManifest) -> list[dict[str, Any]]:
    ids = [r.id for r in manifest.topology.resources]
    ref = {rid: i for i, rid in enumerate(ids)}
    return [
        {
            "ReferenceId": ref[r.id],
            "Name": r.id,
            "Names": [r.id],
            "Type": r.type,
            "State": "active",
            "Edges": [{"ReferenceId": ref[c]} for c in manifest.topology.callees(r.id) if c in ref],
        }
        for r in manifest.topology.resources
    ]


def alarm_history_item(manifest: IncidentManifest) -> dict[str, Any]:
    trigger = manifest.trigger
    data = {
        "version": "1.0",
        "oldState": {"stateValue": "OK"},
        "newState": {"stateValue": "ALARM", "stateReason": f"Threshold crossed (replayed from bundle {manifest.id})"},
    }
    return {
        "AlarmName": trigger.alarm_name,
        "AlarmType": "MetricAlarm",
        "Timestamp": trigger.state_change_time,
        "HistoryItemType": "StateUpdate",
        "HistorySummary": "Alarm updated from OK to ALARM",
        "HistoryData": json.dumps(data),
    }


def tagged_resources(manifest: IncidentManifest, region: str) -> list[dict[str, Any]]:
    """The topology's resources as tagging-API entries: their attributes as tags.

    The ARN ends in the resource id so the live source maps it back whatever the id holds."""
    return [
        {
            "ResourceARN": f"arn:aws:emulator:{region}:000000000000:resource/{r.id}",
            "Tags": [{"Key": k, "Value": str(v)} for k, v in sorted(r.attributes.items())],
        }
        for r in manifest.topology.resources
        if r.attributes
    ]
