"""The post-incident report in the correction-of-error shape, built from a stored revision.

Everything in it is derived from the investigation and the engineers' decisions: the root
cause of record is the hypothesis someone accepted (without one, the report says the root
cause is not yet confirmed and reasons from the leading hypothesis, marked provisional);
every "why" cites a finding; action items follow from the cause category.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.models import Cause, Finding, Hypothesis, Investigation
from agent.decisions import verdicts

Priority = Literal["P1", "P2", "P3"]
UNASSIGNED = "unassigned"
# Another hypothesis is worth naming as a contributing factor only when the ranker gave it at
# least this calibrated probability; below it, it is noise the reader should not chase.
CONTRIBUTING_MIN_CONFIDENCE = 0.1


class Impact(BaseModel):
    metric: str
    resource: str
    finding_id: str | None = None
    baseline_value: float | None = None
    incident_value: float | None = None
    unit: str | None = None
    start: datetime | None = None
    end: datetime | None = Field(default=None, description="None: still anomalous when the data ends (ongoing)")
    duration_s: float | None = None
    text: str


class Detection(BaseModel):
    onset: datetime | None
    alarm_time: datetime
    time_to_detect_s: float | None = Field(description="alarm time minus onset; None when no onset was measured")


class Why(BaseModel):
    question: str
    answer: str
    finding_id: str
    by: str | None = Field(default=None, description="the engineer whose note gave this answer")


class ActionItem(BaseModel):
    cause: Cause
    text: str
    priority: Priority
    owner: str
    practice: str | None = Field(default=None, description="AWS Well-Architected best practice id")


class DiscardedItem(BaseModel):
    target_id: str
    kind: Literal["finding", "hypothesis"]
    what: str
    by: str
    at: datetime
    why: str


class CitedFinding(BaseModel):
    id: str
    resource: str
    summary: str
    onset: datetime | None = None


class CoeReport(BaseModel):
    investigation_id: str
    revision: int
    alarm: str
    resource: str
    summary: str
    impact: Impact
    detection: Detection
    timeline: list[dict[str, Any]]
    root_cause_confirmed: bool
    root_cause: Hypothesis | None = Field(description="accepted hypothesis, else the leading one (provisional)")
    accepted_by: str | None = None
    evidence: list[CitedFinding]
    propagation_path: list[str]
    five_whys: list[Why]
    contributing_factors: list[str]
    action_items: list[ActionItem]
    discarded: list[DiscardedItem]
    limits: list[str]


# Action items per cause category: (text, Well-Architected practice). The first is the P1.
ACTIONS: dict[str, list[tuple[str, str | None]]] = {
    "change": [
        ("Roll out changes to {resource} gradually with canary alarms on the alarmed metric", "OPS06-BP03"),
        ("Roll back automatically when a deployment's alarms fire", "OPS06-BP04"),
    ],
    "constraint": [
        ("Monitor the quotas and limits {resource} runs against, alarming well before the limit", "REL01-BP06"),
        ("Alarm on expiry (certificates, credentials, reservations) ahead of time", "REL06-BP01"),
    ],
    "dependency": [
        ("Set explicit timeouts on {resource}'s calls to its dependencies", "REL05-BP05"),
        ("Retry with exponential backoff and jitter, with a retry budget", "REL05-BP03"),
        ("Add a circuit breaker / graceful degradation for the failing dependency", "REL05-BP01"),
    ],
    "traffic": [
        ("Review {resource}'s scaling policy against the observed load", "REL07-BP01"),
        ("Shed or throttle load beyond capacity instead of failing every request", "REL05-BP02"),
    ],
    "component": [
        ("Run {resource} redundantly across Availability Zones", "REL10-BP01"),
        ("Prepare zonal shift / failover to healthy capacity and rehearse it", "REL11-BP02"),
    ],
    "unknown": [
        ("Add the telemetry this investigation lacked so the cause can be identified next time", "REL06-BP01"),
    ],
}

CAUSE_WHY = {
    "change": "Why did {resource} start failing then?",
    "constraint": "Why did {resource} hit a limit?",
    "dependency": "Why did {resource}'s dependency affect it?",
    "traffic": "Why could {resource} not absorb the load?",
    "component": "Why did {resource} fail?",
    "unknown": "Why did {resource} fail?",
}


def _detail(finding: Finding, key: str) -> Any:
    details = finding.evidence.details
    return details.get(key) if isinstance(details, dict) else getattr(details, key, None)


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def _impact(inv: Investigation) -> Impact:
    trig = inv.trigger
    on_alarm = [f for f in inv.findings if f.resource == trig.resource and f.kind == "metric" and trig.metric in f.signal]
    if not on_alarm:
        return Impact(metric=trig.metric, resource=trig.resource,
                      text=f"{trig.metric} on {trig.resource} shows no sustained anomaly against its baseline")
    f = max(on_alarm, key=lambda x: (x.score, x.id))
    until, seen = _as_time(_detail(f, "until")), _as_time(_detail(f, "observed_until"))
    end = until if until is not None and seen is not None and until < seen else None
    duration = (end - f.onset).total_seconds() if end is not None and f.onset is not None else None
    return Impact(metric=trig.metric, resource=trig.resource, finding_id=f.id, baseline_value=f.evidence.baseline_value,
                  incident_value=f.evidence.incident_value, unit=f.evidence.unit, start=f.onset, end=end,
                  duration_s=duration, text=f.summary)


def _path(hyp: Hypothesis, cited: list[Finding], alarmed: str) -> list[str]:
    """Resources from the cause to the alarm: the hypothesis's own path when it has one,
    else the cited findings' resources in onset order, ending at the alarmed resource."""
    own = getattr(hyp, "path", None) or getattr(hyp, "propagation_path", None)
    if own:
        return [getattr(step, "resource", step) for step in own]
    path = [hyp.resource]
    for f in sorted(cited, key=lambda x: (x.onset is None, x.onset.timestamp() if x.onset else 0.0, x.id)):
        if f.resource not in path:
            path.append(f.resource)
    if alarmed not in path:
        path.append(alarmed)
    return path


