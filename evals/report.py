"""Render an `EvalReport` as Markdown (for humans and the README) or JSON (for CI and tracking)."""

from __future__ import annotations

from agent.calibration import FITTED_ON
from evals.metrics import DatasetFit, EvalReport, GroupMetrics

_COLUMNS = [
    ("group", "group"), ("incidents", "n"), ("false_alarms", "FA"), ("failures", "failed"),
    ("ac1", "AC@1"), ("ac3", "AC@3"), ("ac5", "AC@5"), ("avg5", "Avg@5"), ("mrr", "MRR"),
    ("lead1", "lead@1"), ("path_ok1", "path ok @1"), ("specificity", "specificity"), ("cause_accuracy", "cause acc."),
    ("mean_seconds", "mean s"), ("p95_seconds", "p95 s"),
]


def _cell(value: object, key: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}" if key.endswith("seconds") else f"{value:.3f}"
    return str(value)


def _table(rows: list[GroupMetrics]) -> list[str]:
    lines = ["| " + " | ".join(title for _, title in _COLUMNS) + " |",
             "|" + "|".join("---" if key == "group" else "---:" for key, _ in _COLUMNS) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(getattr(row, key), key) for key, _ in _COLUMNS) + " |")
    return lines


def _versus_table(rows: list[GroupMetrics]) -> list[str]:
    """Engine and each plain baseline side by side: AC@1, AC@3 and MRR on the same incidents."""
    names = sorted({n for row in rows for n in row.baselines})
    methods = ["engine", *names]
    header = ["group", "n"] + [f"{m} {metric}" for metric in ("AC@1", "AC@3", "MRR") for m in methods]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for row in rows:
        if not row.incidents:
            continue
        cells = [row.group, str(row.incidents)]
        for key in ("ac1", "ac3", "mrr"):
            cells.append(_cell(getattr(row, key), key))
            cells += [_cell(getattr(row.baselines[n], key) if n in row.baselines else None, key) for n in names]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def lodo_table(fits: list[DatasetFit]) -> list[str]:
    """Per dataset: n, ECE of the pooled refit (in-sample) and of the fit without it (leave-one-out),
    and the part of the latter from confidence stated higher than what came true."""
    lines = ["| dataset | n | ECE in-sample (pooled fit) | ECE leave-one-out | of it over-confident |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {f.dataset} | {f.cases} | {_cell(f.ece_in_sample, 'ece')} | {_cell(f.ece_left_out, 'ece')} "
              f"| {_cell(f.ece_over_left_out, 'ece')} |"
              for f in fits]
    return lines


def to_markdown(report: EvalReport) -> str:
    lines = [f"## Evaluation of `{report.bundles_dir}`", "",
             "n = real incidents, FA = false-alarm bundles (scored by specificity only); "
             "abstentions and failures on real incidents count as misses.", ""]
    lines += _table(report.groups)
    if report.by_fault:
        lines += ["", "### Per fault type", ""] + _table(report.by_fault)
    if any(row.baselines for row in report.groups):
        lines += ["", "### Engine against plain baselines", "",
                  "Same real incidents; nsigma = largest robust z-score after the likely onset, last-change = most "
                  "recently changed resource before the alarm (evals/baselines). A baseline never abstains.", ""]
        lines += _versus_table(report.groups)
        if report.by_fault:
            lines += ["", "Per fault type:", ""] + _versus_table(report.by_fault)
    cal = report.calibration
    lines += ["", "### Calibration of hypothesis #1", ""]
    if cal.ece is None:
        lines.append("No real incident produced a ranked hypothesis #1.")
    else:
        lines += [f"{cal.cases} incidents with a hypothesis #1; expected calibration error (ECE) = {cal.ece:.3f}, "
                  f"of it {cal.ece_over or 0.0:.3f} from bins more confident than right.", "",
                  "| confidence | n | mean confidence | observed share correct |", "|---|---:|---:|---:|"]
        for b in cal.bins:
            if b.count:
                lines.append(f"| {b.low:.1f}–{b.high:.1f} | {b.count} | {b.mean_confidence:.3f} | {b.accuracy:.3f} |")
        fitted_on = FITTED_ON.removeprefix("pooled:").replace(" ", "").split(",")
        per_dataset = [
            f"{name} {c.ece:.3f} (n = {c.cases}{', fitted on' if name in fitted_on else ''})"
            for name, c in report.calibration_by_dataset.items() if c.ece is not None
        ]
        if per_dataset:
            lines += ["", f"ECE per dataset with the shipped map ({FITTED_ON}): " + "; ".join(per_dataset) + "."]
    if len(report.calibration_fit) > 1:
        # In-sample numbers flatter a map; the left-out ones are what a new dataset can expect.
        lines += ["", "The map refitted on these cases (evals/calibrate.py): pooled over all datasets, and with "
                  "each dataset left out of the fit and measured on.", ""] + lodo_table(report.calibration_fit)
    lines += model_usage(report)
    failures = [c for c in report.cases if c.error]
    if failures:
        lines += ["", "### Failed investigations", ""] + [f"- `{c.bundle}`: {c.error}" for c in failures]
    return "\n".join(lines) + "\n"


def model_usage(report: EvalReport) -> list[str]:
    """Tokens and estimated cost per investigation, when a model wrote the hypotheses."""
    used = [c for c in report.cases if c.usage is not None]
    if not used:
        return []
    n = len(used)
    costs = [c.usage.cost_usd for c in used if c.usage.cost_usd is not None]
    cost = f"{sum(costs) / len(costs):.4f}" if costs else "–"
    largest = sorted(c.usage.largest_request_tokens for c in used)
    return ["", "### Model usage (per investigation)", "",
            "| investigations | fell back | mean input | mean cached | mean output | median / max request | budget | mean cost USD |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {n} | {sum(c.fell_back for c in used)} | {sum(c.usage.input_tokens for c in used) / n:.0f} "
            f"| {sum(c.usage.cache_read_tokens for c in used) / n:.0f} | {sum(c.usage.output_tokens for c in used) / n:.0f} "
            f"| {largest[n // 2]} / {largest[-1]} | {used[0].usage.budget_tokens} | {cost} |"]


def to_json(report: EvalReport) -> str:
    return report.model_dump_json(indent=2)
