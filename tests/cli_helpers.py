"""Running the `investigator` command in-process, as the CLI tests do."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from ui.cli import main

DEMO = Path(__file__).resolve().parents[1] / "evals" / "demo" / "bad-deploy"


def run_cli(*args: str) -> tuple[int, str, str]:
    """`investigator ARGS...` through its error boundary: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()
