"""What metrics mean: the table of AWS metrics, the word rules for every other name, and how
the metric analysis uses both. Expected readings come from what AWS documents each metric to
measure (comment per case), not from the table."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from domain.models import TimeWindow
from tools.analysis.metric_table import table
from tools.analysis.metrics import metric_findings
from tools.analysis.semantics import (
    _from_words,
    bad_direction,
    carried_by_calls,
    is_outgoing,
    is_percentage,
    is_traffic,
    metric_domain,
    words,
)

NET, INFRA, APP = "network", "infrastructure", "application"

# (namespace, metric, bad direction, domain, traffic), each read from the AWS documentation.
DOCUMENTED = [
    # Load balancers: volume, target errors and latency, health, connections on the wire.
    ("AWS/ApplicationELB", "RequestCount", "both", APP, True),
    ("AWS/ApplicationELB", "TargetResponseTime", "up", APP, False),  # seconds until the target answered
    ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "up", APP, False),
    ("AWS/ApplicationELB", "HTTPCode_ELB_503_Count", "up", APP, False),
    ("AWS/ApplicationELB", "HealthyHostCount", "down", INFRA, False),
    ("AWS/ApplicationELB", "UnHealthyHostCount", "up", INFRA, False),
    ("AWS/ApplicationELB", "ClientTLSNegotiationErrorCount", "up", NET, False),
    ("AWS/ApplicationELB", "ProcessedBytes", "both", NET, True),
    ("AWS/NetworkELB", "TCP_Target_Reset_Count", "up", NET, False),  # RSTs sent by targets
    ("AWS/NetworkELB", "ActiveFlowCount_TCP", "both", NET, True),
    ("AWS/ELB", "SurgeQueueLength", "up", INFRA, False),  # requests waiting for a backend
    ("AWS/ELB", "BackendConnectionErrors", "up", NET, False),
    # ECS and Container Insights
    ("AWS/ECS", "CPUUtilization", "up", INFRA, False),
    ("ECS/ContainerInsights", "RunningTaskCount", "down", INFRA, False),
    ("ECS/ContainerInsights", "PendingTaskCount", "up", INFRA, False),
    ("ECS/ContainerInsights", "DesiredTaskCount", "none", INFRA, False),  # set by a deploy or the autoscaler
    ("ECS/ContainerInsights", "NetworkRxBytes", "both", NET, True),
    # EC2 and EBS
    ("AWS/EC2", "CPUCreditBalance", "down", INFRA, False),  # earned credits left to burst with
    ("AWS/EC2", "CPUSurplusCreditBalance", "up", INFRA, False),  # credits spent beyond the balance: charged
    ("AWS/EC2", "StatusCheckFailed_System", "up", INFRA, False),
    ("AWS/EC2", "NetworkPacketsIn", "both", NET, True),
    ("AWS/EC2", "DiskReadOps", "both", INFRA, True),
    ("AWS/EBS", "VolumeQueueLength", "up", INFRA, False),  # I/O requests waiting
    ("AWS/EBS", "BurstBalance", "down", INFRA, False),
    ("AWS/EBS", "VolumeWriteBytes", "both", INFRA, True),
    # RDS and Aurora
    ("AWS/RDS", "FreeStorageSpace", "down", INFRA, False),
    ("AWS/RDS", "ReadLatency", "up", INFRA, False),  # seconds per disk read
    ("AWS/RDS", "WriteIOPS", "both", INFRA, True),  # disk write operations a second
    ("AWS/RDS", "DatabaseConnections", "both", INFRA, False),
    ("AWS/RDS", "ReplicaLag", "up", INFRA, False),
    ("AWS/RDS", "BufferCacheHitRatio", "down", INFRA, False),
    ("AWS/RDS", "Deadlocks", "up", INFRA, False),
    # DynamoDB
    ("AWS/DynamoDB", "SuccessfulRequestLatency", "up", INFRA, False),  # a latency, of successful requests
    ("AWS/DynamoDB", "ConsumedWriteCapacityUnits", "both", INFRA, True),
    ("AWS/DynamoDB", "ProvisionedWriteCapacityUnits", "none", INFRA, False),  # a setting
    ("AWS/DynamoDB", "WriteThrottleEvents", "up", INFRA, False),
    ("AWS/DynamoDB", "SystemErrors", "up", INFRA, False),  # HTTP 500s from DynamoDB itself
    ("AWS/DynamoDB", "UserErrors", "up", APP, False),  # HTTP 400s: the caller's requests were invalid
    # Lambda
    ("AWS/Lambda", "Invocations", "both", APP, True),
    ("AWS/Lambda", "Errors", "up", APP, False),
    ("AWS/Lambda", "Duration", "up", APP, False),
    ("AWS/Lambda", "Throttles", "up", INFRA, False),
    ("AWS/Lambda", "ConcurrentExecutions", "up", INFRA, False),  # in flight, against the concurrency limit
    ("AWS/Lambda", "IteratorAge", "up", INFRA, False),
    # SQS and SNS
    ("AWS/SQS", "NumberOfMessagesSent", "both", INFRA, True),  # messages added: volume
    ("AWS/SQS", "ApproximateAgeOfOldestMessage", "up", INFRA, False),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "up", INFRA, False),  # backlog waiting for consumers
    ("AWS/SNS", "NumberOfMessagesPublished", "both", INFRA, True),
    ("AWS/SNS", "NumberOfNotificationsFailed", "up", INFRA, False),
    # API Gateway
    ("AWS/ApiGateway", "Count", "both", APP, True),
    ("AWS/ApiGateway", "5XXError", "up", APP, False),
    ("AWS/ApiGateway", "IntegrationLatency", "up", APP, False),
    # ElastiCache
    ("AWS/ElastiCache", "EngineCPUUtilization", "up", INFRA, False),
    ("AWS/ElastiCache", "Evictions", "up", INFRA, False),
    ("AWS/ElastiCache", "CacheHitRate", "down", INFRA, False),
    ("AWS/ElastiCache", "CacheHits", "both", INFRA, True),
    ("AWS/ElastiCache", "NetworkBandwidthInAllowanceExceeded", "up", NET, False),  # packets queued or dropped
    # Kinesis
    ("AWS/Kinesis", "IncomingRecords", "both", INFRA, True),
    ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "up", INFRA, False),
    ("AWS/Kinesis", "WriteProvisionedThroughputExceeded", "up", INFRA, False),
    # CloudFront
    ("AWS/CloudFront", "Requests", "both", NET, True),
    ("AWS/CloudFront", "5xxErrorRate", "up", NET, False),
    ("AWS/CloudFront", "OriginLatency", "up", NET, False),
    # NAT Gateway
    ("AWS/NATGateway", "ErrorPortAllocation", "up", NET, False),  # no free source port
    ("AWS/NATGateway", "PacketsDropCount", "up", NET, False),
    ("AWS/NATGateway", "BytesOutToDestination", "both", NET, True),
    # Route 53 health checks
    ("AWS/Route53", "HealthCheckStatus", "down", NET, False),  # 1 healthy, 0 unhealthy
    ("AWS/Route53", "HealthCheckPercentageHealthy", "down", NET, False),
    ("AWS/Route53", "TimeToFirstByte", "up", NET, False),
    # Application Signals
    ("ApplicationSignals", "Latency", "up", APP, False),
    ("ApplicationSignals", "Fault", "up", APP, False),  # server-side faults
    ("ApplicationSignals", "Error", "up", APP, False),  # client errors (4XX)
]


@pytest.mark.parametrize(("namespace", "metric", "bad", "domain", "traffic"), DOCUMENTED,
                         ids=[f"{n}/{m}" for n, m, *_ in DOCUMENTED])
def test_aws_metrics_read_as_aws_documents_them(namespace: str, metric: str, bad: str, domain: str, traffic: bool) -> None:
    assert bad_direction(metric, namespace) == bad
    assert metric_domain(metric, namespace) == domain
    assert is_traffic(metric, namespace) == traffic


def test_every_namespace_the_product_reads_is_in_the_table() -> None:
    namespaces = {namespace for namespace, _ in table()}
    assert namespaces >= {
        "AWS/ApplicationELB", "AWS/NetworkELB", "AWS/ELB", "AWS/ECS", "ECS/ContainerInsights", "AWS/EC2", "AWS/EBS",
        "AWS/RDS", "AWS/DynamoDB", "AWS/Lambda", "AWS/SQS", "AWS/SNS", "AWS/ApiGateway", "AWS/ElastiCache",
        "AWS/Kinesis", "AWS/CloudFront", "AWS/NATGateway", "AWS/Route53", "ApplicationSignals",
    }


ENTRIES = sorted(table().items())


@pytest.mark.parametrize(("key", "entry"), ENTRIES, ids=[f"{n}/{m}" for (n, m), _ in ENTRIES])
def test_table_entries_are_consistent(key: tuple[str, str], entry) -> None:
    _, metric = key
    # Volume is never bad in itself: more requests are load, fewer a consequence or a loss.
    assert not entry.traffic or entry.bad == "both"
    # Outgoing latency is a latency.
    assert not entry.outgoing or "latency" in words(metric)
    # A share of a whole is bounded: its name says it is one.
    assert not entry.percent or {"utilization", "utilized", "reservation", "percentage", "%", "balance", "rate",
                                 "ratio", "progress", "healthy"} & set(words(metric))


# Table entries whose name alone would be read otherwise, and why the name misleads.
NAME_MISLEADS = {
    ("AWS/EC2", "CPUSurplusCreditBalance"): "a balance of credits spent beyond the earned ones, which are charged",
    ("AWS/EC2", "DiskReadOps"): "'disk' is the device, the metric is I/O volume",
    ("AWS/EC2", "DiskWriteOps"): "'disk' is the device, the metric is I/O volume",
    ("AWS/EC2", "DiskReadBytes"): "'disk' is the device, the metric is I/O volume",
    ("AWS/EC2", "DiskWriteBytes"): "'disk' is the device, the metric is I/O volume",
    ("AWS/EBS", "VolumeThroughputPercentage"): "the share of provisioned IOPS delivered: less is worse",
    ("AWS/Lambda", "ProvisionedConcurrencyInvocations"): "invocations served by provisioned concurrency: volume",
    ("AWS/SQS", "SentMessageSize"): "a size, not a volume",
    ("AWS/SNS", "NumberOfNotificationsFilteredOut-InvalidAttributes"): "dropped for malformed attributes: a publisher bug",
    ("AWS/SNS", "NumberOfNotificationsFilteredOut-NoMessageAttributes"): "dropped for missing attributes: a publisher bug",
    ("AWS/ElastiCache", "NewConnections"): "connections opened per period: volume",
    ("AWS/ElastiCache", "ElastiCacheProcessingUnits"): "work done by serverless caches: volume",
    ("AWS/Kinesis", "PutRecords.SuccessfulRecords"): "a count of records written: volume",
    ("AWS/Route53", "HealthCheckStatus"): "1 when healthy, 0 when not",
}


@pytest.mark.parametrize(("key", "entry"), ENTRIES, ids=[f"{n}/{m}" for (n, m), _ in ENTRIES])
def test_table_agrees_with_the_word_rules_unless_the_name_misleads(key: tuple[str, str], entry) -> None:
    if entry.bad == "none" or key in NAME_MISLEADS:  # a name cannot say that a level is set
        return
    namespace, metric = key
    reading = _from_words(metric)
    assert (reading.bad, reading.traffic) == (entry.bad, entry.traffic), f"{namespace}/{metric}"


def test_the_listed_exceptions_are_real_disagreements() -> None:
    for namespace, metric in NAME_MISLEADS:
        entry, reading = table()[(namespace, metric)], _from_words(metric)
        assert (reading.bad, reading.traffic) != (entry.bad, entry.traffic), f"{namespace}/{metric}"


@pytest.mark.parametrize("namespace", [None, "AWS/DynamoDB", "Shop/Storage"])
def test_a_latency_of_successful_requests_is_bad_when_it_rises(namespace: str | None) -> None:
    assert bad_direction("SuccessfulRequestLatency", namespace) == "up"


@pytest.mark.parametrize("namespace", [None, "AWS/EC2", "AWS/RDS", "Custom/Burst"])
def test_a_credit_balance_is_bad_when_it_falls(namespace: str | None) -> None:
    assert bad_direction("CPUCreditBalance", namespace) == "down"


@pytest.mark.parametrize("namespace", [None, "AWS/SQS", "Orders/Queue"])
def test_messages_sent_are_traffic_not_a_failure(namespace: str | None) -> None:
    assert bad_direction("NumberOfMessagesSent", namespace) == "both"
    assert is_traffic("NumberOfMessagesSent", namespace)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("HTTPCode_Target_5XX_Count", ["http", "code", "target", "5xx", "count"]),
        ("CPUUtilization", ["cpu", "utilization"]),
        ("p99Latency", ["p99", "latency"]),
        ("UnHealthyHostCount", ["unhealthy", "host", "count"]),
        ("SuccessRate(%)", ["success", "rate", "%"]),
        ("LatencyP90(s)", ["latency", "p90", "s"]),
        ("GetRecords.IteratorAgeMilliseconds", ["get", "records", "iterator", "age", "milliseconds"]),
        ("4XXError", ["4xx", "error"]),
        ("http_requests_total", ["http", "requests", "total"]),
        ("ReadIOPSEphemeralStorage", ["read", "iops", "ephemeral", "storage"]),
    ],
)
def test_names_split_into_words_at_case_changes_and_punctuation(metric: str, expected: list[str]) -> None:
    assert words(metric) == expected


@pytest.mark.parametrize(
    ("metric", "bad", "traffic"),
    [
        ("NumberOfMessages", "both", True),  # not "age" inside "messages"
        ("PodWorkload(Ops)", "both", True),  # not "load" inside "workload"
        ("ServerLoad", "up", False),  # a load average is saturation
        ("Storage", "both", False),  # not "rage" or "age"
        ("Coverage", "both", False),
        ("ErrorRatio", "up", False),
        ("Usage", "up", False),
        ("Messages", "both", True),
    ],
)
def test_rules_match_whole_words_only(metric: str, bad: str, traffic: bool) -> None:
    assert bad_direction(metric, "Custom/App") == bad
    assert is_traffic(metric, "Custom/App") == traffic


@pytest.mark.parametrize(
    ("metric", "bad", "domain", "traffic", "percent", "outgoing"),
    [
        ("checkout_errors_total", "up", APP, False, False, False),
        ("PaymentTimeouts", "up", APP, False, False, False),
        ("QueueBacklog", "up", INFRA, False, False, False),
        ("request_duration_seconds", "up", APP, False, False, False),
        ("AvailableConnections", "down", INFRA, False, False, False),
        ("cache_hit_ratio", "down", APP, False, False, False),
        ("heap_used_bytes", "up", INFRA, False, False, False),  # bytes in use: saturation wins over volume
        ("orders_per_minute", "both", APP, False, False, False),  # no word says volume or trouble
        ("http_requests_total", "both", APP, True, False, False),
        ("NetworkIn", "both", NET, True, False, False),
        ("DiskUsagePercent", "up", INFRA, False, True, False),
        ("PodSuccessRate(%)", "down", APP, False, True, False),
        ("PodClientLatencyP99(s)", "up", APP, False, False, True),
        ("DependencyLatency", "up", APP, False, False, True),
        ("DependencyErrors", "up", APP, False, False, False),  # errors, not the latency of calls
        ("PodServerLatencyP99(s)", "up", APP, False, False, False),
    ],
)
def test_metrics_outside_the_table_are_read_from_their_words(
    metric: str, bad: str, domain: str, traffic: bool, percent: bool, outgoing: bool
) -> None:
    namespace = "Shop/App"
    assert (bad_direction(metric, namespace), metric_domain(metric, namespace), is_traffic(metric, namespace),
            is_percentage(metric, namespace), is_outgoing(metric, namespace)) == (bad, domain, traffic, percent, outgoing)


def test_the_namespace_decides_between_an_aws_metric_and_a_custom_one_of_the_same_name() -> None:
    # RDS's ReadLatency is the disk's; an application's own ReadLatency is its reads' latency.
    assert metric_domain("ReadLatency", "AWS/RDS") == INFRA
    assert metric_domain("ReadLatency", "Shop/App") == APP


def test_without_a_namespace_a_name_with_one_meaning_in_the_table_is_read_from_it() -> None:
    # IntegrationLatency: API Gateway's wait for its backend, outgoing though no word says so.
    assert is_outgoing("IntegrationLatency") and not is_outgoing("IntegrationLatency", "Custom/App")
    # CacheHitRate is ElastiCache's (infrastructure) and CloudFront's (network): the words decide.
    assert metric_domain("CacheHitRate", "AWS/CloudFront") == NET
    assert metric_domain("CacheHitRate") == APP


START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
INC = START + timedelta(minutes=60)


def _series(namespace: str, metric: str, incident_level: float) -> pd.DataFrame:
    baseline = [100.0 + (-2, -1, 0, 1, 2)[i % 5] for i in range(60)]
    times = [START + timedelta(minutes=i) for i in range(90)]
    return pd.DataFrame({
        "resource": "orders-table", "namespace": namespace, "metric": metric, "stat": "Average",
        "dimensions": json.dumps({}), "timestamp": pd.to_datetime(times, utc=True),
        "value": np.asarray(baseline + [100.0] * 5 + [incident_level] * 25, dtype=float),
    })


def _findings(*frames: pd.DataFrame) -> list:
    return metric_findings(
        pd.concat(frames, ignore_index=True),
        incident=TimeWindow(start=INC, end=INC + timedelta(minutes=29)),
        baseline=TimeWindow(start=START, end=INC - timedelta(minutes=1)),
        alarm_time=INC + timedelta(minutes=10),
    )


def test_a_level_someone_sets_is_not_an_anomaly_but_consumed_capacity_is_load() -> None:
    # Provisioned capacity halved and consumed capacity halved, both far beyond their noise:
    # the setting is a change event (the change history's to report), the consumption is traffic.
    found = _findings(_series("AWS/DynamoDB", "ProvisionedWriteCapacityUnits", 50.0),
                      _series("AWS/DynamoDB", "ConsumedWriteCapacityUnits", 50.0))
    assert [(f.evidence.details.metric, f.evidence.details.traffic) for f in found] == [
        ("ConsumedWriteCapacityUnits", True)]


def test_the_analysis_reads_direction_and_domain_with_the_namespace() -> None:
    # DynamoDB's latency falling is good news: no finding. Rising, it is the table's (infrastructure).
    assert _findings(_series("AWS/DynamoDB", "SuccessfulRequestLatency", 50.0)) == []
    rising = _findings(_series("AWS/DynamoDB", "SuccessfulRequestLatency", 150.0))
    assert [(f.direction, f.domain, f.evidence.details.traffic) for f in rising] == [("up", INFRA, False)]
    # The same name in an application's own namespace is the application's.
    own = _findings(_series("Shop/App", "SuccessfulRequestLatency", 150.0))
    assert [f.domain for f in own] == [APP]


@pytest.mark.parametrize(("namespace", "metric", "carried"), [
    ("AWS/ApplicationELB", "TargetResponseTime", True),  # the time calls take, under any name
    ("AWS/Lambda", "Duration", True),
    (None, "PodServerLatencyP90(s)", True),
    ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", True),  # calls that fail
    (None, "Errors", True),
    (None, "availability", True),
    (None, "SuccessRate(%)", True),
    ("AWS/ECS", "CPUUtilization", False),  # what a resource uses stays with it
    ("AWS/ECS", "MemoryUtilization", False),
    ("AWS/RDS", "DatabaseConnections", False),
    ("AWS/RDS", "FreeStorageSpace", False),
    (None, "requests", False),  # what it is asked for is traffic
])
def test_what_a_failure_carries_up_a_chain_of_calls(namespace: str | None, metric: str, carried: bool) -> None:
    assert carried_by_calls(metric, namespace) is carried


def test_processor_use_is_told_from_other_usage_whatever_the_spelling() -> None:
    from tools.analysis.semantics import is_compute

    assert all(is_compute(m) for m in ("CPUUtilization", "cpu_usage", "CpuUtilized", "container_cpu_usage_seconds_total"))
    assert not any(is_compute(m) for m in ("MemoryUtilization", "DatabaseConnections", "Latency", "DiskQueueDepth"))


def test_what_waits_in_a_queue_or_stream_is_told_from_its_failures() -> None:
    from tools.analysis.semantics import is_backlog_metric

    backlog = ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "IteratorAge",
               "GetRecords.IteratorAgeMilliseconds", "consumer_lag", "MaxOffsetLag")
    assert all(is_backlog_metric(m) for m in backlog)
    assert not any(is_backlog_metric(m) for m in ("NumberOfMessagesSent", "Errors", "ThrottledRequests", "Age"))
