"""Import the PetShop dataset (Hardt et al., CLeaR 2024) as recorded-incident bundles.

Source layout (any scenario and split names):

    SRC/<scenario>/graph.csv                       call graph, adjacency matrix
    SRC/<scenario>/noissue/metrics.csv[.gz]        normal operation (optional)
    SRC/<scenario>/<split>/issue_N/metrics.csv     5-minute points, three header rows
    SRC/<scenario>/<split>/issue_N/target.json     the alarm (`target`) and the answer (`root_cause`)

Output: OUT/<scenario>/<split>/issue_N/ (one bundle per issue) and, where normal operation was
recorded, OUT/<scenario>/noissue/false_alarm_K/ (an alarm with no fault behind it).
See docs/evaluation.md for the choices (baseline slices, false-alarm times).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from domain.models import ComparisonOperator, Edge, GroundTruth, Resource, TimeWindow, Topology, Trigger
from evals.importers.common import (
    Case,
    ImportSummary,
    ProgressCallback,
    SourceError,
    field,
    first_existing,
    read_csv,
    read_json,
    require_file,
    run_cases,
)
from tools.bundle.format import IncidentManifest
from tools.bundle.writer import write_bundle

DATASET = "petshop"
# The metrics are X-Ray service-map statistics per node; there is no CloudWatch namespace.
NAMESPACE = "X-Ray/ServiceMap"
PERIOD = pd.Timedelta(minutes=5)
# Two hours of 5-minute points: long enough for a stable median and spread per series, short
# enough that one daily cycle does not dominate it.
BASELINE_POINTS = 24
FALSE_ALARMS_PER_SCENARIO = 5
# A false-alarm window has the shape of an issue window: 5 points, the alarm on the third.
FALSE_ALARM_POINTS = 5
FALSE_ALARM_AT = 2
NOISSUE = "noissue"

METRICS_EXPECTED = (
    "a PetShop metrics table: three header rows (microservice, metric, statistic) "
    "and unix timestamps in the first column"
)
GRAPH_EXPECTED = "a PetShop call graph: a square 0/1 adjacency matrix whose first row and first column name the nodes"
TARGET_EXPECTED = 'a PetShop target.json: {"target": {"node", "metric", "agg", "timestamp"}, "root_cause": {"node"}}'

# Which way is bad, from the meaning of the metric: slower is bad, less available is bad;
# a change in request count can be either, so it says nothing about direction.
COMPARISON: dict[str, ComparisonOperator | None] = {
    "latency": "GreaterThanThreshold",
    "availability": "LessThanThreshold",
    "requests": None,
}

_TYPE_SUFFIX = re.compile(r"((?:AWS|Database)::[A-Za-z0-9:]+)$")


def resource_type(node: str) -> str:
    """The resource type encoded in an X-Ray node name (`PetSearch_AWS::ECS::Fargate`)."""
    if node.endswith("_remote"):
        return "remote"
    if node.endswith("_client"):
        return "client"
    match = _TYPE_SUFFIX.search(node)
    return match.group(1) if match else "service"


def _resource(node: str) -> Resource:
    kind = resource_type(node)
    # X-Ray infers `_remote` (a downstream call seen by its caller) and `_client` (the callers
    # of an entry point); they are not services of their own.
    attributes = {"xray_inferred": "true"} if kind in ("remote", "client") else {}
    return Resource(id=node, type=kind, attributes=attributes)


# ---------------------------------------------------------------------------------------------
# Reading the source files


def read_metrics(path: Path) -> pd.DataFrame:
    """Long-form metrics (resource, namespace, metric, stat, dimensions, timestamp, value)."""
    raw = read_csv(path, METRICS_EXPECTED, header=[0, 1, 2], index_col=0)
    if raw.columns.nlevels != 3 or raw.shape[1] == 0:
        raise SourceError(f"{path}: expected {METRICS_EXPECTED}")
    stamps = pd.to_numeric(pd.Series(raw.index), errors="coerce")
    if stamps.isna().any():
        row = int(stamps.isna().to_numpy().argmax())
        raise SourceError(f"{path}: data row {row + 1}: timestamp {raw.index[row]!r} is not a unix time; expected {METRICS_EXPECTED}")
    values = raw.apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.to_numpy().any():
        row, col = (int(i[0]) for i in np.nonzero(bad.to_numpy()))
        raise SourceError(
            f"{path}: column {'/'.join(map(str, raw.columns[col]))!r}, data row {row + 1}: "
            f"{raw.iat[row, col]!r} is not a number"
        )
    matrix = values.to_numpy(dtype="float64")
    n_times, n_columns = matrix.shape
    nodes, metrics, stats = (np.asarray(raw.columns.get_level_values(level), dtype=object) for level in range(3))
    frame = pd.DataFrame({
        "resource": np.tile(nodes, n_times),
        "namespace": NAMESPACE,
        "metric": np.tile(metrics, n_times),
        "stat": np.tile(stats, n_times),
        "dimensions": "{}",
        "timestamp": np.repeat(pd.to_datetime(stamps.to_numpy(), unit="s", utc=True), n_columns),
        "value": matrix.ravel(),
    })
    return frame[frame["value"].notna()].reset_index(drop=True)


def read_graph(path: Path) -> Topology:
    """The call graph, oriented caller -> callee.

    In the published files a row calls a column. The orientation is checked against X-Ray's
    naming instead of assumed: `_client` nodes only call and `_remote` nodes are only called,
    so a matrix stored the other way round is transposed.
    """
    matrix = read_csv(path, GRAPH_EXPECTED, index_col=0)
    rows = [str(r) for r in matrix.index]
    columns = [str(c) for c in matrix.columns]
    if not rows or sorted(rows) != sorted(columns) or len(set(rows)) != len(rows):
        raise SourceError(f"{path}: row and column names differ; expected {GRAPH_EXPECTED}")
    matrix.index, matrix.columns = rows, columns
    cells = matrix[rows].apply(pd.to_numeric, errors="coerce")
    if cells.isna().to_numpy().any():
        raise SourceError(f"{path}: a cell is not 0 or 1; expected {GRAPH_EXPECTED}")
    pairs = [(rows[i], rows[j]) for i, j in zip(*np.nonzero(cells.to_numpy() != 0)) if i != j]
    if _looks_transposed(pairs):
        pairs = [(b, a) for a, b in pairs]
    return Topology(
        resources=[_resource(node) for node in rows],
        edges=[Edge(caller=a, callee=b) for a, b in pairs],
    )


def _looks_transposed(pairs: Sequence[tuple[str, str]]) -> bool:
    as_stored = sum(a.endswith("_client") for a, _ in pairs) + sum(b.endswith("_remote") for _, b in pairs)
    reversed_ = sum(b.endswith("_client") for _, b in pairs) + sum(a.endswith("_remote") for a, _ in pairs)
    return reversed_ > as_stored


def _with_nodes(topology: Topology, nodes: Sequence[str]) -> Topology:
    """`topology` plus any of `nodes` it lacks (a target or root cause missing from graph.csv)."""
    known = topology.ids()
    extra = [_resource(n) for n in dict.fromkeys(nodes) if n not in known]
    return topology.model_copy(update={"resources": topology.resources + extra}) if extra else topology


class Target:
    """The parts of target.json an importer needs, checked."""

    def __init__(self, path: Path):
        body = read_json(path, TARGET_EXPECTED)
        self.node = str(field(body, "target.node", path, TARGET_EXPECTED))
        self.metric = str(field(body, "target.metric", path, TARGET_EXPECTED))
        self.statistic = str(field(body, "target.agg", path, TARGET_EXPECTED))
        stamp = field(body, "target.timestamp", path, TARGET_EXPECTED)
        try:
            self.time = pd.Timestamp(float(stamp), unit="s", tz="UTC").to_pydatetime()
        except (TypeError, ValueError) as exc:
            raise SourceError(f"{path}: field 'target.timestamp' is {stamp!r}; expected a unix time") from exc
        self.root_cause = str(field(body, "root_cause.node", path, TARGET_EXPECTED))
        self.fault = _fault_description(body)
        reproduce = body.get("metadata", {}).get("reproducibility", {}) if isinstance(body.get("metadata"), dict) else {}
        self.command = reproduce.get("command") if isinstance(reproduce, dict) else None


def _fault_description(body: dict) -> str | None:
    for holder in (body, body.get("root_cause") or {}, body.get("metadata") or {}):
        if isinstance(holder, dict):
            for key in ("fault", "description", "issue"):
                if isinstance(holder.get(key), str) and holder[key].strip():
                    return holder[key].strip()
    return None


# ---------------------------------------------------------------------------------------------
# Choosing normal-operation slices


def baseline_slice(times: pd.DatetimeIndex, reference: pd.Timestamp, avoid: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> slice | None:
    """`BASELINE_POINTS` consecutive normal points ending at the time of day closest to `reference`.

    Normal operation was recorded on other days than the issues, so the slice is matched on
    time of day; the earliest of equally close slices wins, which keeps imports reproducible.
    Slices overlapping `avoid` (a false alarm's own window) are not used.
    """
    if len(times) < BASELINE_POINTS:
        return None
    day = 86_400
    ref = (reference.hour * 3600 + reference.minute * 60 + reference.second) % day
    best: tuple[float, int] | None = None
    for start in range(0, len(times) - BASELINE_POINTS + 1):
        first, last = times[start], times[start + BASELINE_POINTS - 1]
        if avoid is not None and first <= avoid[1] and last + PERIOD >= avoid[0]:
            continue
        end = last + PERIOD
        seconds = (end.hour * 3600 + end.minute * 60 + end.second) % day
        distance = min(abs(seconds - ref), day - abs(seconds - ref))
        if best is None or distance < best[0]:
            best = (distance, start)
    return None if best is None else slice(best[1], best[1] + BASELINE_POINTS)


def _window(times: pd.DatetimeIndex) -> TimeWindow:
    return TimeWindow(start=times[0].to_pydatetime(), end=(times[-1] + PERIOD).to_pydatetime())


def false_alarm_moments(series: pd.Series, comparison: ComparisonOperator | None, count: int) -> list[int]:
    """Positions (into `series`) of `count` alarms on normal data, one per equal segment.

    Each is the worst point of its segment in the alarm's direction (highest latency, lowest
    availability, largest deviation from the median when the direction is unknown): a real
    alarm fires at a bad moment, so this is the hardest honest false alarm.
    """
    margin_before, margin_after = FALSE_ALARM_AT, FALSE_ALARM_POINTS - FALSE_ALARM_AT - 1
    usable = np.arange(margin_before, len(series) - margin_after)
    if len(usable) < count:
        return []
    values = series.to_numpy(dtype="float64")
    if comparison is None:
        badness = np.abs(values - np.nanmedian(values)) if np.isfinite(values).any() else np.zeros_like(values)
    elif comparison.startswith("Greater"):
        badness = values
    else:
        badness = -values
    moments = []
    for segment in np.array_split(usable, count):
        scores = np.where(np.isfinite(badness[segment]), badness[segment], -np.inf)
        moments.append(int(segment[int(np.argmax(scores))]) if np.isfinite(scores).any() else int(segment[len(segment) // 2]))
    return moments


# ---------------------------------------------------------------------------------------------
# Building bundles


def _scenarios(src: Path) -> list[Path]:
    if not src.is_dir():
        raise SourceError(f"{src}: not a directory; expected the PetShop dataset root holding <scenario>/graph.csv")
    found = sorted(p for p in src.iterdir() if p.is_dir() and (p / "graph.csv").is_file())
    if not found and (src / "graph.csv").is_file():
        found = [src]
    if not found:
        raise SourceError(
            f"{src}: no PetShop scenario found; expected <scenario>/graph.csv with "
            "<scenario>/<split>/issue_N/{metrics.csv,target.json} beside it"
        )
    return found


def _natural(path: Path) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name))


def _issue_dirs(scenario: Path) -> list[Path]:
    issues = []
    for split in sorted(p for p in scenario.iterdir() if p.is_dir() and p.name != NOISSUE):
        issues.extend(sorted((p for p in split.iterdir() if p.is_dir() and p.name.startswith("issue")), key=_natural))
    return issues


def _noissue_file(scenario: Path) -> Path | None:
    return first_existing([scenario / NOISSUE / "metrics.csv", scenario / NOISSUE / "metrics.csv.gz"])


class _ScenarioData:
    """Per-scenario inputs read once and shared by its cases (graph, normal operation, targets)."""

    def __init__(self, scenario: Path):
        self.path = scenario
        self.name = scenario.name
        self._topology: Topology | None = None
        self._normal: pd.DataFrame | None = None
        self.normal_file = _noissue_file(scenario)

    @property
    def topology(self) -> Topology:
        if self._topology is None:
            self._topology = read_graph(self.path / "graph.csv")
        return self._topology

    @property
    def normal(self) -> pd.DataFrame | None:
        if self.normal_file is None:
            return None
        if self._normal is None:
            self._normal = read_metrics(self.normal_file)
        return self._normal


def _normal_times(normal: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(sorted(normal["timestamp"].unique()))


def _trigger(case_id: str, node: str, metric: str, statistic: str, time) -> Trigger:
    return Trigger(
        alarm_name=f"{case_id}: {node} {metric} {statistic}",
        resource=node,
        namespace=NAMESPACE,
        metric=metric,
        statistic=statistic,
        comparison=COMPARISON.get(metric.lower()),
        state_change_time=time,
    )


def _build_issue(data: _ScenarioData, issue: Path, out: Path, label: str) -> None:
    target = Target(issue / "target.json")
    metrics = read_metrics(require_file(issue / "metrics.csv", METRICS_EXPECTED))
    times = pd.DatetimeIndex(sorted(metrics["timestamp"].unique()))
    window = _window(times)
    case_id = f"{DATASET}-{label.replace('/', '-')}"
    baseline = None
    if data.normal is not None:
        normal_times = _normal_times(data.normal)
        chosen = baseline_slice(normal_times, times[0])
        if chosen is not None:
            picked = normal_times[chosen]
            baseline = _window(picked)
            metrics = pd.concat([metrics, data.normal[data.normal["timestamp"].isin(picked)]], ignore_index=True)
    description = f"PetShop scenario {data.name}, {label}."
    if target.command:
        description += f" Reproduced with: {target.command}"
    manifest = IncidentManifest(
        id=case_id,
        title=f"PetShop {label}: {target.node} {target.metric} alarm",
        description=description,
        trigger=_trigger(case_id, target.node, target.metric, target.statistic, target.time),
        window=window,
        baseline=baseline,
        topology=_with_nodes(data.topology, [target.node, target.root_cause, *metrics["resource"].unique()]),
        # The dataset names the faulty node only; no cause category is labelled.
        ground_truth=GroundTruth(resource=target.root_cause, fault=target.fault or target.metric),
    )
    write_bundle(out / label, manifest, metrics=metrics)


def _build_false_alarm(data: _ScenarioData, out: Path, label: str, alarm: tuple[str, str, str], moment: int) -> None:
    normal = data.normal
    assert normal is not None
    node, metric, statistic = alarm
    times = _normal_times(normal)
    picked = times[moment - FALSE_ALARM_AT: moment - FALSE_ALARM_AT + FALSE_ALARM_POINTS]
    window = _window(picked)
    chosen = baseline_slice(times, picked[0], avoid=(window.start, window.end))
    if chosen is None:
        raise SourceError(f"{data.normal_file}: too short for a false-alarm window plus a separate {BASELINE_POINTS}-point baseline")
    baseline_times = times[chosen]
    metrics = normal[normal["timestamp"].isin(picked) | normal["timestamp"].isin(baseline_times)]
    case_id = f"{DATASET}-{label.replace('/', '-')}"
    manifest = IncidentManifest(
        id=case_id,
        title=f"PetShop {label}: {node} {metric} alarm during normal operation",
        description=f"PetShop scenario {data.name}: an alarm cut from normal operation; nothing is wrong.",
        trigger=_trigger(case_id, node, metric, statistic, times[moment].to_pydatetime()),
        window=window,
        baseline=_window(baseline_times),
        topology=_with_nodes(data.topology, [node, *metrics["resource"].unique()]),
        ground_truth=GroundTruth(false_alarm=True),
    )
    write_bundle(out / label, manifest, metrics=metrics)


def _alarm_kinds(issues: Sequence[Path]) -> list[tuple[str, str, str]]:
    """The distinct alarms (node, metric, statistic) seen in a scenario's readable issues."""
    kinds = set()
    for issue in issues:
        try:
            target = Target(issue / "target.json")
        except SourceError:
            continue  # reported when the issue itself is imported
        kinds.add((target.node, target.metric, target.statistic))
    return sorted(kinds)