def _strongest(findings: list[Finding], resource: str) -> Finding | None:
    own = [f for f in findings if f.resource == resource and f.kind != "change"]
    return max(own, key=lambda f: (f.score, f.id)) if own else None


def _whys(inv: Investigation, hyp: Hypothesis, cited: list[Finding], path: list[str], impact: Impact,
          notes: list) -> list[Why]:
    by_id = {f.id: f for f in inv.findings}
    whys: list[Why] = []
    if impact.finding_id:
        whys.append(Why(question=f"Why did the alarm {inv.trigger.alarm_name} fire?",
                        answer=impact.text, finding_id=impact.finding_id))
    # Walk the path back from the alarmed resource to the cause: each hop is a why.
    for callee, caller in zip(reversed(path[:-1]), reversed(path[1:])):
        f = _strongest(cited, callee) or _strongest(inv.findings, callee)
        if f is not None:
            whys.append(Why(question=f"Why did {caller} fail?", answer=f"Because {callee} did: {f.summary}", finding_id=f.id))
    changes = [f for f in cited if f.kind == "change"]
    if hyp.cause == "change" and changes:
        c = min(changes, key=lambda f: (f.onset is None, f.onset or inv.trigger.state_change_time))
        whys.append(Why(question=CAUSE_WHY["change"].format(resource=hyp.resource),
                        answer=f"Because of a change shortly before: {c.summary}", finding_id=c.id))
    elif hyp.cause != "change":
        rest = [f for f in cited if f.id not in {w.finding_id for w in whys}]
        if rest:
            f = max(rest, key=lambda x: (x.score, x.id))
            whys.append(Why(question=CAUSE_WHY[hyp.cause].format(resource=hyp.resource), answer=f.summary, finding_id=f.id))
    anchor = whys[-1].finding_id if whys else (cited[0].id if cited else None)
    for note in notes:
        # An engineer's note on the root cause goes deeper than the data: it answers the next why.
        if anchor is not None and note.note:
            whys.append(Why(question="Why was that possible?", answer=note.note, finding_id=anchor, by=note.by))
    return [w for w in whys if w.finding_id in by_id][:5]


