"""`investigator console`: start the Streamlit console on this machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from importlib import resources
from pathlib import Path

import typer

from domain.errors import UserError

# Exit codes of a server stopped on purpose: cleanly, or by SIGINT / SIGTERM (as a signal or as a shell reports it).
STOPPED = (0, -signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGINT, 128 + signal.SIGTERM)
STORE_HELP = "SQLite file or postgresql:// URL (default: INVESTIGATOR_STORE, the config file, else the state directory)"


def console(
    port: int = typer.Option(8501, "--port", help="port to serve the console on"),
    address: str = typer.Option("127.0.0.1", "--address", help="address to bind; 0.0.0.0 exposes it to the network"),
    bundles: Path | None = typer.Option(None, "--bundles", help="folder of recorded incidents offered first [default: the demo's]"),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Open the investigation console (Streamlit) in your browser; Ctrl-C stops it."""
    from domain.extras import require

    require("streamlit", extra="console", purpose="the console")
    if not 0 < port < 65536:
        raise UserError(f"--port {port} is not a TCP port (1-65535)")
    if bundles is not None and not bundles.is_dir():
        raise UserError(f"--bundles {bundles}: not a directory")
    from domain.settings import load_settings

    # The page runs in Streamlit's process: hand it the same settings the CLI resolved here.
    env = dict(os.environ)
    env["INVESTIGATOR_STORE"] = load_settings(store=store).store_location()
    if bundles is not None:
        env["INVESTIGATOR_CONSOLE_BUNDLES"] = str(bundles.resolve())
    app = Path(str(resources.files("ui.console") / "app.py"))
    command = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", address, "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false", "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
    ]
    typer.echo(f"console on http://{address}:{port} (store {env['INVESTIGATOR_STORE']}; Ctrl-C to stop)", err=True)
    server = subprocess.Popen(command, env=env)
    # Stopped by a signal (a service manager, a test), the server must stop too, not live on orphaned.
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    try:
        code = server.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches the server too (same process group): let it finish
        server.wait()
        return
    if code not in STOPPED:
        raise UserError(f"the console stopped with exit code {code}")
