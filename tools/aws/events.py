"""CloudTrail events -> ChangeEvent, AWS Health events -> HealthEvent."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from domain.models import ChangeEvent, HealthEvent, as_utc
from tools.aws.dimensions import names_resource

# Event names that only read, for trails that do not set `readOnly` (CloudTrail Lake exports, old events).
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Lookup", "BatchGet", "Head", "Search", "Select", "Filter", "Scan", "Query")


def is_read_only(event: Mapping[str, Any], detail: Mapping[str, Any]) -> bool:
    flag = detail.get("readOnly", event.get("ReadOnly"))
    if isinstance(flag, str):
        flag = flag.lower() == "true"
    if flag is not None:
        return bool(flag)
    return str(event.get("EventName", "")).startswith(READ_ONLY_PREFIXES)


def change_event(event: Mapping[str, Any], known: Iterable[str]) -> ChangeEvent | None:
    """A CloudTrail LookupEvents item as a ChangeEvent, or None for a read-only call."""
    detail: dict[str, Any] = {}
    if event.get("CloudTrailEvent"):
        try:
            detail = json.loads(event["CloudTrailEvent"])
        except (TypeError, ValueError):
            detail = {}
    if is_read_only(event, detail):
        return None
    known_set = set(known)
    names = [str(r.get("ResourceName")) for r in event.get("Resources") or [] if r.get("ResourceName")]
    resource = next((hit for n in names if (hit := names_resource(n, known_set))), names[0] if names else None)
    identity = detail.get("userIdentity") or {}
    actor = event.get("Username") or identity.get("arn") or identity.get("principalId")
    params = detail.get("requestParameters")
    time = event.get("EventTime") or detail.get("eventTime")
    return ChangeEvent(
        id=str(event.get("EventId") or detail.get("eventID")),
        time=time if isinstance(time, datetime) else datetime.fromisoformat(str(time).replace("Z", "+00:00")),
        source=str(event.get("EventSource") or detail.get("eventSource") or ""),
        event_name=str(event.get("EventName") or detail.get("eventName") or ""),
        resource=resource,
        actor=None if actor is None else str(actor),
        parameters=params if isinstance(params, dict) else {},
    )


def health_event(event: Mapping[str, Any], entities: Iterable[str], description: str, known: Iterable[str]) -> HealthEvent:
    known_set = set(known)
    affected = [names_resource(e, known_set) or e for e in entities]
    status = {"open": "open", "closed": "closed", "upcoming": "upcoming"}.get(str(event.get("statusCode", "open")), "open")
    end = event.get("endTime")
    return HealthEvent(
        id=str(event["arn"]),
        service=str(event.get("service", "")),
        event_type_code=str(event.get("eventTypeCode", "")),
        category=str(event.get("eventTypeCategory", "issue")),
        region=event.get("region"),
        availability_zone=event.get("availabilityZone"),
        start=as_utc(event["startTime"]),
        end=None if end is None else as_utc(end),
        status=status,
        affected_resources=affected,
        description=description,
    )
