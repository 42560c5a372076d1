"""Deep links to the AWS console for a finding, built from its typed details.

- metric: the CloudWatch metric graph (namespace, metric, dimensions, statistic, period) over
  the time range;
- log: CloudWatch Logs Insights on the log group, with a query for the window;
- trace: the X-Ray trace (the finding's first trace id);
- change: the CloudTrail event by id;
- health: the AWS Health event;
- gap: none (nothing was read).

The console encodes its state in the URL fragment as JSURL (`~(key~value)`, strings as
`~'text` with characters outside `[A-Za-z0-9_.-]` written `*XX`); the Logs Insights fragment
is URL-encoded once more with `$` for `%`. When the region is unknown the links use
DEFAULT_REGION (docs/output-schema.md says so).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from domain.findings import ChangeDetails, HealthDetails, LogDetails, MetricDetails
from domain.models import Finding, TimeWindow

DEFAULT_REGION = "us-east-1"
LOG_QUERY_LIMIT = 200  # lines the Logs Insights query shows: the newest, enough to see a pattern


def _jsurl_text(text: str) -> str:
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in "_.-"):
            out.append(ch)
        elif ch == "$":
            out.append("!")
        elif ord(ch) < 0x100:
            out.append(f"*{ord(ch):02x}")
        else:
            out.append(f"**{ord(ch):04x}")
    return "".join(out)


def jsurl(value: object) -> str:
    """JSURL encoding of strings, numbers, booleans, lists and dicts (as the console reads it)."""
    if isinstance(value, bool):
        return "~true" if value else "~false"
    if isinstance(value, (int, float)):
        return f"~{value:g}" if isinstance(value, float) else f"~{value}"
    if isinstance(value, str):
        return f"~'{_jsurl_text(value)}"
    if isinstance(value, list):
        return "~(" + "".join(jsurl(v) for v in value) + ")"
    if isinstance(value, dict):
        return "~(" + "~".join(f"{_jsurl_text(k)}{jsurl(v)}" for k, v in value.items()) + ")"
    raise TypeError(f"cannot encode {type(value).__name__} as JSURL")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _console(region: str) -> str:
    return f"https://{region}.console.aws.amazon.com"


def metric_link(details: MetricDetails, window: TimeWindow, region: str) -> str | None:
    if not details.namespace or not details.metric:
        return None  # a metric graph needs both
    metric: list[str] = [details.namespace, details.metric]
    for name, value in sorted(details.dimensions.items()):
        metric += [name, value]
    graph = {
        "metrics": [metric],
        "view": "timeSeries",
        "stacked": False,
        "stat": details.stat or "Average",
        "period": details.period_s or 60,
        "region": region,
        "start": _iso(window.start),
        "end": _iso(window.end),
    }
    return f"{_console(region)}/cloudwatch/home?region={region}#metricsV2:graph={jsurl(graph)}"


def log_query(details: LogDetails) -> str:
    """The Logs Insights query: the window's lines, narrowed to the exception when one was seen."""
    parts = ["fields @timestamp, @message, @logStream"]
    if details.exception_class:
        parts.append(f"filter @message like '{details.exception_class}'")
    parts += ["sort @timestamp desc", f"limit {LOG_QUERY_LIMIT}"]
    return "\n| ".join(parts)


def log_link(details: LogDetails, window: TimeWindow, region: str) -> str | None:
    if not details.log_group:
        return None
    detail = {
        "end": _iso(window.end),
        "start": _iso(window.start),
        "timeType": "ABSOLUTE",
        "tz": "UTC",
        "editorString": log_query(details),
        "source": [details.log_group],
    }
    fragment = quote(f"?queryDetail={jsurl(detail)}", safe="~()'*!_.-").replace("%", "$")
    return f"{_console(region)}/cloudwatch/home?region={region}#logsV2:logs-insights{fragment}"


def trace_link(trace_id: str, region: str) -> str:
    return f"{_console(region)}/cloudwatch/home?region={region}#xray:traces/{quote(trace_id, safe='')}"


def cloudtrail_link(event_id: str, region: str) -> str:
    return f"{_console(region)}/cloudtrailv2/home?region={region}#/events/{quote(event_id, safe='')}"


def health_link(event_id: str) -> str:
    return f"https://health.aws.amazon.com/health/home#/account/event-log?eventID={quote(event_id, safe='')}&eventTab=details"


def console_link(finding: Finding, window: TimeWindow, region: str | None, since: datetime | None = None) -> str | None:
    """The console page that shows what `finding` measured over `window`, None when none can be
    formed. `since`: where a metric graph starts (the baseline's start, so the shift shows)."""
    region = region or DEFAULT_REGION
    details = finding.evidence.details
    if isinstance(details, MetricDetails):
        graph = TimeWindow(start=since, end=window.end) if since is not None and since < window.end else window
        return metric_link(details, graph, region)
    if isinstance(details, LogDetails):
        link = log_link(details, window, region)
        if link is None and finding.evidence.trace_ids:
            return trace_link(finding.evidence.trace_ids[0], region)
        return link
    if finding.kind == "trace":
        return trace_link(finding.evidence.trace_ids[0], region) if finding.evidence.trace_ids else None
    if isinstance(details, ChangeDetails):
        event_id = details.event_id or next(iter(finding.evidence.event_ids), "")
        return cloudtrail_link(event_id, region) if event_id else None
    if isinstance(details, HealthDetails):
        event_id = details.event_id or next(iter(finding.evidence.event_ids), "")
        return health_link(event_id) if event_id else None
    return None


def with_links(
    findings: list[Finding], window: TimeWindow, region: str | None, since: datetime | None = None
) -> list[Finding]:
    """`findings` with their console link set (a finding that already has one keeps it)."""
    out = []
    for f in findings:
        link = f.evidence.console_link or console_link(f, window, region, since)
        out.append(f if link == f.evidence.console_link else
                   f.model_copy(update={"evidence": f.evidence.model_copy(update={"console_link": link})}))
    return out
