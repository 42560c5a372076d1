"""Optional parts of the product live in pip extras; importing one that is not installed is
a one-line `UserError` that names the extra to install, not a ModuleNotFoundError."""

from __future__ import annotations

import importlib
from types import ModuleType

from domain.errors import UserError

DISTRIBUTION = "aws-incident-investigator"


def missing_extra(extra: str, purpose: str, missing: str | None = None) -> UserError:
    detail = f" (no module named {missing!r})" if missing else ""
    return UserError(f"{purpose} needs the [{extra}] extra{detail}: pip install '{DISTRIBUTION}[{extra}]'")


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import `module` from the `extra`, or fail with the line that says how to get it.

    `require("anthropic", extra="llm", purpose="the Claude reasoner")`
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:  # the module or one of its own dependencies: the extra is incomplete
        raise missing_extra(extra, purpose, exc.name) from exc
