"""Trace analysis on crafted call chains: blame the span where the time or the error starts.

Every trace is `web -> api -> db`:

    web  [t, t + web_own + net + api_total]
     api [t + net/2 .. ]       duration api_own + db (its only child is the db call)
      db                       duration db

so web's self time is web_own + net (the time not covered by its child), api's is api_own
and db's is db. A little deterministic jitter (+-1 ms) gives each baseline a spread.

With `client_span=True` web calls api through a client span of its own (as X-Ray
subsegments and OpenTelemetry CLIENT spans do): web [web_own + call] -> web "call api"
[net + api_total] -> api. Only then is the time between the caller's view of the call and
the callee's own span measurable as the network: without a client span, a server span's
time outside its only child is its own work just as much as the network.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from tools.analysis.traces import edge_trace_findings, service_trace_findings

BASE_T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
INC_T0 = datetime(2024, 5, 1, 11, 0, tzinfo=timezone.utc)
TRACES = 30
JITTER_MS = [-1.0, -0.5, 0.0, 0.5, 1.0]


def _chain(
    t0: datetime,
    *,
    prefix: str,
    db_ms: float = 10.0,
    api_own_ms: float = 20.0,
    web_own_ms: float = 5.0,
    net_ms: float = 2.0,
    failing: int = 0,
    client_span: bool = False,
) -> pd.DataFrame:
    """`TRACES` traces web -> api -> db, one every 10 s; the first `failing` fail in db and propagate up."""
    rows = []
    for i in range(TRACES):
        jitter = JITTER_MS[i % len(JITTER_MS)]
        db = db_ms + jitter
        api = api_own_ms + jitter + db
        web = web_own_ms + net_ms + api
        start = t0 + timedelta(seconds=10 * i)
        api_start = start + timedelta(milliseconds=net_ms / 2)
        db_start = api_start + timedelta(milliseconds=api_own_ms / 2)
        failed = i < failing
        trace = f"{prefix}-{i}"
        api_parent = f"{trace}-web"
        rows.append((trace, f"{trace}-web", None, "web", "GET /", start, start + timedelta(milliseconds=web), False, failed))
        if client_span:
            call_start = start + timedelta(milliseconds=web_own_ms / 2)
            call_end = call_start + timedelta(milliseconds=net_ms + api)
            rows.append((trace, f"{trace}-call", f"{trace}-web", "web", "call api", call_start, call_end, False, failed))
            api_parent = f"{trace}-call"
            api_start = call_start + timedelta(milliseconds=net_ms / 2)
            db_start = api_start + timedelta(milliseconds=api_own_ms / 2)
        rows += [
            (trace, f"{trace}-api", api_parent, "api", "handler", api_start, api_start + timedelta(milliseconds=api), False, failed),
            (trace, f"{trace}-db", f"{trace}-api", "db", "query", db_start, db_start + timedelta(milliseconds=db), False, failed),
        ]
    frame = pd.DataFrame(rows, columns=["trace_id", "span_id", "parent_id", "service", "operation", "start", "end", "error", "fault"])
    frame["status"] = None
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    return frame


def _signals(findings) -> set[tuple[str, str]]:
    return {(f.resource, f.signal) for f in findings}


def test_slow_leaf_dependency_blames_only_the_leaf() -> None:
    baseline = _chain(BASE_T0, prefix="b")
    incident = _chain(INC_T0, prefix="i", db_ms=200.0)
    # Every span got ~190 ms longer, but only db's own (exclusive) time changed.
    findings = service_trace_findings(incident, baseline)
    assert _signals(findings) == {("db", "trace self time")}
    slow = findings[0]
    assert slow.direction == "up"
    assert abs(slow.evidence.baseline_value - 10.0) < 0.6
    assert abs(slow.evidence.incident_value - 200.0) < 0.6
    # The first slow db span starts net/2 + api_own/2 = 11 ms into the first incident trace.
    assert slow.onset == INC_T0 + timedelta(milliseconds=11)
    # A slow callee is not a network problem: the time between each caller and callee is unchanged.
    assert edge_trace_findings(incident, baseline) == []


def test_errors_raised_in_the_leaf_and_propagated_blame_only_the_leaf() -> None:
    baseline = _chain(BASE_T0, prefix="b")
    incident = _chain(INC_T0, prefix="i", failing=10)
    findings = service_trace_findings(incident, baseline)
    # web and api fail only because db failed under them: their errors are not their own.
    assert _signals(findings) == {("db", "trace own errors")}
    errors = findings[0]
    assert errors.evidence.incident_value == 10 / TRACES
    assert errors.evidence.baseline_value == 0.0
    assert set(errors.evidence.trace_ids) <= {f"i-{i}" for i in range(10)}


def test_errors_in_a_dependency_s_spans_say_how_many_it_answered_as_its_callers_fault() -> None:
    # db fails 10 calls: answered as 5xx faults of its own, then as 4xx client errors (denied).
    baseline = _chain(BASE_T0, prefix="b")
    faults = _chain(INC_T0, prefix="i", failing=10)
    refused = faults.copy()
    refused.loc[refused["service"] == "db", "error"] = refused.loc[refused["service"] == "db", "fault"]
    refused.loc[refused["service"] == "db", "fault"] = False
    assert [f.evidence.details.rejected for f in service_trace_findings(faults, baseline)] == [0]
    own = [f for f in service_trace_findings(refused, baseline) if f.signal == "trace own errors"]
    assert [(f.resource, f.evidence.details.errors, f.evidence.details.rejected) for f in own] == [("db", 10, 10)]


def test_errors_raised_in_the_middle_blame_the_middle() -> None:
    baseline = _chain(BASE_T0, prefix="b")
    incident = _chain(INC_T0, prefix="i", failing=10)
    incident.loc[incident["service"] == "db", "fault"] = False
    findings = service_trace_findings(incident, baseline)
    assert _signals(findings) == {("api", "trace own errors")}


def test_network_gap_between_caller_and_callee_is_a_network_finding_on_the_edge() -> None:
    baseline = _chain(BASE_T0, prefix="b", net_ms=2.0, client_span=True)
    # web's call to api takes 150 ms longer, while api's own span is exactly as before.
    incident = _chain(INC_T0, prefix="i", net_ms=152.0, client_span=True)
    findings = edge_trace_findings(incident, baseline)
    assert len(findings) == 1
    gap = findings[0]
    assert gap.domain == "network"
    assert gap.resource == "api"  # the callee end of the web -> api edge
    assert "web" in gap.signal
    assert gap.evidence.details.caller == "web"
    assert abs(gap.evidence.incident_value - gap.evidence.baseline_value - 150.0) < 0.6


def test_slow_callee_is_not_a_network_gap_on_the_call_to_it() -> None:
    baseline = _chain(BASE_T0, prefix="b", client_span=True)
    incident = _chain(INC_T0, prefix="i", api_own_ms=200.0, client_span=True)
    # web's client span grows with api, but the gap between the two does not.
    assert [f for f in edge_trace_findings(incident, baseline) if f.resource == "api"] == []
    assert _signals(service_trace_findings(incident, baseline)) == {("api", "trace self time")}


def test_slow_service_with_a_single_dependency_is_not_a_network_gap() -> None:
    baseline = _chain(BASE_T0, prefix="b")
    # api's own code got slow; its single db call is as fast as ever.
    incident = _chain(INC_T0, prefix="i", api_own_ms=200.0)
    assert _signals(service_trace_findings(incident, baseline)) == {("api", "trace self time")}
    assert edge_trace_findings(incident, baseline) == []


def test_a_gap_seen_by_several_callers_is_the_network() -> None:
    # web and worker both call api straight from their server spans. Alone, each one's growing
    # gap could be its own code; both growing at once while api is unchanged points at the path to api.
    def two_callers(t0: datetime, prefix: str, net_ms: float) -> pd.DataFrame:
        web = _chain(t0, prefix=f"{prefix}w", net_ms=net_ms)
        worker = _chain(t0, prefix=f"{prefix}k", net_ms=net_ms)
        worker.loc[worker["service"] == "web", "service"] = "worker"
        return pd.concat([web, worker], ignore_index=True)

    findings = edge_trace_findings(two_callers(INC_T0, "i", 152.0), two_callers(BASE_T0, "b", 2.0))
    assert {(f.resource, f.domain, f.evidence.details.caller) for f in findings} == {
        ("api", "network", "web"), ("api", "network", "worker"),
    }


def test_a_gap_seen_by_one_caller_without_a_client_span_is_its_own_time() -> None:
    # Without a client span the time web spends outside its only child could be web's own code:
    # it is reported as web's self time, not as a network problem.
    baseline = _chain(BASE_T0, prefix="b", net_ms=2.0)
    incident = _chain(INC_T0, prefix="i", net_ms=152.0)
    assert edge_trace_findings(incident, baseline) == []
    assert _signals(service_trace_findings(incident, baseline)) == {("web", "trace self time")}


def test_no_change_no_findings() -> None:
    baseline = _chain(BASE_T0, prefix="b")
    incident = _chain(INC_T0, prefix="i")
    assert service_trace_findings(incident, baseline) == []
    assert edge_trace_findings(incident, baseline) == []


def test_no_incident_spans_no_findings() -> None:
    baseline = _chain(BASE_T0, prefix="b")
    assert service_trace_findings(baseline.iloc[0:0], baseline) == []
    assert edge_trace_findings(baseline.iloc[0:0], baseline) == []


def _late(fault: dict, *, client_span: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A baseline, and an incident window whose last third (from INC_T0 + 10 min) has `fault`:
    the window's median span is still a normal one."""
    baseline = _chain(BASE_T0, prefix="b", client_span=client_span)
    normal = [_chain(INC_T0 + timedelta(minutes=5 * k), prefix=f"n{k}", client_span=client_span) for k in range(2)]
    faulty = _chain(INC_T0 + timedelta(minutes=10), prefix="f", client_span=client_span, **fault)
    return baseline, pd.concat([*normal, faulty], ignore_index=True)


