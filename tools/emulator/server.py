"""The emulator process: moto's WSGI app behind the front layer, on 127.0.0.1.

Run by `investigator emulator start` as `python -m tools.emulator.server ...`; it binds the
port, seeds the scenario through its own endpoint, then writes the state file with
`"ready": true` so the starter knows it can print the connection details.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from domain.extras import require
from tools.emulator.state import EmulatorState, write_state

HOST = "127.0.0.1"


def make_server(port: int, scenario: Any) -> Any:
    """A threaded WSGI server on 127.0.0.1:port (0 picks a free port)."""
    require("moto.moto_server.werkzeug_app", extra="emulator", purpose="the local AWS emulator")
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server as werkzeug_server

    from tools.emulator.fast_metrics import install
    from tools.emulator.front import FrontLayer

    install()
    app = FrontLayer(DomainDispatcherApplication(create_backend_app), scenario)
    server = werkzeug_server(HOST, port, app, threaded=True, request_handler=MotoRequestHandler)
    # werkzeug binds with SO_REUSEADDR (so a port whose last connections are in TIME_WAIT can be
    # reused at once); `emulator start` relies on it, so fail loudly if that ever changes.
    if not server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR):
        raise RuntimeError("the emulator's server socket must be bound with SO_REUSEADDR")
    return server


def _quiet_werkzeug() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.emulator.server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--incident", type=Path)
    parser.add_argument("--state", type=Path, required=True)
    args = parser.parse_args(argv)
    _quiet_werkzeug()
    now = datetime.now(timezone.utc)  # the process boundary: the one place the emulator reads the clock

    scenario = None
    if args.incident is not None:
        from tools.emulator.scenario import load_scenario

        scenario = load_scenario(args.incident, now, args.region)
    server = make_server(args.port, scenario)
    port = server.server_address[1]
    endpoint = f"http://{HOST}:{port}"
    state = EmulatorState(
        pid=os.getpid(), port=port, region=args.region, endpoint_url=endpoint,
        incident=str(args.incident) if args.incident else None,
        alarm_name=scenario.alarm_name if scenario else None,
        shift_seconds=scenario.shift.total_seconds() if scenario else 0.0,
        started_at=now, ready=False,
    )
    write_state(args.state, state)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    if scenario is not None:
        from tools.emulator.seed import seed

        try:
            state.seeded = seed(scenario, endpoint, progress=lambda msg: print(msg, flush=True))
        except Exception as exc:  # noqa: BLE001 - reported through the state file, then exit
            state.error = f"seeding {args.incident} failed: {type(exc).__name__}: {exc}"
            write_state(args.state, state)
            server.shutdown()
            return 1
    state.ready = True
    write_state(args.state, state)
    print(f"emulator ready on {endpoint}", flush=True)
    thread.join()
    return 0



@contextmanager
def serve_in_thread(scenario: Any = None, port: int = 0) -> Iterator[str]:
    """Serve the emulator from this process (tests, notebooks); yields the endpoint URL.

    moto keeps its data per process: two of these in one process share one account."""
    _quiet_werkzeug()
    server = make_server(port, scenario)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://{HOST}:{server.server_address[1]}"
    # Start from an empty account even if an earlier in-process emulator left data behind.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).read()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
