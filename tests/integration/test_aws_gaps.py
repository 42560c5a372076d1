"""A source that is denied does not fail the investigation: it completes and reports the gap."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from crafted_bundles import database_saturation

from domain.settings import AwsOptions
from tools.aws.alarm import open_alarm
from tools.aws.clients import ClientFactory
from tools.emulator.scenario import load_scenario
from tools.emulator.seed import seed
from tools.emulator.server import serve_in_thread

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def _deny(**_: Any) -> tuple[Any, dict]:
    """A botocore before-call answer: what AWS returns to a role without xray:* permissions."""
    error = {"Code": "AccessDeniedException", "Message": "User: arn:aws:sts::123456789012:assumed-role/oncall is not authorized to perform xray:*"}
    return AWSResponse("https://xray.us-east-1.amazonaws.com/", 403, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}


def test_denied_xray_becomes_a_reported_gap_and_the_rest_still_ranks(tmp_path, monkeypatch):
    from agent.runner import collect, stream

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator")
    region = "us-east-1"
    scenario = load_scenario(database_saturation(tmp_path / "bundle"), datetime.now(timezone.utc), region)
    with serve_in_thread(scenario) as endpoint:
        seed(scenario, endpoint)
        target = open_alarm(scenario.alarm_name, ClientFactory(AwsOptions(region=region, endpoint_url=endpoint)))
        target.source.factory.client("xray").meta.events.register("before-call.xray.*", _deny)
        # A fresh source so nothing read before the denial is cached.
        from tools.aws.source import AwsSource

        source = AwsSource(target.source.factory, focus=target.window, known=[target.trigger.resource])
        investigation = collect(stream(source, target.trigger, target.window, target.baseline, clock=lambda: datetime.now(timezone.utc)))

    gaps = [f for f in investigation.findings if f.kind == "gap"]
    assert gaps, "the denied X-Ray reads must show up as gaps"
    assert all(f.evidence.details.status == "denied" for f in gaps)
    assert any("xray" in f.summary.lower() or "x-ray" in f.summary.lower() for f in gaps)
    # The other sources still work: the alarmed api's latency shift is found from its metrics.
    assert any(f.kind == "metric" and f.resource == "api" and "Latency" in f.signal for f in investigation.findings)
    # Without the service graph and traces the dependency on orders-db is unknown, so it cannot be
    # blamed; the gap findings are what tell the engineer why.
    assert investigation.hypotheses
