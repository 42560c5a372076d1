"""Investigate (and optionally record) a live alarm: the glue the CLI calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from domain.models import Investigation
from domain.settings import Settings
from tools.aws.alarm import LiveTarget, open_alarm
from tools.aws.clients import ClientFactory
from tools.aws.deadline import Deadline
from tools.aws.source import AwsSettings
from tools.aws.usage import Usage

if TYPE_CHECKING:
    from agent.runner import ProgressCallback
    from agent.store import InvestigationStore

Clock = Callable[[], datetime]


class LiveRun(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    target: LiveTarget
    investigation: Investigation
    usage: Usage
    bundle: Path | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def investigate_alarm(
    alarm: str,
    *,
    settings: Settings,
    clock: Clock | None = None,
    record_to: Path | None = None,
    limits: AwsSettings | None = None,
    on_progress: ProgressCallback | None = None,
    store: InvestigationStore | None = None,
) -> LiveRun:
    """Resolve `alarm`, run the investigation over the live source, and record it when asked.

    The boto3 clients are built from `settings.resolved_aws()`; `limits` bound what is read.
    The run is bounded by `settings.deadline_s`: after it no AWS call starts, what was not read
    becomes gap findings, and the notes say what was skipped. An endpoint that stops answering
    mid-run is a gap too. With a `store` the investigation is kept there for review (a rerun
    reads the alarm again)."""
    from agent.runner import collect, stream

    clock = clock or _now
    aws = settings.resolved_aws()
    factory = ClientFactory(aws, deadline=Deadline(settings.deadline_s))
    target = open_alarm(alarm, factory, clock, limits=limits)
    source = target.source
    recorder = None
    if record_to is not None:
        from tools.aws.record import RecordingSource

        recorder = RecordingSource(source)
    if store is None:
        events = stream(recorder or source, target.trigger, target.window, target.baseline, clock=clock, settings=settings)
    else:
        from agent.origin import Origin

        origin = Origin(kind="alarm", alarm=alarm, region=aws.region, profile=aws.profile, endpoint_url=aws.endpoint_url)
        events = store.investigate(
            recorder or source, target.trigger, target.window, target.baseline, clock=clock,
            origin=origin.model_dump_json(), settings=settings,
        )
    investigation = collect(events, on_progress=on_progress)
    investigation.notes.extend(target.notes)
    investigation.notes.extend(factory.gaps())
    bundle = None
    if recorder is not None and record_to is not None:
        from tools.aws.record import write_recording

        bundle = write_recording(record_to, recorder, target.trigger, target.window, target.baseline)
    return LiveRun(target=target, investigation=investigation, usage=source.usage(), bundle=bundle)


def usage_line(usage: Usage) -> str:
    top = ", ".join(f"{op} {n}" for op, n in sorted(usage.calls.items(), key=lambda kv: -kv[1])[:4])
    return (
        f"AWS usage: {usage.total_calls} API calls ({top}); {usage.metrics_requested} metrics requested; "
        f"estimated CloudWatch charge ${usage.estimated_usd:.4f}"
    )
