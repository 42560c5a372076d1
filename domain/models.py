"""The domain model: every type that crosses a module boundary, in one place.

Times are timezone-aware UTC everywhere. Naive datetimes are read as UTC so that a bundle
written by hand without offsets still means what its author intended.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from domain.findings import DETAILS_OF_KIND, FindingDetails
from domain.times import as_utc

Domain = Literal["network", "infrastructure", "application"]
Cause = Literal["dependency", "component", "constraint", "traffic", "change", "unknown"]
FindingKind = Literal["metric", "log", "trace", "change", "health", "gap"]
Direction = Literal["up", "down"]
# Ways an incident can be unlike the data the confidence map was fitted on (agent/ranking/familiarity.py).
UnfamiliarSignal = Literal["one_modality", "few_findings", "alarm_series_missing", "stale_baseline", "no_call_graph"]

class Model(BaseModel):
    """Base for all domain models: strict about unknown fields so typos in bundles surface."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class TimeWindow(Model):
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)

    @model_validator(mode="after")
    def _ordered(self) -> "TimeWindow":
        if self.end <= self.start:
            raise ValueError(f"window is empty: end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        return self

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, moment: datetime) -> bool:
        return self.start <= as_utc(moment) <= self.end


# Resource types that receive requests from outside the system and pass them on to the services
# behind them (a CDN's distribution). Not an API gateway: services call one another's APIs
# through it (PetShop's site calls the adoption-status API's stage).
FRONT_DOOR_TYPES = ("AWS::CloudFront::Distribution",)


class Resource(Model):
    """A node of the system: a service, load balancer, database, queue, function..."""

    id: str
    type: str = "service"
    attributes: dict[str, str] = Field(default_factory=dict)

    def buffer(self) -> bool:
        """Whether the resource passes messages on to consumers (`BUFFER_TYPES`) instead of being called."""
        return self.type in BUFFER_TYPES

    def front_door(self) -> bool:
        """Whether the resource receives requests from outside and passes them on (an
        internet-facing load balancer, a CDN): the caller of the services behind it far more
        often than their dependency (a service may call another's public load balancer, but the
        fault is then usually in the service behind it, which stays an assumed dependency). An
        internal load balancer is not one: services call it."""
        if self.type in FRONT_DOOR_TYPES:
            return True
        return self.type.startswith("AWS::ElasticLoadBalancing") and self.attributes.get("scheme") == "internet-facing"


class Edge(Model):
    """A dependency: `caller` calls (depends on) `callee`."""

    caller: str
    callee: str


# Resource types that pass messages on to their consumers instead of calling them and waiting: a
# queue, a stream, a topic, an event bus. The sender's request ends when the message is stored.
BUFFER_TYPES = (
    "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::Kinesis::Stream", "AWS::KinesisFirehose::DeliveryStream",
    "AWS::Events::EventBus", "AWS::MSK::Cluster", "AWS::AmazonMQ::Broker",
)


