"""Terminal rendering of an investigation: ranked hypotheses first, evidence under each."""

from __future__ import annotations

from rich.console import Console

from agent.ranking.path import describe
from domain.models import Finding, Investigation
from tools.sanitize import for_terminal


def _finding_line(finding: Finding) -> str:
    link = f"  {finding.evidence.console_link}" if finding.evidence.console_link else ""
    return f"[{finding.id}] {finding.summary}{link}"


def render(investigation: Investigation, console: Console) -> None:
    trig = investigation.trigger
    console.print(
        for_terminal(
            f"Investigation {investigation.id}: alarm {trig.alarm_name} on {trig.resource} "
            f"({trig.metric}) at {trig.state_change_time:%Y-%m-%d %H:%M} UTC"
        ),
        markup=False, style="bold",
    )
    findings = {f.id: f for f in investigation.findings}
    if investigation.abstained:
        console.print(for_terminal(f"\n{investigation.abstain_reason}"), markup=False, style="bold")
        if investigation.hypotheses:
            console.print("\nWeak leads (not supported enough to act on):", markup=False)
    for rank, hyp in enumerate(investigation.hypotheses, start=1):
        # A weak lead's calibrated confidence would read as a claim: show its evidence score.
        strength = f"score {hyp.evidence_score:.2f}" if investigation.abstained else f"{hyp.confidence:.0%}"
        console.print(
            for_terminal(f"\n#{rank}  {strength}  {hyp.resource}  [{hyp.cause}]  {hyp.title}"), markup=False, style="bold"
        )
        console.print(for_terminal(f"    Why: {hyp.reasoning}"), markup=False)
        if hyp.path:
            console.print(for_terminal(f"    path: {describe(hyp.path)}"), markup=False)
        cited = [findings[i] for i in hyp.supporting_findings if i in findings]
        if cited:
            console.print("    Evidence:", markup=False)
            for finding in cited:
                console.print(for_terminal(f"      - {_finding_line(finding)}"), markup=False)
                for line in finding.evidence.sample_logs[:1]:
                    console.print(for_terminal(f"          log: {line[:200]}"), markup=False)
        console.print("    Next steps:", markup=False)
        for step in hyp.next_steps:
            console.print(for_terminal(f"      - {step}"), markup=False)
    if investigation.reasoner is not None:
        console.print(for_terminal(f"\nReasoner: {investigation.reasoner.note}"), markup=False)
    gaps = [f for f in investigation.findings if f.kind == "gap"]
    if gaps or investigation.notes:
        console.print("\nNot seen / limits:", markup=False)
        for gap in gaps:
            console.print(for_terminal(f"  - {gap.summary}"), markup=False)
        for note in investigation.notes:
            console.print(for_terminal(f"  - {note}"), markup=False)
    console.print(
        f"\n{len(investigation.findings)} findings; use --json for all of them, --report FILE for a Markdown report.",
        markup=False, style="dim",
    )
