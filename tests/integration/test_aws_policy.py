"""iam/readonly-policy.json lists exactly the AWS actions the tools call, all read-only.

A full live investigation runs against the in-process emulator, with one resource of every
kind discovery describes (ECS service, load balancer and target group, certificate,
CloudFormation stack) and a Health event, so every read path makes its calls; a botocore
`before-call` hook (the source's usage meter) collects each operation.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from crafted_bundles import queue_outage

from agent.live import investigate_alarm
from domain.settings import load_settings
from tools.aws.source import AwsSettings
from tools.emulator.scenario import load_scenario
from tools.emulator.seed import seed
from tools.emulator.server import serve_in_thread

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

POLICY = Path(__file__).resolve().parents[2] / "iam" / "readonly-policy.json"
READ_ONLY = re.compile(r"^(Describe|Get|List|Lookup|BatchGet|Filter)[A-Za-z]*$|^(StartQuery|GetQueryResults)$")
# botocore service name -> IAM action prefix, where they differ
IAM_PREFIX = {"resourcegroupstaggingapi": "tag", "elbv2": "elasticloadbalancing"}


def _policy_actions() -> set[str]:
    document = json.loads(POLICY.read_text())
    return {action for statement in document["Statement"] for action in statement["Action"]}


def _create_resources(endpoint: str, region: str) -> None:
    kw = {"endpoint_url": endpoint, "region_name": region}
    ecs = boto3.client("ecs", **kw)
    ecs.create_cluster(clusterName="shop", tags=[{"key": "team", "value": "shop"}])
    ecs.register_task_definition(family="worker", containerDefinitions=[{"name": "worker", "image": "worker:1", "memory": 256}])
    ecs.create_service(cluster="shop", serviceName="worker", taskDefinition="worker", desiredCount=2)
    ec2 = boto3.client("ec2", **kw)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{z}")["Subnet"]["SubnetId"]
               for i, z in ((1, "a"), (2, "b"))]
    elb = boto3.client("elbv2", **kw)
    elb.create_load_balancer(Name="web", Subnets=subnets)
    elb.create_target_group(Name="worker-tg", Protocol="HTTP", Port=80, VpcId=vpc)
    boto3.client("acm", **kw).request_certificate(DomainName="shop.example.com")
    template = {"Resources": {"Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs-queue"}}}}
    boto3.client("cloudformation", **kw).create_stack(StackName="shop", TemplateBody=json.dumps(template))


def test_policy_lists_exactly_the_read_only_actions_the_tools_call(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator")
    region = "us-east-1"
    scenario = load_scenario(queue_outage(tmp_path / "bundle"), datetime.now(timezone.utc), region)
    with serve_in_thread(scenario) as endpoint:
        seed(scenario, endpoint)
        _create_resources(endpoint, region)
        # One event per log slice forces the cut log read, and with it the Logs Insights count.
        run = investigate_alarm(scenario.alarm_name, settings=load_settings(aws={"region": region, "endpoint_url": endpoint}),
                                limits=AwsSettings(max_events_per_slice=1))
        health = run.target.source.health(run.target.window).data

    topology = run.target.source.topology().data
    described = {r.id: r for r in topology.resources}
    # Discovery really described what was created (so each describe call was exercised with data).
    assert described["worker"].attributes["desired_count"] == "2"
    assert described["worker-tg"].attributes["targets"] == "0"
    assert "not_after" in described["shop.example.com"].attributes
    assert described["jobs-queue"].attributes["cloudformation_stack"] == "shop"
    assert [e.event_type_code for e in health] == ["AWS_SQS_OPERATIONAL_ISSUE"]

    called = {f"{IAM_PREFIX.get(service, service)}:{operation}" for service, operation in (c.split(":") for c in run.usage.calls)}
    allowed = _policy_actions()
    assert called - allowed == set(), "called but missing from iam/readonly-policy.json"
    assert allowed - called == set(), "in the policy but never called: remove it"
    assert [a for a in allowed if not READ_ONLY.match(a.split(":", 1)[1])] == []