class Topology(Model):
    resources: list[Resource] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
    # Adjacency and reach sets, built on first use for the current edge list: the ranker
    # walks the graph for every pair of candidates, and scanning every edge at every step
    # of every walk made ranking a 500-resource incident take seconds.
    _graph: "_Graph | None" = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        # The graph index is a cache: two topologies are equal when their resources and edges are.
        return isinstance(other, Topology) and self.resources == other.resources and self.edges == other.edges

    def _index(self) -> "_Graph":
        graph = self._graph
        if graph is None or graph.key != (id(self.edges), len(self.edges)):
            graph = self._graph = _Graph.of(self.edges)
        return graph

    def ids(self) -> set[str]:
        return {r.id for r in self.resources}

    def zones(self) -> list[Resource]:
        """The resources that stand for an Availability Zone (a placement, not a called service)."""
        return [r for r in self.resources if r.type.endswith("AvailabilityZone")]

    def get(self, resource_id: str) -> Resource | None:
        return next((r for r in self.resources if r.id == resource_id), None)

    def callees(self, resource_id: str) -> list[str]:
        return list(self._index().down.get(resource_id, ()))

    def callers(self, resource_id: str) -> list[str]:
        return list(self._index().up.get(resource_id, ()))

    def downstream(self, resource_id: str) -> set[str]:
        """Every resource reachable from `resource_id` along caller->callee edges."""
        return set(self._index().reach(resource_id, forward=True))

    def upstream(self, resource_id: str) -> set[str]:
        return set(self._index().reach(resource_id, forward=False))

    def maps(self, resource_id: str) -> bool:
        """Whether the call graph says anything of what the resource calls or is called by: it
        is a resource and some edge touches it. A recording with resources but no edges (X-Ray
        not enabled, a metrics-only export) maps none."""
        return resource_id in self.ids() and bool(self.callees(resource_id) or self.callers(resource_id))

    def decoupled_at_buffers(self, entry: str) -> "Topology":
        """The call graph as failures travel up it: without the edges from a buffer (`BUFFER_TYPES`)
        to its consumers, except when the buffer is `entry`, the alarmed resource.

        A message's sender is done once the buffer holds the message, so a consumer that fails or
        slows down makes the backlog grow, not the sender's requests slower or failing: it cannot
        explain an alarm above the buffer. It can explain an alarm on the buffer's backlog, which
        is why the alarmed buffer keeps its consumers. The buffer itself stays a dependency of
        its senders (a queue that refuses messages fails their requests)."""
        buffers = {r.id for r in self.resources if r.buffer() and r.id != entry}
        if not buffers or not any(e.caller in buffers for e in self.edges):
            return self
        return self.model_copy(update={"edges": [e for e in self.edges if e.caller not in buffers]})

    def assuming_dependencies_of(self, entry: str) -> "Topology":
        """This topology when it maps `entry`; otherwise one in which `entry` calls every other
        resource (and runs in every zone). With no call graph nothing rules a resource out as the
        alarmed one's dependency, and treating none as one would leave the alarmed resource as the
        only possible root cause. Except a front door (`Resource.front_door`): what comes in
        from outside through it, it passes on, so it is assumed to call the alarmed resource, not
        the other way round; taken as a dependency, the load balancer in front of a failing
        service would be blamed for the errors it only relays."""
        if self.maps(entry):
            return self
        assumed = [
            Edge(caller=r.id, callee=entry) if r.front_door() else Edge(caller=entry, callee=r.id)
            for r in self.resources if r.id != entry
        ]
        return self.model_copy(update={"edges": [*self.edges, *assumed]})


@dataclass
class _Graph:
    key: tuple[int, int]
    down: dict[str, list[str]]
    up: dict[str, list[str]]
    reached: dict[tuple[str, bool], frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, edges: list[Edge]) -> "_Graph":
        down: dict[str, list[str]] = {}
        up: dict[str, list[str]] = {}
        for e in edges:
            down.setdefault(e.caller, []).append(e.callee)
            up.setdefault(e.callee, []).append(e.caller)
        return cls(key=(id(edges), len(edges)), down=down, up=up)

    def reach(self, start: str, *, forward: bool) -> frozenset[str]:
        cached = self.reached.get((start, forward))
        if cached is None:
            cached = self.reached[(start, forward)] = frozenset(_reach(start, self.down if forward else self.up))
        return cached


