"""Turning AWS errors into data (denied / unavailable) or into one-line `UserError`s."""

from __future__ import annotations

from typing import Any

import botocore.exceptions

from domain.errors import UserError
from tools.envelope import Status, ToolResult

THROTTLING_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "RequestThrottled", "RequestThrottledException",
    "ProvisionedThroughputExceededException", "SlowDown", "PriorRequestNotComplete",
}
DENIED_CODES = {
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException",
    "AuthorizationError", "AuthorizationErrorException", "SubscriptionRequiredException", "OptInRequired",
}
CREDENTIAL_CODES = {
    "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
    "InvalidSignatureException", "SignatureDoesNotMatch", "InvalidAccessKeyId",
}


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


class AwsUserError(UserError):
    """An AWS problem the user has to fix (credentials, region, endpoint)."""


class DeadlineReached(botocore.exceptions.BotoCoreError):
    """No call starts after the investigation's deadline; a reader turns this into a gap."""

    fmt = "not read: the investigation's {seconds:.0f} s deadline was reached first"


class EndpointDown(botocore.exceptions.BotoCoreError):
    """A client whose endpoint stopped answering earlier in the run fails fast instead of waiting again."""

    fmt = "not read: the {service} endpoint stopped answering earlier in this investigation ({reason})"


def connection_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean the endpoint did not answer (after botocore's retries)."""
    return (
        botocore.exceptions.EndpointConnectionError,
        botocore.exceptions.ConnectTimeoutError,
        botocore.exceptions.ReadTimeoutError,
        botocore.exceptions.ConnectionClosedError,
    )


def user_error_for(exc: BaseException, target_text: str) -> AwsUserError | None:
    """The one-line, actionable error when the first call (the alarm) fails: nothing to investigate."""
    fatal = fatal_error_for(exc)
    if fatal is not None:
        return fatal
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)):
        return AwsUserError(
            f"cannot reach the AWS endpoint for {target_text} ({one_line(exc)}): check --region and --endpoint-url "
            "(is `investigator emulator start` running?)"
        )
    if isinstance(exc, (botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectionClosedError)):
        return AwsUserError(
            f"the AWS endpoint for {target_text} accepted the connection but did not answer ({one_line(exc)}): "
            "check --endpoint-url, or raise INVESTIGATOR_AWS__READ_TIMEOUT_S"
        )
    if isinstance(exc, DeadlineReached):
        return AwsUserError(f"the alarm could not be read before the deadline ({one_line(exc)}): raise INVESTIGATOR_DEADLINE_S")
    return None


def fatal_error_for(exc: BaseException) -> AwsUserError | None:
    """Problems no read can work around (credentials, profile, region): they end the run, mid-run too."""
    if isinstance(exc, (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError)):
        return AwsUserError(
            "no AWS credentials found: set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; "
            "for the local emulator any dummy values work"
        )
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return AwsUserError(f"{exc}: check --profile against ~/.aws/config")
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return AwsUserError("no AWS region: pass --region (or set AWS_REGION / the profile's region)")
    if error_code(exc) in CREDENTIAL_CODES:
        return AwsUserError(f"AWS rejected the credentials ({error_code(exc)}): refresh them (e.g. `aws sso login`) or pick another --profile")
    return None


def status_for(exc: BaseException) -> Status:
    code = error_code(exc)
    if code in DENIED_CODES:
        return "denied"
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if status >= 500 or code in THROTTLING_CODES or code in {"NotImplemented", "UnknownOperationException", "InvalidAction"}:
            return "unavailable"
        return "error"
    return "unavailable"


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def failure_result(tool: str, exc: BaseException, query: dict[str, Any]) -> ToolResult:
    """A denied, unavailable or unreachable source becomes a result the investigation reports as a gap.

    An endpoint that dies or hangs mid-run, and the deadline, are gaps too: the investigation
    completes with what it read."""
    fatal = fatal_error_for(exc)
    if fatal is not None:
        raise fatal from exc
    status = status_for(exc)
    hint = " (add the action to the role's policy: see iam/readonly-policy.json)" if status == "denied" else ""
    return ToolResult.failure(tool, status, f"{one_line(exc)}{hint}", query)
