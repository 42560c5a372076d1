"""boto3 clients built once per source, with retries at the right layer and call accounting.

- botocore's standard retry mode handles transient 5xx and connection resets;
- tenacity adds exponential backoff with full jitter on throttling, which botocore gives up on
  too early when many analyses read the same account at once;
- every call is counted (a botocore `before-call` hook) for `Usage`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config
from pydantic import BaseModel
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from tools.aws.errors import is_throttling
from tools.aws.usage import UsageMeter


class AwsTarget(BaseModel):
    """Where to read: profile, region and an optional endpoint (the local emulator)."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    # botocore attempts per call (first try included); tenacity retries throttling on top.
    max_attempts: int = 4
    throttle_attempts: int = 6
    connect_timeout: float = 5.0
    read_timeout: float = 30.0


class ClientFactory:
    """One boto3 session and one client per service, created on first use."""

    def __init__(self, target: AwsTarget, meter: UsageMeter | None = None, *, sleep: Callable[[float], None] | None = None):
        self.target = target
        self.meter = meter or UsageMeter()
        self._sleep = sleep
        self._session: boto3.Session | None = None
        self._clients: dict[str, Any] = {}
        # boto3 sessions are not thread-safe, and the domain nodes read in parallel.
        self._lock = threading.RLock()

    @property
    def session(self) -> boto3.Session:
        with self._lock:
            return self._session or self._new_session()

    def _new_session(self) -> boto3.Session:
        # AWS_REGION (which botocore alone does not read) reaches here through the settings.
        self._session = boto3.Session(profile_name=self.target.profile, region_name=self.target.region)
        return self._session

    @property
    def region(self) -> str | None:
        return self.session.region_name

    def client(self, service: str, *, region: str | None = None) -> Any:
        """The client for `service`; `region` overrides the session's (global APIs such as Health)."""
        key = f"{service}@{region or ''}"
        with self._lock:
            return self._clients.get(key) or self._create(key, service, region)

    def _create(self, key: str, service: str, region: str | None) -> Any:
        config = Config(
            retries={"mode": "standard", "total_max_attempts": self.target.max_attempts},
            connect_timeout=self.target.connect_timeout,
            read_timeout=self.target.read_timeout,
            user_agent_extra="aws-incident-investigator",
        )
        client = self.session.client(
            service, endpoint_url=self.target.endpoint_url, config=config, **({"region_name": region} if region else {})
        )
        client.meta.events.register("before-call.*.*", self._count)
        self._clients[key] = client
        return client

    def _count(self, model: Any, **_: Any) -> None:
        self.meter.count_call(model.service_model.service_name, model.name)

    def call(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> dict[str, Any]:
        """One API call, retried with jittered exponential backoff while throttled."""
        method = getattr(self.client(service, region=region), operation)
        retrying = Retrying(
            retry=retry_if_exception(is_throttling),
            wait=wait_random_exponential(multiplier=0.5, max=20),
            stop=stop_after_attempt(self.target.throttle_attempts),
            reraise=True,
            **({"sleep": self._sleep} if self._sleep else {}),
        )
        return retrying(method, **params)

    def pages(
        self, service: str, operation: str, *, max_pages: int = 100, region: str | None = None, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Every page of a paginated operation (up to `max_pages`), each call retried on its own."""
        client = self.client(service, region=region)
        config = client.get_paginator(operation)._pagination_cfg  # botocore's own token names
        input_token, output_token = config["input_token"], config["output_token"]
        for _ in range(max_pages):
            page = self.call(service, operation, region=region, **params)
            yield page
            token = page.get(output_token)
            if not token or token == params.get(input_token):
                return
            params = {**params, input_token: token}


def connection_errors() -> tuple[type[BaseException], ...]:
    return (
        botocore.exceptions.EndpointConnectionError,
        botocore.exceptions.ConnectTimeoutError,
        botocore.exceptions.ReadTimeoutError,
        botocore.exceptions.ConnectionClosedError,
    )
