"""Remove secrets and personal data from what a recording writes.

Deterministic, so the same value is redacted the same way everywhere (a resource id that
held an account id still matches between the topology, the metrics and the trigger):

- AWS account ids (12 digits standing alone or inside an ARN) -> 000000000000
- access key ids (AKIA.../ASIA...) -> AKIAXXXXXXXXXXXXXXXX
- long secret-looking tokens (40+ base64 characters with a digit and a letter) -> <redacted-token>
- e-mail addresses -> <email>
- values of keys that name a secret (password, secret, token, authorization, credential,
  private key) -> <redacted>
"""

from __future__ import annotations

import re
from typing import Any

ACCOUNT = re.compile(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])")
ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA)[A-Z0-9]{16}\b")
TOKEN = re.compile(r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+=]*\d)(?=[A-Za-z0-9/+=]*[A-Za-z])[A-Za-z0-9/+=]{40,}(?![A-Za-z0-9/+=])")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
SECRET_KEY = re.compile(r"password|passwd|secret|token|authorization|credential|private[_-]?key|api[_-]?key", re.IGNORECASE)

REDACTED_ACCOUNT = "000000000000"


def redact_text(text: str) -> str:
    text = ACCESS_KEY.sub("AKIAXXXXXXXXXXXXXXXX", text)
    text = EMAIL.sub("<email>", text)
    text = TOKEN.sub("<redacted-token>", text)
    return ACCOUNT.sub(REDACTED_ACCOUNT, text)


def redact_value(value: Any, key: str = "") -> Any:
    """`value` with every string redacted; whole values under secret-named keys removed."""
    if key and SECRET_KEY.search(key) and not isinstance(value, (dict, list)):
        return "<redacted>"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_text(str(k)): redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v, key) for v in value]
    return value
