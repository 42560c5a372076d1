"""Resource discovery: describes that turn an account's resources into topology `Resource`s.

Each describer is bounded and independent: one that is denied or unavailable adds a note
(a gap the investigation reports) and the others still run. Tags and CloudFormation only
enrich resources already known (from the service graph, traces, metrics or the alarm);
load balancers, target groups, certificates, functions, ECS services and databases are
added with the attributes an engineer checks first (health, expiry, capacity, placement).
Tags become attributes under their own keys; a described attribute of the same name wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import botocore.exceptions

from domain.models import Resource
from tools.aws.clients import ClientFactory
from tools.aws.dimensions import names_resource
from tools.aws.errors import failure_result
from tools.aws.periods import batches

MAX_DESCRIBED = 300


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _tags(factory: ClientFactory, known: set[str]) -> list[Resource]:
    found: list[Resource] = []
    for page in factory.pages("resourcegroupstaggingapi", "get_resources", max_pages=10):
        for item in page.get("ResourceTagMappingList") or []:
            name = names_resource(item["ResourceARN"], known)
            if name:
                attrs = {str(t["Key"]): str(t["Value"]) for t in item.get("Tags") or []}
                found.append(Resource(id=name, type="", attributes={"arn": item["ResourceARN"], **attrs}))
    return found


def _cloudformation(factory: ClientFactory, known: set[str]) -> list[Resource]:
    found: list[Resource] = []
    stacks = [s["StackName"] for p in factory.pages("cloudformation", "describe_stacks", max_pages=5) for s in p.get("Stacks") or []]
    for stack in stacks[:20]:
        for page in factory.pages("cloudformation", "list_stack_resources", StackName=stack, max_pages=5):
            for item in page.get("StackResourceSummaries") or []:
                name = names_resource(str(item.get("PhysicalResourceId", "")), known)
                if name:
                    found.append(Resource(id=name, type=item.get("ResourceType", ""), attributes={
                        "cloudformation_stack": stack, "cloudformation_status": str(item.get("ResourceStatus", "")),
                        "last_updated": _text(item.get("LastUpdatedTimestamp", "")),
                    }))
    return found


def _load_balancers(factory: ClientFactory, known: set[str]) -> list[Resource]:
    found: list[Resource] = []
    for page in factory.pages("elbv2", "describe_load_balancers", max_pages=5):
        for lb in page.get("LoadBalancers") or []:
            zones = [z.get("ZoneName", "") for z in lb.get("AvailabilityZones") or []]
            found.append(Resource(id=lb["LoadBalancerName"], type="AWS::ElasticLoadBalancingV2::LoadBalancer", attributes={
                "arn": lb["LoadBalancerArn"], "scheme": str(lb.get("Scheme", "")), "state": str((lb.get("State") or {}).get("Code", "")),
                "availability_zones": ",".join(zones),
            }))
    for page in factory.pages("elbv2", "describe_target_groups", max_pages=5):
        for group in page.get("TargetGroups") or []:
            health = factory.call("elbv2", "describe_target_health", TargetGroupArn=group["TargetGroupArn"])
            states = [str((t.get("TargetHealth") or {}).get("State", "")) for t in health.get("TargetHealthDescriptions") or []]
            found.append(Resource(id=group["TargetGroupName"], type="AWS::ElasticLoadBalancingV2::TargetGroup", attributes={
                "arn": group["TargetGroupArn"], "targets": str(len(states)),
                "healthy_targets": str(states.count("healthy")), "unhealthy_targets": str(states.count("unhealthy")),
            }))
    return found


def _certificates(factory: ClientFactory, known: set[str]) -> list[Resource]:
    found: list[Resource] = []
    arns = [c["CertificateArn"] for p in factory.pages("acm", "list_certificates", max_pages=5) for c in p.get("CertificateSummaryList") or []]
    for arn in arns[:50]:
        cert = factory.call("acm", "describe_certificate", CertificateArn=arn).get("Certificate") or {}
        found.append(Resource(id=str(cert.get("DomainName", arn)), type="AWS::CertificateManager::Certificate", attributes={
            "arn": arn, "status": str(cert.get("Status", "")), "not_after": _text(cert.get("NotAfter", "")),
            "in_use_by": ",".join(cert.get("InUseBy") or []), "renewal_eligibility": str(cert.get("RenewalEligibility", "")),
        }))
    return found


def _functions(factory: ClientFactory, known: set[str]) -> list[Resource]:
    found: list[Resource] = []
    for page in factory.pages("lambda", "list_functions", max_pages=5):
        for fn in page.get("Functions") or []:
            found.append(Resource(id=fn["FunctionName"], type="AWS::Lambda::Function", attributes={
                "arn": fn["FunctionArn"], "runtime": str(fn.get("Runtime", "")), "memory_mb": str(fn.get("MemorySize", "")),
                "timeout_s": str(fn.get("Timeout", "")), "last_modified": str(fn.get("LastModified", "")),
            }))
    return found


def _ecs_services(factory: ClientFactory, known: set[str]) -> list[Resource]:
    found: list[Resource] = []
    clusters = [a for p in factory.pages("ecs", "list_clusters", max_pages=5) for a in p.get("clusterArns") or []]
    for cluster in clusters[:20]:
        arns = [a for p in factory.pages("ecs", "list_services", cluster=cluster, max_pages=5) for a in p.get("serviceArns") or []]
        for chunk in batches(arns, 10):
            for svc in factory.call("ecs", "describe_services", cluster=cluster, services=chunk).get("services") or []:
                deployments = svc.get("deployments") or []
                latest = max((d.get("createdAt") for d in deployments if d.get("createdAt")), default="")
                found.append(Resource(id=svc["serviceName"], type="AWS::ECS::Service", attributes={
                    "arn": svc["serviceArn"], "cluster": cluster.rsplit("/", 1)[-1],
                    "desired_count": str(svc.get("desiredCount", "")), "running_count": str(svc.get("runningCount", "")),
                    "task_definition": str(svc.get("taskDefinition", "")).rsplit("/", 1)[-1], "last_deployment": _text(latest),
                }))
    return found


def _databases(factory: ClientFactory, known: set[str]) -> list[Resource]:
    found: list[Resource] = []
    for page in factory.pages("rds", "describe_db_instances", max_pages=5):
        for db in page.get("DBInstances") or []:
            found.append(Resource(id=db["DBInstanceIdentifier"], type="AWS::RDS::DBInstance", attributes={
                "arn": str(db.get("DBInstanceArn", "")), "engine": str(db.get("Engine", "")), "class": str(db.get("DBInstanceClass", "")),
                "status": str(db.get("DBInstanceStatus", "")), "availability_zone": str(db.get("AvailabilityZone", "")),
                "multi_az": str(db.get("MultiAZ", "")),
            }))
    return found


DESCRIBERS: dict[str, Callable[[ClientFactory, set[str]], list[Resource]]] = {
    "tagging API": _tags,
    "CloudFormation": _cloudformation,
    "ELB": _load_balancers,
    "ACM": _certificates,
    "Lambda": _functions,
    "ECS": _ecs_services,
    "RDS": _databases,
}


def describe_resources(factory: ClientFactory, known: Iterable[str]) -> tuple[list[Resource], list[str]]:
    """Described resources and one note per describer that could not run."""
    known_set = set(known)
    found: list[Resource] = []
    notes: list[str] = []
    for label, describe in DESCRIBERS.items():
        try:
            found.extend(describe(factory, known_set))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            result = failure_result(label, exc, {})
            notes.append(f"{label}: {result.status}: {result.error}")
    if len(found) > MAX_DESCRIBED:
        notes.append(f"kept {MAX_DESCRIBED} of {len(found)} described resources")
        found = found[:MAX_DESCRIBED]
    return found, notes