def build_report(inv: Investigation, *, owner: str = "", history: list[Investigation] | None = None) -> CoeReport:
    """The report of `inv`; `history` (earlier revisions) names what was discarded before it."""
    decided = verdicts(inv.decisions)
    by_id = {f.id: f for f in inv.findings}
    confirmed = inv.root_cause is not None
    hyp = inv.root_cause or next((h for h in inv.hypotheses if not decided.is_discarded(h.id)), None)
    impact = _impact(inv)
    onset = None
    cited: list[Finding] = []
    path: list[str] = []
    whys: list[Why] = []
    actions: list[ActionItem] = []
    if hyp is not None:
        cited = [by_id[i] for i in hyp.supporting_findings if i in by_id and not decided.is_discarded(i)]
        cited += [by_id[i] for i in decided.accepted if i in by_id and by_id[i] not in cited]
        onsets = [f.onset for f in cited if f.onset is not None and f.kind != "change"]
        onset = min(onsets) if onsets else None
        path = _path(hyp, cited, inv.trigger.resource)
        whys = _whys(inv, hyp, cited, path, impact, decided.notes.get(hyp.id, []))
        for n, (text, practice) in enumerate(ACTIONS[hyp.cause]):
            actions.append(ActionItem(cause=hyp.cause, text=text.format(resource=hyp.resource),
                                      priority="P1" if n == 0 else "P2", owner=owner or UNASSIGNED, practice=practice))
    if onset is None:
        onset = impact.start
    alarm_time = inv.trigger.state_change_time
    detection = Detection(onset=onset, alarm_time=alarm_time,
                          time_to_detect_s=(alarm_time - onset).total_seconds() if onset is not None else None)
    contributing = [
        f"{h.resource} ({h.cause}): {h.title}" for h in inv.hypotheses
        if hyp is not None and h.id != hyp.id and not decided.is_discarded(h.id) and h.confidence >= CONTRIBUTING_MIN_CONFIDENCE
    ]
    contributing += [f"accepted finding {i}: {by_id[i].summary}" for i in decided.accepted
                     if i in by_id and by_id[i] not in cited]
    accepted_by = None
    if confirmed:
        accepted_by = next((d.by for d in sorted(inv.decisions, key=lambda d: d.at, reverse=True)
                            if d.target_id == inv.root_cause.id and d.verdict == "accepted"), None)
    return CoeReport(
        investigation_id=inv.id, revision=inv.revision, alarm=inv.trigger.alarm_name, resource=inv.trigger.resource,
        summary=_summary(inv, hyp, confirmed, impact),
        impact=impact, detection=detection,
        timeline=[t.model_dump(mode="json") for t in inv.timeline],
        root_cause_confirmed=confirmed, root_cause=hyp, accepted_by=accepted_by,
        evidence=[CitedFinding(id=f.id, resource=f.resource, summary=f.summary, onset=f.onset) for f in cited],
        propagation_path=path, five_whys=whys, contributing_factors=contributing, action_items=actions,
        discarded=_discarded(inv, decided, history or []), limits=[f.summary for f in inv.findings if f.kind == "gap"] + inv.notes,
    )


def _summary(inv: Investigation, hyp: Hypothesis | None, confirmed: bool, impact: Impact) -> str:
    trig = inv.trigger
    head = f"The alarm {trig.alarm_name} went to ALARM on {trig.resource} ({trig.metric}) at {trig.state_change_time:%Y-%m-%d %H:%M:%S} UTC."
    if hyp is None:
        return f"{head} Root cause not yet confirmed: the investigation found no supported hypothesis."
    if confirmed:
        return f"{head} Root cause of record: {hyp.title}."
    return f"{head} Root cause not yet confirmed; the leading hypothesis is {hyp.title}."


def _discarded(inv: Investigation, decided, history: list[Investigation]) -> list[DiscardedItem]:
    findings = {f.id: f for earlier in [*history, inv] for f in earlier.findings}
    hypotheses = {h.id: h for earlier in [*history, inv] for h in earlier.hypotheses}
    items = []
    for target in decided.discarded:
        last = max((d for d in inv.decisions if d.target_id == target and d.verdict == "discarded"), key=lambda d: d.at)
        if target in findings:
            kind, what = "finding", findings[target].summary
        elif target in hypotheses:
            kind, what = "hypothesis", hypotheses[target].title
        else:
            kind, what = "finding", "(not in the revisions kept)"
        items.append(DiscardedItem(target_id=target, kind=kind, what=what, by=last.by, at=last.at,
                                   why=last.note or "no reason given"))
    return items


_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|#"})


def md(text: object) -> str:
    """Untrusted text (log lines, resource names) as inert Markdown on one line."""
    return " ".join(str(text).split()).translate(_MARKDOWN_SPECIAL)


def ts(value: datetime | str | None) -> str:
    moment = _as_time(value)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else "unknown"


def dur(seconds: float) -> str:
    seconds = int(round(seconds))
    minutes, secs = divmod(abs(seconds), 60)
    sign = "-" if seconds < 0 else ""
    return f"{sign}{minutes} min {secs:02d} s" if minutes else f"{sign}{secs} s"


def num(value: float) -> str:
    return f"{value:.4g}"


def render_markdown(report: CoeReport) -> str:
    from agent.report import template

    text = template("coe_report.md.j2", {"md": md, "ts": ts, "dur": dur, "num": num}).render(r=report)
    return text.rstrip("\n") + "\n"  # one final newline whichever optional section ends it
