"""Log findings on crafted incidents: what is evidence, and what is not."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from domain.models import Finding, TimeWindow
from tools.analysis.logs import _binom_cdf, _binom_sf, extract_exception, log_findings, score_from_p
from tools.source import LOG_COLUMNS

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
BASELINE = TimeWindow(start=T0, end=T0 + timedelta(minutes=10))
INC_START = T0 + timedelta(minutes=20)
INC_END = INC_START + timedelta(minutes=5)


def emit(
    resource: str,
    message: Callable[[int], str],
    start: datetime,
    count: int,
    every_s: float,
    trace_prefix: str = "t",
) -> list[dict]:
    return [
        {
            "timestamp": start + timedelta(seconds=i * every_s),
            "resource": resource,
            "log_group": f"/app/{resource}",
            "log_stream": "main",
            "message": message(i),
            "trace_id": f"{trace_prefix}{i:04d}",
        }
        for i in range(count)
    ]


def steady(resource: str, start: datetime, minutes: int, per_minute: int = 20) -> list[dict]:
    """Ordinary request logging from the first to the last second of the window: one
    template, fresh values on every line."""
    return emit(
        resource,
        lambda i: f"INFO GET /api/{resource.lower()}/items/{1000 + i} returned 200 in {i % 97} ms",
        start,
        minutes * per_minute + 1,
        60 / per_minute,
    )


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=LOG_COLUMNS)


def run(baseline_rows: list[dict], incident_rows: list[dict], **kwargs) -> list[Finding]:
    return log_findings(
        frame(incident_rows),
        frame(baseline_rows),
        incident_start=INC_START,
        incident_end=INC_END,
        baseline_window=BASELINE,
        **kwargs,
    )


def new_exception_case() -> tuple[list[dict], list[dict]]:
    baseline = steady("A", T0, 10) + steady("B", T0, 10)
    incident = steady("A", INC_START, 5) + steady("B", INC_START, 5)
    incident += emit(
        "B",
        lambda i: f"ERROR c.e.OrderService - reserve failed for order {5000 + i}: "
        f"java.lang.IllegalStateException: stock pool exhausted (active={50 + i})",
        INC_START + timedelta(seconds=60),
        20,
        10,
        trace_prefix="err",
    )
    return baseline, incident


def test_a_new_exception_in_one_service_is_found_there_only() -> None:
    baseline, incident = new_exception_case()
    findings = run(baseline, incident)

    assert {f.resource for f in findings} == {"B"}
    top = max(findings, key=lambda f: f.score)
    assert top.signal.startswith("new error template: ")
    assert top.direction == "up"
    assert top.kind == "log" and top.domain == "application"
    assert top.onset == INC_START + timedelta(seconds=60)
    # 0 lines in 10 baseline minutes; 20 lines in 5 incident minutes.
    assert top.evidence.baseline_value == 0.0
    assert top.evidence.incident_value == pytest.approx(4.0)
    assert top.evidence.unit == "lines/min"
    assert top.evidence.details.exception_class == "java.lang.IllegalStateException"
    assert str(top.evidence.details.exception_message).startswith("stock pool exhausted")
    # The ranking reads this flag, not the signal's words, to know requests fail there.
    assert top.evidence.details.error
    assert top.evidence.details.incident_count == 20 and top.evidence.details.baseline_count == 0
    assert top.evidence.sample_logs[0].startswith("ERROR c.e.OrderService - reserve failed for order 5000")
    assert len(top.evidence.sample_logs) == 3
    assert top.evidence.trace_ids == ["err0000", "err0001", "err0002"]
    # The id names the template by its first line as masked, not by the mined text.
    assert top.evidence.details.template_key.startswith("ERROR c.e.OrderService - reserve failed for order <*>")
    assert top.id == Finding.make_id("log", "B", f"template {top.evidence.details.template_key}")
    # Exact test: 20 of 20 lines in the incident when at most 1.5x the baseline rate
    # would put each line there with p0 = 1.5*5 / (1.5*5 + 10) = 0.4286: p = 0.4286^20.
    assert top.evidence.details.p_value == pytest.approx((7.5 / 17.5) ** 20, rel=1e-2)
    assert top.score > 0.99


def test_findings_and_their_ids_are_the_same_on_a_rerun() -> None:
    baseline, incident = new_exception_case()
    first = [(f.id, f.signal, f.score) for f in run(baseline, incident)]
    second = [(f.id, f.signal, f.score) for f in run(baseline, incident)]
    assert first == second


def test_errors_logged_just_as_often_before_are_not_evidence() -> None:
    chronic = lambda i: f"ERROR TokenRefresher - refresh failed for user u{i % 7}x: upstream returned 503"  # noqa: E731
    baseline = steady("C", T0, 10) + emit("C", chronic, T0, 60, 10)  # 6 errors/min
    incident = steady("C", INC_START, 5) + emit("C", chronic, INC_START, 30, 10)  # 6 errors/min
    assert run(baseline, incident) == []


def test_a_usual_heartbeat_that_stops_is_a_down_finding() -> None:
    heartbeat = lambda i: f"heartbeat ok seq={i}"  # noqa: E731
    baseline = steady("D", T0, 10) + emit("D", heartbeat, T0, 60, 10)  # 6/min
    # During the incident the service keeps serving, but only 3 heartbeats, in the first 30 s.
    incident = steady("D", INC_START, 5) + emit("D", heartbeat, INC_START, 3, 10)
    findings = run(baseline, incident)

    assert len(findings) == 1
    down = findings[0]
    assert down.direction == "down"
    assert down.signal == "log template stopped: heartbeat ok seq=<*>"
    assert down.onset == INC_START + timedelta(seconds=20)  # the last heartbeat seen
    assert down.evidence.baseline_value == pytest.approx(6.0)
    assert down.evidence.incident_value == pytest.approx(0.6)
    # Equal rates (within 1.5x) would put each of the 63 heartbeats in the incident with
    # p0 = 5 / (5 + 1.5*10) = 0.25; seeing 3 or fewer there:
    expected = sum(math.comb(63, i) * 0.25**i * 0.75 ** (63 - i) for i in range(4))
    assert down.evidence.details.p_value == pytest.approx(expected, rel=1e-2)
    assert down.score > 0.5


def test_more_traffic_everywhere_does_not_make_ordinary_lines_evidence() -> None:
    baseline = steady("A", T0, 10) + steady("B", T0, 10) + steady("C", T0, 10)
    incident = steady("A", INC_START, 5, 40) + steady("B", INC_START, 5, 40) + steady("C", INC_START, 5, 40)
    assert run(baseline, incident) == []


def test_logs_recorded_for_only_part_of_the_window_are_not_a_silence() -> None:
    # The source kept only the last 3 minutes of a 30-minute incident window; over those
    # minutes the service logs at its baseline rate, so nothing changed.
    late = INC_END - timedelta(minutes=3)
    baseline = steady("A", T0, 10)
    incident = steady("A", late, 3)
    findings = log_findings(
        frame(incident),
        frame(baseline),
        incident_start=INC_END - timedelta(minutes=30),
        incident_end=INC_END,
        baseline_window=BASELINE,
    )
    assert findings == []


def test_a_service_that_goes_silent_is_one_finding_not_one_per_template() -> None:
    baseline = steady("A", T0, 10) + steady("E", T0, 10)
    baseline += emit("E", lambda i: f"cache refreshed with {i} keys", T0, 30, 20)
    baseline += emit("E", lambda i: f"queue depth {i % 5} polled", T0, 30, 20)
    incident = steady("A", INC_START, 5)
    findings = run(baseline, incident)

    assert [(f.resource, f.signal, f.direction) for f in findings] == [("E", "stopped logging", "down")]
    assert findings[0].evidence.incident_value == 0.0


def test_connection_errors_are_network_findings() -> None:
    baseline = steady("F", T0, 10)
    incident = steady("F", INC_START, 5) + emit(
        "F",
        lambda i: f"ERROR PaymentClient - call {i} failed: Connection refused: payments.internal:8443",
        INC_START,
        25,
        10,
    )
    findings = run(baseline, incident)
    assert findings and all(f.domain == "network" for f in findings)


def test_without_baseline_the_start_of_the_incident_window_is_the_reference() -> None:
    onset = INC_START + timedelta(minutes=3)
    incident = steady("B", INC_START - timedelta(minutes=5), 10)
    incident += emit("B", lambda i: f"ERROR worker crashed: java.lang.OutOfMemoryError: heap space {i}", onset, 30, 4)
    findings = log_findings(
        frame(incident),
        frame([]),
        incident_start=INC_START - timedelta(minutes=5),
        incident_end=INC_END,
        onset=onset,
    )
    assert findings
    top = max(findings, key=lambda f: f.score)
    assert top.signal.startswith("new error template: ")
    assert "no baseline" in str(top.evidence.details.reference)
    assert top.evidence.details.exception_class == "java.lang.OutOfMemoryError"


def test_empty_incident_gives_no_findings() -> None:
    assert run(steady("A", T0, 10), []) == []


def test_findings_per_resource_are_capped_strongest_first() -> None:
    baseline = steady("B", T0, 10)
    incident = steady("B", INC_START, 5)
    words = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel"]
    for n, word in enumerate(words):
        incident += emit(
            "B",
            lambda i, w=word: f"ERROR {w}Handler raised {w}Exception while {w.lower()}ing item {i}",
            INC_START,
            12 + n,
            10,
        )
    findings = run(baseline, incident, max_per_resource=5)
    assert len(findings) == 5
    scores = [f.score for f in findings]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Request failed\njava.lang.RuntimeException: wrapper\n\tat a.B.c(B.java:1)\n"
            "Caused by: org.postgresql.util.PSQLException: FATAL: too many connections\n\tat x.Y",
            ("org.postgresql.util.PSQLException", "FATAL: too many connections"),
        ),
        (
            'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\nValueError: bad input',
            ("ValueError", "bad input"),
        ),
        (
            # A frame quoting the `raise` line names the class first; the last line is the exception.
            'Traceback (most recent call last):\n  File "c.py", line 9, in get\n    raise HTTPError(url, 500)\n'
            "urllib.error.HTTPError: HTTP Error 500: boom",
            ("urllib.error.HTTPError", "HTTP Error 500: boom"),
        ),
        ("NullPointerException at Foo.bar", ("NullPointerException", None)),
        ("all good here", (None, None)),
    ],
)
def test_exception_class_and_message_extraction(message: str, expected: tuple) -> None:
    assert extract_exception(message) == expected


def test_binomial_tails_match_hand_computed_values() -> None:
    assert _binom_sf(5, 5, 0.5) == pytest.approx(1 / 32)
    assert _binom_sf(0, 5, 0.5) == 1.0
    assert _binom_cdf(0, 10, 0.75) == pytest.approx(0.25**10)
    assert _binom_sf(3, 10, 0.2) == pytest.approx(1 - sum(math.comb(10, i) * 0.2**i * 0.8 ** (10 - i) for i in range(3)))
    assert _binom_cdf(40, 100, 0.5) == pytest.approx(sum(math.comb(100, i) for i in range(41)) / 2**100)


def test_score_is_half_at_the_significance_level_and_monotone() -> None:
    assert score_from_p(0.05) == pytest.approx(0.5)
    values = [score_from_p(p) for p in (1.0, 0.2, 0.05, 0.005, 1e-6)]
    assert values == sorted(values)
    assert values[-1] > 0.99 and values[0] < 0.05


def test_the_onset_of_a_template_that_spikes_is_when_its_rate_rose_not_its_first_line() -> None:
    # A warning B logs once a minute all along (baseline and incident alike) jumps to twelve a
    # minute at 10:22: its first line in the window (10:20) is not when anything began.
    warn = lambda i: f"WARN c.e.Pool - pool {i % 7} is slow to hand out connections"  # noqa: E731
    baseline = steady("A", T0, 10) + emit("B", warn, T0, 10, 60)
    incident = steady("A", INC_START, 5) + emit("B", warn, INC_START, 2, 60)
    incident += emit("B", warn, INC_START + timedelta(minutes=2), 36, 5)
    findings = [f for f in run(baseline, incident) if f.resource == "B" and f.direction == "up"]
    assert findings, "a twelvefold rise of B's warning must be reported"
    assert all(f.onset >= INC_START + timedelta(minutes=2) - timedelta(seconds=1) for f in findings)


def test_lines_before_the_onset_join_the_reference() -> None:
    baseline, incident = new_exception_case()
    early = INC_START - timedelta(minutes=5)
    incident += steady("A", early, 5)[:-1] + steady("B", early, 5)[:-1]  # normal minutes before the onset
    findings = log_findings(
        frame(incident),
        frame(baseline),
        incident_start=early,
        incident_end=INC_END,
        baseline_window=BASELINE,
        onset=INC_START,
    )
    top = max(findings, key=lambda f: f.score)
    assert top.signal.startswith("new error template: ")
    # Reference: 10 baseline minutes + 5 normal minutes before the onset; incident: 5 minutes.
    assert top.evidence.details.baseline_minutes == pytest.approx(15.0)
    assert top.evidence.details.incident_minutes == pytest.approx(5.0)
    assert "before the onset" in str(top.evidence.details.reference)
    assert top.evidence.details.p_value == pytest.approx((7.5 / 22.5) ** 20, rel=1e-2)


def test_records_outside_the_windows_are_not_counted() -> None:
    # A source that hands back a few extra minutes after the incident window: the burst of
    # errors there is outside the incident and must not count in its rate.
    baseline = steady("A", T0, 10)
    incident = steady("A", INC_START, 5) + emit(
        "A", lambda i: f"ERROR job {i} failed: disk full", INC_END + timedelta(minutes=1), 40, 3
    )
    assert run(baseline, incident) == []


def test_summaries_quote_the_message_not_the_header_the_application_writes() -> None:
    baseline = steady("B", T0, 10)
    incident = steady("B", INC_START, 5) + emit(
        "B",
        lambda i: f"10:2{i % 10}:0{i % 6}.{100 + i} ERROR c.e.Stock#{40 + i} TraceID: a{i}f9 SpanID: b{i}e7 "
        f"[reserve][No stock for item]",
        INC_START,
        20,
        10,
    )
    top = max(run(baseline, incident), key=lambda f: f.score)
    assert "'ERROR [reserve][No stock for item]'" in top.summary
    assert "TraceID" not in top.summary
    assert "TraceID" in top.signal  # the signal keeps the whole template: ids stay distinct


def test_a_new_info_template_is_not_flagged_as_an_error() -> None:
    # A new code path that logs at INFO (a feature flag turned on) is new, but not a failure.
    baseline = steady("A", T0, 10) + steady("B", T0, 10)
    incident = steady("A", INC_START, 5) + steady("B", INC_START, 5)
    incident += emit("B", lambda i: f"INFO c.e.Recommender - served suggestion set {7000 + i}",
                     INC_START + timedelta(seconds=60), 20, 10, trace_prefix="new")
    new = [f for f in run(baseline, incident) if f.evidence.details.test == "new"]
    assert new and all(f.resource == "B" and not f.evidence.details.error for f in new)
