"""Change analysis: what changed shortly before the onset, and what kind of change it was.

The most common cause of an incident is a change. A change is suspicious in proportion to
how close it came before the onset: the score decays with a half-life of `HALF_LIFE`
minutes and is zero for changes after the onset (they cannot have caused it) or older than
`LOOKBACK`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from domain.findings import ChangeDetails, ChangeKind, HealthDetails
from domain.models import ChangeEvent, Domain, Evidence, Finding, HealthEvent
from tools.analysis.constraints import constraint_named

LOOKBACK = timedelta(hours=3)
HALF_LIFE = timedelta(minutes=30)
# Events after the onset by less than this still count: clocks and alarm periods are coarse.
ONSET_SLACK = timedelta(minutes=2)

# First match wins: specific AWS nouns ("target group", "scaling policy", "security group")
# come before the generic IAM words ("group", "policy") that they contain.
_KIND_RULES: list[tuple[str, ChangeKind]] = [
    (r"securitygroup|networkacl|targetgroup|listener|route|vpc|subnet|gateway|endpoint|dns|recordset|hostedzone", "network"),
    (r"scal|desiredcapacity|capacity|concurrency|throughput|provisioned", "scaling"),
    (r"certificate", "certificate"),
    (r"policy|role|permission|grant|revoke|accesskey|user|group", "permission"),
    (r"functioncode|deployment|taskdefinition|updateservice|publishversion|alias|image|release|deploy", "deploy"),
    (r"parameter|config|setting|environment|secret|modify|update|put", "configuration"),
]
_compiled = [(re.compile(p, re.IGNORECASE), k) for p, k in _KIND_RULES]

_DOMAIN_OF_KIND: dict[ChangeKind, Domain] = {
    "deploy": "application",
    "configuration": "application",
    "permission": "infrastructure",
    "network": "network",
    "scaling": "infrastructure",
    "certificate": "network",
    "other": "application",
}


# An autoscaler's own actions (an ECS service or an Auto Scaling group scaled out) react to
# load the scaler measured: evidence of demand, never the cause of a failure.
_AUTOMATIC_SCALER = re.compile(r"autoscaling", re.IGNORECASE)


def automatic_scaling(event: ChangeEvent) -> bool:
    return bool(event.actor and _AUTOMATIC_SCALER.search(event.actor))


def change_kind(event: ChangeEvent) -> ChangeKind:
    if automatic_scaling(event):
        return "scaling"
    name = event.event_name
    for pattern, kind in _compiled:
        if pattern.search(name):
            return kind
    return "other"


def proximity(change_time: datetime, onset: datetime) -> float:
    """1.0 for a change right at the onset, 0.5 one half-life before, 0 after or too old."""
    lead = onset - change_time
    if lead < -ONSET_SLACK or lead > LOOKBACK:
        return 0.0
    return 0.5 ** (max(lead, timedelta(0)) / HALF_LIFE)


def change_findings(changes: list[ChangeEvent], *, reference: datetime) -> list[Finding]:
    """One finding per change, scored by how close before `reference` (the onset) it came."""
    findings = []
    for event in changes:
        kind = change_kind(event)
        score = 0.0 if automatic_scaling(event) else proximity(event.time, reference)
        resource = event.resource or "unknown"
        signal = f"{kind} change {event.event_name} ({event.id})"
        minutes = (reference - event.time).total_seconds() / 60
        # The time itself, not "N min before the onset": which onset it precedes, and by how
        # much, depends on the candidate it is weighed for (the ranking says it per hypothesis).
        when = f"at {event.time:%H:%M} UTC"
        findings.append(Finding(
            id=Finding.make_id("change", resource, event.id),
            domain=_DOMAIN_OF_KIND[kind],
            kind="change",
            resource=resource,
            signal=signal,
            summary=f"{kind} change {event.source} {event.event_name} on {resource} by {event.actor or 'unknown actor'}, {when}",
            onset=event.time,
            score=round(score, 4),
            evidence=Evidence(
                event_ids=[event.id],
                details=ChangeDetails(
                    event_id=event.id, change_kind=kind, event_name=event.event_name, source=event.source,
                    actor=event.actor, minutes_before_onset=round(minutes, 1), automatic=automatic_scaling(event),
                ),
            ),
        ))
    return findings


def _zone_resource(zone: str | None, zones: dict[str, str]) -> str | None:
    return zones.get(zone) if zone else None


def health_findings(events: list[HealthEvent], zones: dict[str, str] | None = None) -> list[Finding]:
    """AWS Health events that were open during the incident, one finding per affected resource.

    `zones` maps Availability Zone names to topology resource ids: a zonal event with no
    listed resources is about that zone.
    """
    findings = []
    for event in events:
        weight = 0.9 if event.category == "issue" else 0.3
        where = f" in {event.availability_zone}" if event.availability_zone else ""
        zone = _zone_resource(event.availability_zone, zones or {})
        fallback = [zone] if zone else [f"{event.service}{where}".strip()]
        for resource in event.affected_resources or fallback:
            signal = f"AWS Health {event.event_type_code}"
            findings.append(Finding(
                id=Finding.make_id("health", resource, event.id),
                domain="infrastructure",
                kind="health",
                resource=resource,
                signal=signal,
                summary=f"AWS Health {event.category} {event.event_type_code} for {event.service}{where}: {event.description[:160]}",
                onset=event.start,
                score=weight,
                evidence=Evidence(event_ids=[event.id], details=HealthDetails(
                    event_id=event.id, event_type_code=event.event_type_code, service=event.service,
                    category=event.category, region=event.region, availability_zone=event.availability_zone,
                    status=event.status, constraint=constraint_named(event.event_type_code, event.description),
                )),
            ))
    return findings
