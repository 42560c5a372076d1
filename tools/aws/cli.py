"""`investigator record`: investigate a live alarm and keep what was read as a bundle."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False, soft_wrap=True)


def record(
    alarm: str = typer.Option(..., "--alarm", help="name of the CloudWatch alarm"),
    out: Path = typer.Option(..., "--out", help="bundle directory to write (created; must be empty or absent)"),
    region: str | None = typer.Option(None, "--region", help="AWS region (default: the profile's or AWS_REGION)"),
    profile: str | None = typer.Option(None, "--profile", help="AWS profile from ~/.aws/config"),
    endpoint_url: str | None = typer.Option(None, "--endpoint-url", help="another endpoint, e.g. the local emulator"),
) -> None:
    """Investigate a live alarm and write everything it read (secrets redacted) as a replayable bundle."""
    from agent.errors import UserError
    from tools.aws.live import investigate_alarm, usage_line

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} exists and is not an empty directory: pass a new --out path")
    with err.status(f"investigating alarm {alarm}") as status:
        run = investigate_alarm(
            alarm, region=region, profile=profile, endpoint_url=endpoint_url, record_to=out,
            on_progress=lambda node: status.update(f"investigating: {node} done"),
        )
    top = run.investigation.hypotheses[0] if run.investigation.hypotheses else None
    verdict = f"#1 {top.resource} ({top.cause}, {top.confidence:.2f})" if top else "no hypothesis (abstained)"
    Console(highlight=False, soft_wrap=True).print(f"recorded {out}: {verdict}", markup=False)
    err.print(usage_line(run.usage), markup=False)
    err.print(f"replay it with: investigator investigate --bundle {out}", markup=False)
