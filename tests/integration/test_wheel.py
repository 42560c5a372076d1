"""The wheel ships what an installed `investigator` reads: the templates and the demo bundle.

The wheel is built from a copy of the sources (the checkout stays clean) without build
isolation, so no network is needed. `.ci/run` then installs such a wheel into a fresh venv
and runs the demo from another directory.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import NamedTuple

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["domain", "tools", "agent", "evals", "ui", "prompts"]


class Built(NamedTuple):
    zip: zipfile.ZipFile
    log: str


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Built:
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the sources")
    pytest.importorskip("build", reason="the [test] extra installs `build`")
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    for name in tracked:
        if (ROOT / name).is_file() and (name.split("/")[0] in PACKAGES or name in ("pyproject.toml", "README.md")):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(source)],
        check=True, capture_output=True, text=True,
    )
    (built,) = out.glob("*.whl")
    return Built(zipfile.ZipFile(built), build.stdout + build.stderr)


def test_the_build_warns_of_nothing(wheel: Built) -> None:
    # e.g. setuptools' deprecation of a table-form `license`, or data files outside any package
    lines = [line for line in wheel.log.splitlines() if "deprecat" in line.lower() or "is absent from the" in line]
    assert lines == []


def test_wheel_contains_the_report_template(wheel: Built) -> None:
    names = set(wheel.zip.namelist())
    assert {"prompts/__init__.py", "prompts/report.md.j2"} <= names


def test_wheel_contains_every_source_module(wheel: Built) -> None:
    # A folder of modules without __init__.py is left out of the wheel (namespaces = false):
    # the installed CLI then fails on import, which an editable install never shows.
    names = set(wheel.zip.namelist())
    sources = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sources - names == set()


def test_wheel_contains_the_whole_demo_bundle(wheel: Built) -> None:
    names = set(wheel.zip.namelist())
    demo = ROOT / "evals" / "demo" / "bad-deploy"
    expected = {f"evals/demo/bad-deploy/{p.name}" for p in demo.iterdir()}
    assert {"evals/demo/bad-deploy/incident.yaml", "evals/demo/bad-deploy/metrics.parquet"} <= expected
    assert expected <= names


def test_wheel_has_no_tests_and_the_extras_stay_optional(wheel: Built) -> None:
    names = wheel.zip.namelist()
    assert not any(name.startswith("tests/") for name in names)
    (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    metadata = Parser().parsestr(wheel.zip.read(metadata_name).decode())
    requires = metadata.get_all("Requires-Dist") or []
    base = [r for r in requires if "extra ==" not in r]
    for optional in ("anthropic", "streamlit", "moto", "playwright", "pytest"):
        assert not any(r.lower().startswith(optional) for r in base), f"{optional} is in the base install"
    assert {"emulator", "llm", "console", "test"} <= set(metadata.get_all("Provides-Extra") or [])
    assert metadata["License-Expression"] == "Apache-2.0"
