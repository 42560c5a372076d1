"""What the console does, without Streamlit: find bundles, run, store, decide, rerun, report.

Kept apart from the page code so that the flows can be tested without a browser, and so that
the console and the CLI go through the same store and runner.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from domain.errors import UserError
from domain.models import Investigation

StepCallback = Callable[[str, str], None]  # (step, what it found)

BUNDLES_ENV = "INVESTIGATOR_CONSOLE_BUNDLES"


def default_bundle_folder() -> Path:
    """The folder of recorded incidents offered first: the demo's, or the one named by the env."""
    named = os.environ.get(BUNDLES_ENV)
    if named:
        return Path(named).expanduser()
    from evals.demo import DEMO_BUNDLE

    return Path(str(DEMO_BUNDLE)).parent


def bundles_in(folder: Path) -> list[Path]:
    """Bundle directories (holding incident.yaml) at most two levels below `folder`, by name."""
    if not folder.is_dir():
        return []
    found = {p.parent for p in folder.glob("incident.yaml")}
    found |= {p.parent for p in folder.glob("*/incident.yaml")}
    found |= {p.parent for p in folder.glob("*/*/incident.yaml")}
    return sorted(found, key=lambda p: str(p))


@dataclass(frozen=True)
class HistoryItem:
    id: str
    label: str


def reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
