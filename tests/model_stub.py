"""A local stand-in for the Messages API: scripted responses over real HTTP on 127.0.0.1.

The real `anthropic` SDK talks to it through `base_url`, so retries, timeouts, headers and
response parsing are the SDK's own. Each scripted step is a `Reply`; every request received
is kept (headers, JSON body, arrival time) for the tests to inspect.

Routes: the Anthropic API's `POST /v1/messages` and Bedrock's `POST /model/{modelId}/invoke`
(what `AnthropicBedrock` sends, SigV4-signed) both take the next scripted reply;
`POST /v1/messages/count_tokens` is answered apart from the script, by `count` (default: one
token per 4 bytes of the request body, a stand-in for the model's tokenizer).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

INVOKE = re.compile(r"^/model/(?P<model>[^/]+)/invoke$")
COUNT_TOKENS = "/v1/messages/count_tokens"


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # a dict is sent as JSON, a str as is (malformed JSON on purpose)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def is_message(self) -> bool:
        """A Messages API call (`messages.create`) on either route; not a token count."""
        return self.route.endswith("/v1/messages") or INVOKE.match(self.route) is not None

    @property
    def bedrock_model(self) -> str | None:
        """The model id of a Bedrock invoke route, decoded; None on the Anthropic API's routes."""
        found = INVOKE.match(self.route)
        return unquote(found["model"]) if found else None


def message(content: list[dict], *, input_tokens: int = 1000, output_tokens: int = 200,
            cache_read: int = 0, cache_write: int = 0, stop: str = "tool_use") -> dict:
    """A Messages API response body as the API documents it."""
    return {
        "id": "msg_stub", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": content, "stop_reason": stop, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                  "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": cache_write},
    }


def tool_use(name: str, arguments: dict, use_id: str = "toolu_1") -> dict:
    return {"type": "tool_use", "id": use_id, "name": name, "input": arguments}


def answer(hypotheses: list[dict], **usage: int) -> Reply:
    return Reply(body=message([tool_use("submit_hypotheses", {"hypotheses": hypotheses}, "toolu_answer")], **usage))


def overloaded() -> Reply:
    return Reply(status=529, body={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})


def counted(tokens: int) -> Reply:
    """A `count_tokens` response as the API documents it."""
    return Reply(body={"input_tokens": tokens})


def four_bytes_per_token(body: dict[str, Any]) -> Reply:
    return counted(math.ceil(len(json.dumps(body, ensure_ascii=False).encode()) / 4))


class ModelStub:
    def __init__(self, script: list[Reply], default: Reply | None = None,
                 count: Reply | Callable[[dict[str, Any]], Reply] = four_bytes_per_token):
        """`script` is answered in order; after it, `default` (or a 500 saying the script ran out).
        Token counts are answered by `count`: a fixed reply, or one made from the request body."""
        self.script = list(script)
        self.default = default
        self.count = count
        self.received: list[Received] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                stub.received.append(received)
                if received.route == COUNT_TOKENS:
                    reply = stub.count(body) if callable(stub.count) else stub.count
                elif received.is_message:
                    reply = stub.script.pop(0) if stub.script else stub.default or Reply(status=500, body={
                        "type": "error", "error": {"type": "api_error", "message": "the stub's script is exhausted"}})
                else:
                    reply = Reply(status=404, body={"type": "error", "error": {
                        "type": "not_found_error", "message": f"the stub does not serve {received.route}"}})
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("content-length", str(len(payload.encode())))
                    self.end_headers()
                    self.wfile.write(payload.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a read timeout): nothing left to answer

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ModelStub":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def message_requests(self) -> list[Received]:
        """The `messages.create` calls received, on the Anthropic or the Bedrock route."""
        return [r for r in self.received if r.is_message]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [r.body for r in self.message_requests]

    @property
    def token_counts(self) -> list[dict[str, Any]]:
        """The bodies of the `count_tokens` calls received."""
        return [r.body for r in self.received if r.route == COUNT_TOKENS]
