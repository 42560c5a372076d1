"""Import the Nezha TrainTicket dataset (Yu et al., FSE 2023) as recorded-incident bundles.

Source layout (any number of days):

    SRC/rca_data/<day>/<day>-fault_list.json      {hour: [{inject_time, inject_timestamp, inject_pod, inject_type}]}
    SRC/rca_data/<day>/metric/<pod>_metric.csv.gz one row a minute per pod, the whole day
    SRC/rca_data/<day>/metric/front_service.csv.gz the entry service's latency as users see it
    SRC/rca_data/<day>/log/HH_MM_log.csv.gz       logs of the minutes around each fault
    SRC/rca_data/<day>/trace/HH_MM_trace.csv.gz   spans of the same minutes
    SRC/construct_data/<day>/{metric,log,trace}/  fault-free data of the same day (the baseline)

Output: OUT/<day>/<HH_MM_SS>/ , one bundle per fault. See docs/evaluation.md for the choices.

Clock: `inject_time`, read as UTC, is on the telemetry clock. `inject_timestamp` is about 8 h
behind it, off by up to a minute in places, and repeated once, so it is never used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from domain.models import Edge, GroundTruth, Resource, TimeWindow, Topology, Trigger
from evals.importers.common import (
    Case,
    ImportSummary,
    ProgressCallback,
    SkippedCase,
    SourceError,
    read_csv,
    read_json,
    run_cases,
)
from tools.bundle.format import IncidentManifest
from tools.bundle.writer import write_bundle

DATASET = "nezha"
POD_NAMESPACE = "Nezha/Pod"
ENTRY_NAMESPACE = "Nezha/Entry"
ENTRY_FILE = "front_service"
# The alarm: the entry's P90 latency. The entry's success rate cannot page anyone (it is 0 in
# every recorded minute), P50 hides faults that hit a minority of requests, and P99 is ruled by
# one or two requests at the recorded load of about one request a second.
TRIGGER_METRIC = "LatencyP90(s)"
TRIGGER_STAT = "p90"
# Logs and traces were recorded for the fault's minute and the two after it.
TELEMETRY_MINUTES = 3
# The window starts where the recorded logs and spans do, the minute before the fault's minute:
# the fault cannot show earlier, and the faults of the preceding minutes (every 4-9 minutes on
# a day) must not (their effects belong to the baseline's excluded minutes, see below).
DEFAULT_MINUTES_BEFORE = 1
# How long a fault disturbs the per-minute metrics: from the minute before its minute to this
# many minutes after it. The injections last about three minutes and a minute's metric point
# shows them up to two minutes late (a CPU contention injected at hh:mm:54 reads high from the
# point of mm+2 through mm+5). The dataset's own fault-free minute lies 7 minutes after a fault.
EFFECT_MINUTES = 6
# The metric baseline: the fault-free minutes of the hour before the fault's window. One hour
# gives a median and a spread per series (the fault-free data has a single minute, which gives
# a level but no spread) without reaching into another part of the day's load.
BASELINE_MINUTES = 60
# With fewer fault-free minutes than this before the window (the day's first fault), the
# dataset's fault-free minutes alone are the baseline.
MIN_BASELINE_MINUTES = 10
# Below this the entry file matches no pod and is kept as a resource of its own.
ENTRY_MATCH_MIN_CORRELATION = 0.9

FAULT_LIST_EXPECTED = (
    '{"HH": [{"inject_time": "YYYY-MM-DD HH:MM:SS", "inject_timestamp", "inject_pod", "inject_type"}, ...]}'
)
METRIC_EXPECTED = "a Nezha metric table: Time, TimeStamp (unix seconds), PodName or ServiceName, numeric metric columns"
LOG_EXPECTED = "a Nezha log table: Timestamp, TimeUnixNano, Node, PodName, Container, TraceID, SpanID, Log"
TRACE_EXPECTED = "a Nezha trace table: TraceID, SpanID, ParentID, PodName, OperationName, StartTimeUnixNano, EndTimeUnixNano"
LOG_COLUMNS = ("TimeUnixNano", "PodName", "Log")
TRACE_COLUMNS = ("TraceID", "SpanID", "ParentID", "PodName", "OperationName", "StartTimeUnixNano", "EndTimeUnixNano")
_NOT_METRICS = {"Time", "TimeStamp", "PodName", "ServiceName"}
# `Node*` columns measure the host a pod runs on, the same series in every pod on that host.
# Stored under each pod's service they make every neighbour of a busy pod look faulty itself,
# and the files do not name the host to store them under, so they are left out.
_HOST_METRIC = re.compile(r"^Node")
_MINUTE_FILE = re.compile(r"^(\d{2})_(\d{2})_(log|trace)\.csv(\.gz)?$")
_POD_SUFFIXES = re.compile(r"-[a-z0-9]+-[a-z0-9]+$")


def service_of(pod: str) -> str:
    """`ts-contacts-service-866bd68c97-xcqfx` -> `ts-contacts-service` (drop the two hash suffixes)."""
    return _POD_SUFFIXES.sub("", pod)


def parse_inject_time(value: object, where: str) -> datetime:
    """`inject_time` as an aware UTC datetime: the telemetry clock (see the module docstring)."""
    if not isinstance(value, str):
        raise SourceError(f"{where}: inject_time is {value!r}; expected text like '2023-01-29 08:43:04'")
    try:
        parsed = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise SourceError(f"{where}: inject_time {value!r} is not 'YYYY-MM-DD HH:MM:SS'") from exc
    return parsed.replace(tzinfo=timezone.utc)


def _stat_of(metric: str) -> str:
    match = re.search(r"P(\d{2})", metric)
    return f"p{match.group(1)}" if match else "Average"


def read_table(path: Path, expected: str, required: Iterable[str], notes: list[str]) -> pd.DataFrame:
    """A CSV whose malformed rows are dropped with a note (the published logs hold a few)."""
    try:
        frame = read_csv(path, expected)
    except SourceError as exc:
        if "tokenizing" not in str(exc) and "Expected" not in str(exc):
            raise
        bad: list[list[str]] = []

        def drop(line: list[str]) -> None:
            bad.append(line)  # returning None tells pandas to skip the row

        frame = read_csv(path, expected, engine="python", on_bad_lines=drop)
        dropped = f", {len(bad)} row(s) dropped" if bad else ""
        note = f"{path}: malformed CSV rows; read with the tolerant parser{dropped}"
        if note not in notes:
            notes.append(note)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SourceError(f"{path}: missing column(s) {', '.join(missing)}; expected {expected}")
    return frame


class Fault:
    """One entry of the fault list, checked."""

    def __init__(self, raw: object, where: str):
        if not isinstance(raw, dict):
            raise SourceError(f"{where}: expected an object like {FAULT_LIST_EXPECTED}")
        self.time = parse_inject_time(raw.get("inject_time"), where)
        pod = raw.get("inject_pod")
        kind = raw.get("inject_type")
        if not isinstance(pod, str) or not pod or not isinstance(kind, str) or not kind:
            raise SourceError(f"{where}: inject_pod and inject_type must be non-empty text")
        self.pod = pod
        self.service = service_of(pod)
        self.kind = kind


def read_fault_list(path: Path) -> list[tuple[str, object]]:
    """(where, raw entry) for every fault, in file order; the entries are checked per case."""
    body = read_json(path, FAULT_LIST_EXPECTED)
    if isinstance(body, dict):
        groups = [(str(k), v) for k, v in body.items()]
    elif isinstance(body, list):
        groups = [("", body)]
    else:
        raise SourceError(f"{path}: expected {FAULT_LIST_EXPECTED}")
    entries = []
    for key, items in groups:
        if not isinstance(items, list):
            raise SourceError(f"{path}: field {key!r} is not a list; expected {FAULT_LIST_EXPECTED}")
        entries.extend((f"{path}: [{key!r}][{i}]" if key else f"{path}: [{i}]", item) for i, item in enumerate(items))
    return entries


def _minute_files(folder: Path, kind: str) -> dict[pd.Timestamp, Path]:
    """HH_MM_<kind>.csv[.gz] files by their minute offset from midnight."""
    found = {}
    if folder.is_dir():
        for path in folder.iterdir():
            match = _MINUTE_FILE.match(path.name)
            if match and match.group(3) == kind:
                found[pd.Timedelta(hours=int(match.group(1)), minutes=int(match.group(2)))] = path
    return dict(sorted(found.items()))


class _Day:
    """One day's shared inputs, read once: metrics of every pod, the entry, and the call graph."""

    def __init__(self, src: Path, day: str, notes: list[str]):
        self.day = day
        self.rca = src / "rca_data" / day
        self.construct = src / "construct_data" / day
        self.midnight = pd.Timestamp(day, tz="UTC")
        self.notes = notes
        self._loaded = False
        self._error: SourceError | None = None

    def load(self) -> None:
        if self._error is not None:
            raise self._error
        if self._loaded:
            return
        try:
            self.metrics = self._read_metrics(self.rca / "metric")
            self.baseline_metrics = self._read_metrics(self.construct / "metric") if (self.construct / "metric").is_dir() else {}
            self.entry, self.entry_pod = self._find_entry()
            self.fault_minutes = self._fault_minutes()
            self.logs = _minute_files(self.rca / "log", "log")
            self.traces = _minute_files(self.rca / "trace", "trace")
            self.baseline_logs = _minute_files(self.construct / "log", "log")
            self.baseline_traces = _minute_files(self.construct / "trace", "trace")
            self.all_spans = pd.concat(
                [self._spans(p) for p in [*self.traces.values(), *self.baseline_traces.values()]] or [_empty_spans()],
                ignore_index=True,
            )
            self.topology = self._topology()
            self.baseline = self._baseline_window()
        except SourceError as exc:
            self._error = exc
            raise
        self._loaded = True

    def _fault_minutes(self) -> list[pd.Timestamp]:
        """The minute of every fault of the day that has a readable time (sorted)."""
        path = self.rca / f"{self.day}-fault_list.json"
        minutes = set()
        for where, raw in read_fault_list(path) if path.is_file() else []:
            try:
                minutes.add(pd.Timestamp(Fault(raw, where).time).floor("min"))
            except SourceError:
                continue  # that fault is skipped (and reported) on its own
        return sorted(minutes)

    def disturbed(self, stamps: pd.DatetimeIndex | pd.Series) -> np.ndarray:
        """Which timestamps fall where some fault of the day may show (see EFFECT_MINUTES)."""
        values = pd.DatetimeIndex(stamps)
        mask = np.zeros(len(values), dtype=bool)
        for minute in self.fault_minutes:
            mask |= (values >= minute - pd.Timedelta(minutes=1)) & (values < minute + pd.Timedelta(minutes=EFFECT_MINUTES))
        return mask

    def windows_for(self, onset: pd.Timestamp, minutes_before: int) -> tuple[TimeWindow, TimeWindow | None]:
        """(incident window, metric baseline span) of the fault whose minute is `onset`.

        The window holds no other fault: it starts where the previous fault's effects end (at
        the latest a minute before the fault's minute, which the logs record as normal) and
        ends where the next fault's begin (at the earliest at the last recorded minute). The
        baseline span is the hour before the window; only its fault-free minutes are kept.
        """
        one = pd.Timedelta(minutes=1)
        start = onset - pd.Timedelta(minutes=minutes_before)
        end = onset + pd.Timedelta(minutes=EFFECT_MINUTES)
        for minute in self.fault_minutes:
            if minute < onset:
                start = max(start, minute + pd.Timedelta(minutes=EFFECT_MINUTES))
            elif minute > onset:
                end = min(end, minute - one)
        start = min(start, onset - one)
        end = max(end, onset + pd.Timedelta(minutes=TELEMETRY_MINUTES))
        window = TimeWindow(start=start.to_pydatetime(), end=end.to_pydatetime())
        span = TimeWindow(start=(start - pd.Timedelta(minutes=BASELINE_MINUTES)).to_pydatetime(),
                          end=(start - pd.Timedelta(seconds=1)).to_pydatetime())
        return window, span

    # -- metrics ---------------------------------------------------------------------------

    def _read_metrics(self, folder: Path) -> dict[str, pd.DataFrame]:
        """Wide frames by source name (pod name, or `front_service`), indexed by UTC timestamp."""
        if not folder.is_dir():
            raise SourceError(f"{folder}: missing; expected per-pod metric files (<pod>_metric.csv.gz)")
        frames = {}
        for path in sorted(folder.glob("*.csv*")):
            name = re.sub(r"(_metric)?\.csv(\.gz)?$", "", path.name)
            frame = read_table(path, METRIC_EXPECTED, ["TimeStamp"], self.notes)
            stamps = pd.to_numeric(frame["TimeStamp"], errors="coerce")
            if stamps.isna().any():
                raise SourceError(f"{path}: TimeStamp holds a value that is not unix seconds; expected {METRIC_EXPECTED}")
            columns = [c for c in frame.columns if c not in _NOT_METRICS and not _HOST_METRIC.match(str(c))]
            values = frame[columns].apply(pd.to_numeric, errors="coerce")
            values.index = pd.to_datetime(stamps.to_numpy(), unit="s", utc=True)
            frames[name] = values.dropna(axis=1, how="all")
        if ENTRY_FILE not in frames and folder.parent == self.rca:
            raise SourceError(f"{folder / (ENTRY_FILE + '.csv.gz')}: missing; expected the entry service's metrics")
        return frames

    def _find_entry(self) -> tuple[str, str | None]:
        """The service behind `front_service`: the pod whose server P90 latency moves with it.

        The file does not say which service it measures; the pod whose server-side latency
        tracks it minute for minute is the entry. When none does, the entry is kept as a
        resource of its own, named by the file's ServiceName.
        """
        front = self.metrics[ENTRY_FILE]
        if TRIGGER_METRIC not in front.columns:
            raise SourceError(f"{self.rca / 'metric' / ENTRY_FILE}: no {TRIGGER_METRIC} column; expected the entry's latency percentiles")
        target = front[TRIGGER_METRIC].groupby(front.index.floor("min")).mean()
        best: tuple[float, str] | None = None
        for name, frame in self.metrics.items():
            if name == ENTRY_FILE or "PodServerLatencyP90(s)" not in frame.columns:
                continue
            series = frame["PodServerLatencyP90(s)"].groupby(frame.index.floor("min")).mean()
            joined = pd.concat([target, series], axis=1, join="inner").dropna()
            if len(joined) < 3 or joined.std().min() == 0:
                continue
            corr = float(np.corrcoef(joined.iloc[:, 0], joined.iloc[:, 1])[0, 1])
            if best is None or corr > best[0]:
                best = (corr, name)
        if best is not None and best[0] >= ENTRY_MATCH_MIN_CORRELATION:
            return service_of(best[1]), best[1]
        return "entry", None

    # -- spans and topology ------------------------------------------------------------------

    def _spans(self, path: Path) -> pd.DataFrame:
        raw = read_table(path, TRACE_EXPECTED, TRACE_COLUMNS, self.notes)
        start = pd.to_numeric(raw["StartTimeUnixNano"], errors="coerce")
        end = pd.to_numeric(raw["EndTimeUnixNano"], errors="coerce")
        keep = start.notna() & end.notna() & raw["SpanID"].notna() & raw["PodName"].notna()
        raw, start, end = raw[keep], start[keep], end[keep]
        parent = raw["ParentID"].astype("string")
        return pd.DataFrame({
            "trace_id": raw["TraceID"].astype(str).to_numpy(),
            "span_id": raw["SpanID"].astype(str).to_numpy(),
            "parent_id": parent.where(~parent.isin(["root", ""]) & parent.notna(), None).astype(object).to_numpy(),
            "service": raw["PodName"].astype(str).map(service_of).to_numpy(),
            "operation": raw["OperationName"].astype(str).to_numpy(),
            "start": pd.to_datetime(start.astype("int64").to_numpy(), unit="ns", utc=True),
            "end": pd.to_datetime(end.astype("int64").to_numpy(), unit="ns", utc=True),
            "error": False,
            "fault": False,
        })

    def _topology(self) -> Topology:
        spans = self.all_spans
        linked = spans.merge(
            spans[["trace_id", "span_id", "service"]].rename(columns={"span_id": "parent_id", "service": "caller"}),
            on=["trace_id", "parent_id"],
        )
        pairs = set(zip(linked["caller"], linked["service"]))
        # The entry sits in front of the traced services: it calls every service a trace starts at.
        roots = set(spans.loc[spans["parent_id"].isna(), "service"])
        pairs |= {(self.entry, root) for root in roots}
        pairs = sorted((a, b) for a, b in pairs if a != b)
        services = {service_of(n) for n in self.metrics if n != ENTRY_FILE} | {self.entry}
        services |= set(spans["service"]) | {s for pair in pairs for s in pair}
        resources = [
            Resource(id=s, type="service", attributes={"entry": "true"} if s == self.entry else {})
            for s in sorted(services)
        ]
        return Topology(resources=resources, edges=[Edge(caller=a, callee=b) for a, b in pairs])

    def _baseline_window(self) -> TimeWindow | None:
        minutes = sorted({*self.baseline_logs, *self.baseline_traces})
        if not minutes:
            self.notes.append(f"{self.construct}: no fault-free logs or traces; bundles of {self.day} have no baseline window")
            return None
        return TimeWindow(start=(self.midnight + minutes[0]).to_pydatetime(),
                          end=(self.midnight + minutes[-1] + pd.Timedelta(minutes=1)).to_pydatetime())

    # -- one fault's telemetry ---------------------------------------------------------------

    def metrics_in(self, windows: list[tuple[TimeWindow, dict[str, pd.DataFrame]]]) -> pd.DataFrame:
        parts = []
        for window, frames in windows:
            for name, wide in frames.items():
                rows = wide[(wide.index >= window.start) & (wide.index <= window.end)]
                if rows.empty:
                    continue
                is_entry = name == ENTRY_FILE
                pod = self.entry_pod if is_entry else name
                matrix = rows.to_numpy(dtype="float64")
                n_times, n_columns = matrix.shape
                columns = np.asarray(rows.columns, dtype=object)
                parts.append(pd.DataFrame({
                    "resource": self.entry if is_entry else service_of(name),
                    "namespace": ENTRY_NAMESPACE if is_entry else POD_NAMESPACE,
                    "metric": np.tile(columns, n_times),
                    "stat": np.tile(np.asarray([_stat_of(c) for c in columns], dtype=object), n_times),
                    "dimensions": json.dumps({"pod": pod}) if pod else "{}",
                    "timestamp": np.repeat(rows.index.to_numpy(), n_columns),
                    "value": matrix.ravel(),
                }))
        if not parts:
            return pd.DataFrame()
        frame = pd.concat(parts, ignore_index=True)
        frame = frame[frame["value"].notna()]
        return frame.drop_duplicates(["resource", "namespace", "metric", "dimensions", "timestamp"])

    def _files_in(self, files: dict[pd.Timedelta, Path], window: TimeWindow) -> list[Path]:
        start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
        # A file may hold about a minute before its name, so one more minute is read.
        return [p for minute, p in files.items()
                if start - pd.Timedelta(minutes=1) <= self.midnight + minute <= end]

    def logs_in(self, window: TimeWindow, files: dict[pd.Timedelta, Path]) -> pd.DataFrame:
        parts = []
        for path in self._files_in(files, window):
            raw = read_table(path, LOG_EXPECTED, LOG_COLUMNS, self.notes)
            stamps = pd.to_numeric(raw["TimeUnixNano"], errors="coerce")
            raw = raw[stamps.notna() & raw["PodName"].notna()]
            stamps = pd.to_datetime(stamps[stamps.notna()].astype("int64").to_numpy(), unit="ns", utc=True)
            pods = raw["PodName"].astype(str)
            parts.append(pd.DataFrame({
                "timestamp": stamps,
                "resource": pods.map(service_of).to_numpy(),
                "log_group": pods.map(service_of).to_numpy(),
                "log_stream": pods.to_numpy(),
                "message": [_message(v) for v in raw["Log"]],
                "trace_id": raw["TraceID"].astype("string").astype(object).where(raw["TraceID"].notna(), None).to_numpy()
                if "TraceID" in raw.columns else None,
            }))
        if not parts:
            return pd.DataFrame()
        logs = pd.concat(parts, ignore_index=True)
        logs = logs[(logs["timestamp"] >= window.start) & (logs["timestamp"] <= window.end)]
        return logs.drop_duplicates()

    def spans_in(self, window: TimeWindow) -> pd.DataFrame:
        spans = self.all_spans
        return spans[(spans["start"] >= window.start) & (spans["start"] <= window.end)]


