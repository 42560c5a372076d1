"""The game-day scenarios: one function each, registered with its cause and root-resource kind.

Cause categories follow the five causes of failure: a resource that changed (deploy,
configuration, permissions, firewall) is a `change`; a limit that was reached (capacity,
connections, disk, concurrency, certificate validity) is a `constraint`; a third party that
misbehaves is a `dependency`; a part of the platform that breaks (a task that crashes, an
Availability Zone that loses power or degrades) is a `component`; demand beyond capacity is
`traffic`. The root resource is the resource that changed, was constrained or broke.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from domain.models import HealthEvent
from evals.gameday.app import (
    ACCOUNT, ALB, ALB_DIMENSION, APP_NAMESPACE, APPCONFIG_SERVICES, AZS, CART_TABLE, CERT, CLUSTER, DB, DB_CALLERS,
    DB_MAX_CONNECTIONS, DB_PRIMARY_AZ, DB_SG, ENTRY_SERVICE, FUNCTION, FUNCTION_ROLE, GATEWAY, ORDERS_TABLE, QUEUE,
    REGION, SERVICES, config_of, parameter_name, role_of,
)
from evals.gameday.metrics import MetricBook, days_to_expiry
from evals.gameday.scenario import AUTOSCALING, AlarmSpec, Injection, deployer, human, scenario
from evals.gameday.sim import BASE_LATENCY_MS, NZ

_LB = (("LoadBalancer", ALB_DIMENSION),)
ALB_5XX = AlarmSpec("shop-alb-target-5xx-high", ALB, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", dimensions=_LB)
ALB_ELB_5XX = AlarmSpec("shop-alb-elb-5xx-high", ALB, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", dimensions=_LB,
                        datapoints=2)
ALB_P99 = AlarmSpec("shop-alb-p99-latency-high", ALB, "AWS/ApplicationELB", "TargetResponseTime", "p99", dimensions=_LB)
ALB_AVG = AlarmSpec("shop-alb-latency-high", ALB, "AWS/ApplicationELB", "TargetResponseTime", "Average", dimensions=_LB)
ALB_LOW = AlarmSpec("shop-alb-requests-low", ALB, "AWS/ApplicationELB", "RequestCount", "Sum", "LessThanThreshold", _LB)
ENTRY_ERRORS = AlarmSpec("storefront-errors-high", ENTRY_SERVICE, APP_NAMESPACE, "Errors", "Sum", dimensions=(("Service", ENTRY_SERVICE),))
QUEUE_AGE = AlarmSpec("orders-queue-oldest-message-age-high", QUEUE, "AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum",
                      dimensions=(("QueueName", QUEUE),), floor=60.0)
FUNCTION_ERRORS = AlarmSpec("order-processor-errors", FUNCTION, "AWS/Lambda", "Errors", "Sum", dimensions=(("FunctionName", FUNCTION),),
                            floor=5.0)

JAVA_STACK = {"catalog", "checkout", "payments"}


def _curve(inj: Injection, start: int, ramp: int = 0, end: int | None = None) -> np.ndarray:
    return inj.sim.ramp(start, ramp, end)


# --- constraint -------------------------------------------------------------------------------


@scenario("dynamodb-throttling", "constraint", "AWS::DynamoDB::Table", "dynamodb-write-throttling",
          "Write load on a provisioned DynamoDB table rises past its write capacity; writes are throttled.")
def dynamodb_throttling(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    table = inj.pick([CART_TABLE, ORDERS_TABLE])
    inj.root, inj.hit = table, {table}
    # A bulk job adds writes: demand climbs through the capacity at the onset.
    sim.rate_factor[table] = 1.0 + inj.uniform(0.9, 1.6) * _curve(inj, o, int(inj.rng.integers(2, 5)))
    op = "PutItem" if table == CART_TABLE else "UpdateItem"
    if table == CART_TABLE:
        sim.texts.client[table] = [
            "failed to save cart item | ProvisionedThroughputExceededException: The level of configured provisioned throughput "
            "for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API. "
            "(Service: DynamoDB, Status Code: 400, Request ID: {request_id})",
        ]
        sim.texts.slow[table] = ["dynamodb PutItem cart-table retried 4 times (throttled), took {ms} ms"]
        inj.alarms = [ALB_P99, ALB_5XX, ENTRY_ERRORS]
    else:
        sim.texts.client[table] = [
            "Failed to update order {n} | botocore.errorfactory.ProvisionedThroughputExceededException: An error occurred "
            "(ProvisionedThroughputExceededException) when calling the UpdateItem operation (reached max retries: 9): "
            "The level of configured provisioned throughput for the table was exceeded.",
        ]
        inj.alarms = [QUEUE_AGE, FUNCTION_ERRORS]
    inj.summary = f"{op} traffic on {table} exceeds its provisioned write capacity from minute {o}"


@scenario("rds-storage-full", "constraint", "AWS::RDS::DBInstance", "rds-storage-full",
          "The database's free storage runs out; every write fails with 'No space left on device'.")
def rds_storage_full(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    inj.root, inj.hit = DB, {DB}
    write_share = {"checkout": inj.uniform(0.45, 0.8), "catalog": inj.uniform(0.02, 0.06)}
    for caller in DB_CALLERS:
        sim.add_edge(caller, DB, errors=sim.zonal(write_share[caller] * _curve(inj, o, 1)))
        sim.texts.edge[(caller, DB)] = [
            "Could not commit JPA transaction | org.postgresql.util.PSQLException: ERROR: could not extend file "
            "\"base/16401/24576.3\": No space left on device\n  Hint: Check free disk space.",
            "Could not write order audit record | org.postgresql.util.PSQLException: ERROR: could not write to file "
            "\"pg_wal/xlogtemp.{n}\": No space left on device",
        ]
    start_free = inj.uniform(3.0e9, 9.0e9)

    def disk(book: MetricBook) -> None:
        t = np.arange(sim.minutes, dtype=float)
        free = np.where(t < o, start_free * (1 - t / o) + 1.2e8 * (t / o), 3.0e7 + 1.0e6 * sim.rng.random(sim.minutes))
        book.get(DB, "FreeStorageSpace")[:] = np.round(free)
        book.get(DB, "WriteIOPS")[:] *= np.where(t >= o, 0.35, 1.0)

    inj.edits.append(disk)
    inj.alarms = [ALB_5XX, ENTRY_ERRORS]
    inj.summary = f"{DB} free storage reaches zero at minute {o}; writes fail"


@scenario("rds-max-connections", "constraint", "AWS::RDS::DBInstance", "rds-max-connections",
          "Connections pile up on the database until max_connections; new connections are refused.")
def rds_max_connections(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    inj.root, inj.hit = DB, {DB}
    climb = int(inj.rng.integers(10, 25))
    refused = inj.uniform(0.15, 0.45)
    sim.own_latency[DB] += sim.zonal(inj.uniform(6, 18) * _curve(inj, o - climb, climb))
    for caller in DB_CALLERS:
        sim.add_edge(caller, DB, latency_ms=sim.zonal(inj.uniform(800, 2500) * _curve(inj, o, 2)),
                     errors=sim.zonal(refused * _curve(inj, o, 2)))
        sim.texts.edge[(caller, DB)] = [
            "Could not open JDBC Connection for transaction | org.postgresql.util.PSQLException: FATAL: sorry, too many clients already",
            "Could not open JDBC Connection for transaction | org.postgresql.util.PSQLException: FATAL: remaining connection "
            "slots are reserved for non-replication superuser connections",
            "HikariPool-1 - Connection is not available, request timed out after 30000ms. | java.sql.SQLTransientConnectionException: "
            "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
        ]

    def connections(book: MetricBook) -> None:
        series = book.get(DB, "DatabaseConnections")
        base = float(np.median(series[: o - climb]))
        ramp = _curve(inj, o - climb, climb)
        series[:] = np.round(np.minimum(series + ramp * (DB_MAX_CONNECTIONS - base), DB_MAX_CONNECTIONS - sim.rng.integers(0, 4, sim.minutes)))
        book.get(DB, "CPUUtilization")[:] += ramp * inj.uniform(15, 30)

    inj.edits.append(connections)
    inj.alarms = [ALB_5XX, ALB_P99, ENTRY_ERRORS]
    inj.summary = f"{DB} connections climb from minute {o - climb} and hit max_connections ({DB_MAX_CONNECTIONS}) at minute {o}"


@scenario("lambda-concurrency-exhausted", "constraint", "AWS::Lambda::Function", "lambda-concurrency-exhausted",
          "The Lambda draining the order queue runs out of concurrency; invocations are throttled and the queue backs up.")
def lambda_concurrency(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    inj.root, inj.hit = FUNCTION, {FUNCTION}
    # The function shares the account's unreserved pool; a batch workload elsewhere in the account
    # takes most of it, leaving this function a fraction of what it needs.
    need = float(np.ceil(sim.flow(perturbed=False)[QUEUE].max() * BASE_LATENCY_MS[FUNCTION] / 1000.0 * 1.5))
    left = max(1.0, np.floor(need * inj.uniform(0.3, 0.55)))
    sim.function_limit = np.where(np.arange(sim.minutes) >= o, left, need)
    inj.alarms = [QUEUE_AGE]
    inj.summary = f"{FUNCTION} can run only {left:.0f} concurrent executions from minute {o}"


@scenario("expired-tls-certificate", "constraint", "AWS::CertificateManager::Certificate", "tls-certificate-expired",
          "The imported certificate the ALB serves expires; clients fail the TLS handshake and requests vanish.")
def expired_certificate(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    inj.root, inj.hit = CERT, {CERT}
    sim.tls_failure = inj.uniform(0.8, 0.97) * _curve(inj, o, 1)
    inj.edits.append(lambda book: days_to_expiry(sim, book, o, 0.0))
    inj.alarms = [ALB_LOW]
    inj.summary = f"{CERT} expires at minute {o}"


# --- dependency -------------------------------------------------------------------------------


@scenario("external-api-timeout", "dependency", "Custom::ExternalApi", "external-api-timeout",
          "The external payment API slows down and times out; payments and checkout fail.")
def external_api_timeout(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    inj.root, inj.hit = GATEWAY, {GATEWAY}
    hard = inj.rng.random() < 0.5
    latency = 4800.0 if hard else inj.uniform(1400, 3000)
    errors = inj.uniform(0.5, 0.9) if hard else inj.uniform(0.12, 0.3)
    ramp = int(inj.rng.integers(1, 4))
    sim.own_latency[GATEWAY] += sim.zonal(latency * _curve(inj, o, ramp))
    sim.own_errors[GATEWAY] = np.maximum(sim.own_errors[GATEWAY], sim.zonal(errors * _curve(inj, o, ramp)))
    sim.texts.client[GATEWAY] = [
        "Payment authorization failed for order {n} | java.net.SocketTimeoutException: Read timed out",
        "I/O error on POST request for \"https://api.paymentprovider.example/v1/charges\": Read timed out | "
        "org.springframework.web.client.ResourceAccessException: I/O error on POST request for "
        "\"https://api.paymentprovider.example/v1/charges\": Read timed out",
    ]
    sim.texts.slow[GATEWAY] = ["Payment provider call POST /v1/charges took {ms} ms (SLO 800 ms)"]
    inj.alarms = [ALB_5XX, ENTRY_ERRORS, ALB_P99]
    inj.summary = f"{GATEWAY} {'times out' if hard else 'slows down'} from minute {o}"


# --- component --------------------------------------------------------------------------------

OOM_TEXT = {
    "java": "Exception in thread \"http-nio-8080-exec-{n}\" | java.lang.OutOfMemoryError: Java heap space",
    "go": "fatal error: runtime: out of memory | runtime: out of memory: cannot allocate 4194304-byte block (1968570368 in use)",
    "node": "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory | "
            "RangeError: JavaScript heap out of memory",
}


@scenario("ecs-oom-crashloop", "component", "AWS::ECS::Service", "ecs-task-oom-crashloop",
          "An ECS service's tasks leak memory and are killed by the OOM killer over and over (exit code 137).")
def ecs_oom(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    service = inj.pick([s for s in SERVICES])
    inj.root, inj.hit = service, {service}
    depth = inj.uniform(0.35, 0.6)
    t = np.arange(sim.minutes, dtype=float)
    period = inj.uniform(3.0, 5.0)
    cycle = 0.5 + 0.5 * np.cos(2 * np.pi * (t - o) / period)
    sim.alive[service] = sim.alive[service] * (1.0 - depth * (0.55 + 0.45 * cycle) * (t >= o))
    # Requests in flight on a killed task fail.
    sim.own_errors[service] = np.maximum(sim.own_errors[service], sim.zonal(inj.uniform(0.08, 0.2) * (t >= o)))
    memory = np.full(sim.minutes, SERVICES[service].memory_pct)
    leak = int(inj.rng.integers(15, 30))
    memory += np.clip((t - (o - leak)) / leak, 0, 1) * (97.0 - SERVICES[service].memory_pct) * (t < o)
    memory = np.where(t >= o, 62.0 + 36.0 * ((t - o) % period) / period, memory)
    sim.memory[service] = memory
    sim.texts.own[service] = [OOM_TEXT[SERVICES[service].language]]
    sim.texts.client[service] = [
        "I/O error calling " + service + ": Connection reset | java.net.SocketException: Connection reset",
        "upstream connect error or disconnect/reset before headers. reset reason: connection termination (" + service + ")",
    ]
    inj.alarms = [ALB_5XX, ALB_P99, ENTRY_ERRORS] + ([ALB_ELB_5XX] if service == ENTRY_SERVICE else [])
    inj.summary = f"{service} tasks are OOM-killed in a loop from minute {o} (memory climbing from minute {o - leak})"


@scenario("az-power-interruption", "component", "AWS::EC2::AvailabilityZone", "az-power-interruption",
          "One Availability Zone loses power: every task there stops, the load balancer fails requests until "
          "health checks catch up, and the remaining zones run hot.")
def az_power(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    z = int(inj.rng.integers(0, NZ))
    az = AZS[z]
    inj.root, inj.hit = az, {az}
    t = np.arange(sim.minutes)
    detect = int(inj.rng.integers(2, 4))  # health checks take a few intervals to mark targets unhealthy
    for service in SERVICES:
        sim.alive[service][z] = np.where(t >= o, 0.0, 1.0)
        sim.own_errors[service][z] = np.maximum(sim.own_errors[service][z], ((t >= o) & (t < o + detect)) * 0.9)
        sim.texts.own[service] = ["upstream connect error or disconnect/reset before headers. reset reason: connection failure"]
    sim.own_errors[ALB][z] = ((t >= o) & (t < o + detect)) * 0.85
    sim.alb_share[:, t >= o + detect] = np.array([[0.0 if i == z else 0.5] for i in range(NZ)])
    if az == DB_PRIMARY_AZ:
        sim.own_errors[DB] = np.maximum(sim.own_errors[DB], sim.zonal(((t >= o + 1) & (t < o + 3)) * 0.95))
        sim.texts.client[DB] = ["Could not open JDBC Connection | org.postgresql.util.PSQLException: Connection refused. "
                                "Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections."]
    inj.health.append(HealthEvent(
        id=f"arn:aws:health:{REGION}::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_{inj.event_id()[:8].upper()}",
        service="EC2", event_type_code="AWS_EC2_OPERATIONAL_ISSUE", category="issue", region=REGION, availability_zone=az,
        start=inj.at(o - 1), status="open",
        description=f"We are investigating a loss of power affecting a subset of EC2 instances and Fargate tasks in a single "
                    f"Availability Zone ({az}) in the {REGION} Region. Other Availability Zones are not affected.",
    ))
    inj.alarms = [ALB_ELB_5XX, ALB_5XX, ALB_P99]
    inj.summary = f"{az} loses power at minute {o}"


@scenario("gray-failure-az", "component", "AWS::EC2::AvailabilityZone", "az-gray-failure",
          "One Availability Zone's network degrades (about +300 ms, or partial packet loss); AWS Health stays silent.")
def gray_failure(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    z = int(inj.rng.integers(0, NZ))
    inj.root, inj.hit = AZS[z], {AZS[z]}
    loss = inj.rng.random() < 0.4
    ramp = _curve(inj, o, int(inj.rng.integers(1, 4)))
    if loss:
        sim.az_delay[z] += inj.uniform(180, 320) * ramp
        for service in SERVICES:
            sim.own_errors[service][z] = np.maximum(sim.own_errors[service][z], inj.uniform(0.02, 0.05) * ramp)
            sim.texts.own[service] = ["upstream connect error or disconnect/reset before headers. reset reason: connection termination"]
    else:
        sim.az_delay[z] += inj.uniform(250, 380) * ramp
    inj.alarms = [ALB_P99, ALB_AVG]
    inj.summary = f"{AZS[z]} network {'drops packets' if loss else 'adds latency'} from minute {o}"


# --- traffic ----------------------------------------------------------------------------------


@scenario("traffic-surge", "traffic", "AWS::ECS::Service", "traffic-surge-scaling-lag",
          "A surge on one endpoint (flash sale, bot) outruns the service's autoscaling; CPU saturates and requests are shed.")
def traffic_surge(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    # Services whose own capacity is what runs out (checkout would take payments down with it).
    service = inj.pick(["catalog", "cart"])
    inj.root, inj.hit = service, {service}
    base = sim.flow(perturbed=False)
    # Enough extra demand to take the service past 100 % CPU before autoscaling catches up.
    utilisation = base[service][o] * SERVICES[service].cpu_per_rps / 100.0
    factor = inj.uniform(1.25, 1.8) / utilisation
    extra = base[service] * (factor - 1.0) * _curve(inj, o, int(inj.rng.integers(2, 4)))
    sim.extra_rps[service] += extra
    for call in inj.app.callees(service):
        if call.callee in (CART_TABLE, ORDERS_TABLE):
            # The table is provisioned for peaks: the surge must not turn into a throttling incident.
            sim.table_capacity[call.callee] = float(np.ceil(base[call.callee].max() * factor * 1.3))
    # The surge enters through the load balancer and the storefront but only fans out at the service.
    sim.passthrough[ENTRY_SERVICE] += extra
    sim.passthrough[ALB] += extra
    sim.texts.own[service] = ["Rejecting request: worker pool exhausted (active=200, queued=500) | "
                              "java.util.concurrent.RejectedExecutionException: Task rejected from executor"]
    inj.alarms = [ALB_P99, ALB_5XX, ENTRY_ERRORS]
    inj.summary = f"requests to {service} rise x{factor:.1f} from minute {o}; autoscaling lags"


# --- change -----------------------------------------------------------------------------------

BAD_DEPLOY_TEXT = {
    "java": "Request processing failed | java.lang.NullPointerException: Cannot invoke \"com.shop.model.Price.amount()\" "
            "because the return value of \"com.shop.model.Item.price()\" is null",
    "go": "panic recovered in handler | runtime error: invalid memory address or nil pointer dereference",
    "node": "Unhandled error rendering page | TypeError: Cannot read properties of undefined (reading 'currency')",
}


def deploy(inj: Injection, service: str, minute: int, image: str) -> int:
    revision = int(inj.rng.integers(40, 400))
    actor = deployer(inj)
    inj.change(minute - 0.6, "ecs.amazonaws.com", "RegisterTaskDefinition", service, actor, family=service,
               containerDefinitions=[{"name": service, "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{service}:{image}"}])
    inj.change(minute, "ecs.amazonaws.com", "UpdateService", service, actor, cluster=CLUSTER, service=service,
               taskDefinition=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{service}:{revision + 1}", forceNewDeployment=False)
    inj.sim.deploys.setdefault(service, []).append(minute + 1)
    return revision + 1


@scenario("bad-deploy", "change", "AWS::ECS::Service", "bad-deploy",
          "A new task definition of one service rolls out with a bug; errors (or latency) rise as new tasks replace old ones.")
def bad_deploy(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    service = inj.pick(list(SERVICES))
    inj.root, inj.hit = service, {service}
    deployed = o - int(inj.rng.integers(1, 4))
    deploy(inj, service, deployed, f"v{int(inj.rng.integers(2, 9))}.{int(inj.rng.integers(0, 40))}.{int(inj.rng.integers(0, 9))}")
    rollout = _curve(inj, o, int(inj.rng.integers(3, 7)))
    if inj.rng.random() < 0.7:
        sim.own_errors[service] = np.maximum(sim.own_errors[service], sim.zonal(inj.uniform(0.08, 0.35) * rollout))
        inj.alarms = [ALB_5XX, ENTRY_ERRORS]
        kind = "errors"
    else:
        sim.own_latency[service] += sim.zonal(inj.uniform(4.0, 9.0) * SERVICES[service].base_latency_ms * rollout)
        sim.own_errors[service] = np.maximum(sim.own_errors[service], sim.zonal(0.01 * rollout))
        inj.alarms = [ALB_P99, ALB_AVG]
        kind = "latency"
    sim.texts.own[service] = [BAD_DEPLOY_TEXT[SERVICES[service].language]]
    inj.summary = f"{service} deploy at minute {deployed} raises {kind} from minute {o}"


WRONG_ENV = {
    "payments": (GATEWAY, "Charge declined by provider: HTTP 401 | com.shop.payments.ProviderAuthException: Invalid API key "
                 "provided: sk_test_****************4242 (test-mode key used against live endpoint)"),
    "catalog": (DB, "Failed to obtain JDBC Connection | org.postgresql.util.PSQLException: The connection attempt failed. "
                "Caused by: java.net.UnknownHostException: shop-db.staging.internal"),
    "cart": (CART_TABLE, "failed to load cart | ResourceNotFoundException: Requested resource not found: "
             "Table: cart-table-staging not found (Service: DynamoDB, Status Code: 400)"),
    "checkout": (QUEUE, "Failed to publish OrderPlaced event | software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException: "
                 "The specified queue does not exist for this wsdl version. (queue: orders-queue-staging)"),
}


@scenario("wrong-environment-config", "change", "AWS::SSM::Parameter / AWS::AppConfig::ConfigurationProfile", "config-from-wrong-environment",
          "A configuration value for production is replaced by the staging one; the service breaks once its cache refreshes.")
def wrong_config(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    service = inj.pick(list(WRONG_ENV))
    config = config_of(service)
    inj.root, inj.hit = config, {config, service}
    ttl = int(inj.rng.integers(1, 6))  # the service re-reads its configuration every few minutes
    changed = o - ttl
    actor = human(inj)
    if service in APPCONFIG_SERVICES:
        inj.change(changed, "appconfig.amazonaws.com", "StartDeployment", config, actor, applicationId="shop",
                   environmentId="prod", configurationProfileId=service, configurationVersion=str(int(inj.rng.integers(10, 90))),
                   deploymentStrategyId="AppConfig.AllAtOnce", description="sync settings from staging")
    else:
        inj.change(changed, "ssm.amazonaws.com", "PutParameter", config, actor, name=parameter_name(service), type="String",
                   overwrite=True, value="HIDDEN_DUE_TO_SECURITY_REASONS")
    target, text = WRONG_ENV[service]
    sim.add_edge(service, target, errors=sim.zonal(inj.uniform(0.85, 1.0) * _curve(inj, o, 2)))
    sim.texts.edge[(service, target)] = [text]
    inj.alarms = [ALB_5XX, ENTRY_ERRORS]
    inj.summary = f"{config} set to the staging value at minute {changed}; {service} fails calling {target} from minute {o}"


IAM_VARIANTS = {
    "cart": (CART_TABLE, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{CART_TABLE}",
             "failed to save cart item | AccessDeniedException: User: arn:aws:sts::{account}:assumed-role/cart-task-role/{task} "
             "is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:{region}:{account}:table/cart-table "
             "because no identity-based policy allows the dynamodb:PutItem action (Service: DynamoDB, Status Code: 400)"),
    "checkout": (QUEUE, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}",
                 "Failed to publish OrderPlaced event | software.amazon.awssdk.services.sqs.model.SqsException: User: "
                 "arn:aws:sts::{account}:assumed-role/checkout-task-role/{task} is not authorized to perform: sqs:sendmessage on "
                 "resource: arn:aws:sqs:{region}:{account}:orders-queue because no identity-based policy allows the "
                 "sqs:sendmessage action (Service: Sqs, Status Code: 403, Error Code: AccessDenied)"),
    FUNCTION: (ORDERS_TABLE, "dynamodb:UpdateItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{ORDERS_TABLE}",
               "Failed to update order {n} | botocore.exceptions.ClientError: An error occurred (AccessDeniedException) when "
               "calling the UpdateItem operation: User: arn:aws:sts::{account}:assumed-role/order-processor-role/order-processor "
               "is not authorized to perform: dynamodb:UpdateItem on resource: arn:aws:dynamodb:{region}:{account}:table/orders-table "
               "because no identity-based policy allows the dynamodb:UpdateItem action"),
}


@scenario("iam-policy-detached", "change", "AWS::IAM::Role", "iam-policy-detached",
          "A managed policy is detached from a workload's role during a permissions clean-up; its calls get AccessDenied.")
def iam_detached(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    workload = inj.pick(list(IAM_VARIANTS))
    role = FUNCTION_ROLE if workload == FUNCTION else role_of(workload)
    inj.root, inj.hit = role, {role, workload}
    target, action, arn, text = IAM_VARIANTS[workload]
    inj.change(o - inj.uniform(0.3, 2.5), "iam.amazonaws.com", "DetachRolePolicy", role, human(inj), roleName=role,
               policyArn=f"arn:aws:iam::{ACCOUNT}:policy/{workload}-{target}-access")
    sim.add_edge(workload, target, errors=sim.zonal(_curve(inj, o, 1)))
    sim.texts.edge[(workload, target)] = [text]
    inj.alarms = [QUEUE_AGE, FUNCTION_ERRORS] if workload == FUNCTION else [ALB_5XX, ENTRY_ERRORS]
    inj.summary = f"policy allowing {action} on {arn} detached from {role} at minute {o}"


@scenario("security-group-blocks-db", "change", "AWS::EC2::SecurityGroup", "security-group-blocks-database",
          "An ingress rule for the database port is revoked from the database's security group; new connections time out.")
def sg_blocks_db(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    inj.root, inj.hit = DB_SG, {DB_SG, DB}
    changed = o - int(inj.rng.integers(1, 4))
    actor = human(inj)
    rule = {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "groups": {"items": [{"groupId": "sg-0a71e5c2d9b4f6013"}]}}
    inj.change(changed, "ec2.amazonaws.com", "RevokeSecurityGroupIngress", DB_SG, actor, groupId="sg-0d4c2a9e7b51f3a86",
               ipPermissions={"items": [rule]})
    if inj.rng.random() < 0.5:
        inj.change(changed + 0.2, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", DB_SG, actor, groupId="sg-0d4c2a9e7b51f3a86",
                   ipPermissions={"items": [{**rule, "fromPort": 3306, "toPort": 3306}]})
    # Established connections survive (security groups track them); they fail as pools recycle.
    spread = int(inj.rng.integers(5, 12))
    failing = _curve(inj, o, spread)
    for caller in DB_CALLERS:
        sim.add_edge(caller, DB, latency_ms=sim.zonal(10000.0 * failing), errors=sim.zonal(0.9 * failing))
        sim.texts.edge[(caller, DB)] = [
            "HikariPool-1 - Connection is not available, request timed out after 10000ms. | java.sql.SQLTransientConnectionException: "
            "HikariPool-1 - Connection is not available, request timed out after 10000ms.",
            "Failed to obtain JDBC Connection | org.postgresql.util.PSQLException: The connection attempt failed. "
            "Caused by: java.net.SocketTimeoutException: Connect timed out (shop-db.c9akciq32.eu-west-1.rds.amazonaws.com:5432)",
        ]

    def idle_database(book: MetricBook) -> None:
        keep = 1.0 - 0.97 * failing
        for metric in ("DatabaseConnections", "WriteIOPS"):
            book.get(DB, metric)[:] = np.round(book.get(DB, metric) * keep, 1)
        cpu = book.get(DB, "CPUUtilization")
        cpu[:] = np.round(cpu * (1.0 - 0.75 * failing), 2)

    inj.edits.append(idle_database)
    inj.alarms = [ALB_5XX, ENTRY_ERRORS, ALB_P99]
    inj.summary = f"port 5432 revoked on {DB_SG} at minute {changed}; connections fail from minute {o}"


# --- no fault at all ---------------------------------------------------------------------------


@scenario("false-alarm", "unknown", "none", "false-alarm",
          "Nothing is wrong: an over-tight latency alarm fires on a short, self-resolving blip; the right answer is to abstain.")
def false_alarm(inj: Injection) -> None:
    sim, o = inj.sim, inj.onset
    inj.false_alarm = True
    # A few minutes of slower responses (a garbage-collection pause, a cold cache) that pass by themselves.
    length = int(inj.rng.integers(4, 7))
    base = SERVICES[ENTRY_SERVICE].base_latency_ms
    sim.own_latency[ENTRY_SERVICE] += sim.zonal(inj.uniform(0.9, 1.4) * base * _curve(inj, o, 0, o + length))
    inj.alarms = [replace(ALB_P99, tight=True)]
    inj.summary = f"no fault; a {length}-minute latency blip from minute {o} trips an alarm set too close to normal"


def autoscaling_changes(inj: Injection) -> None:
    """CloudTrail records of target-tracking scale-outs (always after the onset: never the cause)."""
    for minute, service, old, new in inj.sim.scaling_events:
        inj.change(minute + 0.5, "ecs.amazonaws.com", "UpdateService", service, AUTOSCALING, cluster=CLUSTER,
                   service=service, desiredCount=new, previousDesiredCount=old)
