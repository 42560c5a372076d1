"""iam/readonly-policy.json lists exactly the AWS actions the tools call, all read-only.

A full live investigation runs against the in-process emulator, with one resource of every
kind discovery describes (ECS service, load balancer and target group, certificate,
CloudFormation stack) and a Health event, so every read path makes its calls. The calls are
collected by the hook on botocore's client base class (tests/integration/conftest.py), which
every integration test carries: a client made outside the factory cannot slip past it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from crafted_bundles import queue_outage
from readonly_policy import READ_ONLY, ROOT, policy_actions

from agent.live import investigate_alarm
from domain.settings import load_settings
from tools.aws.source import AwsSettings
from tools.emulator.scenario import load_scenario
from tools.emulator.seed import seed
from tools.emulator.server import serve_in_thread

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

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


def test_policy_lists_exactly_the_read_only_actions_the_tools_call(tmp_path, monkeypatch, product_aws_calls):
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

    called = set(product_aws_calls)
    allowed = policy_actions()
    assert called - allowed == set(), "called but missing from iam/readonly-policy.json"
    assert allowed - called == set(), "in the policy but never called: remove it"
    assert [a for a in allowed if not READ_ONLY.match(a.split(":", 1)[1])] == []


def test_a_client_made_outside_the_factory_is_still_checked(tmp_path, monkeypatch, product_aws_calls):
    """The hook is on botocore's base class: product code calling AWS through its own client is seen too."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator")
    # Code compiled under a product path stands for a module that builds a bare boto3 client.
    rogue = compile(
        "import boto3\n"
        "boto3.client('cloudwatch', endpoint_url=endpoint, region_name='us-east-1')"
        ".put_metric_data(Namespace='X', MetricData=[{'MetricName': 'm', 'Value': 1.0}])\n",
        str(ROOT / "tools" / "aws" / "rogue.py"), "exec",
    )
    with serve_in_thread() as endpoint:
        boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1").list_metrics()  # test setup: not counted
        exec(rogue, {"endpoint": endpoint})
    assert product_aws_calls == ["cloudwatch:PutMetricData"]
    assert "cloudwatch:PutMetricData" not in policy_actions() and not READ_ONLY.match("PutMetricData")
    product_aws_calls.clear()  # seen and flagged; the fixture's own check would fail this test otherwise