def _message(value: object) -> str:
    """The application message: the `log` field of the docker JSON line, else the raw text."""
    if not isinstance(value, str):
        return ""
    try:
        body = json.loads(value)
    except json.JSONDecodeError:
        return value.rstrip("\n")
    if isinstance(body, dict) and isinstance(body.get("log"), str):
        return body["log"].rstrip("\n")
    return value.rstrip("\n")


def _empty_spans() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in
                         ["trace_id", "span_id", "parent_id", "service", "operation", "start", "end", "error", "fault"]})


def _days(src: Path) -> list[str]:
    rca = src / "rca_data"
    if not src.is_dir():
        raise SourceError(f"{src}: not a directory; expected the Nezha dataset root holding rca_data/<day>/")
    if not rca.is_dir():
        raise SourceError(f"{rca}: missing; expected rca_data/<day>/<day>-fault_list.json and construct_data/<day>/")
    days = sorted(p.name for p in rca.iterdir() if p.is_dir())
    if not days:
        raise SourceError(f"{rca}: no <day> directories; expected rca_data/<day>/<day>-fault_list.json")
    return days


def plan(src: Path) -> tuple[list[Case], list[SkippedCase]]:
    """Every fault to import, plus the days whose fault list cannot be read."""
    cases: list[Case] = []
    broken: list[SkippedCase] = []
    for day in _days(src):
        path = src / "rca_data" / day / f"{day}-fault_list.json"
        try:
            entries = read_fault_list(path)
        except SourceError as exc:
            broken.append(SkippedCase(case=day, reason=str(exc)))
            continue
        seen: dict[str, int] = {}
        for where, raw in entries:
            moment = raw.get("inject_time") if isinstance(raw, dict) else None
            name = re.sub(r"\D", "_", moment.strip().split(" ")[-1]) if isinstance(moment, str) and moment.strip() else "unknown"
            seen[name] = seen.get(name, 0) + 1
            label = f"{day}/{name}" + (f"_{seen[name]}" if seen[name] > 1 else "")
            cases.append(Case(label=label, payload={"day": day, "where": where, "raw": raw}))
    return cases, broken


