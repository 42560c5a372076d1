"""Which reasoner an investigation uses: `--reasoner` over the settings, checked before any work."""

from __future__ import annotations

from domain.errors import UserError
from domain.settings import ReasonerOptions, load_settings


def reasoner_options(name: str | None, *, region: str | None = None) -> ReasonerOptions:
    """The reasoner settings with `--reasoner` applied; a UserError saying what to set for claude."""
    if name is not None and name not in ("deterministic", "claude"):
        raise UserError(f"--reasoner must be deterministic or claude, not {name!r}")
    settings = load_settings(reasoner={"name": name} if name else None)
    options = settings.reasoner
    if options.name != "claude":
        return options
    from agent.reasoners.claude.client import missing_credentials

    if options.provider == "bedrock" and options.region is None:
        options = options.model_copy(update={"region": region or settings.resolved_aws().region})
    problem = missing_credentials(options)
    if problem:
        raise UserError(problem)
    return options
