"""One settings object for the whole product.

Precedence, highest first:
1. values passed in code (the CLI's options: `--region`, `--profile`, `--endpoint-url`);
2. `INVESTIGATOR_*` environment variables (nested fields take `__`:
   `INVESTIGATOR_AWS__READ_TIMEOUT_S=10`);
3. the AWS SDK's own `AWS_REGION` (then `AWS_DEFAULT_REGION`), `AWS_PROFILE` and
   `AWS_ENDPOINT_URL`, so `AWS_PROFILE=x investigator ...` means what it means to the AWS CLI;
4. a TOML file: `$INVESTIGATOR_CONFIG`, else `$XDG_CONFIG_HOME/investigator/config.toml`
   (`~/.config/investigator/config.toml`);
5. the defaults below.

Nothing is read at import time: `load_settings()` reads the environment and the file when it
is called, so tests and long-running workers decide when configuration is taken.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from domain.errors import UserError

RetryMode = Literal["standard", "adaptive"]
ReasonerName = Literal["deterministic", "claude"]
ModelProvider = Literal["anthropic", "bedrock"]

ENV_PREFIX = "INVESTIGATOR_"
CONFIG_VARIABLE = "INVESTIGATOR_CONFIG"
ENV_LABEL = "environment"
AWS_ENV_LABEL = "AWS SDK environment"


def config_path() -> Path:
    """The user's config file (it need not exist unless named by INVESTIGATOR_CONFIG)."""
    explicit = os.environ.get(CONFIG_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "investigator" / "config.toml"


def state_dir() -> Path:
    """Where the product keeps its state (investigations, the emulator): `$XDG_STATE_HOME/investigator`."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "investigator"


class AwsOptions(BaseModel):
    """Where and how to read AWS: declared once, used by every boto3 client."""

    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(default=None, description="AWS region; default: the profile's")
    profile: str | None = Field(default=None, description="a profile from ~/.aws/config")
    endpoint_url: str | None = Field(default=None, description="another endpoint, e.g. the local emulator")
    retry_mode: RetryMode = Field(default="standard", description="botocore retry mode")
    max_attempts: int = Field(default=4, ge=1, le=20, description="botocore attempts per call, first try included")
    connect_timeout_s: float = Field(default=5.0, gt=0, description="seconds to open a connection")
    read_timeout_s: float = Field(default=30.0, gt=0, description="seconds to wait for an answer")

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_is_a_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s):// URL with a host, e.g. http://127.0.0.1:4566")
        return value


class ReasonerOptions(BaseModel):
    """Who writes the hypotheses: the deterministic engine alone, or Claude over its findings.

    The Anthropic API key is the SDK's own `ANTHROPIC_API_KEY` (or `ANTHROPIC_AUTH_TOKEN` for
    a gateway), read when the client is built; Bedrock uses the AWS credential chain.
    """

    name: ReasonerName = Field(default="deterministic", description="deterministic (no model) or claude")
    provider: ModelProvider = Field(default="anthropic", description="anthropic (the API or a gateway) or bedrock")
    model: str = Field(default="claude-sonnet-4-5", description="model id (on Bedrock: the inference profile or model id)")
    base_url: str | None = Field(default=None, description="a gateway or proxy in front of the Messages API")
    region: str | None = Field(default=None, description="Bedrock region; default: the AWS region of the settings")
    input_token_budget: int = Field(default=20_000, ge=2_000, description="most input tokens any one request may carry")
    max_output_tokens: int = Field(default=2_048, ge=256)
    rounds: int = Field(default=4, ge=1, le=12, description="model turns, tool rounds and the final answer included")
    timeout_s: float = Field(default=60.0, gt=0, description="seconds to wait for one model response")
    max_retries: int = Field(default=3, ge=0, le=10, description="SDK retries on 429, 5xx and 529 (backoff with jitter, retry-after honoured)")


class Settings(BaseSettings):
    """Everything configurable."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    aws: AwsOptions = Field(default_factory=AwsOptions)
    reasoner: ReasonerOptions = Field(default_factory=ReasonerOptions)
    deadline_s: float = Field(default=120.0, gt=0, description="a live investigation completes with what it has after this")
    store: str | None = Field(default=None, description="SQLite path or postgresql:// URL; default: the state directory")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return tuple(source for _, source in _sources(settings_cls, init_settings, env_settings))

    @classmethod
    def defaults(cls) -> Settings:
        """The defaults alone, reading neither the environment nor a file (library callers, evals)."""
        return cls.model_construct()

    def resolved_aws(self) -> AwsOptions:
        """The AWS options every boto3 client is built from."""
        return self.aws

    def store_location(self) -> str:
        return self.store or str(state_dir() / "investigations.sqlite")