def _reach(start: str, adjacency: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    frontier = [start]
    while frontier:
        node = frontier.pop()
        for nxt in adjacency.get(node, ()):
            if nxt not in seen and nxt != start:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


ComparisonOperator = Literal[
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]


class Trigger(Model):
    """What paged the engineer: a CloudWatch alarm on one metric of one resource."""

    alarm_name: str
    resource: str
    metric: str
    namespace: str | None = None
    statistic: str = "Average"
    threshold: float | None = None
    comparison: ComparisonOperator | None = None
    state_change_time: datetime
    # How long before `state_change_time` the fault can have begun, when that is known: 0 for an
    # alarm placed at a known fault start (an injected fault in a replayed dataset). Live alarms
    # leave it unset: a slow degradation can begin long before a threshold is crossed, so an
    # alarm's Period x EvaluationPeriods bounds nothing. Read by the metric analysis (shifts
    # under way before it are history); the log and trace references and the scope's windows
    # use ONSET_LOOKBACK (agent/nodes/scope.py) either way.
    onset_lookback_s: float | None = None

    @field_validator("state_change_time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)

    @property
    def expects_increase(self) -> bool | None:
        """True when the alarm fires on a rise, False on a drop, None when unknown."""
        if self.comparison is None:
            return None
        return self.comparison.startswith("Greater")


class GroundTruth(Model):
    """The known answer of a recorded incident, used only by the evaluation."""

    resource: str | None = None
    cause: Cause | None = None
    fault: str | None = None
    false_alarm: bool = False


class ChangeEvent(Model):
    """A CloudTrail-shaped record of something that changed."""

    id: str
    time: datetime
    source: str
    event_name: str
    resource: str | None = None
    actor: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)


class HealthEvent(Model):
    """An AWS Health event (service issue, scheduled change, account notification)."""

    id: str
    service: str
    event_type_code: str
    category: str = "issue"
    region: str | None = None
    availability_zone: str | None = None
    start: datetime
    end: datetime | None = None
    status: str = "open"
    affected_resources: list[str] = Field(default_factory=list)
    description: str = ""

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class SeriesSketch(Model):
    """A metric finding's picture: its series over the incident window, downsampled to at most
    `MAX_POINTS` points, with the band its baseline counts as normal. Enough for the console to
    draw a stored investigation without reading telemetry again."""

    MAX_POINTS: ClassVar[int] = 240

    timestamps: list[datetime]
    values: list[float]
    band_low: float = Field(description="lower edge of the normal band (baseline centre - onset threshold x spread)")
    band_high: float = Field(description="upper edge of the normal band")
    centre: float = Field(description="the baseline's median")

    @model_validator(mode="after")
    def _small_and_aligned(self) -> "SeriesSketch":
        if len(self.timestamps) != len(self.values):
            raise ValueError("a series sketch needs one value per timestamp")
        if len(self.values) > self.MAX_POINTS:
            raise ValueError(f"a series sketch holds at most {self.MAX_POINTS} points, not {len(self.values)}")
        return self


class Evidence(Model):
    """What an engineer would want to see to believe a finding; small on purpose."""

    series: SeriesSketch | None = Field(default=None, description="metric findings: the series to draw")
    baseline_value: float | None = None
    incident_value: float | None = None
    unit: str | None = None
    sample_logs: list[str] = Field(default_factory=list)
    trace_ids: list[str] = Field(default_factory=list)
    event_ids: list[str] = Field(default_factory=list)
    console_link: str | None = Field(default=None, description="deep link to the AWS console (tools/links.py)")
    details: FindingDetails | None = Field(
        default=None, description="typed facts of the finding's kind; filled with that kind's defaults when absent"
    )


class Finding(Model):
    """One observation about one resource, with a stable id so that hypotheses can cite it."""

    id: str
    domain: Domain
    kind: FindingKind
    resource: str
    signal: str
    summary: str
    onset: datetime | None = None
    score: float = Field(ge=0.0, le=1.0, description="anomaly strength, 0 = normal, 1 = certain anomaly")
    direction: Direction | None = None
    evidence: Evidence = Field(default_factory=Evidence)

    @model_validator(mode="after")
    def _details_of_kind(self) -> "Finding":
        details = self.evidence.details
        if details is None:
            self.evidence.details = DETAILS_OF_KIND[self.kind]()
        elif details.kind != self.kind:
            raise ValueError(f"a {self.kind} finding cannot carry {details.kind} details")
        return self

    @staticmethod
    def make_id(kind: str, resource: str, key: str) -> str:
        """Stable id from what was measured (`key`: a metric's namespace/metric/stat/dimensions,
        a log template's key, a trace test, an event id), never from text that grows with the
        data: the same observation gets the same id on every run and rerun."""
        digest = hashlib.sha1(f"{kind}|{resource}|{key}".encode()).hexdigest()[:8]
        return f"{kind}-{digest}"


class PathHop(Model):
    """One resource on a hypothesis's propagation path, with the three checks a hop must pass.

    A hop holds up when the topology has the call from the next hop (its caller) to it, it
    shows a shift of its own, and that shift began no earlier than the one below it (the
    cause cannot follow its effect). `ok` is derived from the three, never set on its own.
    """

    resource: str
    finding_id: str | None = Field(default=None, description="the hop's strongest symptom, None when it has none")
    onset: datetime | None = Field(default=None, description="when the hop's trouble began, as the ranking dates it")
    edge: bool = Field(description="the caller->callee edge from the next hop to this one exists (the last hop: true)")
    significant: bool = Field(description="the hop has a finding at or above the anomaly threshold")
    in_time: bool = Field(description="its onset is not earlier than the onset below it, within the onset tolerance")
    ok: bool = Field(default=False, description="all three checks hold (derived)")

    @field_validator("onset")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)

    @model_validator(mode="after")
    def _ok_of_checks(self) -> "PathHop":
        self.ok = self.edge and self.significant and self.in_time
        return self


