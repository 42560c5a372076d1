"""Scoring investigations against ground truth: ranking accuracy, specificity, calibration.

Conventions (also in docs/evaluation.md):

- Ranking is by resource: hypotheses are read in order and a resource counts once, at its
  first position (two hypotheses about the same service do not push others down).
- A real incident the agent abstained on, or whose investigation failed, is a miss at every k.
- Specificity is measured on false-alarm bundles only: the share the agent abstained on.
- Cause accuracy counts only incidents whose ground truth names a cause category.
- Lead@1 is the share of real incidents whose first listed hypothesis names the true resource,
  whether the agent committed to it or abstained and showed it as a weak lead.
- p95 uses the nearest-rank definition: the ceil(0.95 n)-th smallest value.
- Baselines (evals/baselines) are scored like the engine on the same real incidents, from their
  own rankings; they never abstain, so a miss is only a ranking without the truth (or a baseline
  that failed on the bundle). False alarms are left out of their numbers.
- Path ok@1 is the share of incidents with the true resource at #1 whose propagation path fully
  checks (every hop: the edge exists, a significant shift, an onset no earlier than the hop
  below); a #1 without a path counts as not checked.
- Calibration uses hypothesis #1 of real incidents that have one: 10 equal-width confidence
  bins; ECE = sum over bins of (bin size / total) * |accuracy - mean confidence|. Its
  over-confident part sums the same over the bins whose mean confidence exceeds their accuracy
  only: what an engineer acting on the number would be misled by. The rest is confidence
  stated lower than what came true.
- Leave-one-dataset-out (LODO) ECE: the confidence map is refitted from the cases' evidence
  scores and unfamiliar signals (evals/calibration_fit.py) on every dataset but one, and the
  ECE measured on the one left out; "in-sample" is the same with the map fitted on all of them.
  Fitting points are every proposed hypothesis #1, answered false alarms included (as wrong).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from domain.models import ModelUsage, UnfamiliarSignal
from evals.calibration_fit import PRIOR_WEIGHT, CalibrationMap, FitPoint, fit_map

KS = (1, 2, 3, 4, 5)
CALIBRATION_BINS = 10


class CaseResult(BaseModel):
    """One bundle's investigation, reduced to what scoring needs."""

    bundle: str = Field(description="path relative to the evaluated directory")
    dataset: str
    subset: str = ""
    fault: str | None = None
    truth_resource: str | None = None
    truth_cause: str | None = None
    false_alarm: bool = False
    ranked_resources: list[str] = Field(default_factory=list, description="hypothesis resources, best first")
    top_cause: str | None = None
    top_confidence: float | None = None
    top_evidence_score: float | None = Field(default=None, description="before calibration; what evals.calibrate fits on")
    top_path_ok: bool | None = Field(
        default=None, description="every hop of hypothesis #1's propagation path checks; None when it has no path"
    )
    unfamiliar: list[UnfamiliarSignal] = Field(
        default_factory=list, description="how the incident is unlike the calibration data (agent/ranking/familiarity.py)"
    )
    abstained: bool = False
    error: str | None = None
    seconds: float = 0.0
    usage: ModelUsage | None = Field(default=None, description="tokens and cost when a model wrote the hypotheses")
    fell_back: bool = Field(default=False, description="the model failed and the engine's hypotheses were scored")
    baseline_rankings: dict[str, list[str]] = Field(
        default_factory=dict, description="per plain baseline (evals/baselines), its resources, best first"
    )
    baseline_errors: dict[str, str] = Field(default_factory=dict, description="baselines that failed on this bundle")

    @property
    def rank(self) -> int | None:
        """1-based position of the true resource among distinct ranked resources; None = miss."""
        if self.false_alarm or self.error is not None or self.abstained:
            return None
        return self._position(self.ranked_resources)

    def baseline_rank(self, name: str) -> int | None:
        """The same position in baseline `name`'s ranking; None = miss (or not run)."""
        if self.false_alarm or name in self.baseline_errors:
            return None
        return self._position(self.baseline_rankings.get(name, []))

    def _position(self, ranking: list[str]) -> int | None:
        if self.truth_resource is None:
            return None
        distinct = list(dict.fromkeys(ranking))
        return distinct.index(self.truth_resource) + 1 if self.truth_resource in distinct else None


class RankingMetrics(BaseModel):
    """A plain baseline's numbers on a group's real incidents."""

    ac1: float | None = None
    ac3: float | None = None
    mrr: float | None = None


