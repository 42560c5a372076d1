"""The thin layer in front of moto's WSGI app.

- answers what moto lacks from the loaded scenario: CloudTrail LookupEvents, AWS Health
  (DescribeEvents, DescribeAffectedEntities, DescribeEventDetails), CloudWatch
  DescribeAlarmHistory, the X-Ray service graph, and the tagging API (the topology's
  resource attributes as tags, which is how the live source reads them back);
- turns moto's HTML 500 for an unimplemented operation into an AWS-style 501 error in the
  request's protocol, which botocore does not retry (it retries a 500 for ~11 s);
- inflates gzip request bodies, which moto's server cannot read.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

import botocore.session
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer

from tools.emulator.scenario import (
    Scenario,
    alarm_history_item,
    cloudtrail_event,
    health_arn,
    health_item,
    service_graph,
    tagged_resources,
)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
StartResponse = Callable[..., Any]

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_CBOR_PATH = re.compile(r"/service/[^/]+/operation/([^/?]+)")
# signing name -> botocore service name, for the services the layer answers itself
_SERVICES = {"monitoring": "cloudwatch", "cloudtrail": "cloudtrail", "health": "health", "xray": "xray", "tagging": "resourcegroupstaggingapi"}
_REST_OPERATIONS = {("xray", "/ServiceGraph"): "GetServiceGraph"}


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _as_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


class Request:
    """What the layer needs to know about one request."""

    def __init__(self, environ: dict[str, Any], body: bytes):
        self.environ = environ
        self.body = body
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        self.signing_name = scope.group(1) if scope else ""
        self.path = environ.get("PATH_INFO", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        cbor = _CBOR_PATH.search(self.path)
        if environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor" or cbor:
            self.protocol = "cbor"
            self.operation = cbor.group(1) if cbor else ""
        elif target:
            self.protocol = "json"
            self.operation = target.rsplit(".", 1)[-1]
        elif environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            self.protocol = "query"
            self.operation = (parse_qs(body.decode("utf-8", "replace")).get("Action") or [""])[0]
        else:
            self.protocol = "rest-json"
            self.operation = _REST_OPERATIONS.get((self.signing_name, self.path), "")

    def params(self) -> dict[str, Any]:
        if not self.body:
            return {}
        if self.protocol == "cbor":
            return RpcV2CBORParser().parse_data_item(io.BufferedReader(io.BytesIO(self.body))) or {}
        return json.loads(self.body)


def error_response(protocol: str, code: str, message: str, status: int) -> tuple[int, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if protocol == "cbor":
        body = bytearray()
        serializer = RpcV2CBORSerializer()
        serializer._serialize_type_map(body, {"__type": code, "message": message}, _STRING_MAP, None)
        return status, headers + [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")], bytes(body)
    if protocol == "query":
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return status, headers + [("Content-Type", "text/xml")], xml.encode()
    body_json = json.dumps({"__type": code, "message": message}).encode()
    return status, headers + [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)], body_json


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _StringShape:
    type_name = "string"


class _StringMap:
    type_name = "map"
    key = _StringShape()
    value = _StringShape()


_STRING_MAP = _StringMap()


class FrontLayer:
    """WSGI middleware around moto's app; `scenario` may be None (an empty emulator)."""

    def __init__(self, moto_app: Callable[..., Iterable[bytes]], scenario: Scenario | None):
        self.moto_app = moto_app
        self.scenario = scenario
        self._session = botocore.session.get_session()
        self._handlers: dict[tuple[str, str], Handler] = {
            ("cloudtrail", "LookupEvents"): self.lookup_events,
            ("health", "DescribeEvents"): self.health_events,
            ("health", "DescribeAffectedEntities"): self.health_entities,
            ("health", "DescribeEventDetails"): self.health_details,
            ("monitoring", "DescribeAlarmHistory"): self.alarm_history,
            ("xray", "GetServiceGraph"): self.service_graph,
            ("tagging", "GetResources"): self.tagged_resources,
        }

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
            body = gzip.decompress(body)
            environ.pop("HTTP_CONTENT_ENCODING", None)
            environ["CONTENT_LENGTH"] = str(len(body))
        request = Request(environ, body)
        handler = self._handlers.get((request.signing_name, request.operation))
        if handler is not None and (self.scenario is not None or request.signing_name in ("cloudtrail", "health")):
            return self._answer(request, handler, start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        return self._proxy(request, environ, start_response)

    def _answer(self, request: Request, handler: Handler, start_response: StartResponse) -> Iterable[bytes]:
        try:
            result = handler(request.params())
            status, headers, payload = self._encode(request, result)
        except Exception as exc:  # noqa: BLE001 - any failure must still look like AWS to the client
            status, headers, payload = error_response(request.protocol, "InternalFailure", f"emulator: {exc}", 500)
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", headers + [("Content-Length", str(len(payload)))])
        return [payload]

    def _proxy(self, request: Request, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        what = f"{request.signing_name or 'this service'}:{request.operation or request.path}"
        try:
            chunks = b"".join(self.moto_app(environ, capture))
        except Exception as exc:  # noqa: BLE001 - moto raises for what it lacks (NotImplementedError) or cannot compute
            reason = "does not implement" if isinstance(exc, NotImplementedError) else f"failed on ({type(exc).__name__}: {exc})"
            return self._not_implemented(request, f"the local emulator {reason} {what}", start_response)
        status = captured.get("status", "500 Internal Server Error")
        content_type = dict((k.lower(), v) for k, v in captured.get("headers", [])).get("content-type", "")
        if status.startswith("500") and "html" in content_type:
            return self._not_implemented(request, f"the local emulator does not implement {what}", start_response)
        start_response(status, captured.get("headers", []))
        return [chunks]

    def _not_implemented(self, request: Request, message: str, start_response: StartResponse) -> Iterable[bytes]:
        # 501, not 500: botocore retries 5xx-transient codes (500/502/503/504) for ~11 s, never 501.
        status, headers, payload = error_response(request.protocol, "NotImplemented", message, 501)
        start_response(f"{status} Not Implemented", headers + [("Content-Length", str(len(payload)))])
        return [payload]

    def _encode(self, request: Request, result: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = [("x-amzn-RequestId", str(uuid.uuid4()))]
        if request.protocol == "cbor":
            model = self._session.get_service_model(_SERVICES[request.signing_name]).operation_model(request.operation)
            body = bytearray()
            RpcV2CBORSerializer()._serialize_data_item(body, result, model.output_shape)
            return 200, headers + [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")], bytes(body)
        content_type = "application/x-amz-json-1.1" if request.protocol == "json" else "application/json"
        return 200, headers + [("Content-Type", content_type)], json.dumps(result, default=_epoch).encode()

    # -- handlers ---------------------------------------------------------------------------

    def lookup_events(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.scenario is None:
            return {"Events": []}
        start, end = _as_time(params.get("StartTime")), _as_time(params.get("EndTime"))
        attrs = {a.get("AttributeKey"): a.get("AttributeValue") for a in params.get("LookupAttributes") or []}
        events = [
            e for e in self.scenario.changes
            if (start is None or e.time >= start) and (end is None or e.time <= end)
            and ("ResourceName" not in attrs or e.resource == attrs["ResourceName"])
            and ("EventName" not in attrs or e.event_name == attrs["EventName"])
        ]
        events.sort(key=lambda e: e.time, reverse=True)  # CloudTrail answers newest first
        return {"Events": [cloudtrail_event(e, self.scenario.region) for e in events]}

    def _health(self) -> list[Any]:
        return [] if self.scenario is None else self.scenario.health

    def health_events(self, params: dict[str, Any]) -> dict[str, Any]:
        region = self.scenario.region if self.scenario else ""
        return {"events": [health_item(e, region) for e in self._health()]}

    def health_entities(self, params: dict[str, Any]) -> dict[str, Any]:
        region = self.scenario.region if self.scenario else ""
        wanted = set((params.get("filter") or {}).get("eventArns") or [])
        entities = [
            {"eventArn": health_arn(e, region), "entityValue": resource, "statusCode": "IMPAIRED"}
            for e in self._health() if health_arn(e, region) in wanted
            for resource in e.affected_resources
        ]
        return {"entities": entities}

    def health_details(self, params: dict[str, Any]) -> dict[str, Any]:
        region = self.scenario.region if self.scenario else ""
        wanted = set(params.get("eventArns") or [])
        found = [
            {"event": health_item(e, region), "eventDescription": {"latestDescription": e.description}}
            for e in self._health() if health_arn(e, region) in wanted
        ]
        return {"successfulSet": found, "failedSet": []}

    def alarm_history(self, params: dict[str, Any]) -> dict[str, Any]:
        assert self.scenario is not None
        manifest = self.scenario.manifest
        if params.get("AlarmName") not in (None, manifest.trigger.alarm_name):
            return {"AlarmHistoryItems": []}
        return {"AlarmHistoryItems": [alarm_history_item(manifest)]}

    def service_graph(self, params: dict[str, Any]) -> dict[str, Any]:
        assert self.scenario is not None
        return {
            "StartTime": _as_time(params.get("StartTime")),
            "EndTime": _as_time(params.get("EndTime")),
            "Services": service_graph(self.scenario.manifest),
            "ContainsOldGroupVersions": False,
        }

    def tagged_resources(self, params: dict[str, Any]) -> dict[str, Any]:
        assert self.scenario is not None
        return {"ResourceTagMappingList": tagged_resources(self.scenario.manifest, self.scenario.region)}
