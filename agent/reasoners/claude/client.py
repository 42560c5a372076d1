"""The one place a Messages API client is built: the Anthropic API, a gateway, or Bedrock.

The SDK retries 429 (honouring retry-after), 5xx and 529 with exponential backoff and jitter;
`max_retries` configures it and nothing retries on top of it.
"""

from __future__ import annotations

import os

from domain.errors import UserError
from domain.settings import ReasonerOptions


def missing_credentials(options: ReasonerOptions) -> str | None:
    """What to set when the chosen provider cannot authenticate, or None when it can."""
    if options.provider == "anthropic" and not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        return ("--reasoner claude needs ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN for a gateway), "
                "or INVESTIGATOR_REASONER__PROVIDER=bedrock with AWS credentials")
    return None


def build_client(options: ReasonerOptions, aws_region: str | None = None, aws_profile: str | None = None):
    """An `anthropic.Anthropic` or `anthropic.AnthropicBedrock`; a UserError when it cannot be built."""
    try:
        import anthropic
    except ImportError as exc:
        raise UserError("--reasoner claude needs the llm extra: pip install 'aws-incident-investigator[llm]'") from exc
    timeout = options.timeout_s  # seconds per request (connect and read); a float works across SDK versions
    if options.provider == "bedrock":
        region = options.region or aws_region
        if not region:
            raise UserError("--reasoner claude on Bedrock needs a region: INVESTIGATOR_REASONER__REGION or AWS_REGION")
        return anthropic.AnthropicBedrock(aws_region=region, aws_profile=aws_profile, base_url=options.base_url,
                                          max_retries=options.max_retries, timeout=timeout)
    problem = missing_credentials(options)
    if problem:
        raise UserError(problem)
    return anthropic.Anthropic(base_url=options.base_url, max_retries=options.max_retries, timeout=timeout)
