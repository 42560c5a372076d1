"""Remove secrets and personal data from text that leaves the machine: recorded bundles,
what is sent to a model, the console's exports.

Two layers: the regex detectors of `detect-secrets` (cloud, SaaS and VCS token formats,
kept up to date by that project) and rules for shapes it does not cover in free text
(key=value and JSON secrets, credentials in URLs, bearer tokens, short JWTs and GitHub
tokens, AWS secret keys without digits, card numbers that pass the Luhn check, private key
blocks, name/value pairs in structured parameters). Its entropy detectors are not used: they
flag trace ids and hashes, which an investigation needs.

Deterministic, so the same value is redacted the same way everywhere (a resource id that
held an account id still matches between the topology, the metrics and the trigger):

- AWS account ids (12 digits standing alone or inside an ARN) -> 000000000000
- access key ids (AKIA.../ASIA...) -> AKIAXXXXXXXXXXXXXXXX
- a secret value -> <redacted>; a private key block -> <redacted-private-key>;
  a long mixed-case token -> <redacted-token>; e-mail addresses -> <email>
"""

from __future__ import annotations

import functools
import re
from typing import Any

# Not the last group of a UUID (8-4-4-4-12 hex), which can be all digits.
ACCOUNT = re.compile(r"(?<![0-9A-Za-z])(?<![0-9a-fA-F]-)\d{12}(?![0-9A-Za-z])")
# `(?<![A-Z0-9])`, not `\b`: an id right after `_` (AWS_KEY_AKIA...) is still an id.
ACCESS_KEY = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")
# 40+ characters of base64 holding both cases (AWS secret keys, session tokens); hex hashes
# and trace ids are one case, so they stay.
TOKEN = re.compile(
    r"(?<![A-Za-z0-9/+=_-])(?=[A-Za-z0-9/+=]*[a-z])(?=[A-Za-z0-9/+=]*[A-Z])[A-Za-z0-9/+=]{40,}(?![A-Za-z0-9/+=_-])"
)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
SECRET_KEY = re.compile(
    r"passw(?:or)?d|\bpwd\b|secret|token|authori[sz]ation|credential|private[_-]?key|api[_-]?key|access[_-]?key|"
    r"session[_-]?key|signing[_-]?key|client[_-]?secret|\bauth\b",
    re.IGNORECASE,
)

PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL)
URL_CREDENTIALS = re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)(?P<secret>[^\s@/]+)(?=@)", re.IGNORECASE)
# password=..., "password": "...", x-api-key: ..., secret_token='...'.
KEY_VALUE = re.compile(
    r"(?P<keep>(?P<key>[A-Za-z0-9_.-]*(?:" + SECRET_KEY.pattern + r")[A-Za-z0-9_.-]*)[\"']?\s*[:=]\s*"
    r"(?:(?:bearer|basic|digest)\s+)?)"
    r"(?P<quote>[\"'])?(?P<secret>(?(quote)[^\"'\n]+|[^\s\"',;&}\]]+))",
    re.IGNORECASE,
)
BEARER = re.compile(r"(?P<keep>\b(?:bearer|basic)\s+)(?P<secret>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
GITHUB = re.compile(r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})")
CARD = re.compile(r"(?<![\d.-])[2-6]\d{3}(?:[ -]?\d){10,15}(?![\d.-])")

# detect-secrets detectors that flag things an investigation must keep, or that the rules
# above already cover with free-text context.
# AWSKeyDetector is replaced by ACCESS_KEY, which keeps redacted ids recognisable.
_SKIPPED_DETECTORS = {"AWSKeyDetector", "IPPublicDetector", "KeywordDetector", "Base64HighEntropyString", "HexHighEntropyString"}


@functools.cache
def _library_patterns() -> tuple[re.Pattern[str], ...]:
    """The regexes of detect-secrets' detectors, loaded on first use (not at import)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    patterns: list[re.Pattern[str]] = []
    for detector in get_mapping_from_secret_type_to_class().values():
        if detector.__name__ in _SKIPPED_DETECTORS:
            continue
        patterns.extend(getattr(detector, "denylist", ()))
    return tuple(patterns)


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "<redacted-card>" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group()


def _secret_group(match: re.Match[str]) -> str:
    """The match with its secret part replaced; key names and separators stay readable."""
    quote = match.group("quote") or ""
    return match.group("keep") + quote + "<redacted>"


def _library_match(match: re.Match[str]) -> str:
    # detect-secrets puts the secret in the last group when its regex needs context around it.
    groups = [i for i in range(1, (match.re.groups or 0) + 1) if match.group(i)]
    if not groups:
        return "<redacted>"
    start, end = match.span(groups[-1])
    whole_start = match.start()
    return match.group()[: start - whole_start] + "<redacted>" + match.group()[end - whole_start :]


def redact_text(text: str) -> str:
    """`text` with every secret, access key id, account id and e-mail address replaced."""
    text = PRIVATE_KEY.sub("<redacted-private-key>", text)
    text = URL_CREDENTIALS.sub(lambda m: m.group("keep") + "<redacted>", text)
    text = KEY_VALUE.sub(_secret_group, text)
    text = BEARER.sub(lambda m: m.group("keep") + "<redacted>", text)
    text = JWT.sub("<redacted>", text)
    text = GITHUB.sub("<redacted>", text)
    text = ACCESS_KEY.sub("AKIAXXXXXXXXXXXXXXXX", text)
    for pattern in _library_patterns():
        text = pattern.sub(_library_match, text)
    text = CARD.sub(_card, text)
    text = EMAIL.sub("<email>", text)
    text = TOKEN.sub("<redacted-token>", text)
    return ACCOUNT.sub(REDACTED_ACCOUNT, text)


REDACTED_ACCOUNT = "000000000000"
_NAME_KEYS = ("name", "key", "Name", "Key")
_VALUE_KEYS = ("value", "Value")


def redact_value(value: Any, key: str = "") -> Any:
    """`value` with every string redacted; whole values under secret-named keys removed.

    A name/value pair (ECS `environment`, tags, SSM parameters: {"name": "DB_PASSWORD",
    "value": ...}) is judged by its name, since the key of the value itself says nothing.
    """
    if key and SECRET_KEY.search(key) and not isinstance(value, (dict, list)):
        return "<redacted>"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        name = next((value[k] for k in _NAME_KEYS if isinstance(value.get(k), str)), "")
        out = {}
        for k, v in value.items():
            secret_pair = k in _VALUE_KEYS and name and SECRET_KEY.search(name)
            out[redact_text(str(k))] = "<redacted>" if secret_pair else redact_value(v, str(k))
        return out
    if isinstance(value, list):
        return [redact_value(v, key) for v in value]
    return value
