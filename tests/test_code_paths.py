"""Code paths cut short: fewer log lines per call after the split, joined by trace id."""

from datetime import datetime, timedelta, timezone

import pandas as pd

from tools.analysis.code_paths import code_path_findings, mann_whitney_z
from tools.source import LOG_COLUMNS, SPAN_COLUMNS

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
SPLIT = T0 + timedelta(minutes=10)


def _incident(calls: int, b_lines_before: int, b_lines_after: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`calls` requests before and after the split: A calls B once per request; A writes 2
    lines per call throughout, B writes `b_lines_before` then `b_lines_after`."""
    spans, logs = [], []
    for i in range(2 * calls):
        after = i >= calls
        start = (SPLIT if after else T0) + timedelta(seconds=10 * (i % calls))
        trace = f"t{i:03d}"
        spans.append((trace, f"a{i}", None, "A", "GET /order", start, start + timedelta(milliseconds=50), False, False, None))
        spans.append((trace, f"b{i}", f"a{i}", "B", "POST /price", start, start + timedelta(milliseconds=20), False, False, None))
        for n in range(2):
            logs.append((start, "A", "/a", "s", f"INFO order step {n}", trace))
        for n in range(b_lines_after if after else b_lines_before):
            logs.append((start, "B", "/b", "s", f"INFO price step {n}", trace))
    return pd.DataFrame(logs, columns=LOG_COLUMNS), pd.DataFrame(spans, columns=SPAN_COLUMNS)


def test_a_service_that_stops_half_way_through_its_calls_is_found() -> None:
    logs, spans = _incident(calls=20, b_lines_before=5, b_lines_after=2)
    findings = code_path_findings(logs, spans, split=SPLIT)
    assert [(f.resource, f.direction) for f in findings] == [("B", "down")]
    assert findings[0].evidence.baseline_value == 5.0 and findings[0].evidence.incident_value == 2.0
    assert findings[0].score > 0.5


def test_unchanged_code_paths_say_nothing() -> None:
    logs, spans = _incident(calls=20, b_lines_before=5, b_lines_after=5)
    assert code_path_findings(logs, spans, split=SPLIT) == []


def test_too_few_calls_say_nothing() -> None:
    logs, spans = _incident(calls=2, b_lines_before=5, b_lines_after=1)
    assert code_path_findings(logs, spans, split=SPLIT) == []


def test_mann_whitney_z_of_fully_separated_samples() -> None:
    # All 5 "after" values above all 5 "before": U = 25, mean 12.5, sd = sqrt(5*5*11/12) = 4.787.
    assert abs(mann_whitney_z([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) - 12.5 / 4.787) < 1e-3
