"""Absolute limits read from the value itself (an expired certificate stays expired)."""

from datetime import datetime, timedelta, timezone

import pandas as pd

from domain.models import TimeWindow
from tools.analysis.constraints import constraint_findings

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
INCIDENT = TimeWindow(start=T0, end=T0 + timedelta(minutes=30))


def _expiry(values: list[float], metric: str = "DaysToExpiry") -> pd.DataFrame:
    return pd.DataFrame({
        "resource": "cert", "namespace": "AWS/CertificateManager", "metric": metric, "stat": "Minimum",
        "dimensions": "{}", "timestamp": [pd.Timestamp(T0 + timedelta(minutes=5 * i)) for i in range(len(values))],
        "value": values,
    })


def test_an_expired_certificate_is_a_finding_even_when_it_was_already_expired_before() -> None:
    findings = constraint_findings(_expiry([0.0] * 6), INCIDENT)
    assert [f.resource for f in findings] == ["cert"]
    assert findings[0].score >= 0.9
    assert "expired" in findings[0].summary
    assert findings[0].onset == T0


def test_the_onset_is_the_first_point_at_or_past_expiry() -> None:
    findings = constraint_findings(_expiry([1.0, 1.0, 0.0, 0.0]), INCIDENT)
    expired = [f for f in findings if "expired" in f.signal]
    assert expired and expired[0].onset == T0 + timedelta(minutes=10)


def test_a_certificate_with_weeks_left_says_nothing() -> None:
    assert constraint_findings(_expiry([30.0, 30.0, 29.9]), INCIDENT) == []


def test_other_metrics_are_not_read_as_expiry() -> None:
    assert constraint_findings(_expiry([0.0, 0.0], metric="HTTPCode_Target_5XX_Count"), INCIDENT) == []


def test_a_daily_expiry_metric_with_one_point_in_the_window_is_still_read() -> None:
    # ACM publishes DaysToExpiry once a day: one point, no sampling period to measure.
    findings = constraint_findings(_expiry([0.0]), INCIDENT)
    assert [f.resource for f in findings] == ["cert"]
    assert findings[0].evidence.details.period_s == 0
