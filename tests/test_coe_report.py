"""The post-incident report of a small hand-made incident, checked line by line.

The incident: a deploy of `orders` at 09:58:00 makes its errors rise from 10:00:30; `web`,
which calls it, returns 5xx from 10:01:00 until 10:20:00 (the data runs to 10:30:00, so it
ended); the alarm fired at 10:05:00. Alice accepted the orders hypothesis, discarded a noisy
log finding with a reason and added a note. The expected text below was written from that
story and the report's rules, not copied from the output:
- time to detect = 10:05:00 - 10:00:30 (earliest non-change onset of the evidence) = 4 min 30 s;
- impact lasts 10:01:00 -> 10:20:00 = 19 min 00 s;
- path orders -> web (the cause, then the alarmed resource); whys: the alarm (web's 5xx
  finding), web because of orders (orders' strongest non-change finding), the change, then
  Alice's note answering the next why, anchored on the change;
- web's hypothesis (30 %) is a contributing factor (>= 10 %);
- Markdown in untrusted text (backticks, pipes, brackets, underscores) is escaped.
"""

from __future__ import annotations

from datetime import datetime, timezone

from domain.findings import MetricDetails
from domain.models import Decision, Evidence, Finding, Hypothesis, Investigation, PathHop, TimelineEntry, Trigger
from agent.coe import build_report, render_markdown
from agent.decisions import apply_decisions


def _t(hms: str) -> datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return datetime(2024, 3, 1, h, m, s, tzinfo=timezone.utc)


def _incident() -> Investigation:
    web = Finding(id="metric-web", domain="network", kind="metric", resource="web",
                  signal="AWS/ApplicationELB/HTTPCode_Target_5XX_Count Sum", summary="web 5xx went up from 0 to 40",
                  onset=_t("10:01:00"), score=0.9,
                  evidence=Evidence(baseline_value=0.0, incident_value=40.0, unit="Count",
                                    details=MetricDetails(until=_t("10:20:00"), observed_until=_t("10:30:00"))))
    orders = Finding(id="metric-orders", domain="application", kind="metric", resource="orders", signal="Errors",
                     summary="orders errors went up from 1 to 55", onset=_t("10:00:30"), score=0.95)
    change = Finding(id="change-orders", domain="application", kind="change", resource="orders", signal="deploy",
                     summary="deploy of orders v42 by ci", onset=_t("09:58:00"), score=0.8)
    noise = Finding(id="log-noise", domain="application", kind="log", resource="web", signal="retry",
                    summary="web logs `retry` | pipe [x]", score=0.6)
    return Investigation(
        id="inv-test", revision=1,
        trigger=Trigger(alarm_name="orders-5xx", resource="web", metric="HTTPCode_Target_5XX_Count",
                        namespace="AWS/ApplicationELB", statistic="Sum", state_change_time=_t("10:05:00")),
        findings=[orders, web, change, noise],
        hypotheses=[
            Hypothesis(id="H-orders", resource="orders", cause="change", confidence=0.9, title="orders: a recent change",
                       reasoning="orders fails from 10:00:30, 2.5 min after its deploy.",
                       supporting_findings=["metric-orders", "change-orders"]),
            Hypothesis(id="H-web", resource="web", cause="component", confidence=0.3, title="web: a failing component",
                       reasoning="web returns 5xx.", supporting_findings=["metric-web", "log-noise"]),
        ],
        timeline=[
            TimelineEntry(time=_t("09:58:00"), source="application/change", text="deploy of orders v42 by ci", finding_id="change-orders"),
            TimelineEntry(time=_t("10:00:30"), source="application/metric", text="orders errors went up from 1 to 55", finding_id="metric-orders"),
            TimelineEntry(time=_t("10:01:00"), source="network/metric", text="web 5xx went up from 0 to 40", finding_id="metric-web"),
            TimelineEntry(time=_t("10:05:00"), source="alarm", text="alarm orders-5xx went to ALARM on web"),
        ],
    )


DECISIONS = [
    Decision(target_id="H-orders", verdict="accepted", by="alice", at=_t("10:30:00")),
    Decision(target_id="log-noise", verdict="discarded", note="known noisy retry log", by="alice", at=_t("10:31:00")),
    Decision(target_id="H-orders", verdict="noted", note="the v42 migration dropped an index", by="alice", at=_t("10:32:00")),
]