def test_network_time_that_grows_late_in_the_window_is_found_on_the_edge() -> None:
    baseline, incident = _late({"net_ms": 120.0}, client_span=True)
    findings = edge_trace_findings(incident, baseline)
    assert _signals(findings) == {("api", "network gap from web")}
    assert findings[0].onset >= INC_T0 + timedelta(minutes=10)


def test_a_caller_that_loses_time_towards_several_callees_does_not_blame_them() -> None:
    # web calls api and cache through client spans; from minute 10 both calls take 120 ms
    # longer between web and the callee, and no other caller calls either: web itself (a
    # CPU-starved caller, its own network) is what the slow calls have in common.
    def two_callees(t0: datetime, prefix: str, net_ms: float) -> pd.DataFrame:
        api = _chain(t0, prefix=prefix, client_span=True, net_ms=net_ms)
        cache = api.copy()
        cache = cache[cache["service"] != "db"]
        cache["service"] = cache["service"].replace({"api": "cache"})
        cache["span_id"] = cache["span_id"] + "-c"
        cache["parent_id"] = cache["parent_id"].where(cache["parent_id"].isna(), cache["parent_id"] + "-c")
        cache["trace_id"] = cache["trace_id"] + "-c"
        return pd.concat([api, cache], ignore_index=True)

    baseline = two_callees(BASE_T0, "b", 2.0)
    incident = pd.concat([
        two_callees(INC_T0, "n0", 2.0), two_callees(INC_T0 + timedelta(minutes=5), "n1", 2.0),
        two_callees(INC_T0 + timedelta(minutes=10), "f", 120.0),
    ], ignore_index=True)
    assert edge_trace_findings(incident, baseline) == []
    # One of the two alone is that edge's network, as before.
    alone = incident[~incident["service"].eq("cache") & ~incident["trace_id"].str.endswith("-c")]
    base_alone = baseline[~baseline["trace_id"].str.endswith("-c")]
    assert _signals(edge_trace_findings(alone, base_alone)) == {("api", "network gap from web")}


