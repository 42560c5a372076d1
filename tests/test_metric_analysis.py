"""Metric shift against a baseline, on series crafted so that the right answer is known.

Layout used throughout: a 60-minute baseline (10:00-10:59), then a 30-minute incident window
(11:00-11:29) with the alarm at 11:10, one point a minute.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from domain.models import TimeWindow
from tools.analysis.metrics import (
    MIN_RUN,
    Z_ONSET,
    alarm_metric_observation,
    metric_findings,
    z_to_score,
)
from tools.analysis.semantics import bad_direction, is_outgoing, is_percentage, is_traffic, metric_domain

BASE_START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
INC_START = datetime(2024, 5, 1, 11, 0, tzinfo=timezone.utc)
ALARM = INC_START + timedelta(minutes=10)
BASELINE = TimeWindow(start=BASE_START, end=INC_START - timedelta(minutes=1))
INCIDENT = TimeWindow(start=INC_START, end=INC_START + timedelta(minutes=29))

# A small symmetric wiggle: median 100, |deviations| 2,1,0,1,2 -> MAD 1 (robust sd 1.48),
# mean absolute deviation 1.2 (robust sd 1.50), 1 % of the median = 1: the spread is ~1.5.
WIGGLE = [-2.0, -1.0, 0.0, 1.0, 2.0]


def _series(resource: str, metric: str, baseline: list[float], incident: list[float], *, stat: str = "Average") -> pd.DataFrame:
    times = [BASE_START + timedelta(minutes=i) for i in range(len(baseline))]
    times += [INC_START + timedelta(minutes=i) for i in range(len(incident))]
    return pd.DataFrame({
        "resource": resource,
        "namespace": "Test",
        "metric": metric,
        "stat": stat,
        "dimensions": json.dumps({}),
        "timestamp": pd.to_datetime(times, utc=True),
        "value": np.asarray(baseline + incident, dtype=float),
    })


def _wiggly(centre: float, count: int) -> list[float]:
    return [centre + WIGGLE[i % 5] for i in range(count)]


def _find(*frames: pd.DataFrame) -> list:
    frame = pd.concat(frames, ignore_index=True)
    return metric_findings(frame, incident=INCIDENT, baseline=BASELINE, alarm_time=ALARM)


def test_sustained_latency_rise_is_found_with_its_onset_and_direction() -> None:
    # Normal until 11:05, then 150 (about 33 robust sd above the median) for the rest of the window.
    incident = _wiggly(100, 5) + [150.0] * 25
    findings = _find(_series("api", "TargetResponseTime", _wiggly(100, 60), incident))
    assert len(findings) == 1
    finding = findings[0]
    assert finding.resource == "api"
    assert finding.kind == "metric"
    assert finding.direction == "up"
    assert finding.onset == INC_START + timedelta(minutes=5)
    assert finding.evidence.baseline_value == pytest.approx(100.0)
    assert finding.evidence.incident_value == pytest.approx(150.0)
    assert finding.score > 0.9
    assert "TargetResponseTime" in finding.signal


def test_a_single_point_spike_is_not_an_incident() -> None:
    incident = _wiggly(100, 30)
    incident[6] = 150.0
    assert MIN_RUN >= 2
    assert _find(_series("api", "TargetResponseTime", _wiggly(100, 60), incident)) == []


def test_two_consecutive_points_are_a_run() -> None:
    incident = _wiggly(100, 30)
    for i in range(MIN_RUN):
        incident[6 + i] = 150.0
    findings = _find(_series("api", "TargetResponseTime", _wiggly(100, 60), incident))
    assert [f.onset for f in findings] == [INC_START + timedelta(minutes=6)]


def test_availability_drop_is_found() -> None:
    # Baseline 90 with the wiggle (spread ~1.5), incident 75 from 11:03: ~10 robust sd down.
    incident = _wiggly(90, 3) + [75.0] * 27
    findings = _find(_series("web", "Availability", _wiggly(90, 60), incident))
    assert len(findings) == 1
    assert findings[0].direction == "down"
    assert findings[0].onset == INC_START + timedelta(minutes=3)
    assert findings[0].evidence.incident_value == pytest.approx(75.0)


def test_availability_rise_is_not_a_problem() -> None:
    # A shift of ~6.6 robust sd the other way (90 -> 99.9) is good news: nothing to report.
    incident = _wiggly(90, 3) + [99.9] * 27
    assert _find(_series("web", "Availability", _wiggly(90, 60), incident)) == []


def test_healthy_host_count_drop_is_found_but_a_rise_is_not() -> None:
    drop = _series("tg-a", "HealthyHostCount", [4.0] * 60, [4.0] * 4 + [2.0] * 26)
    rise = _series("tg-b", "HealthyHostCount", [4.0] * 60, [4.0] * 4 + [6.0] * 26)
    findings = _find(drop, rise)
    assert [(f.resource, f.direction) for f in findings] == [("tg-a", "down")]


def test_series_absent_from_the_baseline_is_ignored() -> None:
    steady = _series("api", "TargetResponseTime", _wiggly(100, 60), _wiggly(100, 30))
    newcomer = _series("api", "QueueDepth", [], [5000.0] * 30)
    assert _find(steady, newcomer) == []


def test_zero_error_count_that_becomes_non_zero_is_found() -> None:
    # All-zero baseline: MAD and mean deviation are 0, yet errors appearing for several
    # minutes must still be reported.
    incident = [0.0] * 4 + [3.0, 5.0, 4.0, 6.0, 5.0] + [4.0] * 21
    findings = _find(_series("api", "Errors", [0.0] * 60, incident, stat="Sum"))
    assert len(findings) == 1
    assert findings[0].direction == "up"
    assert findings[0].onset == INC_START + timedelta(minutes=4)
    assert findings[0].evidence.baseline_value == 0.0
    assert findings[0].score > 0.9


def test_noise_with_the_same_spread_in_baseline_and_incident_is_quiet() -> None:
    # Gaussian noise, sd 5, identical in both windows. The spread estimate is ~sd, so a point
    # passes Z_ONSET = 3 with p ~= 0.0013 one-sided (0.0027 for "both"-direction metrics), and a
    # run needs MIN_RUN = 2 consecutive points: over 29 adjacent pairs in 20 series that is
    # about 20 * 29 * 0.0027**2 ~= 0.004 expected false runs. A seeded RNG makes it exact.
    rng = np.random.default_rng(20240501)
    frames = []
    for i in range(10):
        for metric in ("TargetResponseTime", "RequestCount"):
            frames.append(_series(f"svc-{i}", metric, list(rng.normal(100, 5, 60)), list(rng.normal(100, 5, 30))))
    assert Z_ONSET >= 3
    assert _find(*frames) == []


def test_runs_that_start_long_after_the_alarm_are_after_effects() -> None:
    # The alarm is at 11:10 in a 29-minute incident window: a run starting at 11:25, a quarter
    # of the window and more after the alarm, is an after-effect (a recovery, a follow-on
    # restart); one starting at 11:08 is part of the incident.
    late = _series("late", "TargetResponseTime", _wiggly(100, 60), _wiggly(100, 25) + [150.0] * 5)
    early = _series("early", "TargetResponseTime", _wiggly(100, 60), _wiggly(100, 8) + [150.0] * 22)
    findings = _find(late, early)
    assert [(f.resource, f.onset) for f in findings] == [("early", INC_START + timedelta(minutes=8))]


def test_no_incident_data_no_findings() -> None:
    frame = _series("api", "TargetResponseTime", _wiggly(100, 60), [])
    assert _find(frame) == []


def test_finding_ids_are_stable_across_runs() -> None:
    frame = _series("api", "TargetResponseTime", _wiggly(100, 60), _wiggly(100, 5) + [150.0] * 25)
    assert [f.id for f in _find(frame)] == [f.id for f in _find(frame.copy())]


def test_z_to_score_is_monotone_and_centred_on_4() -> None:
    assert z_to_score(4.0) == pytest.approx(0.5)
    zs = np.linspace(-10, 60, 141)
    scores = [z_to_score(float(z)) for z in zs]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert all(b >= a for a, b in zip(scores, scores[1:]))
    assert z_to_score(3.0) < 0.5 < z_to_score(5.0)
    assert z_to_score(0.0) < 0.05 and z_to_score(10.0) > 0.99


@pytest.mark.parametrize(
    ("metric", "direction"),
    [
        ("TargetResponseTime", "up"),
        ("HealthyHostCount", "down"),
        ("UnHealthyHostCount", "up"),
        ("FreeStorageSpace", "down"),
        ("HTTPCode_Target_5XX_Count", "up"),
        ("RequestCount", "both"),
        ("CPUUtilization", "up"),
    ],
)
def test_bad_direction_of_cloudwatch_metrics(metric: str, direction: str) -> None:
    assert bad_direction(metric) == direction


@pytest.mark.parametrize(
    ("metric", "domain"),
    [
        ("CPUUtilization", "infrastructure"),
        ("NetworkIn", "network"),
        ("HealthyHostCount", "infrastructure"),
        ("FreeStorageSpace", "infrastructure"),
        ("TargetResponseTime", "application"),
    ],
)
def test_domain_of_cloudwatch_metrics(metric: str, domain: str) -> None:
    assert metric_domain(metric) == domain


def test_a_two_point_baseline_is_a_loose_reference_not_none() -> None:
    # Only two normal points (100, 100): no spread can be measured, so 10 % of the level (10)
    # is assumed. A sustained doubling (z = 10) is found; a 5 % wobble (z = 0.5) is not.
    doubled = _find(_series("api", "latency", [100.0, 100.0], _wiggly(100, 5) + [200.0] * 25))
    assert [f.resource for f in doubled] == ["api"]
    assert doubled[0].evidence.details.z == pytest.approx(10.0)
    wobble = _find(_series("api", "latency", [100.0, 100.0], [105.0] * 30))
    assert wobble == []


def test_a_two_point_baseline_of_a_percentage_near_its_bound_varies_by_its_distance_to_it() -> None:
    # Availability 100 and 99.2 before the alarm: 0.4 % of errors, whose assumed spread is a
    # tenth of that distance to 100 (the measured one, 1.4826 x 0.4, is larger), not 10 points.
    # A fall to 91 % (z ~ 14) is found, though it is within 10 % of the level.
    fall = _find(_series("site", "availability", [100.0, 99.2], [99.6] * 5 + [91.0] * 25))
    assert [f.resource for f in fall] == ["site"]
    assert fall[0].evidence.details.z == pytest.approx((99.6 - 91.0) / (1.4826 * 0.4), rel=1e-3)
    # A utilisation far from both bounds keeps the share of its level: 40 -> 42 is no shift.
    quiet = _find(_series("db", "CPUUtilization", [40.0, 40.0], [42.0] * 30))
    assert quiet == []
    # A metric named like a percentage whose values leave 0-100 is not treated as one.
    counts = _find(_series("api", "availability", [1000.0, 1000.0], [950.0] * 30))
    assert counts == []


def test_a_short_baseline_percentage_of_few_requests_moves_in_steps_of_one_request() -> None:
    # Five requests a period: one failure is 20 points, so 100 -> 80 is one call, not a shift
    # (z = 1). With 500 requests the same fall is 100 failures, far beyond a step of 0.2 points.
    few = _find(_series("fn", "availability", [100.0, 100.0], [80.0] * 30),
                _series("fn", "requests", [5.0, 5.0], [5.0] * 30, stat="Sum"))
    assert [f for f in few if f.evidence.details.metric == "availability"] == []
    many = _find(_series("svc", "availability", [100.0, 100.0], [80.0] * 30),
                 _series("svc", "requests", [500.0, 500.0], [500.0] * 30, stat="Sum"))
    assert [f.evidence.details.metric for f in many] == ["availability"]


def test_a_tail_percentile_over_fewer_calls_than_it_needs_is_no_reference() -> None:
    # Two calls a minute in the baseline: its "p99" is the slower of two calls, and with forty
    # calls a minute the slowest of forty is higher although no call got slower (the average
    # stays put). 100 calls are the least a p99 needs, 20 a p95: so the p99 gives no finding,
    # while the average would have shown a real slowdown.
    latency = [0.2 + 0.01 * WIGGLE[i % 5] for i in range(60)]  # robust sd 0.015
    few = _find(_series("bucket", "latency", latency, [0.7] * 30, stat="p99"),
                _series("bucket", "latency", latency, [0.2] * 30, stat="Average"),
                _series("bucket", "requests", [2.0] * 60, [40.0] * 30, stat="Sum"))
    assert {(f.evidence.details.metric, f.evidence.details.stat) for f in few} == {("requests", "Sum")}
    # The same p99 rise over 500 calls a minute is a real tail: reported.
    many = _find(_series("svc", "latency", latency, [0.7] * 30, stat="p99"),
                 _series("svc", "requests", [500.0] * 60, [500.0] * 30, stat="Sum"))
    assert [(f.evidence.details.metric, f.evidence.details.stat) for f in many] == [("latency", "p99")]
    # A median needs two calls: with two a minute it is still tested.
    median = _find(_series("bucket", "latency", latency, [0.7] * 30, stat="p50"),
                   _series("bucket", "requests", [2.0] * 60, [2.0] * 30, stat="Sum"))
    assert [f.evidence.details.stat for f in median] == ["p50"]


def test_the_tail_rule_counts_calls_only_in_periods_that_had_some() -> None:
    latency = [0.2 + 0.01 * WIGGLE[i % 5] for i in range(60)]
    # Idle two minutes in three, 500 calls a minute otherwise: the p99 points (of 500 calls
    # each) are a reference, though the median over all baseline minutes would be 0 calls.
    bursty = [0.0, 0.0, 500.0] * 20
    findings = _find(_series("svc", "latency", latency, [0.7] * 30, stat="p99"),
                     _series("svc", "requests", bursty, [500.0] * 30, stat="Sum"))
    assert [f.evidence.details.stat for f in findings if f.evidence.details.metric == "latency"] == ["p99"]


def test_exactly_the_calls_a_percentile_needs_are_enough_and_lower_percentiles_need_none() -> None:
    latency = [0.2 + 0.01 * WIGGLE[i % 5] for i in range(60)]
    ten = _find(_series("svc", "latency", latency, [0.7] * 30, stat="p90"),
                _series("svc", "requests", [10.0] * 60, [10.0] * 30, stat="Sum"))
    assert [f.evidence.details.stat for f in ten if f.evidence.details.metric == "latency"] == ["p90"]
    # The 10th percentile of one call is that call: noisy, but not biased upward by the count.
    one = _find(_series("svc", "latency", latency, [0.7] * 30, stat="p10"),
                _series("svc", "requests", [1.0] * 60, [1.0] * 30, stat="Sum"))
    assert [f.evidence.details.stat for f in one if f.evidence.details.metric == "latency"] == ["p10"]


def test_a_request_rate_is_not_a_call_count_for_the_tail_percentile_rule() -> None:
    # Operations per second (an Average) says nothing of how many calls a period holds: the
    # p99 is tested as before.
    latency = [0.2 + 0.01 * WIGGLE[i % 5] for i in range(60)]
    findings = _find(_series("pod", "latency", latency, [0.7] * 30, stat="p99"),
                     _series("pod", "PodWorkload", [0.5] * 60, [0.5] * 30, stat="Average"))
    assert [f.evidence.details.stat for f in findings] == ["p99"]


def test_percentages_are_recognised_by_name() -> None:
    assert is_percentage("availability") and is_percentage("SuccessRate(%)") and is_percentage("CPUUtilization")
    assert not is_percentage("latency") and not is_percentage("RequestCount")


def test_a_client_side_metric_names_the_resource_that_reported_it() -> None:
    # payments publishes the errors it gets from the external API, with itself as a dimension.
    frame = _series("gateway", "DependencyErrors", _wiggly(100, 60), _wiggly(100, 5) + [300.0] * 25, stat="Sum")
    frame["dimensions"] = json.dumps({"Dependency": "gateway", "Service": "payments"})
    findings = metric_findings(frame, incident=INCIDENT, baseline=BASELINE, alarm_time=ALARM,
                               named_resources={"gateway", "payments"})
    assert [f.evidence.details.reported_by for f in findings if f.resource == "gateway"] == [["payments"]]
    own = _find(_series("gateway", "Errors", _wiggly(100, 60), _wiggly(100, 5) + [300.0] * 25))
    assert own[0].evidence.details.reported_by == []


def test_equally_strong_findings_of_different_metrics_are_kept_before_repeats_of_one() -> None:
    # Six zones of one latency metric far out, a request count a little less far (its score
    # rounds to the same 1.00): the request count must not be crowded out of the five
    # findings kept for the resource.
    frames = []
    for zone in range(6):
        frame = _series("alb", "TargetResponseTime", _wiggly(100, 60), _wiggly(100, 5) + [900.0] * 25)
        frame["dimensions"] = json.dumps({"AvailabilityZone": f"zone-{zone}"})
        frames.append(frame)
    frames.append(_series("alb", "RequestCount", _wiggly(100, 60), _wiggly(100, 5) + [122.0] * 25, stat="Sum"))
    findings = _find(*frames)
    assert len(findings) == 5
    assert "RequestCount" in {f.evidence.details.metric for f in findings}


def test_a_shift_that_was_over_well_before_the_alarm_is_history_not_evidence() -> None:
    # 11:00-11:03 a burst on "old" that ended seven minutes before the 11:10 alarm (the tail of
    # an earlier incident); "now" rises at 11:08 and is still up when the alarm fires.
    old = [150.0] * 3 + _wiggly(100, 27)
    now = _wiggly(100, 8) + [150.0] * 22
    findings = _find(_series("old", "Latency", _wiggly(100, 60), old), _series("now", "Latency", _wiggly(100, 60), now))
    assert {f.resource for f in findings} == {"now"}


def test_a_shift_that_ended_just_before_the_alarm_still_counts() -> None:
    # Over at 11:07, three minutes before the alarm: alarms look back over a few periods.
    ended = _wiggly(100, 4) + [150.0] * 3 + _wiggly(100, 23)
    findings = _find(_series("api", "Latency", _wiggly(100, 60), ended))
    assert [f.resource for f in findings] == ["api"]
    # ...and it says when it was last abnormal and how long the data went on after that.
    details = findings[0].evidence.details
    assert details.until == INC_START + timedelta(minutes=7)
    assert details.observed_until == INC_START + timedelta(minutes=30)


def test_runs_under_way_before_the_earliest_onset_the_alarm_allows_are_history() -> None:
    # "early" is high from 11:02 (before the alarm at 11:10), "late" from 11:11.
    early = _series("early", "TargetResponseTime", _wiggly(100, 60), _wiggly(100, 2) + [150.0] * 28)
    late = _series("late", "TargetResponseTime", _wiggly(100, 60), _wiggly(100, 11) + [150.0] * 19)
    frame = pd.concat([early, late], ignore_index=True)
    # Unknown look-back: both count (a slow build-up before an alarm is worth showing).
    assert {f.resource for f in _find(early, late)} == {"early", "late"}
    # An alarm placed at a known fault start: what was already high before it is not this fault.
    findings = metric_findings(frame, incident=INCIDENT, baseline=BASELINE, alarm_time=ALARM, earliest_onset=ALARM)
    assert [f.resource for f in findings] == ["late"]


@pytest.mark.parametrize(
    ("metric", "outgoing"),
    [
        ("PodClientLatencyP90(s)", True),
        ("DependencyLatency", True),
        ("downstream_duration_ms", True),
        ("PodServerLatencyP90(s)", False),
        ("TargetResponseTime", False),
        ("ClientTLSNegotiationErrorCount", False),  # the clients' errors, not latency of our calls
    ],
)
def test_latency_of_outgoing_calls_is_recognised_by_name(metric: str, outgoing: bool) -> None:
    assert is_outgoing(metric) == outgoing


@pytest.mark.parametrize(
    ("metric", "traffic"),
    [
        ("RequestCount", True),
        ("NetworkReceiveBytes", True),  # bytes moved are volume: more of them is load
        ("NetworkIn", True),
        ("NetworkPacketsOut", True),
        ("NetworkInterfaceErrors", False),
        ("Latency", False),
        ("FreeStorageSpace", False),
    ],
)
def test_volume_metrics_are_traffic(metric: str, traffic: bool) -> None:
    assert is_traffic(metric) == traffic


def _alarmed_availability(dip_at: int) -> tuple[pd.DataFrame, list]:
    """A front end's availability (noise +-2 around 99) dips 2.5 points, too little for a shift of
    its own, for five minutes from `dip_at`; a dependency's availability falls from 100 to 95
    from minute 10 to 14."""
    front = _wiggly(99, 30)
    front[dip_at:dip_at + 5] = [96.5] * 5
    frame = pd.concat([
        _series("front", "availability", _wiggly(99, 60), front),
        _series("dep", "availability", [100.0] * 60, [100.0] * 10 + [95.0] * 5 + [100.0] * 15),
    ], ignore_index=True)
    return frame, metric_findings(frame, incident=INCIDENT, baseline=BASELINE, alarm_time=ALARM)


def test_the_alarmed_metric_echoes_a_dependency_that_moved_it_at_the_same_points() -> None:
    frame, findings = _alarmed_availability(dip_at=10)
    assert [f.resource for f in findings] == ["dep"]
    observation = alarm_metric_observation(frame, findings, resource="front", metric="availability",
                                           incident=INCIDENT, baseline=BASELINE)
    assert observation is not None and observation.evidence.details.alarm_metric_normal is True
    assert observation.evidence.details.echoes == ["dep"]


def test_a_dip_at_other_points_than_the_dependency_s_shift_is_no_echo() -> None:
    frame, findings = _alarmed_availability(dip_at=20)
    observation = alarm_metric_observation(frame, findings, resource="front", metric="availability",
                                           incident=INCIDENT, baseline=BASELINE)
    assert observation is not None
    assert observation.evidence.details.echoes == []


def test_an_echo_may_miss_the_weak_edge_of_the_dependency_s_shift_but_not_most_of_it() -> None:
    # The dependency is abnormal for five minutes from minute 10; the front end dips at the
    # first three of them (its last two are diluted away) or at only the first two.
    for dipped, echoes in ((3, True), (2, False)):
        front = _wiggly(99, 30)
        front[10:10 + dipped] = [96.5] * dipped
        frame = pd.concat([
            _series("front", "availability", _wiggly(99, 60), front),
            _series("dep", "availability", [100.0] * 60, [100.0] * 10 + [95.0] * 5 + [100.0] * 15),
        ], ignore_index=True)
        findings = metric_findings(frame, incident=INCIDENT, baseline=BASELINE, alarm_time=ALARM)
        observation = alarm_metric_observation(frame, findings, resource="front", metric="availability",
                                               incident=INCIDENT, baseline=BASELINE)
        assert observation is not None
        assert bool(observation.evidence.details.echoes) is echoes, dipped


def test_a_metric_finding_carries_the_picture_of_its_series() -> None:
    # Latency 100 +- 2, then 150 from 11:05: the console draws the 30 incident minutes, the
    # baseline's normal band (median 100 +- Z_ONSET robust sd of ~1.5, so roughly 95.5-104.5)
    # and the onset, from the finding alone.
    incident = _wiggly(100, 5) + [150.0] * 25
    finding = _find(_series("api", "Latency", _wiggly(100, 60), incident))[0]
    series = finding.evidence.series
    assert series is not None
    assert len(series.values) == 30 and series.values[:5] == incident[:5] and series.values[5] == 150.0
    assert series.timestamps[0] == INC_START and series.timestamps[5] == finding.onset
    assert series.centre == 100.0
    assert 94 < series.band_low < 97 and 103 < series.band_high < 106
    assert all(series.band_low <= v <= series.band_high for v in series.values[:5])


def test_a_long_series_is_downsampled_to_a_few_hundred_points_keeping_the_shift() -> None:
    from domain.models import SeriesSketch

    # One point a second over the 30-minute incident window: 1,800 points, the step at 11:05.
    seconds = 30 * 60
    base_times = [BASE_START + timedelta(seconds=i) for i in range(3600)]
    inc_times = [INC_START + timedelta(seconds=i) for i in range(seconds)]
    values = [100 + WIGGLE[i % 5] for i in range(3600)] + [100 + WIGGLE[i % 5] if i < 300 else 150.0 for i in range(seconds)]
    frame = pd.DataFrame({
        "resource": "api", "namespace": "Test", "metric": "Latency", "stat": "Average", "dimensions": json.dumps({}),
        "timestamp": pd.to_datetime(base_times + inc_times, utc=True), "value": np.asarray(values),
    })
    finding = metric_findings(frame, incident=INCIDENT, baseline=BASELINE, alarm_time=ALARM)[0]
    series = finding.evidence.series
    assert series is not None and len(series.values) <= SeriesSketch.MAX_POINTS
    assert len(series.values) >= SeriesSketch.MAX_POINTS - 1  # 1,800 seconds into ~240 buckets of 7.5 s
    # Buckets before 11:05 average the wiggle (about 100), after it they are 150.
    before = [v for t, v in zip(series.timestamps, series.values) if t < INC_START + timedelta(minutes=4, seconds=50)]
    after = [v for t, v in zip(series.timestamps, series.values) if t >= INC_START + timedelta(minutes=5)]
    assert before and after
    assert all(abs(v - 100) < 2.5 for v in before) and all(v == 150.0 for v in after)


# --- a baseline far from the incident (days away): the shift must also be new in the window --


def _find_stale(*frames: pd.DataFrame) -> list:
    frame = pd.concat(frames, ignore_index=True)
    return metric_findings(frame, incident=INCIDENT, baseline=BASELINE, alarm_time=ALARM, stale_baseline=True)


def test_with_a_stale_baseline_a_shift_that_began_minutes_before_the_alarm_is_kept() -> None:
    # Normal at 100 for the window's first 4 minutes, then 160 from 11:04: the alarm at 11:10
    # fires six minutes into the fault. Against the points before the alarm (mostly faulty,
    # median 160) it would not stand out; against the points before its own onset it does.
    incident = _wiggly(100.0, 4) + _wiggly(160.0, 26)
    findings = _find_stale(_series("db", "Latency", _wiggly(100.0, 60), incident))
    assert [f.resource for f in findings] == ["db"]
    assert findings[0].onset == INC_START + timedelta(minutes=4)


def test_with_a_stale_baseline_a_level_that_differs_for_the_whole_window_is_not_the_onset() -> None:
    # The series sits at 160 from the window's first minute to its last: it differs from a
    # baseline days away, but nothing changed around the alarm.
    findings = _find_stale(_series("db", "Latency", _wiggly(100.0, 60), _wiggly(160.0, 30)))
    assert findings == []


def test_with_a_recent_baseline_a_shift_under_way_when_the_window_opens_is_kept() -> None:
    # The same whole-window level with a baseline just before it: the fault was already in effect.
    findings = _find(_series("db", "Latency", _wiggly(100.0, 60), _wiggly(160.0, 30)))
    assert [f.resource for f in findings] == ["db"]


def _revision(revision: str, metric: str, baseline: list[float], incident: list[float], *, stat: str = "Average",
              start_minute: int = 0) -> pd.DataFrame:
    """A per-revision series of `api` (dimension TaskDefinitionRevision), its incident part from `start_minute`."""
    frame = _series("api", metric, baseline, incident, stat=stat)
    frame["dimensions"] = json.dumps({"Service": "api", "TaskDefinitionRevision": revision})
    return frame[(frame["timestamp"] < pd.Timestamp(INC_START)) | (frame["timestamp"] >= pd.Timestamp(INC_START + timedelta(minutes=start_minute)))]


def test_a_new_revision_with_no_normal_points_is_measured_against_the_old_revision_s_baseline() -> None:
    # Revision 7 served all of the baseline; revision 8 (a canary) starts at 11:05 and is three
    # times as slow. It has no baseline point of its own: its sibling's is the reference.
    old = _revision("7", "Latency", _wiggly(100.0, 60), _wiggly(100.0, 30))
    canary = _revision("8", "Latency", [], _wiggly(300.0, 25), start_minute=5)
    findings = _find(old, canary)
    assert [f.evidence.details.dimensions.get("TaskDefinitionRevision") for f in findings] == ["8"]
    assert findings[0].direction == "up" and findings[0].evidence.baseline_value == pytest.approx(100.0)


def test_a_healthy_new_revision_and_a_canary_s_sums_are_no_findings() -> None:
    # A benign canary as fast as the old revision; and a Sum (requests, errors) that depends on the
    # share of the traffic the canary gets, which its sibling's baseline says nothing about.
    old = _revision("7", "Latency", _wiggly(100.0, 60), _wiggly(100.0, 30))
    benign = _revision("8", "Latency", [], _wiggly(100.0, 25), start_minute=5)
    old_calls = _revision("7", "Requests", _wiggly(1000.0, 60), _wiggly(1000.0, 30), stat="Sum")
    canary_calls = _revision("8", "Requests", [], _wiggly(100.0, 25), stat="Sum", start_minute=5)
    assert _find(old, benign, old_calls, canary_calls) == []


def test_a_new_revision_failing_a_third_of_its_few_requests_is_found_by_its_errors_per_request() -> None:
    # Revision 8 gets a tenth of the requests from 11:05 and fails a third of them; revision 7
    # always failed about one in a thousand. The canary's error count (30 a minute) says nothing
    # by itself, its errors per request against revision 7's do.
    old = [_revision("7", "Requests", _wiggly(1000.0, 60), _wiggly(900.0, 30), stat="Sum"),
           _revision("7", "Errors", [1.0] * 60, [1.0] * 30, stat="Sum")]
    canary = [_revision("8", "Requests", [], _wiggly(100.0, 25), stat="Sum", start_minute=5),
              _revision("8", "Errors", [], _wiggly(30.0, 25), stat="Sum", start_minute=5)]
    rates = [f for f in _find(*old, *canary) if f.evidence.details.metric == "Errors per request"]
    assert [f.evidence.details.dimensions["TaskDefinitionRevision"] for f in rates] == ["8"]
    assert rates[0].evidence.baseline_value == pytest.approx(0.001) and rates[0].evidence.incident_value == pytest.approx(0.3, rel=0.1)
    # It keeps what it was built from, so that it can be read back as about 30 failed calls a minute.
    counted = rates[0].evidence.details.per_request
    assert counted is not None and (counted.metric, counted.stat) == ("Errors", "Sum")
    assert counted.requests == pytest.approx(100.0, rel=0.1)
    assert all(f.evidence.details.per_request is None for f in _find(*old, *canary) if f not in rates)
    # A healthy canary fails as rarely as the old revision: no rate finding.
    healthy = [canary[0], _revision("8", "Errors", [], [0.0, 0.0, 1.0, 0.0] * 6 + [0.0], stat="Sum", start_minute=5)]
    assert not [f for f in _find(*old, *healthy) if f.evidence.details.metric == "Errors per request"]
