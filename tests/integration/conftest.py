"""Every AWS call the product makes in an integration test is checked against the read-only policy.

The hook sits on botocore's client base class, so it sees every client of the process, however
it was created (the factory's, a bare `boto3.client`, a paginator's). A call counts as the
product's unless the code that made it is test setup or the emulator seeding its own data
(`tests/`, `tools/emulator/`): those write to the local emulator on purpose. A call from
anywhere else must be in iam/readonly-policy.json and read-only, or the test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.client import BaseClient
from readonly_policy import READ_ONLY, iam_action, made_by_the_product, policy_actions


@pytest.fixture(autouse=True)
def product_aws_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The IAM actions of every AWS call the product made during the test, in order."""
    calls: list[str] = []
    original = BaseClient._make_api_call

    def checked(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if made_by_the_product():
            calls.append(iam_action(self, operation_name))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", checked)
    yield calls
    allowed = policy_actions()
    outside = sorted({c for c in calls if c not in allowed})
    writes = sorted({c for c in calls if not READ_ONLY.match(c.split(":", 1)[1])})
    assert outside == [], f"AWS calls missing from iam/readonly-policy.json: {outside}"
    assert writes == [], f"AWS calls that are not read-only: {writes}"
