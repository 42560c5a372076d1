"""From an alarm name to what an investigation needs: trigger, windows, and a live source.

- The state change is the alarm's last transition to ALARM: from DescribeAlarmHistory where
  the backend has it, else `StateTransitionedTimestamp`, else `StateUpdatedTimestamp`.
- The incident window runs from `before` (default 15 min) ahead of the state change to
  `after` (default 15 min) past it, capped at "now" from the injected clock; the baseline
  is the `baseline` (default 3 h) right before the window. Alarms fire a few evaluation
  periods after a fault begins, so 15 minutes back holds the onset (the same lookback the
  investigation uses to split a recorded window); everything before it is normal operation
  and belongs to the baseline, where it sharpens the comparison instead of diluting the
  incident.
- The alarm's resource comes from its dimensions, by the rule in `tools.aws.dimensions`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, get_args

import botocore.exceptions
from pydantic import BaseModel, ConfigDict

from domain.models import ComparisonOperator, TimeWindow, Trigger, as_utc
from tools.aws.clients import ClientFactory
from tools.aws.dimensions import STAT_DIMENSION, resource_for_dimensions
from tools.aws.errors import AwsUserError, error_code, one_line, user_error_for
from tools.aws.source import AwsSettings, AwsSource

Clock = Callable[[], datetime]


class WindowPolicy(BaseModel):
    before: timedelta = timedelta(minutes=15)
    after: timedelta = timedelta(minutes=15)
    baseline: timedelta = timedelta(hours=3)


class LiveTarget(BaseModel):
    """An alarm resolved against a live account (or the emulator), ready to investigate."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: AwsSource
    trigger: Trigger
    window: TimeWindow
    baseline: TimeWindow
    notes: list[str] = []


def windows_for(state_change: datetime, now: datetime, policy: WindowPolicy | None = None) -> tuple[TimeWindow, TimeWindow]:
    """(incident window, baseline window) around an alarm's state change."""
    policy = policy or WindowPolicy()
    change, now = as_utc(state_change), as_utc(now)
    start = change - policy.before
    end = min(change + policy.after, now)
    if end <= start:  # a clock behind the alarm (skew): keep a non-empty window
        end = change + timedelta(minutes=1)
    return TimeWindow(start=start, end=end), TimeWindow(start=start - policy.baseline, end=start)


def _history_time(factory: ClientFactory, name: str) -> datetime | None:
    """The last transition to ALARM in the alarm's history; None when the backend has none."""
    latest: datetime | None = None
    for page in factory.pages("cloudwatch", "describe_alarm_history", AlarmName=name, HistoryItemType="StateUpdate", max_pages=5):
        for item in page.get("AlarmHistoryItems") or []:
            try:
                data = json.loads(item.get("HistoryData") or "{}")
            except ValueError:
                data = {}
            new_state = (data.get("newState") or {}).get("stateValue")
            if new_state == "ALARM" or (new_state is None and "to ALARM" in str(item.get("HistorySummary", ""))):
                moment = as_utc(item["Timestamp"])
                latest = moment if latest is None or moment > latest else latest
    return latest


def _metric_of(alarm: dict[str, Any]) -> tuple[str, str, dict[str, str], str]:
    """(namespace, metric, dimensions, statistic) of a metric alarm, or of its first metric query."""
    if alarm.get("MetricName"):
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []}
        stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic") or "Average"
        return alarm.get("Namespace", ""), alarm["MetricName"], dims, stat
    for query in alarm.get("Metrics") or []:
        stat = query.get("MetricStat")
        if stat:
            metric = stat["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions") or []}
            return metric.get("Namespace", ""), metric["MetricName"], dims, stat.get("Stat", "Average")
    raise AwsUserError(f"alarm {alarm.get('AlarmName')!r} has no metric to investigate (metric math without a MetricStat)")


def open_alarm(
    alarm_name: str,
    factory: ClientFactory,
    clock: Clock | None = None,
    *,
    policy: WindowPolicy | None = None,
    limits: AwsSettings | None = None,
) -> LiveTarget:
    """Resolve `alarm_name` into a `LiveTarget` read through `factory`; raises `UserError` with one actionable line."""
    clock = clock or (lambda: datetime.now(timezone.utc))
    where = f"region {factory.aws.region or 'default'}" + (f" at {factory.aws.endpoint_url}" if factory.aws.endpoint_url else "")
    try:
        where = f"region {factory.region}" + (f" at {factory.aws.endpoint_url}" if factory.aws.endpoint_url else "")
        answer = factory.call("cloudwatch", "describe_alarms", AlarmNames=[alarm_name], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        fatal = user_error_for(exc, where)
        if fatal:
            raise fatal from exc
        if error_code(exc) in {"AccessDenied", "AccessDeniedException"}:
            raise AwsUserError(f"not allowed to read alarm {alarm_name!r} ({one_line(exc)}): attach iam/readonly-policy.json to the role") from exc
        raise AwsUserError(f"cannot read alarm {alarm_name!r} in {where}: {one_line(exc)}") from exc
    if answer.get("CompositeAlarms") and not answer.get("MetricAlarms"):
        raise AwsUserError(f"alarm {alarm_name!r} is a composite alarm: investigate one of the metric alarms in its rule instead")
    alarms = answer.get("MetricAlarms") or []
    if not alarms:
        raise AwsUserError(
            f"no alarm named {alarm_name!r} in {where}: check the name and --region "
            "(`aws cloudwatch describe-alarms --alarm-name-prefix ...` lists them)"
        )
    alarm = alarms[0]
    notes: list[str] = []
    try:
        changed = _history_time(factory, alarm_name)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        notes.append(f"alarm history unavailable ({error_code(exc) or type(exc).__name__}); used the alarm's state timestamp")
        changed = None
    changed = changed or alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp")
    if changed is None:
        raise AwsUserError(f"alarm {alarm_name!r} has no state change time; has it ever evaluated?")
    if alarm.get("StateValue") != "ALARM":
        notes.append(f"alarm is {alarm.get('StateValue')} now; investigating its last state change")
    window, baseline = windows_for(changed, clock(), policy)

    namespace, metric, dims, stat = _metric_of(alarm)
    source = AwsSource(factory, focus=window, limits=limits)
    resource = resource_for_dimensions(dims, source.known_ids()) or alarm_name
    source.add_known(resource)
    comparison = alarm.get("ComparisonOperator")
    trigger = Trigger(
        alarm_name=alarm_name,
        resource=resource,
        metric=metric,
        namespace=namespace or None,
        statistic=dims.get(STAT_DIMENSION, stat),
        threshold=alarm.get("Threshold"),
        comparison=comparison if comparison in get_args(ComparisonOperator) else None,
        state_change_time=changed,
    )
    return LiveTarget(source=source, trigger=trigger, window=window, baseline=baseline, notes=notes)