def import_nezha(src: Path, out: Path, *, minutes_before: int = DEFAULT_MINUTES_BEFORE,
                 progress: ProgressCallback | None = None) -> ImportSummary:
    """Write one bundle per injected fault of every day found under `src`."""
    cases, broken = plan(src)
    summary = ImportSummary(dataset=DATASET, skipped=broken)
    days: dict[str, _Day] = {}

    def build(case: Case) -> None:
        if case.payload["day"] not in days:
            days.clear()  # cases come day by day; a finished day's telemetry is not needed again
            days[case.payload["day"]] = _Day(src, case.payload["day"], summary.notes)
        day = days[case.payload["day"]]
        fault = Fault(case.payload["raw"], case.payload["where"])
        day.load()
        _build_fault(day, fault, out, case.label, minutes_before)

    return run_cases(cases, build, summary, progress)


def _build_fault(day: _Day, fault: Fault, out: Path, label: str, minutes_before: int) -> None:
    onset = pd.Timestamp(fault.time).floor("min")
    window, span = day.windows_for(onset, minutes_before)
    # Logs and spans only for the fault's own minutes (the only ones recorded around it).
    recorded = TimeWindow(start=(onset - pd.Timedelta(minutes=1)).to_pydatetime(),
                          end=(onset + pd.Timedelta(minutes=TELEMETRY_MINUTES)).to_pydatetime())
    metrics = day.metrics_in([(window, day.metrics)])
    logs = [day.logs_in(recorded, day.logs)]
    spans = [day.spans_in(recorded)]
    baseline = day.baseline
    clean = day.metrics_in([(span, day.metrics)])
    if len(clean):
        clean = clean[~day.disturbed(clean["timestamp"])]
    if len(clean) and clean["timestamp"].nunique() >= MIN_BASELINE_MINUTES:
        # The fault-free minutes of the hour before the window, with the dataset's fault-free
        # minutes (the only ones with logs and spans) when they came earlier.
        first = pd.Timestamp(clean["timestamp"].min()).floor("min").to_pydatetime()
        if baseline is not None and baseline.end <= window.start:
            first = min(first, baseline.start)
        else:
            baseline = None
        metrics = pd.concat([metrics, clean], ignore_index=True)
        span_window = TimeWindow(start=first, end=span.end)
    else:
        span_window = None
        if baseline is not None and baseline.end > window.start and baseline.start < window.end:
            baseline = None  # inside the window: it is the window's own pre-fault part
    if baseline is not None:
        metrics = pd.concat([metrics, day.metrics_in([(baseline, day.baseline_metrics)])], ignore_index=True)
        logs.append(day.logs_in(baseline, day.baseline_logs))
        spans.append(day.spans_in(baseline))
    if len(metrics):
        metrics = metrics.drop_duplicates(["resource", "namespace", "metric", "dimensions", "timestamp"])
    baseline = span_window or baseline
    log_frame = pd.concat([f for f in logs if len(f)], ignore_index=True).drop_duplicates() if any(len(f) for f in logs) else None
    span_frame = pd.concat([f for f in spans if len(f)], ignore_index=True) if any(len(f) for f in spans) else None
    if span_frame is not None:
        span_frame = span_frame.drop_duplicates(["trace_id", "span_id"])
    topology = day.topology
    if fault.service not in topology.ids():
        topology = topology.model_copy(update={"resources": [*topology.resources, Resource(id=fault.service)]})
    case_id = f"{DATASET}-{label.replace('/', '-')}"
    manifest = IncidentManifest(
        id=case_id,
        title=f"TrainTicket {fault.kind} fault, {day.entry} {TRIGGER_METRIC} alarm at {fault.time:%Y-%m-%d %H:%M:%S} UTC",
        description=f"Nezha TrainTicket {day.day}: {fault.kind} injected into pod {fault.pod}.",
        trigger=Trigger(
            alarm_name=f"{case_id}: {day.entry} {TRIGGER_METRIC}",
            resource=day.entry,
            namespace=ENTRY_NAMESPACE,
            metric=TRIGGER_METRIC,
            statistic=TRIGGER_STAT,
            comparison="GreaterThanThreshold",
            state_change_time=fault.time,
            # The alarm is placed at the injection itself: the fault began then, not earlier.
            onset_lookback_s=0,
        ),
        window=window,
        baseline=baseline,
        topology=topology,
        # The dataset labels the faulty service and the injected fault, not a cause category.
        ground_truth=GroundTruth(resource=fault.service, fault=fault.kind),
    )
    write_bundle(out / label, manifest, metrics=metrics if len(metrics) else None, logs=log_frame, spans=span_frame)
