"""What the AWS metrics the investigator reads mean, keyed by CloudWatch namespace and metric name.

Names are as the AWS documentation spells them. Each entry says:
- `bad`: which change indicates trouble: "up", "down", "both" (a shift either way is worth a
  look: volume, connections) or "none" (a level someone or something sets, such as provisioned
  capacity or a desired task count: changing it is a change event, not an anomaly);
- `domain`: which team would look first: network (load balancers' connections, TLS, NAT, DNS,
  CDN, bytes and packets on the wire), infrastructure (compute, storage, databases, queues,
  capacity and its limits) or application (the requests a service serves: their latency,
  errors and volume);
- `traffic`: a volume of requests, bytes, packets, messages, records or I/O operations, so that
  a change is load rather than, by itself, a fault;
- `percent`: a share of a whole on a 0-100 scale;
- `outgoing`: the latency of calls the resource makes to something behind it, measured on its
  own side (API Gateway's IntegrationLatency, CloudFront's OriginLatency).

Metrics outside this table are read by the word rules in `tools.analysis.semantics`.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.models import Domain

BadDirection = Literal["up", "down", "both", "none"]


class MetricMeaning(BaseModel):
    model_config = ConfigDict(frozen=True)

    bad: BadDirection
    domain: Domain
    traffic: bool = False
    percent: bool = False
    outgoing: bool = False


NET, INFRA, APP = "network", "infrastructure", "application"
T, P, O = "traffic", "percent", "outgoing"  # flags after (bad, domain)

Row = tuple[str, ...]

_ALB: dict[str, Row] = {
    "RequestCount": ("both", APP, T),
    "RequestCountPerTarget": ("both", APP, T),
    "NonStickyRequestCount": ("both", APP, T),
    "HTTPCode_Target_2XX_Count": ("both", APP, T),
    "HTTPCode_Target_3XX_Count": ("both", APP, T),
    "HTTPCode_Target_4XX_Count": ("up", APP),
    "HTTPCode_Target_5XX_Count": ("up", APP),
    "HTTPCode_ELB_3XX_Count": ("both", APP, T),
    "HTTPCode_ELB_4XX_Count": ("up", APP),
    "HTTPCode_ELB_5XX_Count": ("up", APP),
    "HTTPCode_ELB_500_Count": ("up", APP),
    "HTTPCode_ELB_502_Count": ("up", APP),
    "HTTPCode_ELB_503_Count": ("up", APP),
    "HTTPCode_ELB_504_Count": ("up", APP),
    "HTTP_Fixed_Response_Count": ("both", APP, T),
    "HTTP_Redirect_Count": ("both", APP, T),
    "RuleEvaluations": ("both", APP, T),
    "TargetResponseTime": ("up", APP),
    "ELBAuthError": ("up", APP),
    "ELBAuthFailure": ("up", APP),
    "ELBAuthLatency": ("up", APP),
    "ActiveConnectionCount": ("both", NET, T),
    "NewConnectionCount": ("both", NET, T),
    "ProcessedBytes": ("both", NET, T),
    "LambdaTargetProcessedBytes": ("both", NET, T),
    "ConsumedLCUs": ("both", NET, T),
    "ClientTLSNegotiationErrorCount": ("up", NET),
    "TargetTLSNegotiationErrorCount": ("up", NET),
    "TargetConnectionErrorCount": ("up", NET),
    "RejectedConnectionCount": ("up", NET),
    "HealthyHostCount": ("down", INFRA),
    "UnHealthyHostCount": ("up", INFRA),
    "AnomalousHostCount": ("up", INFRA),
}

_NLB: dict[str, Row] = {
    **{f"{name}{suffix}": ("both", NET, T)
       for name in ("ActiveFlowCount", "NewFlowCount", "ProcessedBytes", "ConsumedLCUs")
       for suffix in ("", "_TCP", "_TLS", "_UDP")},
    "ProcessedPackets": ("both", NET, T),
    "PeakBytesPerSecond": ("both", NET, T),
    "PeakPacketsPerSecond": ("both", NET, T),
    "TCP_Client_Reset_Count": ("up", NET),
    "TCP_ELB_Reset_Count": ("up", NET),
    "TCP_Target_Reset_Count": ("up", NET),
    "ClientTLSNegotiationErrorCount": ("up", NET),
    "TargetTLSNegotiationErrorCount": ("up", NET),
    "PortAllocationErrorCount": ("up", NET),
    "UnhealthyRoutingFlowCount": ("up", NET),
    "HealthyHostCount": ("down", INFRA),
    "UnHealthyHostCount": ("up", INFRA),
}

_CLASSIC_ELB: dict[str, Row] = {
    "RequestCount": ("both", APP, T),
    "Latency": ("up", APP),
    "HTTPCode_Backend_2XX": ("both", APP, T),
    "HTTPCode_Backend_3XX": ("both", APP, T),
    "HTTPCode_Backend_4XX": ("up", APP),
    "HTTPCode_Backend_5XX": ("up", APP),
    "HTTPCode_ELB_4XX": ("up", APP),
    "HTTPCode_ELB_5XX": ("up", APP),
    "BackendConnectionErrors": ("up", NET),
    "HealthyHostCount": ("down", INFRA),
    "UnHealthyHostCount": ("up", INFRA),
    "SurgeQueueLength": ("up", INFRA),
    "SpilloverCount": ("up", INFRA),
    "EstimatedALBActiveConnectionCount": ("both", NET, T),
    "EstimatedALBNewConnectionCount": ("both", NET, T),
    "EstimatedALBConsumedLCUs": ("both", NET, T),
    "EstimatedProcessedBytes": ("both", NET, T),
}

_ECS: dict[str, Row] = {
    "CPUUtilization": ("up", INFRA, P),
    "MemoryUtilization": ("up", INFRA, P),
    "CPUReservation": ("up", INFRA, P),
    "MemoryReservation": ("up", INFRA, P),
    "GPUReservation": ("up", INFRA, P),
    "EBSFilesystemUtilized": ("up", INFRA, P),
    # Service Connect
    "RequestCount": ("both", APP, T),
    "RequestCountPerTarget": ("both", APP, T),
    "TargetResponseTime": ("up", APP),
    "HTTPCode_Target_2XX_Count": ("both", APP, T),
    "HTTPCode_Target_3XX_Count": ("both", APP, T),
    "HTTPCode_Target_4XX_Count": ("up", APP),
    "HTTPCode_Target_5XX_Count": ("up", APP),
    "ActiveConnectionCount": ("both", NET, T),
    "NewConnectionCount": ("both", NET, T),
    "ProcessedBytes": ("both", NET, T),
    "TargetProcessedBytes": ("both", NET, T),
    "ClientTLSNegotiationErrorCount": ("up", NET),
}

_CONTAINER_INSIGHTS: dict[str, Row] = {
    "CpuUtilized": ("up", INFRA),
    "MemoryUtilized": ("up", INFRA),
    "CpuReserved": ("none", INFRA),
    "MemoryReserved": ("none", INFRA),
    "EphemeralStorageUtilized": ("up", INFRA),
    "EphemeralStorageReserved": ("none", INFRA),
    "NetworkRxBytes": ("both", NET, T),
    "NetworkTxBytes": ("both", NET, T),
    "StorageReadBytes": ("both", INFRA, T),
    "StorageWriteBytes": ("both", INFRA, T),
    "RunningTaskCount": ("down", INFRA),
    "PendingTaskCount": ("up", INFRA),
    "DesiredTaskCount": ("none", INFRA),
    "TaskCount": ("none", INFRA),
    "TaskSetCount": ("none", INFRA),
    "ServiceCount": ("none", INFRA),
    "DeploymentCount": ("none", INFRA),
    "ContainerInstanceCount": ("none", INFRA),
    "RestartCount": ("up", INFRA),
    # enhanced observability
    "ContainerCpuUtilization": ("up", INFRA, P),
    "ContainerMemoryUtilization": ("up", INFRA, P),
    "TaskCpuUtilization": ("up", INFRA, P),
    "TaskMemoryUtilization": ("up", INFRA, P),
    "TaskEphemeralStorageUtilization": ("up", INFRA, P),
}

_EC2: dict[str, Row] = {
    "CPUUtilization": ("up", INFRA, P),
    "CPUCreditUsage": ("up", INFRA),
    "CPUCreditBalance": ("down", INFRA),
    "CPUSurplusCreditBalance": ("up", INFRA),
    "CPUSurplusCreditsCharged": ("up", INFRA),
    "DiskReadOps": ("both", INFRA, T),
    "DiskWriteOps": ("both", INFRA, T),
    "DiskReadBytes": ("both", INFRA, T),
    "DiskWriteBytes": ("both", INFRA, T),
    "EBSReadOps": ("both", INFRA, T),
    "EBSWriteOps": ("both", INFRA, T),
    "EBSReadBytes": ("both", INFRA, T),
    "EBSWriteBytes": ("both", INFRA, T),
    "EBSIOBalance%": ("down", INFRA, P),
    "EBSByteBalance%": ("down", INFRA, P),
    "NetworkIn": ("both", NET, T),
    "NetworkOut": ("both", NET, T),
    "NetworkPacketsIn": ("both", NET, T),
    "NetworkPacketsOut": ("both", NET, T),
    "StatusCheckFailed": ("up", INFRA),
    "StatusCheckFailed_Instance": ("up", INFRA),
    "StatusCheckFailed_System": ("up", INFRA),
    "StatusCheckFailed_AttachedEBS": ("up", INFRA),
    "MetadataNoToken": ("none", INFRA),
}

_EBS: dict[str, Row] = {
    "VolumeReadBytes": ("both", INFRA, T),
    "VolumeWriteBytes": ("both", INFRA, T),
    "VolumeReadOps": ("both", INFRA, T),
    "VolumeWriteOps": ("both", INFRA, T),
    "VolumeConsumedReadWriteOps": ("both", INFRA, T),
    "VolumeTotalReadTime": ("up", INFRA),
    "VolumeTotalWriteTime": ("up", INFRA),
    "VolumeAvgReadLatency": ("up", INFRA),
    "VolumeAvgWriteLatency": ("up", INFRA),
    "VolumeIdleTime": ("none", INFRA),
    "VolumeQueueLength": ("up", INFRA),
    "VolumeThroughputPercentage": ("down", INFRA, P),
    "BurstBalance": ("down", INFRA, P),
    "VolumeStalledIOCheck": ("up", INFRA),
    "VolumeIOPSExceededCheck": ("up", INFRA),
    "VolumeThroughputExceededCheck": ("up", INFRA),
}

_RDS: dict[str, Row] = {
    "CPUUtilization": ("up", INFRA, P),
    "CPUCreditUsage": ("up", INFRA),
    "CPUCreditBalance": ("down", INFRA),
    "DatabaseConnections": ("both", INFRA),
    "ConnectionAttempts": ("both", INFRA, T),
    "FreeStorageSpace": ("down", INFRA),
    "FreeableMemory": ("down", INFRA),
    "FreeLocalStorage": ("down", INFRA),
    "SwapUsage": ("up", INFRA),
    "ReadLatency": ("up", INFRA),
    "WriteLatency": ("up", INFRA),
    "ReadIOPS": ("both", INFRA, T),
    "WriteIOPS": ("both", INFRA, T),
    "ReadThroughput": ("both", INFRA, T),
    "WriteThroughput": ("both", INFRA, T),
    "NetworkReceiveThroughput": ("both", NET, T),
    "NetworkTransmitThroughput": ("both", NET, T),
    "DiskQueueDepth": ("up", INFRA),
    "BinLogDiskUsage": ("up", INFRA),
    "TransactionLogsDiskUsage": ("up", INFRA),
    "ReplicaLag": ("up", INFRA),
    "OldestReplicationSlotLag": ("up", INFRA),
    "ReplicationSlotDiskUsage": ("up", INFRA),
    "MaximumUsedTransactionIDs": ("up", INFRA),
    "BurstBalance": ("down", INFRA, P),
    "EBSIOBalance%": ("down", INFRA, P),
    "EBSByteBalance%": ("down", INFRA, P),
    "DBLoad": ("up", INFRA),
    "DBLoadCPU": ("up", INFRA),
    "DBLoadNonCPU": ("up", INFRA),
    "CheckpointLag": ("up", INFRA),
    # Aurora
    "AuroraReplicaLag": ("up", INFRA),
    "AuroraReplicaLagMaximum": ("up", INFRA),
    "AuroraReplicaLagMinimum": ("up", INFRA),
    "BufferCacheHitRatio": ("down", INFRA, P),
    "Deadlocks": ("up", INFRA),
    "BlockedTransactions": ("up", INFRA),
    "LoginFailures": ("up", INFRA),
    "AbortedClients": ("up", INFRA),
    "RowLockTime": ("up", INFRA),
    "ActiveTransactions": ("both", INFRA),
    "Queries": ("both", INFRA, T),
    **{f"{op}Latency": ("up", INFRA) for op in ("Commit", "DDL", "DML", "Delete", "Insert", "Select", "Update")},
    **{f"{op}Throughput": ("both", INFRA, T) for op in ("Commit", "DDL", "DML", "Delete", "Insert", "Select", "Update")},
    "VolumeBytesUsed": ("up", INFRA),
    "AuroraVolumeBytesLeftTotal": ("down", INFRA),
    "ServerlessDatabaseCapacity": ("none", INFRA),
    "ACUUtilization": ("up", INFRA, P),
    "EngineUptime": ("down", INFRA),  # falls to zero when the engine restarts
}

_DYNAMODB: dict[str, Row] = {
    "ConsumedReadCapacityUnits": ("both", INFRA, T),
    "ConsumedWriteCapacityUnits": ("both", INFRA, T),
    "ProvisionedReadCapacityUnits": ("none", INFRA),
    "ProvisionedWriteCapacityUnits": ("none", INFRA),
    "ReadThrottleEvents": ("up", INFRA),
    "WriteThrottleEvents": ("up", INFRA),
    "ThrottledRequests": ("up", INFRA),
    "SuccessfulRequestLatency": ("up", INFRA),
    "SystemErrors": ("up", INFRA),
    "UserErrors": ("up", APP),
    "TransactionConflict": ("up", APP),
    "ConditionalCheckFailedRequests": ("up", APP),
    "ReturnedItemCount": ("both", INFRA, T),
    "ReturnedBytes": ("both", INFRA, T),
    "ReturnedRecordsCount": ("both", INFRA, T),
    "ReplicationLatency": ("up", INFRA),
    "PendingReplicationCount": ("up", INFRA),
    "AccountProvisionedReadCapacityUtilization": ("up", INFRA, P),
    "AccountProvisionedWriteCapacityUtilization": ("up", INFRA, P),
    "MaxProvisionedTableReadCapacityUtilization": ("up", INFRA, P),
    "MaxProvisionedTableWriteCapacityUtilization": ("up", INFRA, P),
    "OnlineIndexPercentageProgress": ("none", INFRA, P),
}

_LAMBDA: dict[str, Row] = {
    "Invocations": ("both", APP, T),
    "Errors": ("up", APP),
    "Duration": ("up", APP),
    "PostRuntimeExtensionsDuration": ("up", APP),
    "DeadLetterErrors": ("up", APP),
    "DestinationDeliveryFailures": ("up", APP),
    "Throttles": ("up", INFRA),
    "ConcurrentExecutions": ("up", INFRA),  # in-flight executions against the concurrency limit
    "UnreservedConcurrentExecutions": ("up", INFRA),
    "ClaimedAccountConcurrency": ("up", INFRA),
    "ProvisionedConcurrentExecutions": ("none", INFRA),
    "ProvisionedConcurrencyUtilization": ("up", INFRA),
    "ProvisionedConcurrencyInvocations": ("both", APP, T),
    "ProvisionedConcurrencySpilloverInvocations": ("up", INFRA),
    "IteratorAge": ("up", INFRA),
    "OffsetLag": ("up", INFRA),
    "AsyncEventsReceived": ("both", APP, T),
    "AsyncEventAge": ("up", INFRA),
    "AsyncEventsDropped": ("up", APP),
    "RecursiveInvocationsDropped": ("up", APP),
}

_SQS: dict[str, Row] = {
    "ApproximateAgeOfOldestMessage": ("up", INFRA),
    "ApproximateNumberOfMessagesVisible": ("up", INFRA),  # the backlog waiting for a consumer
    "ApproximateNumberOfMessagesNotVisible": ("up", INFRA),  # in flight: received, not yet deleted
    "ApproximateNumberOfMessagesDelayed": ("none", INFRA),
    "NumberOfMessagesSent": ("both", INFRA, T),
    "NumberOfMessagesReceived": ("both", INFRA, T),
    "NumberOfMessagesDeleted": ("both", INFRA, T),
    "NumberOfEmptyReceives": ("none", INFRA),
    "SentMessageSize": ("both", INFRA),
}

_SNS: dict[str, Row] = {
    "NumberOfMessagesPublished": ("both", INFRA, T),
    "NumberOfNotificationsDelivered": ("both", INFRA, T),
    "NumberOfNotificationsFailed": ("up", INFRA),
    "NumberOfNotificationsFilteredOut": ("none", INFRA),
    "NumberOfNotificationsFilteredOut-InvalidAttributes": ("up", APP),
    "NumberOfNotificationsFilteredOut-NoMessageAttributes": ("up", APP),
    "NumberOfNotificationsRedrivenToDlq": ("up", INFRA),
    "NumberOfNotificationsFailedToRedriveToDlq": ("up", INFRA),
    "PublishSize": ("both", INFRA),
    "SMSSuccessRate": ("down", INFRA),  # a fraction (0-1), not a percentage
}

_API_GATEWAY: dict[str, Row] = {
    "Count": ("both", APP, T),
    "4XXError": ("up", APP),
    "5XXError": ("up", APP),
    "4xx": ("up", APP),  # HTTP APIs
    "5xx": ("up", APP),
    "Latency": ("up", APP),
    "IntegrationLatency": ("up", APP, O),
    "CacheHitCount": ("both", APP, T),
    "CacheMissCount": ("up", APP),
    "DataProcessed": ("both", NET, T),
    # WebSocket APIs
    "ConnectCount": ("both", APP, T),
    "MessageCount": ("both", APP, T),
    "IntegrationError": ("up", APP),
    "ClientError": ("up", APP),
    "ExecutionError": ("up", APP),
}

_ELASTICACHE: dict[str, Row] = {
    "CPUUtilization": ("up", INFRA, P),
    "EngineCPUUtilization": ("up", INFRA, P),
    "DatabaseMemoryUsagePercentage": ("up", INFRA, P),
    "DatabaseCapacityUsagePercentage": ("up", INFRA, P),
    "FreeableMemory": ("down", INFRA),
    "SwapUsage": ("up", INFRA),
    "BytesUsedForCache": ("up", INFRA),
    "MemoryFragmentationRatio": ("up", INFRA),
    "Evictions": ("up", INFRA),
    "CurrConnections": ("both", INFRA),
    "NewConnections": ("both", NET, T),
    "CurrItems": ("none", INFRA),
    "CacheHits": ("both", INFRA, T),
    "CacheMisses": ("up", INFRA),
    "CacheHitRate": ("down", INFRA, P),
    "GetTypeCmds": ("both", INFRA, T),
    "SetTypeCmds": ("both", INFRA, T),
    "GetTypeCmdsLatency": ("up", INFRA),
    "SetTypeCmdsLatency": ("up", INFRA),
    "SuccessfulReadRequestLatency": ("up", INFRA),
    "SuccessfulWriteRequestLatency": ("up", INFRA),
    "ReplicationLag": ("up", INFRA),
    "ThrottledCmds": ("up", INFRA),
    "ElastiCacheProcessingUnits": ("both", INFRA, T),
    "NetworkBytesIn": ("both", NET, T),
    "NetworkBytesOut": ("both", NET, T),
    "NetworkPacketsIn": ("both", NET, T),
    "NetworkPacketsOut": ("both", NET, T),
    "NetworkBandwidthInAllowanceExceeded": ("up", NET),
    "NetworkBandwidthOutAllowanceExceeded": ("up", NET),
    "NetworkConntrackAllowanceExceeded": ("up", NET),
    "NetworkPacketsPerSecondAllowanceExceeded": ("up", NET),
}

_KINESIS: dict[str, Row] = {
    "IncomingBytes": ("both", INFRA, T),
    "IncomingRecords": ("both", INFRA, T),
    "OutgoingBytes": ("both", INFRA, T),
    "OutgoingRecords": ("both", INFRA, T),
    "GetRecords.Bytes": ("both", INFRA, T),
    "GetRecords.Records": ("both", INFRA, T),
    "GetRecords.IteratorAgeMilliseconds": ("up", INFRA),
    "GetRecords.Latency": ("up", INFRA),
    "GetRecords.Success": ("down", INFRA),  # a fraction (0-1) with Average
    "PutRecord.Bytes": ("both", INFRA, T),
    "PutRecord.Latency": ("up", INFRA),
    "PutRecord.Success": ("down", INFRA),
    "PutRecords.Bytes": ("both", INFRA, T),
    "PutRecords.Latency": ("up", INFRA),
    "PutRecords.Success": ("down", INFRA),
    "PutRecords.Records": ("both", INFRA, T),
    "PutRecords.TotalRecords": ("both", INFRA, T),
    "PutRecords.SuccessfulRecords": ("both", INFRA, T),
    "PutRecords.FailedRecords": ("up", INFRA),
    "PutRecords.ThrottledRecords": ("up", INFRA),
    "ReadProvisionedThroughputExceeded": ("up", INFRA),
    "WriteProvisionedThroughputExceeded": ("up", INFRA),
    "SubscribeToShard.RateExceeded": ("up", INFRA),
    "SubscribeToShardEvent.MillisBehindLatest": ("up", INFRA),
}

_CLOUDFRONT: dict[str, Row] = {
    "Requests": ("both", NET, T),
    "BytesDownloaded": ("both", NET, T),
    "BytesUploaded": ("both", NET, T),
    "TotalErrorRate": ("up", NET, P),
    "4xxErrorRate": ("up", NET, P),
    "5xxErrorRate": ("up", NET, P),
    **{f"{code}ErrorRate": ("up", NET, P) for code in (401, 403, 404, 502, 503, 504)},
    "CacheHitRate": ("down", NET, P),
    "OriginLatency": ("up", NET, O),
    "FunctionInvocations": ("both", NET, T),
    "FunctionValidationErrors": ("up", NET),
    "FunctionExecutionErrors": ("up", NET),
    "FunctionThrottles": ("up", NET),
    "FunctionComputeUtilization": ("up", NET, P),
    "LambdaExecutionError": ("up", NET),
    "LambdaValidationError": ("up", NET),
}

_NAT_GATEWAY: dict[str, Row] = {
    "ActiveConnectionCount": ("both", NET, T),
    "ConnectionAttemptCount": ("both", NET, T),
    "ConnectionEstablishedCount": ("both", NET, T),
    **{f"{what}{way}": ("both", NET, T)
       for what in ("Bytes", "Packets")
       for way in ("InFromDestination", "InFromSource", "OutToDestination", "OutToSource")},
    "PeakBytesPerSecond": ("both", NET, T),
    "PeakPacketsPerSecond": ("both", NET, T),
    "ErrorPortAllocation": ("up", NET),
    "IdleTimeoutCount": ("up", NET),
    "PacketsDropCount": ("up", NET),
}

_ROUTE53: dict[str, Row] = {
    "HealthCheckStatus": ("down", NET),  # 1 healthy, 0 unhealthy
    "HealthCheckPercentageHealthy": ("down", NET, P),
    "ChildHealthCheckHealthyCount": ("down", NET),
    "ConnectionTime": ("up", NET),
    "SSLHandshakeTime": ("up", NET),
    "TimeToFirstByte": ("up", NET),
    "DNSQueries": ("both", NET, T),
}

_APPLICATION_SIGNALS: dict[str, Row] = {
    "Latency": ("up", APP),
    "Fault": ("up", APP),  # server-side faults (HTTP 5XX, span errors)
    "Error": ("up", APP),  # client errors (HTTP 4XX)
}

_ACM: dict[str, Row] = {
    "DaysToExpiry": ("down", INFRA),
}

_NAMESPACES: dict[str, dict[str, Row]] = {
    "AWS/ApplicationELB": _ALB,
    "AWS/NetworkELB": _NLB,
    "AWS/ELB": _CLASSIC_ELB,
    "AWS/ECS": _ECS,
    "ECS/ContainerInsights": _CONTAINER_INSIGHTS,
    "AWS/EC2": _EC2,
    "AWS/EBS": _EBS,
    "AWS/RDS": _RDS,
    "AWS/DynamoDB": _DYNAMODB,
    "AWS/Lambda": _LAMBDA,
    "AWS/SQS": _SQS,
    "AWS/SNS": _SNS,
    "AWS/ApiGateway": _API_GATEWAY,
    "AWS/ElastiCache": _ELASTICACHE,
    "AWS/Kinesis": _KINESIS,
    "AWS/CloudFront": _CLOUDFRONT,
    "AWS/NATGateway": _NAT_GATEWAY,
    "AWS/Route53": _ROUTE53,
    "ApplicationSignals": _APPLICATION_SIGNALS,
    "AWS/CertificateManager": _ACM,
}


def _meaning(row: Row) -> MetricMeaning:
    bad, domain, *flags = row
    return MetricMeaning(bad=bad, domain=domain, traffic=T in flags, percent=P in flags, outgoing=O in flags)


@cache
def table() -> dict[tuple[str, str], MetricMeaning]:
    """Every entry, keyed by (namespace, metric)."""
    return {(ns, metric): _meaning(row) for ns, rows in _NAMESPACES.items() for metric, row in rows.items()}


@cache
def by_metric_name() -> dict[str, MetricMeaning]:
    """Metric names whose meaning is the same in every namespace that has them, for callers
    that know the name only (an alarm without its namespace)."""
    seen: dict[str, set[MetricMeaning]] = {}
    for (_, metric), meaning in table().items():
        seen.setdefault(metric, set()).add(meaning)
    return {metric: next(iter(meanings)) for metric, meanings in seen.items() if len(meanings) == 1}
