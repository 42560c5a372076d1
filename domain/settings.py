"""One settings object for the whole product.

Precedence, highest first: values passed in code (the CLI's options), the environment
(`INVESTIGATOR_*`, plus the AWS SDK's own `AWS_PROFILE` / `AWS_REGION` / `AWS_DEFAULT_REGION`),
a TOML file in the user's config directory (`$XDG_CONFIG_HOME/investigator/config.toml`, or
the file named by `INVESTIGATOR_CONFIG`), then the defaults below.

Nothing is read at import time: `load_settings()` reads the environment and the file when it
is called, so tests and long-running workers decide when configuration is taken.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from domain.errors import UserError

RetryMode = Literal["standard", "adaptive"]
ReasonerName = Literal["deterministic", "claude"]
ModelProvider = Literal["anthropic", "bedrock"]


def config_path() -> Path:
    """The user's config file (it need not exist)."""
    explicit = os.environ.get("INVESTIGATOR_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "investigator" / "config.toml"


def state_dir() -> Path:
    """Where investigations are stored by default: `$XDG_STATE_HOME/investigator`."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "investigator"


class AwsOptions(BaseModel):
    """Where and how to read AWS: declared once, used by every boto3 client."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = Field(default=None, description="another endpoint, e.g. the local emulator")
    retry_mode: RetryMode = "standard"
    max_attempts: int = Field(default=4, ge=1, le=20, description="botocore attempts per call, first try included")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)


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
    """Everything configurable. Nested fields take `__` in the environment:
    `INVESTIGATOR_AWS__READ_TIMEOUT_S=10`."""

    model_config = SettingsConfigDict(
        env_prefix="INVESTIGATOR_",
        env_nested_delimiter="__",
        extra="ignore",
        populate_by_name=True,
    )

    aws: AwsOptions = Field(default_factory=AwsOptions)
    reasoner: ReasonerOptions = Field(default_factory=ReasonerOptions)
    # The SDK's own variables, so `AWS_PROFILE=x investigator ...` means what it does for the AWS CLI.
    aws_profile: str | None = Field(default=None, validation_alias=AliasChoices("INVESTIGATOR_AWS_PROFILE", "AWS_PROFILE"))
    aws_region: str | None = Field(
        default=None, validation_alias=AliasChoices("INVESTIGATOR_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
    )
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
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_path()))

    def resolved_aws(self) -> AwsOptions:
        """AWS options with the SDK's variables filling what the settings leave open."""
        return self.aws.model_copy(update={
            "profile": self.aws.profile or self.aws_profile,
            "region": self.aws.region or self.aws_region,
        })

    def store_location(self) -> str:
        return self.store or str(state_dir() / "investigations.sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Read the settings now. `overrides` are the CLI's values (None means "not given").

    Nested overrides take dicts, merged key by key over the other sources:
    `load_settings(aws={"region": "eu-west-1"})` keeps a read timeout set in the environment.
    A malformed file or variable is a `UserError` naming it.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    for key, value in list(given.items()):
        if isinstance(value, dict):
            given[key] = {k: v for k, v in value.items() if v is not None}
    try:
        settings = Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"invalid setting {where}: {first['msg']} (from the CLI, INVESTIGATOR_* variables or {config_path()})") from exc
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the config file {config_path()}: {exc}") from exc
    return settings
