"""Command-line options shared by every command that reads AWS, declared once.

A command takes them as parameters (`region: Region = None`, ...) and builds its settings
with `settings_from(...)`: the options given on the command line win over the environment
and the config file (domain/settings.py).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from domain.settings import Settings, load_settings

Region = Annotated[
    str | None, typer.Option("--region", help="AWS region (env AWS_REGION; default: the profile's)", show_default=False)
]
Profile = Annotated[
    str | None, typer.Option("--profile", help="AWS profile from ~/.aws/config (env AWS_PROFILE)", show_default=False)
]
EndpointUrl = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url", help="another AWS endpoint, e.g. the local emulator (env INVESTIGATOR_AWS__ENDPOINT_URL)",
        show_default=False,
    ),
]


def cli_overrides(region: str | None = None, profile: str | None = None, endpoint_url: str | None = None) -> dict[str, Any]:
    """The command line's part of the settings (None: not given, a lower source decides)."""
    return {"aws": {"region": region, "profile": profile, "endpoint_url": endpoint_url}}


def settings_from(region: str | None = None, profile: str | None = None, endpoint_url: str | None = None) -> Settings:
    """The settings for one command: its AWS options over the environment, the file and the defaults."""
    return load_settings(**cli_overrides(region, profile, endpoint_url))
