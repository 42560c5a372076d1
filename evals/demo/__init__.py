"""The demo incident shipped with the package (`evals/demo/bad-deploy`), and its generator."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DEMO_DIR = Path("evals") / "demo"


def shipped_bundle(path: Path) -> Path | None:
    """The installed copy of a demo bundle named as in a checkout (`evals/demo/NAME`), if any.

    Lets `investigator investigate --bundle evals/demo/bad-deploy` work after `pip install`,
    from any directory; a path that exists is always used as given.
    """
    if path.is_absolute() or path.parent != DEMO_DIR:
        return None
    shipped = Path(str(files("evals.demo").joinpath(path.name)))
    return shipped if (shipped / "incident.yaml").is_file() else None