EXPECTED = """\
# Post-incident report: orders-5xx

- Investigation: `inv-test`, revision 1
- Alarmed resource: `web`

## Summary

The alarm orders-5xx went to ALARM on web (HTTPCode\\_Target\\_5XX\\_Count) at 2024-03-01 10:05:00 UTC. Root cause of record: orders: a recent change.

## Customer impact

- Alarmed metric: HTTPCode\\_Target\\_5XX\\_Count on web
- Moved from 0 to 40 Count
- What was seen: web 5xx went up from 0 to 40
- Start: 2024-03-01 10:01:00 UTC
- End: 2024-03-01 10:20:00 UTC
- Duration: 19 min 00 s

## Detection

- Onset: 2024-03-01 10:00:30 UTC
- Alarm: 2024-03-01 10:05:00 UTC
- Time to detect: 4 min 30 s

## Timeline (UTC)

| time | source | event |
|---|---|---|
| 2024-03-01 09:58:00 UTC | application/change | deploy of orders v42 by ci (`change-orders`) |
| 2024-03-01 10:00:30 UTC | application/metric | orders errors went up from 1 to 55 (`metric-orders`) |
| 2024-03-01 10:01:00 UTC | network/metric | web 5xx went up from 0 to 40 (`metric-web`) |
| 2024-03-01 10:05:00 UTC | alarm | alarm orders-5xx went to ALARM on web |

## Root cause

Root cause of record (accepted by alice): **orders: a recent change** (`H-orders`, cause: change)

orders fails from 10:00:30, 2.5 min after its deploy.

Propagation path: orders -> web

Evidence:
- `metric-orders` orders errors went up from 1 to 55
- `change-orders` deploy of orders v42 by ci

## Five whys

1. Why did the alarm orders-5xx fire? web 5xx went up from 0 to 40 (`metric-web`)
2. Why did web fail? Because orders did: orders errors went up from 1 to 55 (`metric-orders`)
3. Why did orders start failing then? Because of a change shortly before: deploy of orders v42 by ci (`change-orders`)
4. Why was that possible? the v42 migration dropped an index (`change-orders`, note by alice)

## Contributing factors

- web (component): web: a failing component

## Action items

| priority | cause | action | owner | Well-Architected |
|---|---|---|---|---|
| P1 | change | Roll out changes to orders gradually with canary alarms on the alarmed metric | team-orders | OPS06-BP03 |
| P2 | change | Roll back automatically when a deployment's alarms fire | team-orders | OPS06-BP04 |

## Discarded during review

- `log-noise` (finding) web logs \\`retry\\` \\| pipe \\[x\\]: discarded by alice at 2024-03-01 10:31:00 UTC, why: known noisy retry log
"""


def test_report_snapshot() -> None:
    report = build_report(apply_decisions(_incident(), DECISIONS), owner="team-orders")
    assert render_markdown(report) == EXPECTED


def test_without_an_accepted_hypothesis_the_root_cause_is_not_confirmed() -> None:
    report = build_report(apply_decisions(_incident(), DECISIONS[1:]))
    text = render_markdown(report)
    assert report.root_cause_confirmed is False
    assert "Root cause not yet confirmed. Leading hypothesis (provisional until accepted): **orders: a recent change**" in text
    assert "Provisional: based on the leading hypothesis until one is accepted." in text
    assert all(item.owner == "unassigned" for item in report.action_items)


def test_action_items_follow_the_cause_category() -> None:
    inv = _incident()
    inv.hypotheses[0] = inv.hypotheses[0].model_copy(update={"cause": "dependency"})
    report = build_report(apply_decisions(inv, DECISIONS))
    assert [(a.priority, a.practice) for a in report.action_items] == [("P1", "REL05-BP05"), ("P2", "REL05-BP03"), ("P2", "REL05-BP01")]
    assert "timeouts" in report.action_items[0].text


def test_the_engines_path_is_the_reports_path_and_its_whys() -> None:
    # The engine traced orders -> gateway -> web (gateway shows nothing, so it has no why of its
    # own); without that path the report would guess orders -> web from the cited findings.
    inv = _incident()
    hops = [PathHop(resource=r, edge=True, significant=r != "gateway", in_time=True) for r in ("orders", "gateway", "web")]
    inv.hypotheses[0] = inv.hypotheses[0].model_copy(update={"path": hops})
    report = build_report(apply_decisions(inv, DECISIONS))
    assert report.propagation_path == ["orders", "gateway", "web"]
    assert "Propagation path: orders -> gateway -> web" in render_markdown(report)
    assert [w.question for w in report.five_whys][:2] == ["Why did the alarm orders-5xx fire?", "Why did gateway fail?"]
