"""X-Ray documents -> spans and edges, CloudTrail -> changes, and redaction of recordings."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from tools.aws.events import change_event
from tools.redact import redact_text, redact_value
from tools.aws.xray import edges_from_spans, segment_spans, service_graph_edges, trace_spans
from tools.emulator.scenario import segment_documents

FRONT = {
    "name": "web",
    "id": "aaaaaaaaaaaaaaa1",
    "trace_id": "1-66435240-000000000000000000000001",
    "start_time": 1715688000.0,
    "end_time": 1715688000.5,
    "http": {"request": {"method": "GET", "url": "https://shop.example/api/cart?x=1"}, "response": {"status": 502}},
    "fault": True,
    "subsegments": [
        {"id": "bbbbbbbbbbbbbbb1", "name": "render", "start_time": 1715688000.0, "end_time": 1715688000.1},
        {
            "id": "bbbbbbbbbbbbbbb2", "name": "orders-db", "namespace": "remote",
            "start_time": 1715688000.1, "end_time": 1715688000.45, "error": True,
            "subsegments": [{"id": "ccccccccccccccc1", "name": "retry", "start_time": 1715688000.2, "end_time": 1715688000.3}],
        },
        {"id": "bbbbbbbbbbbbbbb3", "name": "DynamoDB", "namespace": "aws", "aws": {"operation": "GetItem"},
         "start_time": 1715688000.45, "end_time": 1715688000.5},
    ],
}


def test_segment_and_subsegments_become_spans_with_the_right_service_and_parent():
    spans = {s["span_id"]: s for s in segment_spans(json.dumps(FRONT))}
    assert len(spans) == 5
    root = spans["aaaaaaaaaaaaaaa1"]
    assert (root["service"], root["operation"], root["status"], root["fault"], root["parent_id"]) == ("web", "GET /api/cart", "502", True, None)
    assert root["end"] - root["start"] == (datetime.fromtimestamp(0.5, timezone.utc) - datetime.fromtimestamp(0, timezone.utc))
    # Local work stays with the service; a remote call is the downstream's span.
    assert (spans["bbbbbbbbbbbbbbb1"]["service"], spans["bbbbbbbbbbbbbbb1"]["operation"]) == ("web", "render")
    assert (spans["bbbbbbbbbbbbbbb2"]["service"], spans["bbbbbbbbbbbbbbb2"]["error"]) == ("orders-db", True)
    assert spans["bbbbbbbbbbbbbbb2"]["parent_id"] == "aaaaaaaaaaaaaaa1"
    # A nested local subsegment of the remote call belongs to the callee's side of the call.
    assert (spans["ccccccccccccccc1"]["service"], spans["ccccccccccccccc1"]["parent_id"]) == ("orders-db", "bbbbbbbbbbbbbbb2")
    assert (spans["bbbbbbbbbbbbbbb3"]["service"], spans["bbbbbbbbbbbbbbb3"]["operation"]) == ("DynamoDB", "GetItem")


def test_edges_follow_parents_across_services_only():
    downstream = {"name": "orders-db", "id": "ddddddddddddddd1", "trace_id": FRONT["trace_id"], "parent_id": "bbbbbbbbbbbbbbb2",
                  "start_time": 1715688000.11, "end_time": 1715688000.44}
    trace = {"Id": FRONT["trace_id"], "Segments": [{"Id": "a", "Document": json.dumps(FRONT)}, {"Id": "d", "Document": json.dumps(downstream)}]}
    spans = trace_spans(trace)
    assert {(e.caller, e.callee) for e in edges_from_spans(spans)} == {("web", "orders-db"), ("web", "DynamoDB")}


def test_emulator_segments_read_back_as_the_spans_they_came_from():
    import pandas as pd

    rows = pd.DataFrame([
        {"trace_id": "t1", "span_id": "a1", "parent_id": None, "service": "web", "operation": "GET /",
         "start": pd.Timestamp("2024-05-14T12:00:00Z"), "end": pd.Timestamp("2024-05-14T12:00:01Z"), "error": False, "fault": True, "status": "500"},
        {"trace_id": "t1", "span_id": "b1", "parent_id": "a1", "service": "db", "operation": "query",
         "start": pd.Timestamp("2024-05-14T12:00:00.2Z"), "end": pd.Timestamp("2024-05-14T12:00:00.9Z"), "error": True, "fault": False, "status": None},
    ])
    docs = segment_documents(rows)
    back = [s for d in docs for s in segment_spans(d)]
    assert [(s["span_id"], s["parent_id"], s["service"], s["operation"], s["fault"], s["error"], s["status"]) for s in back] == [
        ("a1", None, "web", "GET /", True, False, "500"),
        ("b1", "a1", "db", "query", False, True, None),
    ]
    # Non-X-Ray trace ids are mapped to valid X-Ray ids, the same for every span of the trace.
    ids = {json.loads(d)["trace_id"] for d in docs}
    assert len(ids) == 1 and next(iter(ids)).startswith("1-")


def test_service_graph_nodes_and_edges():
    services = [
        {"ReferenceId": 0, "Name": "web", "Type": "AWS::ECS::Container", "Edges": [{"ReferenceId": 1}]},
        {"ReferenceId": 1, "Name": "orders-db", "Type": "remote", "Edges": []},
    ]
    nodes, edges = service_graph_edges(services)
    assert nodes == [("web", "AWS::ECS::Container"), ("orders-db", "remote")]
    assert [(e.caller, e.callee) for e in edges] == [("web", "orders-db")]


def _trail(name: str, read_only: object, resource: str = "checkout") -> dict:
    detail = {"eventName": name, "eventSource": "ecs.amazonaws.com", "requestParameters": {"service": resource}}
    if read_only is not None:
        detail["readOnly"] = read_only
    return {
        "EventId": f"id-{name}", "EventName": name, "EventTime": datetime(2024, 5, 14, 13, 58, tzinfo=timezone.utc),
        "EventSource": "ecs.amazonaws.com", "Username": "deployer",
        "Resources": [{"ResourceType": "AWS::ECS::Service", "ResourceName": f"arn:aws:ecs:us-east-1:123456789012:service/shop/{resource}"}],
        "CloudTrailEvent": json.dumps(detail),
    }


def test_cloudtrail_write_events_become_changes_on_known_resources():
    event = change_event(_trail("UpdateService", False), {"checkout"})
    assert event is not None
    assert (event.event_name, event.resource, event.actor, event.parameters) == ("UpdateService", "checkout", "deployer", {"service": "checkout"})


def test_read_only_events_are_dropped_by_flag_or_by_name():
    assert change_event(_trail("DescribeServices", True), {"checkout"}) is None
    assert change_event(_trail("ListTasks", None), {"checkout"}) is None  # no flag: the verb decides
    assert change_event(_trail("UpdateService", None), {"checkout"}) is not None


def test_redaction_removes_accounts_keys_tokens_and_emails_consistently():
    text = ("user jane.doe@example.com assumed arn:aws:iam::123456789012:role/deploy with AKIAIOSFODNN7EXAMPLE "
            "token FwoGZXIvYXdzEJr//////////wEaDGx1c2VyMTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u")
    out = redact_text(text)
    assert "jane.doe" not in out and "<email>" in out
    assert "123456789012" not in out and "arn:aws:iam::000000000000:role/deploy" in out
    assert "AKIAIOSFODNN7EXAMPLE" not in out
    assert "FwoGZXIvYXdz" not in out and "<redacted-token>" in out
    assert redact_text(text) == out  # deterministic: ids stay joinable across files
    # Ordinary words, request ids and short numbers are left alone.
    assert redact_text("GET /api/cart status=502 took 1234 ms") == "GET /api/cart status=502 took 1234 ms"


def test_secret_named_parameters_are_removed_whole():
    params = {"DBPassword": "hunter2", "nested": {"apiKey": "abc", "size": 3}, "tags": ["owner@example.com"]}
    assert redact_value(params) == {"DBPassword": "<redacted>", "nested": {"apiKey": "<redacted>", "size": 3}, "tags": ["<email>"]}
