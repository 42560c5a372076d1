"""Retries, deadlines and failures-as-data, against a local HTTP stub speaking the AWS JSON protocols.

The stub stands in for AWS so the thing under test is our retry and error handling, not
AWS: scripted answers per operation, and a record of every request that reached it.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from domain.models import TimeWindow
from domain.settings import AwsOptions
from tools.aws.clients import ClientFactory
from tools.aws.deadline import Deadline
from tools.aws.source import AwsSource

T0 = datetime(2024, 5, 14, 12, 0, tzinfo=timezone.utc)
WINDOW = TimeWindow(start=T0, end=T0 + timedelta(minutes=30))
REST_PATHS = {"/ServiceGraph": "GetServiceGraph", "/TraceSummaries": "GetTraceSummaries", "/Traces": "BatchGetTraces"}
EMPTY = {"GetServiceGraph": {"Services": []}, "GetTraceSummaries": {"TraceSummaries": []}}


class Stub:
    def __init__(self) -> None:
        self.script: dict[str, deque[tuple[int, dict]]] = defaultdict(deque)
        self.seen: list[str] = []

    def answer(self, operation: str) -> tuple[int, dict]:
        self.seen.append(operation)
        if self.script[operation]:
            return self.script[operation].popleft()
        return 200, EMPTY.get(operation, {})


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get("X-Amz-Target", "")
            operation = target.rsplit(".", 1)[-1] if target else REST_PATHS.get(self.path.split("?")[0], self.path)
            status, body = state.answer(operation)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(payload)))
            if status >= 400 and "__type" in body:
                self.send_header("x-amzn-ErrorType", body["__type"])
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "stub")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stub")


def _source(endpoint: str, *, deadline: Deadline | None = None, **aws: object) -> AwsSource:
    factory = ClientFactory(AwsOptions(region="us-east-1", endpoint_url=endpoint, **aws), deadline=deadline)
    return AwsSource(factory, focus=WINDOW)


THROTTLED = (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
GROUPS = (200, {"logGroups": [{"logGroupName": "/ecs/shop/checkout"}]})
EVENTS = (200, {"events": [{"logStreamName": "app/1", "timestamp": int((T0 + timedelta(minutes=1)).timestamp() * 1000),
                            "message": "ERROR boom trace 1-66435240-000000000000000000000001"}]})


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_throttling_is_retried_by_botocore_until_it_passes(stub, mode):
    state, endpoint = stub
    state.script["DescribeLogGroups"].extend([THROTTLED, THROTTLED, GROUPS])
    result = _source(endpoint, retry_mode=mode, max_attempts=3).logs(WINDOW, limit=1000)
    assert result.status in ("ok", "empty")
    # Two throttled answers and the third attempt passes: three requests, no more.
    assert state.seen.count("DescribeLogGroups") == 3


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_a_throttled_call_never_makes_more_attempts_than_configured(stub, mode):
    state, endpoint = stub
    state.script["DescribeLogGroups"].extend([THROTTLED] * 20)
    result = _source(endpoint, retry_mode=mode, max_attempts=3).logs(WINDOW)
    # One layer of retries: 3 attempts, not 3 x another layer's tries.
    assert state.seen.count("DescribeLogGroups") == 3
    assert result.status == "unavailable" and "ThrottlingException" in result.error


def test_one_attempt_configured_means_one_request(stub):
    state, endpoint = stub
    state.script["DescribeLogGroups"].extend([THROTTLED] * 5)
    assert _source(endpoint, max_attempts=1).logs(WINDOW).status == "unavailable"
    assert state.seen.count("DescribeLogGroups") == 1


def test_after_the_deadline_no_request_is_sent_and_the_read_is_a_gap(stub):
    state, endpoint = stub
    now = [0.0]
    deadline = Deadline(10.0, clock=lambda: now[0])
    source = _source(endpoint, deadline=deadline)
    now[0] = 10.0
    result = source.logs(WINDOW)
    assert state.seen == []
    assert result.status == "unavailable" and "10 s deadline was reached" in result.error
    assert any("DescribeLogGroups x1" in line for line in source.factory.gaps())


def test_paginated_reads_follow_every_page_through_the_public_paginator(stub):
    state, endpoint = stub
    first = {"logGroups": [{"logGroupName": "/ecs/shop/a"}], "nextToken": "t1"}
    second = {"logGroups": [{"logGroupName": "/ecs/shop/b"}]}
    state.script["DescribeLogGroups"].extend([(200, first), (200, second)])
    result = _source(endpoint).logs(WINDOW)
    assert state.seen.count("DescribeLogGroups") == 2
    assert result.query["groups"] == 2  # both pages' groups were read


def test_server_errors_are_retried_by_botocore_standard_mode(stub):
    state, endpoint = stub
    unavailable = (503, {"__type": "ServiceUnavailableException", "message": "try again"})
    state.script["DescribeLogGroups"].extend([unavailable, GROUPS])
    state.script["FilterLogEvents"].append(EVENTS)
    source = _source(endpoint, max_attempts=3)
    source.limits.log_slices = 1
    result = source.logs(WINDOW, limit=1000)
    assert result.status == "ok"
    assert state.seen.count("DescribeLogGroups") == 2
    frame = result.data
    assert list(frame["resource"]) == ["checkout"]  # the group's last part names the resource
    assert list(frame["trace_id"]) == ["1-66435240-000000000000000000000001"]


def test_denied_api_becomes_a_denied_result_not_an_exception(stub):
    state, endpoint = stub
    state.script["DescribeLogGroups"].append((400, {"__type": "AccessDeniedException", "message": "not authorized to perform logs:DescribeLogGroups"}))
    result = _source(endpoint).logs(WINDOW)
    assert result.status == "denied"
    assert "logs:DescribeLogGroups" in result.error and "iam/readonly-policy.json" in result.error


def test_log_reads_are_bounded_per_slice_and_say_so(stub):
    state, endpoint = stub
    state.script["DescribeLogGroups"].append(GROUPS)
    many = {"events": EVENTS[1]["events"] * 60, "nextToken": "more"}
    state.script["FilterLogEvents"].extend([(200, many)] * 3)
    source = _source(endpoint)
    source.limits.log_slices = 3
    state.script["StartQuery"].append((200, {"queryId": "q-1"}))
    state.script["GetQueryResults"].extend([
        (200, {"status": "Running", "results": []}),
        (200, {"status": "Complete", "results": [[{"field": "events", "value": "180"}]], "statistics": {"bytesScanned": 4.0e6}}),
    ])
    result = source.logs(WINDOW, limit=150)  # 150 over 1 group x 3 slices -> 50 per slice, the floor
    assert result.truncated
    assert len(result.data) == 150
    assert "50 events per log group per 10-minute slice (150 of 180 events, counted by Logs Insights)" in result.note
    assert state.seen.count("FilterLogEvents") == 3  # one page per slice: the budget is spent, the rest is left
    # Insights bytes are charged: 4 MB at $0.005 per GB.
    assert source.usage().insights_bytes_scanned == 4.0e6
    assert source.usage().estimated_usd == pytest.approx(4.0e6 / 1e9 * 0.005)


def test_insights_that_ignores_the_aggregation_is_not_trusted(stub):
    state, endpoint = stub
    state.script["DescribeLogGroups"].append(GROUPS)
    many = {"events": EVENTS[1]["events"] * 60, "nextToken": "more"}
    state.script["FilterLogEvents"].extend([(200, many)] * 6)
    state.script["StartQuery"].append((200, {"queryId": "q-1"}))
    # What moto answers: raw rows, the stats clause silently ignored.
    state.script["GetQueryResults"].append((200, {"status": "Complete", "results": [[{"field": "@message", "value": "x"}]]}))
    source = _source(endpoint)
    source.limits.log_slices = 3
    first = source.logs(WINDOW, limit=150)
    assert "counted by Logs Insights" not in first.note and "3 slice(s) had more" in first.note
    source.logs(TimeWindow(start=WINDOW.start, end=WINDOW.end + timedelta(minutes=1)), limit=150)
    assert state.seen.count("StartQuery") == 1  # not asked again once found wanting