class Hypothesis(Model):
    id: str
    resource: str
    cause: Cause
    confidence: float = Field(ge=0.0, le=1.0, description="calibrated probability that this is the root cause")
    evidence_score: float = Field(
        default=0.0, ge=0.0, le=1.0, description="the ranker's score before calibration (ordering, abstention)"
    )
    title: str
    reasoning: str
    supporting_findings: list[str] = Field(default_factory=list)
    contradicting_findings: list[str] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    # Empty for investigations stored before paths existed, and for a resource the engine did not rank.
    path: list[PathHop] = Field(
        default_factory=list, description="the propagation path, root first, ending at the alarmed resource (the entry)"
    )
    unfamiliar: list[UnfamiliarSignal] = Field(
        default_factory=list, description="how the incident is unlike the calibration data; each signal lowered the confidence"
    )


Verdict = Literal["accepted", "discarded", "noted"]


class Decision(Model):
    """A human's verdict (or note) on a finding or hypothesis; never dropped once made.

    The latest accept/discard on a target wins; notes accumulate.
    """

    target_id: str
    verdict: Verdict
    note: str = ""
    by: str
    at: datetime
    revision: int = Field(default=1, description="the revision the engineer was looking at")

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)


class TimelineEntry(Model):
    time: datetime
    source: str
    text: str
    finding_id: str | None = None


class ModelUsage(Model):
    """Tokens a model-backed reasoner used in one investigation, and what they cost."""

    requests: int = 0
    input_tokens: int = Field(default=0, description="uncached input tokens, every request summed")
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = Field(default=None, description="estimate from list prices; None for an unpriced model")
    largest_request_tokens: int = Field(default=0, description="the largest request's input, counted before sending")
    budget_tokens: int = 0


class DroppedHypothesis(Model):
    resource: str
    reason: str


class ReasonerReport(Model):
    """Which reasoner wrote the hypotheses, and what a model-backed one did."""

    name: str
    model: str | None = None
    fell_back: bool = Field(default=False, description="the model failed; the deterministic hypotheses are shown")
    note: str | None = Field(default=None, description="one line for the engineer (why it fell back, what was trimmed)")
    usage: ModelUsage = Field(default_factory=ModelUsage)
    tool_calls: list[str] = Field(default_factory=list, description="the tools the model called, in order")
    dropped: list[DroppedHypothesis] = Field(default_factory=list)
    trimmed_findings: int = Field(default=0, description="findings left out of the prompt to fit the budget")


class Investigation(Model):
    id: str
    trigger: Trigger
    status: Literal["running", "awaiting_review", "complete"] = "complete"
    findings: list[Finding] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    abstained: bool = False
    abstain_reason: str | None = None
    decisions: list[Decision] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="gaps and warnings met while investigating")
    revision: int = Field(default=1, description="1 for the first run, +1 for every rerun")
    root_cause: Hypothesis | None = Field(default=None, description="the hypothesis an engineer accepted: the root cause of record")
    pinned: list[str] = Field(default_factory=list, description="ids of findings an engineer accepted: always kept and shown")
    discarded: list[str] = Field(default_factory=list, description="ids of findings and hypotheses an engineer discarded")
    reasoner: ReasonerReport | None = None
