"""Settings as a user meets them through the CLI: precedence, the AWS SDK's variables, bad input.

Precedence, highest first: command-line options > INVESTIGATOR_* variables > AWS_REGION /
AWS_PROFILE > the config file > defaults. `investigator config` prints each effective value
and its origin; a live investigation against a closed local port shows which region and
endpoint botocore really used.
"""

from __future__ import annotations

import contextlib
import io
import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ui.cli import app, main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "evals" / "demo" / "bad-deploy"


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _config(*args: str) -> dict[str, str]:
    """`investigator config` as {setting: "value  (from origin)"}."""
    code, out, err = _run("config", *args)
    assert code == 0, err
    lines = [line for line in out.splitlines() if " = " in line]
    return dict(line.split(" = ", 1) for line in lines)


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's config file, at the XDG location the product documents."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    path = home / "investigator" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('deadline_s = 60\n[aws]\nregion = "eu-north-1"\nread_timeout_s = 12\n', encoding="utf-8")
    return path


def test_defaults_when_nothing_is_configured() -> None:
    settings = _config()
    assert settings["aws.region"] == "None  (from default)"
    assert settings["aws.max_attempts"] == "4  (from default)"
    assert settings["deadline_s"] == "120.0  (from default)"


def test_the_config_file_sets_values_over_the_defaults(config_file: Path) -> None:
    settings = _config()
    assert settings["aws.region"] == f"'eu-north-1'  (from {config_file})"
    assert settings["aws.read_timeout_s"] == f"12.0  (from {config_file})"
    assert settings["deadline_s"] == f"60.0  (from {config_file})"


def test_environment_beats_the_file_and_the_command_line_beats_both(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVESTIGATOR_AWS__REGION", "ap-south-1")
    monkeypatch.setenv("INVESTIGATOR_DEADLINE_S", "30")
    from_env = _config()
    assert from_env["aws.region"] == "'ap-south-1'  (from INVESTIGATOR_AWS__REGION)"
    assert from_env["deadline_s"] == "30.0  (from INVESTIGATOR_DEADLINE_S)"

    from_cli = _config("--region", "sa-east-1")
    assert from_cli["aws.region"] == "'sa-east-1'  (from command line)"
    # Overriding one AWS option keeps the others from lower sources.
    assert from_cli["aws.read_timeout_s"] == f"12.0  (from {config_file})"


def test_aws_region_and_profile_are_honoured_between_our_variables_and_the_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-1")
    assert _config()["aws.region"] == "'us-west-1'  (from AWS_DEFAULT_REGION)"
    monkeypatch.setenv("AWS_REGION", "us-west-2")  # what the AWS CLI v2 reads first
    monkeypatch.setenv("AWS_PROFILE", "oncall")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    settings = _config()
    assert settings["aws.region"] == "'us-west-2'  (from AWS_REGION)"
    assert settings["aws.profile"] == "'oncall'  (from AWS_PROFILE)"
    assert settings["aws.endpoint_url"] == "'http://127.0.0.1:4566'  (from AWS_ENDPOINT_URL)"
    monkeypatch.setenv("INVESTIGATOR_AWS__REGION", "eu-west-1")
    assert _config()["aws.region"] == "'eu-west-1'  (from INVESTIGATOR_AWS__REGION)"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_live_run_uses_the_region_and_endpoint_from_the_settings(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    config_file.write_text(f'[aws]\nendpoint_url = "{endpoint}"\nmax_attempts = 1\n', encoding="utf-8")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    code, _, err = _run("investigate", "--alarm", "checkout-5xx")
    assert code == 2
    assert "region eu-west-3" in err and endpoint in err, err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[aws\nregion = 1\n", "cannot read the config file"),
        ('[aws]\nmax_attempts = "many"\n', "invalid setting aws.max_attempts"),
        ('[aws]\nregoin = "eu-west-1"\n', "unknown setting aws.regoin"),
    ],
    ids=["malformed-toml", "bad-value", "unknown-key"],
)
def test_a_bad_config_file_is_one_line_and_exit_2(config_file: Path, text: str, expected: str) -> None:
    config_file.write_text(text, encoding="utf-8")
    code, out, err = _run("investigate", "--bundle", str(DEMO))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, err
    assert str(config_file) in err


def test_a_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVESTIGATOR_AWS__MAX_ATTEMPTS", "0")
    code, _, err = _run("investigate", "--bundle", str(DEMO))
    assert code == 2
    assert err.count("\n") == 1 and "aws.max_attempts" in err and "INVESTIGATOR_AWS__MAX_ATTEMPTS" in err, err


def test_a_config_variable_naming_a_missing_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("INVESTIGATOR_CONFIG", str(missing))
    code, _, err = _run("config")
    assert code == 2 and str(missing) in err and err.count("\n") == 1, err


def test_version_is_the_packaged_one() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    code, out, _ = _run("--version")
    assert code == 0
    assert out.strip() == f"investigator {declared}"


def test_debug_is_documented_in_help_and_accepted_after_the_command() -> None:
    code, out, _ = _run("--help")
    assert code == 0 and "--debug" in out and "--version" in out
    code, _, err = _run("investigate", "--bundle", str(DEMO / "missing"), "--debug")
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err


@pytest.fixture
def failing_command() -> Iterator[str]:
    """A command that fails the way a bug would; registered on the real app, removed after."""

    def explode() -> None:
        raise RuntimeError("boom")

    app.command("explode-for-test", hidden=True)(explode)
    yield "explode-for-test"
    app.registered_commands[:] = [c for c in app.registered_commands if c.name != "explode-for-test"]


def test_an_unexpected_error_is_one_line_unless_debug(failing_command: str) -> None:
    code, _, err = _run(failing_command)
    assert code == 1
    assert err.strip() == "internal error: RuntimeError: boom (rerun with --debug for the traceback)"
    with pytest.raises(RuntimeError, match="boom"):
        main([failing_command, "--debug"])



def test_library_defaults_read_neither_the_environment_nor_the_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from domain.settings import Settings

    monkeypatch.setenv("INVESTIGATOR_DEADLINE_S", "5")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    defaults = Settings.defaults()
    assert defaults.deadline_s == 120.0 and defaults.aws.region is None and defaults.aws.read_timeout_s == 30.0
