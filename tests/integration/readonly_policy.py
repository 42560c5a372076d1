"""The read-only policy and how an AWS call is named in it (used by conftest.py and the policy test)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from botocore.client import BaseClient

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "iam" / "readonly-policy.json"
# Verbs that only read. StartQuery/GetQueryResults run a Logs Insights query: it reads log events
# and changes nothing (it is billed by the bytes scanned, see docs/live-aws.md).
READ_ONLY = re.compile(r"^(Describe|Get|List|Lookup|BatchGet|Filter)[A-Za-z]*$|^(StartQuery|GetQueryResults)$")
# botocore service name -> IAM action prefix, where they differ
IAM_PREFIX = {"resourcegroupstaggingapi": "tag", "elbv2": "elasticloadbalancing"}
NOT_THE_PRODUCT = (ROOT / "tests", ROOT / "tools" / "emulator")


def policy_actions() -> set[str]:
    document = json.loads(POLICY.read_text())
    return {action for statement in document["Statement"] for action in statement["Action"]}


def iam_action(client: BaseClient, operation: str) -> str:
    service = client.meta.service_model.service_name
    return f"{IAM_PREFIX.get(service, service)}:{operation}"


def made_by_the_product() -> bool:
    """Whether the innermost frame of this repository on the stack is product code."""
    frame = sys._getframe(3)  # past this function, the hook and botocore's client method
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(ROOT) and ".venv" not in path.parts:
            return not any(path.is_relative_to(part) for part in NOT_THE_PRODUCT)
        frame = frame.f_back
    return True  # no code of ours on the stack (a library thread): count it, fail closed