class GroupMetrics(BaseModel):
    group: str
    incidents: int = 0
    false_alarms: int = 0
    failures: int = 0
    ac1: float | None = None
    ac2: float | None = None
    ac3: float | None = None
    ac4: float | None = None
    ac5: float | None = None
    avg5: float | None = None
    mrr: float | None = None
    lead1: float | None = Field(
        default=None, description="share of real incidents whose first hypothesis names the truth, abstained or not"
    )
    path_ok1: float | None = Field(
        default=None, description="share of incidents with the truth at #1 whose propagation path fully checks"
    )
    specificity: float | None = None
    cause_accuracy: float | None = None
    cause_cases: int = 0
    mean_seconds: float | None = None
    p95_seconds: float | None = None
    baselines: dict[str, RankingMetrics] = Field(default_factory=dict, description="plain baselines on the same incidents")


class CalibrationBin(BaseModel):
    low: float
    high: float
    count: int
    mean_confidence: float | None = None
    accuracy: float | None = None


class Calibration(BaseModel):
    bins: list[CalibrationBin]
    ece: float | None = None
    ece_over: float | None = Field(default=None, description="the ECE's part from bins more confident than right")
    cases: int = 0


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ac_at(ranks: Sequence[int | None], k: int) -> float | None:
    """Share of incidents whose true root cause is within the top k (None ranks are misses)."""
    return _mean([1.0 if r is not None and r <= k else 0.0 for r in ranks])


def mrr(ranks: Sequence[int | None]) -> float | None:
    return _mean([1.0 / r if r is not None else 0.0 for r in ranks])


