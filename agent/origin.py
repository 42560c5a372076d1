"""Where an investigation's telemetry comes from, kept with it so a rerun can read it again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from domain.errors import UserError
from domain.models import TimeWindow, Trigger
from tools.source import TelemetrySource


class Origin(BaseModel):
    kind: Literal["bundle", "alarm"]
    bundle: str | None = None
    alarm: str | None = None
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None

    def describe(self) -> str:
        return f"bundle {self.bundle}" if self.kind == "bundle" else f"alarm {self.alarm}"


class Opened(BaseModel):
    """A source ready to investigate, with what `stream()`/the store take for it."""

    model_config = {"arbitrary_types_allowed": True}

    source: TelemetrySource
    trigger: Trigger
    window: TimeWindow | None
    baseline: TimeWindow | None
    clock: Callable[[], datetime]
    notes: list[str] = []


def bundle_origin(path: Path) -> Origin:
    return Origin(kind="bundle", bundle=str(path.resolve()))


def open_origin(origin: Origin, *, clock: Callable[[], datetime] | None = None) -> Opened:
    """Open the source again: the bundle as recorded, or the live alarm as it is now."""
    if origin.kind == "bundle":
        from agent.runner import open_bundle

        path = Path(origin.bundle or "")
        if not (path / "incident.yaml").is_file():
            raise UserError(f"the bundle this investigation was made from is gone: {path}")
        source, args = open_bundle(path)
        return Opened(source=source, **args)
    from domain.settings import AwsOptions
    from tools.aws.alarm import open_alarm
    from tools.aws.clients import ClientFactory

    factory = ClientFactory(AwsOptions(region=origin.region, profile=origin.profile, endpoint_url=origin.endpoint_url))
    target = open_alarm(origin.alarm or "", factory, clock)
    now = clock or (lambda: datetime.now(target.trigger.state_change_time.tzinfo))
    return Opened(source=target.source, trigger=target.trigger, window=target.window, baseline=target.baseline,
                  clock=now, notes=list(target.notes))


def parse_origin(text: str) -> Origin:
    if not text:
        raise UserError("this investigation does not say where its telemetry came from; investigate it again")
    return Origin.model_validate_json(text)
