"""The non-regression gate: minimum values per group and metric, read from YAML.

    # gate.yaml: group (as in the report: all, petshop, petshop/low_traffic/test, ...) -> metric -> minimum
    petshop/low_traffic/test:
      ac3: 0.40
    nezha:
      ac1: 0.30
      avg5: 0.45
"""

from __future__ import annotations

from pathlib import Path

import yaml

from domain.errors import UserError
from evals.metrics import EvalReport, GroupMetrics

GATED_METRICS = sorted(
    name for name, info in GroupMetrics.model_fields.items()
    if name not in ("group", "incidents", "false_alarms", "failures", "cause_cases", "baselines") and not name.endswith("seconds")
)


def read_gate(path: Path) -> dict[str, dict[str, float]]:
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no such gate file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot be read ({exc})") from exc
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(body, dict) or not body:
        raise UserError(f"{path}: expected a mapping of group -> {{metric: minimum}}, e.g. 'nezha: {{ac1: 0.3}}'")
    gate: dict[str, dict[str, float]] = {}
    for group, minimums in body.items():
        if not isinstance(minimums, dict) or not minimums:
            raise UserError(f"{path}: {group}: expected a mapping of metric -> minimum")
        for metric, minimum in minimums.items():
            if metric not in GATED_METRICS:
                raise UserError(f"{path}: {group}.{metric}: unknown metric; expected one of {', '.join(GATED_METRICS)}")
            if isinstance(minimum, bool) or not isinstance(minimum, (int, float)):
                raise UserError(f"{path}: {group}.{metric}: {minimum!r} is not a number")
            gate.setdefault(str(group), {})[str(metric)] = float(minimum)
    return gate


def shortfalls(report: EvalReport, gate: dict[str, dict[str, float]]) -> list[str]:
    """One line per gated value that is below its minimum, missing, or not measured."""
    groups = {g.group: g for g in [*report.groups, *report.by_fault]}
    problems = []
    for group, minimums in gate.items():
        measured = groups.get(group)
        for metric, minimum in minimums.items():
            if measured is None:
                problems.append(f"{group}.{metric}: group not in the report (no bundles there?); minimum {minimum:.3f}")
                continue
            value = getattr(measured, metric)
            if value is None:
                problems.append(f"{group}.{metric}: not measured; minimum {minimum:.3f}")
            elif value < minimum - 1e-9:  # 0.1 + 0.2 must not fail a 0.3 gate
                problems.append(f"{group}.{metric}: {value:.3f} is below the minimum {minimum:.3f}")
    return problems