def test_choosing_the_best_of_several_stretches_is_corrected_for_the_choice() -> None:
    from tools.analysis.traces import _looked_at

    # A z of 4 found by looking at ten stretches is as likely as a z of about 3.4 looked at once.
    assert 3.3 < _looked_at(4.0, 10) < 3.5
    # One look is no correction; a stronger shift stays stronger after it.
    assert _looked_at(4.0, 1) == 4.0
    assert _looked_at(5.0, 10) > _looked_at(4.0, 10)


def _two_callers(t0: datetime, prefix: str, *, web_db_ms: float = 10.0, job_db_ms: float = 10.0) -> pd.DataFrame:
    """Two callers of db, each recording the call itself (db is a leaf span under the caller, as
    a database subsegment is): `web -> db` and `job -> db`, TRACES of each, one every 10 s."""
    rows = []
    for i in range(TRACES):
        jitter = JITTER_MS[i % len(JITTER_MS)]
        start = t0 + timedelta(seconds=10 * i)
        for caller, db_ms in (("web", web_db_ms), ("job", job_db_ms)):
            trace = f"{prefix}-{caller}-{i}"
            db = db_ms + jitter
            rows += [
                (trace, f"{trace}-{caller}", None, caller, "handle", start, start + timedelta(milliseconds=5 + db), False, False),
                (trace, f"{trace}-db", f"{trace}-{caller}", "db", "SELECT", start + timedelta(milliseconds=2),
                 start + timedelta(milliseconds=2 + db), False, False),
            ]
    frame = pd.DataFrame(rows, columns=["trace_id", "span_id", "parent_id", "service", "operation", "start", "end", "error", "fault"])
    frame["status"] = None
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    return frame


