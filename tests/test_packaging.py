"""What an installed package must do without a checkout around it."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from domain.errors import UserError
from domain.extras import require
from ui.cli import main


def test_a_missing_extra_is_one_line_that_says_what_to_install() -> None:
    with pytest.raises(UserError) as caught:
        require("no_such_module_for_this_test", extra="llm", purpose="the Claude reasoner")
    message = str(caught.value)
    assert "\n" not in message
    assert "the Claude reasoner needs the [llm] extra" in message
    assert "pip install 'aws-incident-investigator[llm]'" in message


def test_an_installed_extra_is_imported() -> None:
    assert require("json", extra="none", purpose="parsing").loads("[1]") == [1]


def test_the_readme_demo_command_works_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no evals/demo here: the copy installed with the package is used
    report = tmp_path / "incident.md"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["investigate", "--bundle", "evals/demo/bad-deploy", "--report", str(report)])
    assert code == 0, err.getvalue()
    assert "demo bundle installed with the package" in err.getvalue()
    assert "checkout" in report.read_text(encoding="utf-8")


def test_a_missing_bundle_elsewhere_is_still_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["investigate", "--bundle", "evals/demo/no-such-incident"])
    assert code == 2 and err.getvalue().startswith("error: ")
