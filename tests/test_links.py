"""Console links: each points at the console page for what the finding measured, over its window."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlsplit

from domain.findings import ChangeDetails, GapDetails, HealthDetails, LogDetails, MetricDetails
from domain.models import Evidence, Finding, TimeWindow
from tools.links import DEFAULT_REGION, console_link, jsurl

T0 = datetime(2024, 5, 14, 14, 0, tzinfo=timezone.utc)
WINDOW = TimeWindow(start=T0, end=T0 + timedelta(minutes=30))


def _finding(kind: str, details, **evidence) -> Finding:
    return Finding(id=f"{kind}-1", domain="application", kind=kind, resource="checkout", signal="s", summary="s",
                   score=0.9, evidence=Evidence(details=details, **evidence))


def test_jsurl_writes_strings_numbers_lists_and_objects_as_the_console_reads_them() -> None:
    # ':' is 0x3a, ' ' 0x20, '/' 0x2f; letters, digits and "_.-" stay as they are.
    assert jsurl({"a": ["x y", 60, False], "b": "10:00/z_1.-"}) == "~(a~(~'x*20y~60~false)~b~'10*3a00*2fz_1.-)"


def test_a_metric_links_to_its_graph_with_dimensions_statistic_period_and_time_range() -> None:
    details = MetricDetails(namespace="AWS/ApplicationELB", metric="HTTPCode_Target_5XX_Count", stat="Sum",
                            dimensions={"LoadBalancer": "app/web/1"}, period_s=300)
    url = console_link(_finding("metric", details), WINDOW, "eu-west-1", since=T0 - timedelta(hours=2))
    parts = urlsplit(url)
    assert parts.netloc == "eu-west-1.console.aws.amazon.com" and parts.path == "/cloudwatch/home"
    assert parse_qs(parts.query) == {"region": ["eu-west-1"]}
    assert parts.fragment.startswith("metricsV2:graph=~(")
    graph = parts.fragment
    # namespace, metric, then each dimension's name and value; '/' written *2f.
    assert "metrics~(~(~'AWS*2fApplicationELB~'HTTPCode_Target_5XX_Count~'LoadBalancer~'app*2fweb*2f1))" in graph
    assert "~stat~'Sum~period~300~region~'eu-west-1" in graph
    # From the baseline's start (12:00) to the window's end (14:30), ':' written *3a.
    assert "~start~'2024-05-14T12*3a00*3a00.000Z~end~'2024-05-14T14*3a30*3a00.000Z" in graph


def test_a_log_finding_opens_logs_insights_on_its_group_with_a_query_for_the_window() -> None:
    details = LogDetails(log_group="/ecs/checkout", exception_class="java.lang.NullPointerException")
    url = console_link(_finding("log", details), WINDOW, None)
    parts = urlsplit(url)
    assert parts.netloc == f"{DEFAULT_REGION}.console.aws.amazon.com"
    assert parts.fragment.startswith("logsV2:logs-insights$3FqueryDetail$3D~(")
    # The console's fragment is URL-encoded with '$' for '%': undo that, then JSURL's '*XX'.
    detail = unquote(parts.fragment.replace("$", "%"))
    decoded = detail.replace("*", "%")
    text = unquote(decoded)
    assert "end~'2024-05-14T14:30:00.000Z~start~'2024-05-14T14:00:00.000Z~timeType~'ABSOLUTE" in text
    assert "source~(~'/ecs/checkout)" in text
    assert "filter @message like 'java.lang.NullPointerException'" in text


def test_a_log_finding_without_a_log_group_opens_one_of_its_traces() -> None:
    url = console_link(_finding("log", LogDetails(), trace_ids=["1-abc-def"]), WINDOW, "us-west-2")
    assert url == "https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2#xray:traces/1-abc-def"


def test_changes_and_health_events_link_to_their_event_by_id() -> None:
    change = console_link(_finding("change", ChangeDetails(event_id="e-1/2")), WINDOW, "us-east-2")
    assert change == "https://us-east-2.console.aws.amazon.com/cloudtrailv2/home?region=us-east-2#/events/e-1%2F2"
    arn = "arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/abc"
    health = urlsplit(console_link(_finding("health", HealthDetails(event_id=arn)), WINDOW, "us-east-2"))
    assert health.netloc == "health.aws.amazon.com"
    assert parse_qs(health.fragment.split("?", 1)[1])["eventID"] == [arn]


def test_a_gap_has_no_link() -> None:
    assert console_link(_finding("gap", GapDetails(tool="logs")), WINDOW, "us-east-1") is None