def _late_edge(**fault: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    baseline = _two_callers(BASE_T0, "b")
    incident = pd.concat([
        _two_callers(INC_T0, "n0"), _two_callers(INC_T0 + timedelta(minutes=5), "n1"),
        _two_callers(INC_T0 + timedelta(minutes=10), "f", **fault),
    ], ignore_index=True)
    return baseline, incident


def test_calls_on_one_edge_that_slow_late_while_other_callers_are_served_as_before_blame_the_edge_into_the_callee() -> None:
    # From minute 10 web's database calls take 140 ms instead of 10; job's take 10 as before. The
    # callee's median over the window (two thirds normal, and half of the rest job's) stays normal.
    baseline, incident = _late_edge(web_db_ms=150.0)
    assert service_trace_findings(incident, baseline) == []
    findings = edge_trace_findings(incident, baseline)
    assert _signals(findings) == {("db", "edge latency from web")}
    assert findings[0].domain == "network" and findings[0].score >= 0.5
    assert findings[0].onset >= INC_T0 + timedelta(minutes=10)
    assert findings[0].evidence.incident_value > 100 > 20 > findings[0].evidence.baseline_value


def test_a_callee_slow_for_every_caller_is_not_one_edge() -> None:
    baseline, incident = _late_edge(web_db_ms=150.0, job_db_ms=150.0)
    assert edge_trace_findings(incident, baseline) == []


def test_a_callee_with_one_caller_is_judged_by_its_own_time_not_by_edge() -> None:
    baseline, incident = _late_edge(web_db_ms=150.0)
    only_web = incident[~incident["trace_id"].str.contains("-job-")]
    assert edge_trace_findings(only_web, baseline[~baseline["trace_id"].str.contains("-job-")]) == []


def _own_spans(t0: datetime, minutes: int, failed_minutes: set[int], per_minute: int = 20) -> pd.DataFrame:
    """`per_minute` spans a minute of one service "api"; in each of `failed_minutes` the first span fails."""
    rows = []
    for m in range(minutes):
        for j in range(per_minute):
            start = t0 + timedelta(minutes=m, seconds=3 * j)
            rows.append((f"t{m}-{j}", f"s{m}-{j}", None, "api", "GET /", start, start + timedelta(milliseconds=20),
                         False, m in failed_minutes and j == 0))
    frame = pd.DataFrame(rows, columns=["trace_id", "span_id", "parent_id", "service", "operation", "start", "end", "error", "fault"])
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    return frame


def test_own_errors_begin_where_their_rate_rose_not_at_the_first_failed_span() -> None:
    # api always fails one call in 400 (1 in every 20th minute of the baseline). In the incident
    # window it failed one call at minute 3 (its normal rate), then one call every minute from
    # minute 40 on: the errors began at minute 40. The first failed span, at minute 3, is the
    # normal rate that any window shows somewhere.
    baseline = _own_spans(BASE_T0 - timedelta(hours=2), 120, {m for m in range(120) if m % 20 == 0})
    incident = _own_spans(INC_T0, 60, {3} | set(range(40, 60)))
    errors = next(f for f in service_trace_findings(incident, baseline) if f.signal == "trace own errors")
    assert errors.onset == INC_T0 + timedelta(minutes=40)
    # The call before it, 3 s earlier, was normal: the errors began in those 3 s.
    assert errors.evidence.details.seen_normal_s == 3.0


def test_own_errors_already_at_their_incident_rate_when_the_window_opens_begin_with_it() -> None:
    baseline = _own_spans(BASE_T0 - timedelta(hours=2), 120, {m for m in range(120) if m % 20 == 0})
    incident = _own_spans(INC_T0, 60, set(range(0, 60)))
    errors = next(f for f in service_trace_findings(incident, baseline) if f.signal == "trace own errors")
    assert errors.onset == INC_T0


def _late_sender(t0: datetime, prefix: str, delay_ms: float = 0.0) -> pd.DataFrame:
    """front -> web (through front's client span) -> db, and job -> db, TRACES of each, one every 10 s.
    db is a leaf recorded under its caller (as a database subsegment is). `delay_ms` delays every
    packet web sends: front waits that much longer for web's answer (the gap between front's client
    span and web's span), and web's database calls take that much longer (its db span)."""
    rows = []
    for i in range(TRACES):
        jitter = JITTER_MS[i % len(JITTER_MS)]
        start = t0 + timedelta(seconds=10 * i)
        ms = lambda x: timedelta(milliseconds=x)  # noqa: E731
        db = 10.0 + jitter + delay_ms
        web = 5.0 + db
        call = 2.0 + web + delay_ms
        t = f"{prefix}-web-{i}"
        rows += [
            (t, f"{t}-front", None, "front", "GET /", start, start + ms(call + 3.0)),
            (t, f"{t}-call", f"{t}-front", "front", "call web", start + ms(1.0), start + ms(1.0 + call)),
            (t, f"{t}-web", f"{t}-call", "web", "handler", start + ms(2.0), start + ms(2.0 + web)),
            (t, f"{t}-db", f"{t}-web", "db", "SELECT", start + ms(4.0), start + ms(4.0 + db)),
        ]
        t = f"{prefix}-job-{i}"
        rows += [
            (t, f"{t}-job", None, "job", "handle", start, start + ms(15.0 + jitter)),
            (t, f"{t}-db", f"{t}-job", "db", "SELECT", start + ms(2.0), start + ms(12.0 + jitter)),
        ]
    frame = pd.DataFrame(rows, columns=["trace_id", "span_id", "parent_id", "service", "operation", "start", "end"])
    frame = frame.assign(error=False, fault=False, status=None)
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    return frame


def test_a_service_whose_every_packet_is_late_is_blamed_not_the_dependency_it_calls() -> None:
    # From minute 10 everything web sends takes 150 ms longer: front gets its answers late, and
    # web's database calls (job's are served as before) take 150 ms longer too. Both edges have
    # web in common, and front's late answers already name it; db is not blamed.
    baseline = _late_sender(BASE_T0, "b")
    incident = pd.concat([
        _late_sender(INC_T0, "n0"), _late_sender(INC_T0 + timedelta(minutes=5), "n1"),
        _late_sender(INC_T0 + timedelta(minutes=10), "f", delay_ms=150.0),
    ], ignore_index=True)
    assert _signals(edge_trace_findings(incident, baseline)) == {("web", "network gap from front")}
    # Had front's calls kept their time, web's slower database calls would be that edge's delay.
    quiet_front = incident[~incident["trace_id"].str.startswith("f-web") | incident["service"].isin(["web", "db"])]
    assert ("db", "edge latency from web") in _signals(edge_trace_findings(quiet_front, baseline))
