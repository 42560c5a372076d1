"""Finding ids survive a rerun with more data: a user's accept/discard must stick to the
observation, so ids come from what was measured (resource, kind, series or template key,
event id), never from text that grows with the data."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from domain.models import TimeWindow
from tools.analysis.constraints import constraint_findings
from tools.analysis.logs import log_findings
from tools.analysis.metrics import metric_findings
from tools.source import LOG_COLUMNS, METRIC_COLUMNS

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
BASELINE = TimeWindow(start=T0, end=T0 + timedelta(minutes=30))
INC_START = T0 + timedelta(minutes=30)
TENANTS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


def _logs(minutes: int) -> pd.DataFrame:
    """Steady request lines from T0, then from INC_START a new error: during its first ten
    minutes it names one tenant only, later ones name other tenants too."""
    rows = [
        {"timestamp": T0 + timedelta(seconds=10 * i), "resource": "api", "log_group": "/app/api", "log_stream": "m",
         "message": f"INFO GET /items/{1000 + i} returned 200", "trace_id": ""}
        for i in range(6 * (30 + minutes))
    ]
    for i in range(4 * minutes):
        tenant = TENANTS[0] if i < 40 else TENANTS[i % len(TENANTS)]
        rows.append({"timestamp": INC_START + timedelta(seconds=15 * i), "resource": "api", "log_group": "/app/api",
                     "log_stream": "m", "message": f"ERROR quota check rejected tenant {tenant} request", "trace_id": ""})
    return pd.DataFrame(rows, columns=LOG_COLUMNS).sort_values("timestamp", ignore_index=True)


def _log_run(minutes: int):
    frame = _logs(minutes)
    base = frame[frame["timestamp"] < pd.Timestamp(INC_START)]
    inc = frame[frame["timestamp"] >= pd.Timestamp(INC_START)]
    return log_findings(inc, base, incident_start=INC_START, incident_end=INC_START + timedelta(minutes=minutes),
                        baseline_window=BASELINE)


def test_a_log_template_keeps_its_id_when_more_lines_generalise_its_text() -> None:
    short, long = _log_run(10), _log_run(30)
    short_error = next(f for f in short if f.evidence.details.test == "new")
    long_error = next(f for f in long if f.evidence.details.test == "new")
    # More lines made the mined template more general (the tenant became a wildcard) ...
    assert "alpha" in short_error.evidence.details.template
    assert "alpha" not in long_error.evidence.details.template
    assert short_error.signal != long_error.signal
    # ... but it is the same observation, under the same id.
    assert short_error.id == long_error.id


def _metrics(minutes: int) -> pd.DataFrame:
    """A latency series flat at 100 ms with a small wobble, 400 ms from INC_START on."""
    rows = []
    for i in range(30 + minutes):
        value = 100.0 + (i % 3) if i < 30 else 400.0
        rows.append({"resource": "api", "namespace": "App", "metric": "Latency", "stat": "Average",
                     "dimensions": '{"Service": "api"}', "timestamp": pd.Timestamp(T0 + timedelta(minutes=i)),
                     "value": value})
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def test_a_metric_shift_keeps_its_id_over_a_longer_window() -> None:
    def ids(minutes: int) -> set[str]:
        incident = TimeWindow(start=INC_START, end=INC_START + timedelta(minutes=minutes))
        return {f.id for f in metric_findings(_metrics(minutes), incident=incident, baseline=BASELINE, alarm_time=INC_START)}

    short, long = ids(10), ids(40)
    assert len(short) == 1
    assert short == long


def test_an_expiry_keeps_its_id_from_expiring_to_expired() -> None:
    def expiry(values: list[float]):
        frame = pd.DataFrame({
            "resource": "cert", "namespace": "AWS/CertificateManager", "metric": "DaysToExpiry", "stat": "Minimum",
            "dimensions": "{}", "timestamp": [pd.Timestamp(INC_START + timedelta(hours=6 * i)) for i in range(len(values))],
            "value": values,
        })
        window = TimeWindow(start=INC_START, end=INC_START + timedelta(hours=6 * len(values)))
        return constraint_findings(frame, window)

    expiring, expired = expiry([0.5]), expiry([0.5, 0.25, 0.0])
    assert "expiring" in expiring[0].signal and "expired" in expired[0].signal
    assert expiring[0].id == expired[0].id
