"""A local stand-in for the Messages API: scripted responses over real HTTP on 127.0.0.1.

The real `anthropic` SDK talks to it through `base_url`, so retries, timeouts, headers and
response parsing are the SDK's own. Each scripted step is a `Reply`; every request received
is kept (headers, JSON body, arrival time) for the tests to inspect.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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


class ModelStub:
    def __init__(self, script: list[Reply], default: Reply | None = None):
        """`script` is answered in order; after it, `default` (or a 500 saying the script ran out)."""
        self.script = list(script)
        self.default = default
        self.received: list[Received] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
                reply = stub.script.pop(0) if stub.script else stub.default or Reply(status=500, body={"type": "error", "error": {
                    "type": "api_error", "message": "the stub's script is exhausted"}})
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
    def messages(self) -> list[dict[str, Any]]:
        return [r.body for r in self.received if r.path.endswith("/v1/messages")]