class AwsSdkEnvironment(PydanticBaseSettingsSource):
    """The AWS SDK's own variables, read as the AWS CLI v2 reads them (AWS_REGION first)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is produced by __call__

    def variables(self) -> dict[str, str]:
        """Dotted setting name -> the variable that supplies it."""
        found: dict[str, str] = {}
        for key, names in (
            ("aws.region", ("AWS_REGION", "AWS_DEFAULT_REGION")),
            ("aws.profile", ("AWS_PROFILE",)),
            ("aws.endpoint_url", ("AWS_ENDPOINT_URL",)),
        ):
            name = next((n for n in names if os.environ.get(n)), None)
            if name:
                found[key] = name
        return found

    def __call__(self) -> dict[str, Any]:
        aws = {key.removeprefix("aws."): os.environ[name] for key, name in self.variables().items()}
        return {"aws": aws} if aws else {}


def _sources(
    settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, env_settings: PydanticBaseSettingsSource
) -> list[tuple[str, PydanticBaseSettingsSource]]:
    """(label, source), highest precedence first: what `Settings` merges and `explain` reports."""
    path = config_path()
    if os.environ.get(CONFIG_VARIABLE) and not path.is_file():
        raise UserError(f"{CONFIG_VARIABLE} names {path}, which is not a file")
    return [
        ("command line", init_settings),
        (ENV_LABEL, env_settings),
        (AWS_ENV_LABEL, AwsSdkEnvironment(settings_cls)),
        (str(path), TomlConfigSettingsSource(settings_cls, toml_file=path)),
    ]


def _given(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The CLI's values without the options left out (None means "not given")."""
    given: dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, Mapping):
            value = _given(value) or None
        if value is not None:
            given[key] = value
    return given


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _origins(given: dict[str, Any]) -> dict[str, str]:
    """Which source supplies each dotted key; a key no source has is a default."""
    from pydantic_settings import EnvSettingsSource, InitSettingsSource

    env = EnvSettingsSource(Settings, env_prefix=ENV_PREFIX, env_nested_delimiter="__")
    origins: dict[str, str] = {}
    for label, source in reversed(_sources(Settings, InitSettingsSource(Settings, given), env)):
        if isinstance(source, AwsSdkEnvironment):
            origins.update(source.variables())
        elif label == ENV_LABEL:
            origins.update({key: env_name(key) for key in _flatten(source())})
        else:
            origins.update({key: label for key in _flatten(source())})
    return origins


def load_settings(**overrides: Any) -> Settings:
    """Read the settings now. `overrides` are the CLI's values (None means "not given").

    Nested overrides take dicts, merged key by key over the other sources:
    `load_settings(aws={"region": "eu-west-1"})` keeps a read timeout set in the environment.
    A malformed file or a bad value is a `UserError` naming the setting and where it came from.
    """
    given = _given(overrides)
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        origin = _origin_or_none(given, where) or f"the command line, {ENV_PREFIX}* variables or {config_path()}"
        if first["type"] == "extra_forbidden":
            raise UserError(f"unknown setting {where} (in {origin}): `investigator config` lists the settings") from exc
        raise UserError(f"invalid setting {where}: {first['msg']} (from {origin})") from exc
    except SettingsError as exc:
        raise UserError(f"cannot read the {ENV_PREFIX}* environment variables: {exc}") from exc
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise UserError(f"cannot read the config file {config_path()}: {exc}") from exc


def _origin_or_none(given: dict[str, Any], key: str) -> str | None:
    try:
        return _origins(given).get(key)
    except (OSError, ValueError):
        return None


def explain(settings: Settings, **overrides: Any) -> list[tuple[str, Any, str]]:
    """(dotted name, effective value, where it came from) for every setting."""
    origins = _origins(_given(overrides))
    return [(key, value, origins.get(key, "default")) for key, value in _flatten(settings.model_dump()).items()]


def env_name(key: str) -> str:
    """The environment variable for a dotted setting name: aws.read_timeout_s -> INVESTIGATOR_AWS__READ_TIMEOUT_S."""
    return ENV_PREFIX + key.replace(".", "__").upper()
