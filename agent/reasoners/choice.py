"""Which reasoner an investigation uses: `--reasoner` over the settings, checked before any work."""

from __future__ import annotations

from domain.errors import UserError
from domain.settings import Settings


def with_reasoner(settings: Settings, name: str | None) -> Settings:
    """`settings` with `--reasoner NAME` applied; a UserError saying what to set when claude cannot run."""
    if name is not None and name not in ("deterministic", "claude"):
        raise UserError(f"--reasoner must be deterministic or claude, not {name!r}")
    options = settings.reasoner.model_copy(update={"name": name}) if name else settings.reasoner
    if options.name == "claude":
        from agent.reasoners.claude.client import missing_credentials

        if options.provider == "bedrock" and options.region is None:
            options = options.model_copy(update={"region": settings.aws.region})
        problem = missing_credentials(options)
        if problem:
            raise UserError(problem)
    return settings.model_copy(update={"reasoner": options})
