"""A `TelemetrySource` over boto3: real AWS, or the local emulator through `endpoint_url`.

Read-only by construction (every operation is in iam/readonly-policy.json, a test checks it),
paginated everywhere and bounded everywhere: each reader says in the envelope's `note` what
it sampled or cut. A denied or unavailable API becomes a failed `ToolResult` (a gap the
investigation reports), never an exception; only problems no investigation can work around
(no credentials, unreachable endpoint) become a `UserError`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any

import botocore.exceptions
import pandas as pd
from pydantic import BaseModel

from domain.models import ChangeEvent, Edge, HealthEvent, Resource, TimeWindow, Topology
from tools.aws.clients import ClientFactory
from tools.aws.dimensions import STAT_DIMENSION, identity, resource_for_dimensions, resource_for_log
from tools.aws.errors import failure_result
from tools.aws.events import change_event, health_event
from tools.aws.insights import run_stats_query
from tools.aws.statistics import default_stat
from tools.aws.periods import align, batches, choose_period
from tools.aws.usage import Usage
from tools.aws.xray import edges_from_spans, service_graph_edges, trace_spans
from tools.envelope import ToolResult
from tools.source import LOG_COLUMNS, METRIC_COLUMNS, SPAN_COLUMNS, TelemetrySource, empty_frame

XRAY_TRACE_ID = re.compile(r"\b1-[0-9a-f]{8}-[0-9a-f]{24}\b")


class AwsSettings(BaseModel):
    """Bounds on what one investigation reads; defaults keep a run to a few hundred calls."""

    metric_stat: str | None = None  # None: Sum for counters, Average otherwise (tools.aws.statistics)
    max_metric_pages: int = 40  # ListMetrics pages of 500
    max_metrics: int = 2000
    max_log_groups: int = 40
    log_slices: int = 12  # the window is read in slices so a cut keeps the whole window
    max_events_per_slice: int | None = None  # a hard cap per group and slice, below the caller's limit
    use_insights: bool = True  # count what a cut log read left out with Logs Insights, where it runs
    max_traces: int = 1000
    max_change_pages: int = 40
    max_health_events: int = 50


class MetricRef(BaseModel):
    namespace: str
    metric: str
    dimensions: dict[str, str]
    resource: str


def _window_query(window: TimeWindow, **extra: Any) -> dict[str, Any]:
    return {"window": [window.start.isoformat(), window.end.isoformat()], **extra}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class AwsSource(TelemetrySource):
    """Reads one account and region. `focus` is the incident window used for topology discovery."""

    def __init__(
        self,
        factory: ClientFactory,
        *,
        focus: TimeWindow,
        limits: AwsSettings | None = None,
        known: Sequence[str] = (),
    ):
        self.factory = factory
        self.endpoint_url = factory.aws.endpoint_url
        self.focus = focus
        self.limits = limits or AwsSettings()
        self._extra_known = list(known)
        self._insights_works: bool | None = None
        # Domain nodes read in parallel and often the same thing: one read per key, shared.
        self._cache: dict[tuple[Any, ...], ToolResult[pd.DataFrame]] = {}
        self._key_locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._cache_lock = threading.Lock()
        where = self.endpoint_url or "AWS"
        self.name = f"aws {self.factory.region or 'default-region'} via {where}"

    # -- plumbing ---------------------------------------------------------------------------

    def _guard(self, tool: str, query: dict[str, Any], read: Callable[[], ToolResult]) -> ToolResult:
        try:
            return read()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            return failure_result(tool, exc, query)

    def _once(self, key: tuple[Any, ...], compute: Callable[[], ToolResult]) -> ToolResult:
        with self._cache_lock:
            if key in self._cache:
                return self._cache[key]
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = compute()
            return self._cache[key]

    def usage(self) -> Usage:
        return self.factory.meter.snapshot()

    @property
    def region(self) -> str | None:
        return self.factory.region

    # -- topology ---------------------------------------------------------------------------

    @cached_property
    def _graph(self) -> tuple[list[tuple[str, str]], list[Edge], str | None]:
        def read() -> ToolResult[list[dict[str, Any]]]:
            services: list[dict[str, Any]] = []
            for page in self.factory.pages(
                "xray", "get_service_graph", StartTime=self.focus.start, EndTime=self.focus.end, max_pages=20
            ):
                services.extend(page.get("Services") or [])
            return ToolResult.success("service_graph", services, {})

        result = self._guard("service_graph", _window_query(self.focus), read)
        if not result.ok:
            return [], [], f"X-Ray service graph: {result.status}: {result.error}"
        nodes, edges = service_graph_edges(result.data or [])
        return nodes, edges, None

    @cached_property
    def _focus_spans(self) -> ToolResult[pd.DataFrame]:
        return self._read_spans(self.focus, None, self.limits.max_traces)

    def add_known(self, resource: str) -> None:
        """Name a resource the topology must hold even if nothing else mentions it (the alarm's)."""
        if resource not in self._extra_known:
            self._extra_known.append(resource)

    def known_ids(self) -> set[str]:
        """Resource ids named by the service graph, by traces and by the caller (the alarm's)."""
        nodes, _, _ = self._graph
        ids = {name for name, _ in nodes} | set(self._extra_known)
        spans = self._focus_spans
        if spans.ok and spans.data is not None and len(spans.data):
            ids |= set(spans.data["service"].astype(str))
        return ids

    def topology(self) -> ToolResult[Topology]:
        return self._topology

    @cached_property
    def _topology(self) -> ToolResult[Topology]:
        query = _window_query(self.focus)
        nodes, edges, graph_gap = self._graph
        resources: dict[str, Resource] = {name: Resource(id=name, type=kind or "service") for name, kind in nodes}
        notes = [graph_gap] if graph_gap else []
        spans = self._focus_spans
        if spans.ok and spans.data is not None and len(spans.data):
            for service in spans.data["service"].astype(str).unique():
                resources.setdefault(service, Resource(id=service, type="service"))
            edges = sorted({(e.caller, e.callee) for e in [*edges, *edges_from_spans(spans.data.to_dict("records"))]})
            edges = [Edge(caller=c, callee=d) for c, d in edges]
        elif not spans.ok:
            notes.append(f"X-Ray traces: {spans.status}: {spans.error}")
        for name in self._extra_known:
            resources.setdefault(name, Resource(id=name, type="service"))
        catalog = self._metric_catalog
        if catalog.ok:
            for ref in catalog.data or []:
                resources.setdefault(ref.resource, Resource(id=ref.resource, type=ref.namespace or "metric"))
        else:
            notes.append(f"CloudWatch ListMetrics: {catalog.status}: {catalog.error}")
        from tools.aws.discovery import describe_resources

        described, described_notes = describe_resources(self.factory, set(resources))
        notes.extend(described_notes)
        # Tags first, describes after: what AWS reports about a resource beats what someone tagged.
        for item in sorted(described, key=lambda r: r.type != ""):
            current = resources.get(item.id)
            if current is None:
                resources[item.id] = item
            else:
                current.attributes.update(item.attributes)
                if current.type in ("service", "metric") and item.type:
                    current.type = item.type
        topology = Topology(resources=sorted(resources.values(), key=lambda r: r.id), edges=edges)
        return ToolResult.success("topology", topology, query, note="; ".join(notes) or None, empty=not resources)

    # -- metrics ----------------------------------------------------------------------------

    @cached_property
    def _metric_catalog(self) -> ToolResult[list[MetricRef]]:
        def read() -> ToolResult[list[MetricRef]]:
            known = self.known_ids()
            refs: list[MetricRef] = []
            seen: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
            pages = 0
            last: dict[str, Any] = {}
            for page in self.factory.pages("cloudwatch", "list_metrics", max_pages=self.limits.max_metric_pages):
                pages += 1
                last = page
                for metric in page.get("Metrics") or []:
                    dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions") or []}
                    key = (metric.get("Namespace", ""), metric["MetricName"], tuple(sorted(dims.items())))
                    if key in seen:
                        continue
                    seen.add(key)
                    resource = resource_for_dimensions(dims, known)
                    if resource is None:
                        continue  # account-wide aggregates belong to no resource
                    refs.append(MetricRef(namespace=metric.get("Namespace", ""), metric=metric["MetricName"], dimensions=dims, resource=resource))
            cut = bool(last.get("NextToken")) and pages >= self.limits.max_metric_pages
            note = f"listed the first {pages} pages of metrics only; pass resources to narrow" if cut else None
            return ToolResult.success("list_metrics", refs, {"pages": pages}, truncated=cut, note=note, empty=not refs)

        return self._guard("list_metrics", {}, read)

    def metrics(self, window: TimeWindow, resources: Sequence[str] | None = None) -> ToolResult[pd.DataFrame]:
        # Every domain asks for the same window and scope: pay GetMetricData once for it.
        key = ("metrics", window.start, window.end, tuple(sorted(resources)) if resources is not None else None)
        return self._once(key, lambda: self._metrics_uncached(window, resources))

    def _metrics_uncached(self, window: TimeWindow, resources: Sequence[str] | None) -> ToolResult[pd.DataFrame]:
        query = _window_query(window, resources=resources and list(resources))
        catalog = self._metric_catalog
        if not catalog.ok:
            return ToolResult.failure("metrics", catalog.status, catalog.error or "", query)
        wanted = None if resources is None else set(resources)
        refs = [r for r in catalog.data or [] if wanted is None or r.resource in wanted]
        truncated = len(refs) > self.limits.max_metrics
        notes = [catalog.note] if catalog.note else []
        if truncated:
            notes.append(f"read {self.limits.max_metrics} of {len(refs)} metrics; pass fewer resources for all")
            refs = refs[: self.limits.max_metrics]
        return self._guard("metrics", query, lambda: self._read_metrics(window, refs, query, truncated or catalog.truncated, notes))

    def _read_metrics(
        self, window: TimeWindow, refs: list[MetricRef], query: dict[str, Any], truncated: bool, notes: list[str]
    ) -> ToolResult[pd.DataFrame]:
        if not refs:
            return ToolResult.success("metrics", empty_frame(METRIC_COLUMNS), query, empty=True, note="; ".join(notes) or None)
        period = choose_period(window.start, window.end)
        start, end = align(window.start, period), align(window.end, period, up=True)
        if end <= start:
            end = start + timedelta(seconds=period)
        query = {**query, "period": period, "metrics": len(refs)}
        rows: list[dict[str, Any]] = []
        for batch in batches(list(enumerate(refs))):
            queries = [
                {
                    "Id": f"m{i}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": ref.namespace,
                            "MetricName": ref.metric,
                            "Dimensions": [{"Name": k, "Value": v} for k, v in ref.dimensions.items()],
                        },
                        "Period": period,
                        "Stat": self._query_stat(ref),
                    },
                    "ReturnData": True,
                }
                for i, ref in batch
            ]
            self.factory.meter.count_metrics(len(queries))
            for page in self.factory.pages(
                "cloudwatch", "get_metric_data", MetricDataQueries=queries, StartTime=start, EndTime=end,
                ScanBy="TimestampAscending", max_pages=1000,
            ):
                for result in page.get("MetricDataResults") or []:
                    ref = refs[int(result["Id"][1:])]
                    stat = ref.dimensions.get(STAT_DIMENSION) or self._query_stat(ref)
                    dims = json.dumps(identity(ref.dimensions), sort_keys=True)
                    for ts, value in zip(result.get("Timestamps") or [], result.get("Values") or []):
                        rows.append({
                            "resource": ref.resource, "namespace": ref.namespace, "metric": ref.metric, "stat": stat,
                            "dimensions": dims, "timestamp": ts, "value": float(value),
                        })
        if not rows:
            return ToolResult.success("metrics", empty_frame(METRIC_COLUMNS), query, empty=True, note="; ".join(notes) or None)
        frame = pd.DataFrame(rows, columns=METRIC_COLUMNS)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
        frame = frame[(frame["timestamp"] >= pd.Timestamp(window.start)) & (frame["timestamp"] <= pd.Timestamp(window.end))]
        frame = frame.sort_values(["resource", "metric", "timestamp"], kind="stable").reset_index(drop=True)
        return ToolResult.success("metrics", frame, query, truncated=truncated, note="; ".join(notes) or None, empty=frame.empty)

    def _query_stat(self, ref: MetricRef) -> str:
        if STAT_DIMENSION in ref.dimensions:
            return "Average"  # a pre-aggregated series (the emulator's percentiles): one value per point
        return self.limits.metric_stat or default_stat(ref.metric)

    # -- logs -------------------------------------------------------------------------------

    def logs(self, window: TimeWindow, resources: Sequence[str] | None = None, *, limit: int = 200_000) -> ToolResult[pd.DataFrame]:
        query = _window_query(window, resources=resources and list(resources), limit=limit)
        key = ("logs", window.start, window.end, tuple(sorted(resources)) if resources is not None else None, limit)
        return self._once(key, lambda: self._guard("logs", query, lambda: self._read_logs(window, resources, limit, query)))

    def _log_groups(self) -> tuple[list[str], bool]:
        groups: list[str] = []
        for page in self.factory.pages("logs", "describe_log_groups", max_pages=50):
            groups.extend(g["logGroupName"] for g in page.get("logGroups") or [])
        return groups, False

    def _read_logs(self, window: TimeWindow, resources: Sequence[str] | None, limit: int, query: dict[str, Any]) -> ToolResult[pd.DataFrame]:
        known = self.known_ids()
        wanted = None if resources is None else set(resources)
        groups, _ = self._log_groups()
        if wanted is not None:
            # A group named after another known resource cannot hold the wanted ones' streams.
            groups = [g for g in groups if resource_for_log(g, "", known) in wanted or resource_for_log(g, "", known) not in known]
        notes: list[str] = []
        if len(groups) > self.limits.max_log_groups:
            notes.append(f"read {self.limits.max_log_groups} of {len(groups)} log groups; pass fewer resources for all")
            groups = groups[: self.limits.max_log_groups]
        if not groups:
            return ToolResult.success("logs", empty_frame(LOG_COLUMNS), query, empty=True, note="; ".join(notes) or None)
        slices = max(1, self.limits.log_slices)
        budget = max(50, limit // (len(groups) * slices))
        if self.limits.max_events_per_slice is not None:
            budget = min(budget, self.limits.max_events_per_slice)
        step = (window.end - window.start) / slices
        rows: list[dict[str, Any]] = []
        cut_slices = 0
        for group in groups:
            for k in range(slices):
                lo, hi = window.start + step * k, window.start + step * (k + 1)
                taken = 0
                params: dict[str, Any] = {"logGroupName": group, "startTime": _ms(lo), "endTime": _ms(hi) - (0 if k == slices - 1 else 1)}
                for page in self.factory.pages("logs", "filter_log_events", max_pages=1000, page_size=min(10_000, budget), **params):
                    page_events = page.get("events") or []
                    room = budget - taken
                    for event in page_events[:room]:
                        stream = event.get("logStreamName", "")
                        resource = resource_for_log(group, stream, known)
                        taken += 1
                        if wanted is not None and resource not in wanted:
                            continue
                        message = str(event.get("message", ""))
                        trace = XRAY_TRACE_ID.search(message)
                        rows.append({
                            "timestamp": datetime.fromtimestamp(event["timestamp"] / 1000, tz=timezone.utc),
                            "resource": resource, "log_group": group, "log_stream": stream, "message": message,
                            "trace_id": trace.group(0) if trace else None,
                        })
                    if taken >= budget:
                        if page.get("nextToken") or len(page_events) > room:
                            cut_slices += 1
                        break
        truncated = cut_slices > 0 or bool(notes)
        if cut_slices:
            total = self._insights_total(groups, window)
            of_total = f" ({len(rows)} of {total} events, counted by Logs Insights)" if total is not None else ""
            notes.append(
                f"read at most {budget} events per log group per {step.total_seconds() / 60:.0f}-minute slice{of_total}; "
                f"{cut_slices} slice(s) had more; narrow the window or resources for all"
            )
        frame = pd.DataFrame(rows, columns=LOG_COLUMNS) if rows else empty_frame(LOG_COLUMNS)
        if rows:
            frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
        return ToolResult.success("logs", frame, {**query, "groups": len(groups)}, truncated=truncated, note="; ".join(notes) or None, empty=not rows)

    def _insights_total(self, groups: Sequence[str], window: TimeWindow) -> int | None:
        """How many events the groups hold in the window, where Logs Insights really runs."""
        if not self.limits.use_insights or self._insights_works is False:
            return None
        try:
            rows = run_stats_query(
                self.factory, groups, window.start, window.end, "stats count(*) as events", "events"
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, KeyError, ValueError):
            rows = None  # not there, not allowed, or not answering in Insights' shape: keep the sample's own count
        self._insights_works = rows is not None
        if not rows:
            return None
        try:
            return sum(int(float(row["events"])) for row in rows)
        except ValueError:
            return None

    # -- traces -----------------------------------------------------------------------------

    def spans(self, window: TimeWindow, resources: Sequence[str] | None = None, *, limit: int = 500_000) -> ToolResult[pd.DataFrame]:
        # Analyses ask for the same window once per domain: read X-Ray once per window.
        key = ("spans", window.start, window.end)
        result = self._once(key, lambda: self._focus_spans if window == self.focus else self._read_spans(window, None, self.limits.max_traces))
        if resources is None or not result.ok or result.data is None or result.data.empty:
            return result
        frame = result.data
        touching = frame.loc[frame["service"].isin(list(resources)), "trace_id"].unique()
        return result.model_copy(update={"data": frame[frame["trace_id"].isin(touching)].reset_index(drop=True)})

    def _read_spans(self, window: TimeWindow, resources: Sequence[str] | None, max_traces: int) -> ToolResult[pd.DataFrame]:
        query = _window_query(window, resources=resources and list(resources), max_traces=max_traces)

        def read() -> ToolResult[pd.DataFrame]:
            ids: list[str] = []
            for page in self.factory.pages("xray", "get_trace_summaries", StartTime=window.start, EndTime=window.end, max_pages=200):
                ids.extend(s["Id"] for s in page.get("TraceSummaries") or [] if s.get("Id"))
            ids = list(dict.fromkeys(ids))
            note = None
            if len(ids) > max_traces:
                stride = -(-len(ids) // max_traces)
                note = f"sampled {len(ids[::stride])} of {len(ids)} traces evenly; narrow the window for all"
                ids = ids[::stride]
            rows: list[dict[str, Any]] = []
            for chunk in batches(ids, 5):
                for page in self.factory.pages("xray", "batch_get_traces", TraceIds=chunk, max_pages=50):
                    for trace in page.get("Traces") or []:
                        rows.extend(trace_spans(trace))
            frame = pd.DataFrame(rows, columns=SPAN_COLUMNS) if rows else empty_frame(SPAN_COLUMNS)
            if rows and resources is not None:
                touching = frame.loc[frame["service"].isin(list(resources)), "trace_id"].unique()
                frame = frame[frame["trace_id"].isin(touching)]
            if len(frame):
                frame = frame.sort_values("start", kind="stable").reset_index(drop=True)
            return ToolResult.success("spans", frame, {**query, "traces": len(ids)}, truncated=note is not None, note=note, empty=frame.empty)

        return self._guard("spans", query, read)

    # -- changes and health -----------------------------------------------------------------

    def changes(self, window: TimeWindow) -> ToolResult[list[ChangeEvent]]:
        query = _window_query(window)

        def read() -> ToolResult[list[ChangeEvent]]:
            known = self.known_ids()
            events: list[ChangeEvent] = []
            pages = 0
            more = False
            for page in self.factory.pages(
                "cloudtrail", "lookup_events", StartTime=window.start, EndTime=window.end, page_size=50,
                LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}],
                max_pages=self.limits.max_change_pages,
            ):
                pages += 1
                more = bool(page.get("NextToken"))
                for item in page.get("Events") or []:
                    event = change_event(item, known)
                    if event is not None and window.contains(event.time):
                        events.append(event)
            cut = more and pages >= self.limits.max_change_pages
            note = f"read the newest {pages * 50} write events only; narrow the window for all" if cut else None
            events.sort(key=lambda e: e.time)
            return ToolResult.success("changes", events, query, truncated=cut, note=note, empty=not events)

        return self._guard("changes", query, read)

    def health(self, window: TimeWindow) -> ToolResult[list[HealthEvent]]:
        query = _window_query(window)
        # The Health API answers in us-east-1 only, whatever region the account's resources are in.
        region = None if self.endpoint_url else "us-east-1"

        def read() -> ToolResult[list[HealthEvent]]:
            known = self.known_ids()
            raw: list[dict[str, Any]] = []
            filt: dict[str, Any] = {"startTimes": [{"to": window.end}]}
            if self.factory.region:
                filt["regions"] = [self.factory.region]
            for page in self.factory.pages("health", "describe_events", filter=filt, region=region, max_pages=10):
                raw.extend(page.get("events") or [])
            raw = [e for e in raw if e.get("endTime") is None or e["endTime"] >= window.start]
            note = None
            if len(raw) > self.limits.max_health_events:
                note = f"kept the {self.limits.max_health_events} newest of {len(raw)} health events"
                raw = sorted(raw, key=lambda e: e["startTime"], reverse=True)[: self.limits.max_health_events]
            arns = [e["arn"] for e in raw]
            entities: dict[str, list[str]] = {a: [] for a in arns}
            details: dict[str, str] = {}
            for chunk in batches(arns, 10):
                for page in self.factory.pages("health", "describe_affected_entities", filter={"eventArns": chunk}, region=region, max_pages=10):
                    for entity in page.get("entities") or []:
                        if entity.get("eventArn") in entities and entity.get("entityValue"):
                            entities[entity["eventArn"]].append(str(entity["entityValue"]))
                answer = self.factory.call("health", "describe_event_details", eventArns=chunk, region=region)
                for item in answer.get("successfulSet") or []:
                    details[item["event"]["arn"]] = str((item.get("eventDescription") or {}).get("latestDescription", ""))
            events = [health_event(e, entities.get(e["arn"], []), details.get(e["arn"], ""), known) for e in raw]
            return ToolResult.success("health", events, query, note=note, truncated=note is not None, empty=not events)

        return self._guard("health", query, read)
