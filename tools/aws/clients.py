"""boto3 clients built once per source from the settings' `AwsOptions`, bounded and accounted.

Retries happen in one layer: botocore's `standard` or `adaptive` mode, with `max_attempts`
attempts per call (first try included). That mode already retries every throttling code
AWS answers (Throttling, ThrottlingException, RequestLimitExceeded, SlowDown, ...), 5xx
answers, connection errors and timeouts, with jittered exponential backoff; nothing wraps
it, so a throttled call makes at most `max_attempts` requests.

Every client also carries three hooks of its own:
- each API call is counted for `Usage`;
- after the investigation's deadline no call and no retry starts (`DeadlineReached`);
- a client whose endpoint stopped answering (every attempt of a call refused, reset or timed
  out) fails its later calls at once (`EndpointDown`) instead of paying the timeouts again.
Both errors are ordinary `BotoCoreError`s, which the readers turn into gap results.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from domain.settings import AwsOptions
from tools.aws.deadline import Deadline
from tools.aws.errors import AwsUserError, DeadlineReached, EndpointDown, connection_errors, one_line
from tools.aws.usage import UsageMeter


class ClientFactory:
    """One boto3 session and one client per service and region, created on first use."""

    def __init__(self, aws: AwsOptions, meter: UsageMeter | None = None, *, deadline: Deadline | None = None):
        self.aws = aws
        self.meter = meter or UsageMeter()
        self.deadline = deadline or Deadline(None)
        self._session: boto3.Session | None = None
        self._clients: dict[str, Any] = {}
        self._down: dict[str, str] = {}
        self._refused: Counter[str] = Counter()
        # boto3 sessions are not thread-safe, and the domain nodes read in parallel.
        self._lock = threading.RLock()

    @property
    def session(self) -> boto3.Session:
        with self._lock:
            if self._session is None:
                self._session = boto3.Session(profile_name=self.aws.profile, region_name=self.aws.region)
            return self._session

    @property
    def region(self) -> str | None:
        return self.session.region_name

    @property
    def where(self) -> str:
        """Region and endpoint, for messages."""
        return f"region {self.region or 'default'} at {self.aws.endpoint_url or 'AWS'}"

    def client(self, service: str, *, region: str | None = None) -> Any:
        """The client for `service`; `region` overrides the session's (global APIs such as Health)."""
        key = f"{service}@{region or ''}"
        with self._lock:
            return self._clients.get(key) or self._create(key, service, region)

    def _create(self, key: str, service: str, region: str | None) -> Any:
        # A read that blocks longer than the whole deadline would only overrun it.
        read_timeout = self.aws.read_timeout_s if self.deadline.seconds is None else min(self.aws.read_timeout_s, self.deadline.seconds)
        config = Config(
            retries={"mode": self.aws.retry_mode, "total_max_attempts": self.aws.max_attempts},
            connect_timeout=self.aws.connect_timeout_s,
            read_timeout=read_timeout,
            user_agent_extra="aws-incident-investigator",
        )
        try:
            client = self.session.client(
                service, endpoint_url=self.aws.endpoint_url, config=config, **({"region_name": region} if region else {})
            )
        except ValueError as exc:  # botocore's "Invalid endpoint: ..."
            raise AwsUserError(f"invalid AWS endpoint URL {self.aws.endpoint_url!r}: {one_line(exc)}") from exc
        client.meta.events.register("before-call.*.*", lambda model, **_: self._before_call(key, model))
        client.meta.events.register("before-send.*.*", lambda **_: self._before_attempt())
        client.meta.events.register("after-call-error.*.*", lambda exception, **_: self._after_error(key, client, exception))
        self._clients[key] = client
        return client

    def _before_call(self, key: str, model: Any) -> None:
        operation = f"{model.service_model.service_name}:{model.name}"
        if self.deadline.passed:
            self._refuse(operation)
            raise DeadlineReached(seconds=self.deadline.seconds)
        with self._lock:
            reason = self._down.get(key)
        if reason is not None:
            self._refuse(operation)
            raise EndpointDown(service=model.service_model.service_name, reason=reason)
        self.meter.count_call(model.service_model.service_name, model.name)

    def _before_attempt(self) -> None:
        # Checked per attempt too, so botocore's retries stop at the deadline as well.
        if self.deadline.passed:
            raise DeadlineReached(seconds=self.deadline.seconds)

    def _after_error(self, key: str, client: Any, exception: BaseException) -> None:
        if isinstance(exception, connection_errors()):
            with self._lock:
                self._down.setdefault(key, f"{client.meta.endpoint_url}: {one_line(exception)}")

    def _refuse(self, operation: str) -> None:
        with self._lock:
            self._refused[operation] += 1

    def gaps(self) -> list[str]:
        """What this factory's clients could not read, one line per cause, for the investigation's notes."""
        with self._lock:
            down, refused = dict(self._down), dict(self._refused)
        lines = [f"{key.split('@')[0]} stopped answering during the investigation ({reason}); its later reads were skipped"
                 for key, reason in sorted(down.items())]
        if self.deadline.passed and refused:
            skipped = ", ".join(f"{op} x{n}" for op, n in sorted(refused.items()))
            lines.append(
                f"the {self.deadline.seconds:.0f} s deadline was reached: the investigation completed with what it had "
                f"read; calls not made: {skipped} (raise INVESTIGATOR_DEADLINE_S to read more)"
            )
        return lines

    def call(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> dict[str, Any]:
        """One API call (botocore retries it as configured)."""
        return getattr(self.client(service, region=region), operation)(**params)

    def pages(
        self, service: str, operation: str, *, max_pages: int = 100, page_size: int | None = None,
        region: str | None = None, **params: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every page of an operation through botocore's paginator (up to `max_pages`).

        An operation botocore cannot paginate is one call. A backend that answers the same
        token twice has nothing more to give: the pages read so far stand."""
        client = self.client(service, region=region)
        if not client.can_paginate(operation):
            yield self.call(service, operation, region=region, **params)
            return
        config = {"PageSize": page_size} if page_size else {}
        pages = client.get_paginator(operation).paginate(**params, PaginationConfig=config)
        try:
            for number, page in enumerate(pages, start=1):
                yield page
                if number >= max_pages:
                    return
        except botocore.exceptions.PaginationError:
            return