def p95(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def group_metrics(group: str, cases: Iterable[CaseResult]) -> GroupMetrics:
    cases = list(cases)
    incidents = [c for c in cases if not c.false_alarm]
    alarms = [c for c in cases if c.false_alarm]
    ranks = [c.rank for c in incidents]
    out = GroupMetrics(
        group=group,
        incidents=len(incidents),
        false_alarms=len(alarms),
        failures=sum(c.error is not None for c in cases),
    )
    if incidents:
        for k in KS:
            setattr(out, f"ac{k}", ac_at(ranks, k))
        out.avg5 = _mean([ac_at(ranks, k) for k in KS])  # type: ignore[misc]
        out.mrr = mrr(ranks)
        # What the engineer reads first even when the agent abstains (a weak lead): the ranking's
        # quality apart from the decision to commit to it.
        out.lead1 = _mean([
            1.0 if c.error is None and c.ranked_resources[:1] == [c.truth_resource] else 0.0 for c in incidents
        ])
    correct = [c for c in incidents if c.rank == 1]
    if correct:
        out.path_ok1 = _mean([1.0 if c.top_path_ok else 0.0 for c in correct])
    if alarms:
        out.specificity = _mean([1.0 if c.abstained and c.error is None else 0.0 for c in alarms])
    labelled = [c for c in incidents if c.truth_cause is not None]
    if labelled:
        out.cause_cases = len(labelled)
        out.cause_accuracy = _mean([
            1.0 if c.error is None and not c.abstained and c.top_cause == c.truth_cause else 0.0 for c in labelled
        ])
    if incidents:
        for name in sorted({n for c in incidents for n in [*c.baseline_rankings, *c.baseline_errors]}):
            baseline_ranks = [c.baseline_rank(name) for c in incidents]
            out.baselines[name] = RankingMetrics(ac1=ac_at(baseline_ranks, 1), ac3=ac_at(baseline_ranks, 3),
                                                 mrr=mrr(baseline_ranks))
    seconds = [c.seconds for c in cases]
    out.mean_seconds = _mean(seconds)
    out.p95_seconds = p95(seconds)
    return out


def calibration(cases: Iterable[CaseResult], bins: int = CALIBRATION_BINS) -> Calibration:
    """Reliability of hypothesis #1's confidence on real incidents (see the module docstring)."""
    scored = [
        (min(max(c.top_confidence, 0.0), 1.0), c.rank == 1)
        for c in cases
        if not c.false_alarm and c.error is None and not c.abstained and c.top_confidence is not None
    ]
    grouped: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for confidence, correct in scored:
        grouped[min(int(confidence * bins), bins - 1)].append((confidence, correct))
    table = []
    ece = over = 0.0
    for i, members in enumerate(grouped):
        conf = _mean([c for c, _ in members])
        acc = _mean([1.0 if ok else 0.0 for _, ok in members])
        table.append(CalibrationBin(low=i / bins, high=(i + 1) / bins, count=len(members), mean_confidence=conf, accuracy=acc))
        if members:
            ece += len(members) / len(scored) * abs(acc - conf)  # type: ignore[operator]
            over += len(members) / len(scored) * max(0.0, conf - acc)  # type: ignore[operator]
    return Calibration(bins=table, ece=ece if scored else None, ece_over=over if scored else None, cases=len(scored))


class DatasetFit(BaseModel):
    """A dataset's ECE under a map refitted on these cases: pooled (in-sample) and with it left out."""

    dataset: str
    cases: int = Field(description="real incidents with a hypothesis #1 (the ECE's n)")
    ece_in_sample: float | None = Field(default=None, description="map fitted on all datasets, this one included")
    ece_left_out: float | None = Field(default=None, description="map fitted on the other datasets only")
    ece_over_left_out: float | None = Field(
        default=None, description="the left-out ECE's over-confident part (see `Calibration.ece_over`)"
    )


def fit_points(cases: Iterable[CaseResult]) -> list[FitPoint]:
    """Every proposed hypothesis #1: real incidents, and false alarms the agent did not recognise
    (a hypothesis there is always wrong, and the user saw its confidence all the same; leaving
    them out would fit an over-confident map)."""
    return [
        FitPoint(dataset=c.dataset, score=c.top_evidence_score, right=c.rank == 1, unfamiliar=list(c.unfamiliar))
        for c in cases
        if c.error is None and not c.abstained and c.top_evidence_score is not None
    ]


def calibration_with(fitted: CalibrationMap, cases: Iterable[CaseResult]) -> Calibration:
    """The reliability of these cases had their confidence come from `fitted`."""
    return calibration([
        c.model_copy(update={"top_confidence": fitted.confidence(c.top_evidence_score, c.unfamiliar)})
        for c in cases if c.top_evidence_score is not None
    ])


def leave_one_dataset_out(
    cases: Sequence[CaseResult], prior_weight: float = PRIOR_WEIGHT,
) -> tuple[CalibrationMap | None, list[DatasetFit]]:
    """The pooled map (None with fewer than two fitting points) and each dataset's in-sample and
    left-out ECE. A dataset's left-out ECE is None when the others hold fewer than two points."""
    points = fit_points(cases)
    pooled = fit_map(points, prior_weight) if len(points) >= 2 else None
    fits = []
    for dataset in sorted({c.dataset for c in cases}):
        mine = [c for c in cases if c.dataset == dataset]
        others = [p for p in points if p.dataset != dataset]
        left_out = fit_map(others, prior_weight) if len(others) >= 2 else None
        in_sample = calibration_with(pooled, mine) if pooled else None
        held_out = calibration_with(left_out, mine) if left_out else None
        measured = in_sample or held_out
        fits.append(DatasetFit(
            dataset=dataset, cases=measured.cases if measured else 0,
            ece_in_sample=in_sample.ece if in_sample else None, ece_left_out=held_out.ece if held_out else None,
            ece_over_left_out=held_out.ece_over if held_out else None,
        ))
    return pooled, fits


class EvalReport(BaseModel):
    bundles_dir: str
    groups: list[GroupMetrics]
    by_fault: list[GroupMetrics]
    calibration: Calibration
    calibration_by_dataset: dict[str, Calibration] = Field(default_factory=dict)
    calibration_fit: list[DatasetFit] = Field(
        default_factory=list, description="per dataset, the ECE of a map refitted on these cases: pooled and left out"
    )
    cases: list[CaseResult]


def build_report(bundles_dir: str, cases: Sequence[CaseResult]) -> EvalReport:
    """Metrics for all bundles, per dataset, per dataset/subset, and per dataset and fault type."""
    groups = [group_metrics("all", cases)]
    for dataset in sorted({c.dataset for c in cases}):
        mine = [c for c in cases if c.dataset == dataset]
        groups.append(group_metrics(dataset, mine))
        for subset in sorted({c.subset for c in mine if c.subset}):
            groups.append(group_metrics(f"{dataset}/{subset}", [c for c in mine if c.subset == subset]))
    by_fault = []
    for dataset, fault in sorted({(c.dataset, c.fault) for c in cases if not c.false_alarm and c.fault}):
        by_fault.append(group_metrics(f"{dataset} {fault}", [c for c in cases if c.dataset == dataset and c.fault == fault]))
    per_dataset = {d: calibration([c for c in cases if c.dataset == d]) for d in sorted({c.dataset for c in cases})}
    _, fits = leave_one_dataset_out(cases)
    return EvalReport(bundles_dir=bundles_dir, groups=groups, by_fault=by_fault, calibration=calibration(cases),
                      calibration_by_dataset=per_dataset, calibration_fit=fits, cases=list(cases))
