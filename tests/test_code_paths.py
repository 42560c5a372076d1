"""Code paths cut short: fewer log lines per call after the split, joined by trace id."""

from datetime import datetime, timedelta, timezone

import pandas as pd

from tools.analysis.code_paths import code_path_findings, failing_call_findings, fisher_greater, mann_whitney_z
from tools.source import LOG_COLUMNS, SPAN_COLUMNS

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
SPLIT = T0 + timedelta(minutes=10)


def _requests(calls: int, lines) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`calls` requests before SPLIT and `calls` after it, 10 s apart: A calls B once per request.
    `lines(i, after)` gives the (service, text) log lines of request i, all in its trace."""
    spans, logs = [], []
    for i in range(2 * calls):
        after = i >= calls
        start = (SPLIT if after else T0) + timedelta(seconds=10 * (i % calls))
        trace = f"t{i:03d}"
        spans.append((trace, f"a{i}", None, "A", "GET /order", start, start + timedelta(milliseconds=50), False, False, None))
        spans.append((trace, f"b{i}", f"a{i}", "B", "POST /price", start, start + timedelta(milliseconds=20), False, False, None))
        for service, text in lines(i, after):
            logs.append((start, service, f"/{service.lower()}", "s", text, trace))
    return pd.DataFrame(logs, columns=LOG_COLUMNS), pd.DataFrame(spans, columns=SPAN_COLUMNS)


def _incident(calls: int, b_lines_before: int, b_lines_after: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A writes 2 lines per call throughout, B writes `b_lines_before` then `b_lines_after`."""
    def lines(i: int, after: bool):
        yield from (("A", f"INFO order step {n}") for n in range(2))
        yield from (("B", f"INFO price step {n}") for n in range(b_lines_after if after else b_lines_before))
    return _requests(calls, lines)


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


def _failing(calls: int, failing_after: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """B logs one INFO line per call, and after SPLIT the first `failing_after` of its calls also
    log an ERROR line."""
    def lines(i: int, after: bool):
        yield "A", "INFO order placed"
        yield "B", "INFO price asked"
        if after and i - calls < failing_after:
            yield "B", "ERROR price lookup failed"
    return _requests(calls, lines)


def test_a_service_whose_calls_start_logging_errors_is_found() -> None:
    logs, spans = _failing(calls=20, failing_after=8)
    empty_logs, empty_spans = logs.iloc[0:0], spans.iloc[0:0]
    findings = failing_call_findings(logs, spans, empty_logs, empty_spans, splits=[SPLIT])
    assert [(f.resource, f.evidence.incident_value) for f in findings] == [("B", 0.4)]
    assert findings[0].score > 0.5


def test_an_onset_before_the_alarm_is_tried_among_the_candidate_splits() -> None:
    """The failures began at SPLIT but the alarm came later: with the alarm alone as the split,
    most failing calls would join the reference; trying SPLIT among the candidates finds them."""
    logs, spans = _failing(calls=20, failing_after=20)
    empty_logs, empty_spans = logs.iloc[0:0], spans.iloc[0:0]
    late = SPLIT + timedelta(seconds=150)
    alone = failing_call_findings(logs, spans, empty_logs, empty_spans, splits=[late])
    found = failing_call_findings(logs, spans, empty_logs, empty_spans, splits=[SPLIT, late])
    assert [f.resource for f in found] == ["B"]
    assert found[0].score > 0.99 > alone[0].score
    assert found[0].evidence.details.calls_after == 20


def test_a_few_errors_or_calls_without_lines_say_nothing() -> None:
    logs, spans = _failing(calls=20, failing_after=1)
    empty_logs, empty_spans = logs.iloc[0:0], spans.iloc[0:0]
    assert failing_call_findings(logs, spans, empty_logs, empty_spans, splits=[SPLIT]) == []
    # Calls that logged nothing before (logs not kept) are no reference.
    logs, spans = _failing(calls=20, failing_after=8)
    quiet = logs[(logs["timestamp"] >= SPLIT)]
    assert failing_call_findings(quiet, spans, empty_logs, empty_spans, splits=[SPLIT]) == []


def test_fisher_greater_matches_the_hypergeometric_tail() -> None:
    # 3 failures, all among 3 of 6 calls: C(3,3)/C(6,3) = 1/20.
    assert abs(fisher_greater(3, 3, 0, 3) - 0.05) < 1e-12
    assert fisher_greater(0, 3, 3, 3) == 1.0


def test_services_whose_spans_carry_error_status_are_left_to_the_trace_analysis() -> None:
    logs, spans = _failing(calls=20, failing_after=8)
    spans.loc[spans["span_id"] == "b30", "error"] = True
    assert failing_call_findings(logs, spans, logs.iloc[0:0], spans.iloc[0:0], splits=[SPLIT]) == []


def test_the_error_prefilter_keeps_every_line_the_exact_test_calls_an_error() -> None:
    # The vectorised hint must be a superset of logs._is_error, or errors would be lost.
    from tools.analysis.code_paths import _error_lines
    from tools.analysis.logs import _is_error

    lines = [
        "ERROR payment declined", "2024 FATAL disk", "java.lang.IllegalStateException: x", "ValueError: bad",
        "Traceback (most recent call last):", "request failed after 3 tries", "connection refused",
        "upstream timed out", "level=critical msg=x", "PANIC: oops", "ALERT raised", "Caused by: X",
        "INFO all good", "DEBUG cache warm", "WARN slow response", "order 42 shipped",
    ]
    got = _error_lines(pd.Series(lines)).tolist()
    assert got == [_is_error(line) for line in lines]
    assert got.count(True) >= 12 and got[-4:] == [False] * 4
