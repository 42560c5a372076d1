"""The reference application every game-day incident happens on.

An online shop in one region: an Application Load Balancer in front of ECS services spread
over three Availability Zones, a PostgreSQL RDS instance, two DynamoDB tables, an SQS queue
drained by a Lambda function, and an external payment API. Everything a root cause can be is
a topology resource, including the Availability Zones, the ALB's TLS certificate, the IAM
roles, the database security group and each service's configuration parameter, so that the
ground truth is always a resource id.

Edges point from caller to callee ("the caller depends on the callee"). Two conventions
beyond plain calls: a queue depends on its consumer (its backlog grows when the consumer
cannot keep up), and a database depends on its security group (it is unreachable without it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.models import Edge, Resource, Topology

REGION = "eu-west-1"
ACCOUNT = "123456789012"
AZS: tuple[str, ...] = (f"{REGION}a", f"{REGION}b", f"{REGION}c")
CLUSTER = "shop-prod"
APP_NAMESPACE = "Shop/App"  # the application's own (EMF) metrics

ALB = "shop-alb"
CERT = "shop-alb-cert"
DB = "shop-db"
DB_SG = "shop-db-sg"
CART_TABLE = "cart-table"
ORDERS_TABLE = "orders-table"
QUEUE = "orders-queue"
FUNCTION = "order-processor"
FUNCTION_ROLE = "order-processor-role"
GATEWAY = "payment-gateway"

ALB_DIMENSION = "app/shop-alb/50dc6c495c0c9188"
TARGET_GROUP_DIMENSION = "targetgroup/storefront-tg/6d0ecf831eec9f09"
CERT_ARN = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0b3f6e2a-7c1d-4b8e-9f1a-2d5c8e7a4b31"
DB_PRIMARY_AZ = AZS[0]
DB_MAX_CONNECTIONS = 410  # LEAST({DBInstanceClassMemory/9531392}, 5000) for a db.r6g.large


@dataclass(frozen=True)
class Service:
    """An ECS service: its runtime, how it logs, and how much it costs to serve a request."""

    name: str
    language: str  # decides the log format
    tasks: int
    cpu_per_rps: float  # CPU % of the whole service per request/second
    base_latency_ms: float
    memory_pct: float
    endpoint: str


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("storefront", "node", 6, 0.45, 38.0, 41.0, "GET /"),
        Service("catalog", "java", 4, 0.68, 24.0, 58.0, "GET /products"),
        Service("cart", "go", 3, 1.05, 12.0, 33.0, "POST /cart/items"),
        Service("checkout", "java", 3, 6.5, 55.0, 52.0, "POST /checkout"),
        Service("payments", "java", 2, 7.5, 70.0, 47.0, "POST /payments"),
    )
}
ENTRY_SERVICE = "storefront"


def role_of(service: str) -> str:
    return f"{service}-task-role"


def config_of(service: str) -> str:
    return f"{service}-config"


def parameter_name(service: str) -> str:
    return f"/shop/prod/{service}/config"


# Services whose runtime configuration comes from AppConfig; the others read SSM parameters.
APPCONFIG_SERVICES = ("checkout", "payments")


@dataclass(frozen=True)
class Call:
    """A runtime call edge: `calls` callee requests per caller request."""

    caller: str
    callee: str
    calls: float
    # Share of the callee's failures that fail the caller's request (the rest is absorbed
    # by fallbacks or retries that succeed).
    passes_errors: float = 1.0
    # How much of the callee's added latency the caller feels (>1: retries and backoff).
    latency_gain: float = 1.0
    asynchronous: bool = False


CALLS: tuple[Call, ...] = (
    Call(ALB, "storefront", 1.0),
    Call("storefront", "catalog", 0.8, passes_errors=0.9),
    Call("storefront", "cart", 0.5),
    Call("storefront", "checkout", 0.06),
    Call("catalog", DB, 1.2),
    Call("cart", CART_TABLE, 2.0, latency_gain=1.6),
    Call("checkout", DB, 3.0),
    Call("checkout", "payments", 1.0, latency_gain=1.3),
    Call("checkout", QUEUE, 1.0),
    Call("payments", GATEWAY, 1.0, latency_gain=1.2),
    Call(QUEUE, FUNCTION, 1.0, asynchronous=True),
    Call(FUNCTION, ORDERS_TABLE, 2.0),
)

DB_CALLERS = tuple(c.caller for c in CALLS if c.callee == DB)


@dataclass(frozen=True)
class ReferenceApp:
    """The topology plus the lookups the generator needs."""

    topology: Topology
    calls: tuple[Call, ...] = field(default=CALLS)

    def callees(self, node: str) -> list[Call]:
        return [c for c in self.calls if c.caller == node]

    def callers(self, node: str) -> list[Call]:
        return [c for c in self.calls if c.callee == node]

    def runtime_order(self) -> list[str]:
        """Runtime nodes, callees before callers (the order effects propagate in)."""
        nodes = {c.caller for c in self.calls} | {c.callee for c in self.calls}
        done: list[str] = []

        def visit(node: str) -> None:
            if node in done:
                return
            for call in self.callees(node):
                visit(call.callee)
            done.append(node)

        for node in sorted(nodes):
            visit(node)
        return done


def _resources() -> list[Resource]:
    arn = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/{ALB_DIMENSION}"
    out = [Resource(id=az, type="AWS::EC2::AvailabilityZone", attributes={"region": REGION, "availability_zone": az}) for az in AZS]
    out.append(Resource(id=ALB, type="AWS::ElasticLoadBalancingV2::LoadBalancer",
                        attributes={"arn": arn, "scheme": "internet-facing", "availability_zones": ",".join(AZS)}))
    out.append(Resource(id=CERT, type="AWS::CertificateManager::Certificate",
                        attributes={"arn": CERT_ARN, "domain_name": "shop.example.com", "type": "IMPORTED"}))
    for svc in SERVICES.values():
        out.append(Resource(id=svc.name, type="AWS::ECS::Service", attributes={
            "cluster": CLUSTER, "launch_type": "FARGATE", "desired_count": str(svc.tasks),
            "availability_zones": ",".join(AZS), "endpoint": svc.endpoint,
        }))
        out.append(Resource(id=role_of(svc.name), type="AWS::IAM::Role",
                            attributes={"arn": f"arn:aws:iam::{ACCOUNT}:role/{role_of(svc.name)}"}))
        if svc.name in APPCONFIG_SERVICES:
            out.append(Resource(id=config_of(svc.name), type="AWS::AppConfig::ConfigurationProfile",
                                attributes={"application": "shop", "environment": "prod", "profile": svc.name}))
        else:
            out.append(Resource(id=config_of(svc.name), type="AWS::SSM::Parameter",
                                attributes={"name": parameter_name(svc.name)}))
    out.append(Resource(id=DB, type="AWS::RDS::DBInstance", attributes={
        "engine": "postgres", "instance_class": "db.r6g.large", "availability_zone": DB_PRIMARY_AZ,
        "multi_az": "true", "allocated_storage_gib": "100", "max_connections": str(DB_MAX_CONNECTIONS),
    }))
    out.append(Resource(id=DB_SG, type="AWS::EC2::SecurityGroup",
                        attributes={"group_id": "sg-0d4c2a9e7b51f3a86", "port": "5432"}))
    for table in (CART_TABLE, ORDERS_TABLE):
        out.append(Resource(id=table, type="AWS::DynamoDB::Table", attributes={"billing_mode": "PROVISIONED"}))
    out.append(Resource(id=QUEUE, type="AWS::SQS::Queue",
                        attributes={"url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{QUEUE}"}))
    out.append(Resource(id=FUNCTION, type="AWS::Lambda::Function", attributes={"runtime": "python3.12"}))
    out.append(Resource(id=FUNCTION_ROLE, type="AWS::IAM::Role",
                        attributes={"arn": f"arn:aws:iam::{ACCOUNT}:role/{FUNCTION_ROLE}"}))
    out.append(Resource(id=GATEWAY, type="Custom::ExternalApi", attributes={"endpoint": "https://api.paymentprovider.example"}))
    return out


def _edges() -> list[Edge]:
    edges = [Edge(caller=c.caller, callee=c.callee) for c in CALLS]
    edges.append(Edge(caller=ALB, callee=CERT))
    edges.extend(Edge(caller=ALB, callee=az) for az in AZS)
    for svc in SERVICES:
        edges.append(Edge(caller=svc, callee=role_of(svc)))
        edges.append(Edge(caller=svc, callee=config_of(svc)))
        edges.extend(Edge(caller=svc, callee=az) for az in AZS)
    edges.append(Edge(caller=FUNCTION, callee=FUNCTION_ROLE))
    edges.append(Edge(caller=DB, callee=DB_SG))
    edges.append(Edge(caller=DB, callee=DB_PRIMARY_AZ))
    return edges


def reference_app() -> ReferenceApp:
    return ReferenceApp(topology=Topology(resources=_resources(), edges=_edges()))
