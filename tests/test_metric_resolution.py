"""High-resolution metrics are analysed per minute (tools/analysis/resolution.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from tools.analysis.resolution import standard_resolution

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def _series(stat: str, values: list[float], step_s: int, metric: str = "Errors") -> pd.DataFrame:
    return pd.DataFrame({
        "resource": "api", "namespace": "App", "metric": metric, "stat": stat, "dimensions": '{"Service": "api"}',
        "timestamp": pd.to_datetime([T0 + timedelta(seconds=step_s * i) for i in range(len(values))], utc=True),
        "value": values,
    })


def test_one_second_counts_add_up_per_minute_and_other_statistics_keep_their_meaning() -> None:
    # Two minutes of 1-second points: errors 1 per second in the first minute, 2 in the second;
    # latency 10 ms then 30 ms on average, with one 500 ms spike in the second minute.
    errors = _series("Sum", [1.0] * 60 + [2.0] * 60, 1)
    latency = [10.0] * 60 + [30.0] * 59 + [500.0]
    frame = pd.concat([errors, _series("Average", latency, 1, "Latency"), _series("Maximum", latency, 1, "Latency")])
    out, note = standard_resolution(frame)
    by = {(r.metric, r.stat, r.timestamp.minute): r.value for r in out.itertuples()}
    assert len(out) == 6
    assert by[("Errors", "Sum", 0)] == 60.0 and by[("Errors", "Sum", 1)] == 120.0
    assert by[("Latency", "Average", 0)] == 10.0
    assert abs(by[("Latency", "Average", 1)] - (30.0 * 59 + 500.0) / 60) < 1e-9
    assert by[("Latency", "Maximum", 1)] == 500.0
    assert note is not None and "3 high-resolution series" in note


def test_standard_series_are_left_as_they_are() -> None:
    minutely = _series("Sum", [1.0, 2.0, 3.0], 60)
    out, note = standard_resolution(minutely)
    assert out is minutely and note is None
    # Points a minute apart that do not fall on the minute are not high-resolution either.
    shifted = minutely.assign(timestamp=minutely["timestamp"] + pd.Timedelta(seconds=5))
    out, note = standard_resolution(shifted)
    assert note is None and out["value"].tolist() == [1.0, 2.0, 3.0]


def test_a_mix_keeps_the_standard_series_and_aggregates_the_fine_one() -> None:
    frame = pd.concat([_series("Sum", [1.0] * 120, 1), _series("Sum", [5.0, 6.0], 60, "Requests")])
    out, _ = standard_resolution(frame)
    assert sorted(out[out["metric"] == "Requests"]["value"]) == [5.0, 6.0]
    assert sorted(out[out["metric"] == "Errors"]["value"]) == [60.0, 60.0]