def plan(src: Path) -> tuple[list[Case], list[str]]:
    """Every case to import from `src`, and notes about what cannot be imported."""
    cases: list[Case] = []
    notes: list[str] = []
    for scenario in _scenarios(src):
        issues = _issue_dirs(scenario)
        if not issues:
            notes.append(f"{scenario}: no <split>/issue_N directories; nothing imported from it")
        for issue in issues:
            cases.append(Case(label=f"{scenario.name}/{issue.parent.name}/{issue.name}",
                              payload={"kind": "issue", "scenario": str(scenario), "issue": str(issue)}))
        if _noissue_file(scenario) is None:
            notes.append(f"{scenario.name}: no {NOISSUE}/metrics.csv[.gz]; no false-alarm bundles, and issue "
                         "baselines are the pre-issue part of each window")
            continue
        kinds = _alarm_kinds(issues)
        for k in range(FALSE_ALARMS_PER_SCENARIO if kinds else 0):
            cases.append(Case(label=f"{scenario.name}/{NOISSUE}/false_alarm_{k}",
                              payload={"kind": "false_alarm", "scenario": str(scenario), "k": k,
                                       "alarm": list(kinds[k % len(kinds)])}))
    return cases, notes


def import_petshop(src: Path, out: Path, progress: ProgressCallback | None = None) -> ImportSummary:
    """Write one bundle per issue (and the false alarms) from the PetShop dataset at `src`."""
    cases, notes = plan(src)
    summary = ImportSummary(dataset=DATASET, notes=notes)
    scenarios: dict[str, _ScenarioData] = {}
    moments: dict[tuple[str, tuple[str, ...]], list[int]] = {}

    def build(case: Case) -> None:
        path = case.payload["scenario"]
        data = scenarios.setdefault(path, _ScenarioData(Path(path)))
        if case.payload["kind"] == "issue":
            _build_issue(data, Path(case.payload["issue"]), out, case.label)
            return
        alarm = tuple(case.payload["alarm"])
        key = (path, alarm)
        if key not in moments:
            normal = data.normal
            assert normal is not None
            series = (normal[(normal["resource"] == alarm[0]) & (normal["metric"] == alarm[1]) & (normal["stat"] == alarm[2])]
                      .set_index("timestamp")["value"].reindex(_normal_times(normal)))
            moments[key] = false_alarm_moments(series, COMPARISON.get(alarm[1].lower()), FALSE_ALARMS_PER_SCENARIO)
        if not moments[key]:
            raise SourceError(f"{data.normal_file}: too few points for {FALSE_ALARMS_PER_SCENARIO} false-alarm windows")
        _build_false_alarm(data, out, case.label, alarm, moments[key][case.payload["k"]])

    return run_cases(cases, build, summary, progress)
