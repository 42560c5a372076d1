"""Log findings: what a service logs during the incident that it did not log before, and
what it stopped logging.

Messages of both windows are mined into templates together (`log_templates.mine`), then per
resource and template the incident count is compared with the baseline count as a RATE
(lines per minute of each window), with an exact test for two Poisson rates: given the
n = k_baseline + k_incident lines of a template, k_incident is Binomial(n, p0) when the rates
are equal, p0 = T_incident / (T_incident + T_baseline). Log volume is over-dispersed (bursts,
retries), so the null hypothesis allows rates to differ by up to `TOLERANCE` (a factor 1.5)
before calling it a change. Signals:

- a template new or spiking in the incident (up) -- error templates first;
- the error lines of a resource, all templates together, at a higher rate (up);
- a usual template that stops appearing, only where its baseline rate makes the silence
  improbable (down); a resource that stops logging altogether is one finding, not one per
  template.

A service that logged the same errors at the same rate before is not evidence: its counts
fit the null hypothesis. p-values are corrected for the number of tests (Bonferroni over
Tarone's count of the tests that could reach significance at all, which is how a discrete
test with few lines is kept from diluting the others), within three families: error signals
up, other templates up, templates down. The finding score is a monotone map of the
corrected p-value, score = 1 / (1 + p / ALPHA): 0.05 -> 0.5 (the borderline, and the weakest
finding emitted), 0.005 -> 0.91, 5e-4 -> 0.99. See docs/log-analysis.md.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from domain.findings import LogDetails
from domain.models import Domain, Evidence, Finding, TimeWindow, as_utc
from tools.analysis.constraints import constraint_named
from tools.analysis.log_templates import _ONLY_WILDCARDS, TemplateMiner, mask, mine

ALPHA = 0.05
TOLERANCE = 1.5
MAX_FINDINGS_PER_RESOURCE = 5
MAX_SAMPLES = 3
SAMPLE_CHARS = 300
SIGNAL_TEMPLATE_CHARS = 120
UNIT = "lines/min"

# A level word written as levels are written (upper case, as a token or key=value).
_ERROR_LEVEL_UPPER = re.compile(r"(?<![\w-])(?:ERROR|ERR|FATAL|SEVERE|CRITICAL|CRIT|PANIC|EMERG|ALERT)(?![\w-])|level\W{0,3}(?:error|fatal|critical)\b")
_QUIET_LEVEL = re.compile(r"(?<![\w-])(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING)(?![\w-])|level\W{0,3}(?:trace|debug|info|notice|warn|warning)\b")
_EXCEPTION = re.compile(r"Exception|Traceback \(most recent call last\)|(?<![\w.])Caused by:|\w+Error\b|Throwable|panic:|stack ?trace", re.IGNORECASE)
_ERROR_WORDS = re.compile(r"\b(?:error|errors|failed|failure|fatal|refused|unreachable|timed out|timeout)\b", re.IGNORECASE)
_NETWORK = re.compile(
    r"connection (?:refused|reset|closed|timed out|aborted)|reset by peer|broken pipe|timed? ?out|timeout|"
    r"unreachable|no route to host|unknown ?host|name or service not known|could not resolve|nxdomain|\bdns\b|"
    r"econn(?:refused|reset)|etimedout|ehostunreach|socket ?timeout|connect ?exception|connection ?error|"
    r"failed to connect|unable to connect|host is down",
    re.IGNORECASE,
)
# Exception heads: the innermost `Caused by:` wins, as the root of the chain.
_CAUSED_BY = re.compile(r"Caused by:\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?::\s*([^\n]*))?")
_EXCEPTION_HEAD = re.compile(
    r"(?<![\w$.])((?:[A-Za-z_$][\w$]*\.)*[A-Z][\w$]*(?:Exception|Error|Throwable|Fault|Failure|Exit|Interrupt))\b(?::\s*([^\n]*))?"
)


@dataclass(frozen=True)
class _Span:
    start: datetime
    end: datetime
    extra_minutes: float = 0.0  # a reference made of two stretches: the baseline and a pre-onset part

    @property
    def minutes(self) -> float:
        return max((self.end - self.start).total_seconds() / 60.0 + self.extra_minutes, 1.0 / 60.0)


def log_findings(
    incident: pd.DataFrame,
    baseline: pd.DataFrame,
    *,
    incident_start: datetime,
    incident_end: datetime,
    baseline_window: TimeWindow | None = None,
    onset: datetime | None = None,
    max_per_resource: int = MAX_FINDINGS_PER_RESOURCE,
    miner: TemplateMiner | None = None,
) -> list[Finding]:
    """Findings about log templates per resource; frames have `tools.source.LOG_COLUMNS`.

    `baseline_window` is the period the baseline frame covers (default: the span of its
    timestamps). `onset` is when trouble likely began: incident lines before it are normal
    and join the reference. With no baseline lines at all, the incident window is split at
    `onset` (default: its midpoint) and its first part is the only reference; findings say so.
    """
    inc_span = _Span(as_utc(incident_start), as_utc(incident_end))
    inc = _within(_prepare(incident), inc_span)
    base = _prepare(baseline)
    if baseline_window is not None:
        base = _within(base, _Span(baseline_window.start, baseline_window.end))
    if inc.empty:
        return []
    inc_span = _covered(inc_span, inc["timestamp"])
    reference = "baseline"
    if base.empty:
        split = as_utc(onset) if onset is not None and inc_span.start < as_utc(onset) < inc_span.end else (
            inc_span.start + (inc_span.end - inc_span.start) / 2
        )
        before = inc["timestamp"] < pd.Timestamp(split)
        base, inc = inc[before].reset_index(drop=True), inc[~before].reset_index(drop=True)
        base_span, inc_span = _Span(inc_span.start, split), _Span(split, inc_span.end)
        reference = "the first part of the incident window (no baseline logs)"
        if base.empty or inc.empty:
            return []
    else:
        if baseline_window is not None:
            base_span = _covered(_Span(baseline_window.start, baseline_window.end), base["timestamp"])
        else:
            base_span = _Span(base["timestamp"].min().to_pydatetime(), base["timestamp"].max().to_pydatetime())
        if onset is not None and inc_span.start < as_utc(onset) < inc_span.end:
            split = as_utc(onset)
            before = inc["timestamp"] < pd.Timestamp(split)
            if before.any() and not before.all():
                base = pd.concat([base, inc[before]], ignore_index=True)
                inc = inc[~before].reset_index(drop=True)
                pre_minutes = (split - inc_span.start).total_seconds() / 60.0
                base_span = _Span(base_span.start, base_span.end, base_span.extra_minutes + pre_minutes)
                inc_span = _Span(split, inc_span.end)
                reference = "baseline and the incident window before the onset"

    mined = mine(pd.concat([base["message"], inc["message"]], ignore_index=True), miner)
    base["template"] = mined.template_ids[: len(base)]
    inc["template"] = mined.template_ids[len(base):]
    kinds = _classify(mined.templates)
    candidates = _candidates(base, inc, base_span, inc_span, kinds)
    if candidates.empty:
        return []
    candidates = _adjust(candidates)
    candidates = _strongest(candidates[candidates["p_adj"] <= ALPHA], max_per_resource)
    keys = _template_keys(base, inc)
    return _to_findings(candidates, base, inc, base_span, inc_span, mined.templates, keys, kinds, reference)


def _template_keys(base: pd.DataFrame, inc: pd.DataFrame) -> dict[int, str]:
    """A key per template that more data does not change: its earliest line, masked.

    The mined template text grows more general as more lines arrive (a constant becomes a
    wildcard), so it cannot name the finding across reruns; the first line that opened the
    cluster stays the first when later lines are added.
    """
    rows = pd.concat([base[["timestamp", "message", "template"]], inc[["timestamp", "message", "template"]]],
                     ignore_index=True)
    if rows.empty:
        return {}
    first = rows.loc[rows.groupby("template")["timestamp"].idxmin()]
    return {int(t): mask(str(m)) for t, m in zip(first["template"], first["message"])}


def _within(frame: pd.DataFrame, span: _Span) -> pd.DataFrame:
    """Rows inside `span` (bounds included): rates are per minute of that span only."""
    inside = (frame["timestamp"] >= pd.Timestamp(span.start)) & (frame["timestamp"] <= pd.Timestamp(span.end))
    return frame if inside.all() else frame[inside].reset_index(drop=True)


def _covered(span: _Span, times: pd.Series) -> _Span:
    """The part of `span` the log records actually cover.

    A source may hold logs for only part of the window asked for (a recording that kept a
    few minutes around the fault, a retention limit). Every resource falling silent at once
    is not what that means, so rates are taken over the stretch from the first to the last
    record of *any* resource; with logs that cover the window this changes nothing.
    """
    first, last = times.min(), times.max()
    start = max(span.start, first.to_pydatetime()) if not pd.isna(first) else span.start
    end = min(span.end, last.to_pydatetime()) if not pd.isna(last) else span.end
    return _Span(start, end) if end > start else span


def _prepare(frame: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["timestamp", "resource", "message", "trace_id"]
    if frame is None or frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    stamps = frame["timestamp"]
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        # Strings of mixed precision ("...:29.295" next to "...:29.295123Z") are all ISO 8601.
        stamps = pd.to_datetime(stamps, utc=True, errors="coerce", format="ISO8601")
    out = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(stamps, utc=True),
            "resource": frame["resource"].astype(str),
            "message": frame["message"].fillna("").astype(str),
            "trace_id": frame["trace_id"] if "trace_id" in frame else None,
        }
    )
    return out.dropna(subset=["timestamp"]).reset_index(drop=True)


@dataclass(frozen=True)
class _Kinds:
    error: np.ndarray
    network: np.ndarray


def _classify(templates: list[str]) -> _Kinds:
    error = np.array([_is_error(t) for t in templates], dtype=bool)
    network = np.array([bool(_NETWORK.search(t)) for t in templates], dtype=bool)
    return _Kinds(error=error, network=network)


def _is_error(text: str) -> bool:
    """Error or exception: an error level word, or no quiet level word and error vocabulary."""
    if _ERROR_LEVEL_UPPER.search(text) or _EXCEPTION.search(text):
        return True
    if _QUIET_LEVEL.search(text):
        return False
    return bool(_ERROR_WORDS.search(text))


def _candidates(base: pd.DataFrame, inc: pd.DataFrame, base_span: _Span, inc_span: _Span, kinds: _Kinds) -> pd.DataFrame:
    """One row per test: (resource, template) up and down, plus resource-level error and silence."""
    kb = base.groupby(["resource", "template"]).size().rename("kb")
    ki = inc.groupby(["resource", "template"]).size().rename("ki")
    counts = pd.concat([kb, ki], axis=1).fillna(0).astype(np.int64).reset_index()
    counts["error"] = kinds.error[counts["template"].to_numpy()]
    totals = counts.groupby("resource")[["kb", "ki"]].sum()
    # Exposure 2: the lines every *other* resource logged in each window, a traffic proxy.
    others_b = int(totals["kb"].sum()) - counts["resource"].map(totals["kb"])
    others_i = int(totals["ki"].sum()) - counts["resource"].map(totals["ki"])
    counts["others_b"], counts["others_i"] = others_b.to_numpy(), others_i.to_numpy()
    tb, ti = base_span.minutes, inc_span.minutes

    up = counts[counts["ki"] * tb > counts["kb"] * ti].copy()
    up["signal_kind"] = np.where(up["kb"] == 0, "new", "spike")
    errors = _error_totals(counts)
    errors = errors[errors["ki"] * tb > errors["kb"] * ti].copy()
    errors["signal_kind"] = "error_rate"
    up = pd.concat([up, errors], ignore_index=True)
    _test(up, tb, ti, "up")

    silent_resources = totals[(totals["ki"] == 0) & (totals["kb"] > 0)].index
    down = counts[(counts["kb"] > 0) & ~counts["resource"].isin(silent_resources)]
    down = down[down["ki"] * tb < down["kb"] * ti].copy()
    down["signal_kind"] = "stopped"
    silent = counts[counts["resource"].isin(silent_resources)].groupby("resource").agg(
        kb=("kb", "sum"), ki=("ki", "sum"), others_b=("others_b", "first"), others_i=("others_i", "first")
    ).reset_index()
    silent["template"], silent["error"], silent["signal_kind"] = -1, False, "silent"
    down = pd.concat([down, silent], ignore_index=True)
    _test(down, tb, ti, "down")
    tests = pd.concat([f for f in (up, down) if not f.empty], ignore_index=True) if not (up.empty and down.empty) else pd.DataFrame()
    return tests


def _error_totals(counts: pd.DataFrame) -> pd.DataFrame:
    """All error templates of a resource together; skipped where one template says it all."""
    errors = counts[counts["error"]]
    if errors.empty:
        return errors.assign(signal_kind=pd.Series(dtype=object))
    grouped = errors.groupby("resource")
    out = grouped.agg(kb=("kb", "sum"), ki=("ki", "sum"), others_b=("others_b", "first"), others_i=("others_i", "first"))
    out["templates"] = grouped["ki"].apply(lambda k: int((k > 0).sum()))
    out = out[out["templates"] > 1].drop(columns="templates").reset_index()
    out["template"], out["error"] = -1, True
    return out


def _test(tests: pd.DataFrame, tb: float, ti: float, direction: str) -> None:
    """Add `p` and `p_min` (the smallest p the counts could give) in place.

    Exposure is the window length (lines per minute). Ordinary templates must also change
    against a second exposure, the other resources' log volume, so that more traffic
    everywhere does not make every template "spike", nor less traffic make them all "stop".
    Errors are bad news whatever the traffic, so an error increase is judged per minute only.
    """
    if tests.empty:
        tests["p"], tests["p_min"] = [], []
        return
    k_b, k_i = tests["kb"].to_numpy(), tests["ki"].to_numpy()
    exposures = [(np.full(len(tests), tb), np.full(len(tests), ti))]
    with_others = (tests["others_b"].to_numpy() > 0) & (tests["others_i"].to_numpy() > 0)
    if direction == "up":
        with_others &= ~tests["error"].to_numpy(dtype=bool)
    exposures.append((np.where(with_others, tests["others_b"], tb), np.where(with_others, tests["others_i"], ti)))
    p = np.zeros(len(tests))
    p_min = np.zeros(len(tests))
    n = k_b + k_i
    for e_b, e_i in exposures:
        if direction == "up":
            p0 = TOLERANCE * e_i / (TOLERANCE * e_i + e_b)
            tail, beyond, p_best = _binom_sf, k_i > n * p0, p0**n
        else:
            p0 = e_i / (e_i + TOLERANCE * e_b)
            tail, beyond, p_best = _binom_cdf, k_i < n * p0, (1 - p0) ** n
        # Only where significance is still possible is the exact tail worth its cost: counts
        # on the null side of its mean, too few lines, or a test already lost under the
        # other exposure all keep p = 1 (they cannot pass at any correction).
        exact = np.ones(len(tests))
        for i in np.flatnonzero(beyond & (p_best <= ALPHA) & (p <= ALPHA)):
            exact[i] = tail(k_i[i], n[i], p0[i])
        p = np.maximum(p, exact)
        p_min = np.maximum(p_min, p_best)
    tests["p"], tests["p_min"] = p, p_min


def _adjust(tests: pd.DataFrame) -> pd.DataFrame:
    """Bonferroni within each family over Tarone's K (only tests whose smallest possible p
    could pass count). Families: error signals up, other templates up, templates down --
    so that hundreds of ordinary templates do not dilute the few error templates."""
    tests = tests.copy()
    family = np.where(tests["signal_kind"].isin(["stopped", "silent"]), "down", np.where(tests["error"], "error", "other"))
    tests["p_adj"] = 1.0
    tests["tests"] = 0
    for name in np.unique(family):
        members = family == name
        p_min = tests.loc[members, "p_min"].to_numpy()
        k = tarone_count(p_min)
        tests.loc[members, "p_adj"] = np.minimum(tests.loc[members, "p"].to_numpy() * k, 1.0)
        tests.loc[members, "tests"] = k
    return tests


def score_from_p(p_adj: float) -> float:
    """Monotone map of a corrected p-value to [0, 1], 0.5 at the significance level ALPHA.

    score = 1 / (1 + p_adj / ALPHA): 0.05 -> 0.5, 0.005 -> 0.91, 5e-4 -> 0.99.
    """
    return 1.0 / (1.0 + min(max(p_adj, 0.0), 1.0) / ALPHA)


def _to_findings(
    tests: pd.DataFrame,
    base: pd.DataFrame,
    inc: pd.DataFrame,
    base_span: _Span,
    inc_span: _Span,
    templates: list[str],
    keys: dict[int, str],
    kinds: _Kinds,
    reference: str,
) -> list[Finding]:
    if tests.empty:
        return []
    inc_groups = inc.groupby(["resource", "template"])
    base_groups = base.groupby(["resource", "template"])
    inc_by_resource = inc.groupby("resource")
    base_by_resource = base.groupby("resource")
    findings = []
    for row in tests.itertuples(index=False):
        resource, template_id = row.resource, int(row.template)
        kind = row.signal_kind
        if kind in ("new", "spike"):
            rows = inc_groups.get_group((resource, template_id))
        elif kind == "stopped":
            rows = base_groups.get_group((resource, template_id))
        elif kind == "error_rate":
            rows = inc_by_resource.get_group(resource)
            rows = rows[kinds.error[rows["template"].to_numpy()]]
        else:
            rows = base_by_resource.get_group(resource)
        still = inc_groups.get_group((resource, template_id)) if kind == "stopped" and (resource, template_id) in inc_groups.groups else None
        findings.append(_finding(row, rows, still, base_span, inc_span, templates, keys, kinds, reference))
    return findings


def _finding(row, rows: pd.DataFrame, still: pd.DataFrame | None, base_span: _Span, inc_span: _Span,
             templates: list[str], keys: dict[int, str], kinds: _Kinds, reference: str) -> Finding:
    """One finding from one significant test; `rows` are the lines it is about (for a
    stopped template, how it used to look) and `still` its remaining incident lines."""
    resource, template_id, kind = row.resource, int(row.template), row.signal_kind
    kb, ki = int(row.kb), int(row.ki)
    rate_b, rate_i = kb / base_span.minutes, ki / inc_span.minutes
    template = templates[template_id] if template_id >= 0 else ""
    short = _shorten(template, SIGNAL_TEMPLATE_CHARS)
    samples = rows.nsmallest(MAX_SAMPLES, "timestamp")
    sample_logs = [_shorten(m, SAMPLE_CHARS) for m in samples["message"]]
    trace_ids = [str(t) for t in samples["trace_id"] if isinstance(t, str) and t]
    exception = _exception_of(samples["message"])
    error = bool(row.error)
    network = bool(kinds.network[template_id]) if template_id >= 0 else any(
        _NETWORK.search(m) for m in sample_logs
    )
    domain: Domain = "network" if network else "application"
    compared = f"{rate_b:.1f}/min before" if reference == "baseline" else f"{rate_b:.1f}/min in {reference}"
    readable = _readable(template)
    what = f"{exception[0]}: {exception[1]}" if exception[0] and exception[1] else (exception[0] or readable)
    if kind == "new":
        label = "error template" if error else "log template"
        signal = f"new {label}: {short}"
        summary = f"{resource} started logging {_quote(what)} ({ki} lines, {rate_i:.1f}/min; {compared})"
        onset = rows["timestamp"].min()
    elif kind == "spike":
        label = "error template" if error else "log template"
        signal = f"{label} rate up: {short}"
        summary = f"{resource} logs {_quote(what)} {_ratio(rate_i, rate_b)} as often ({rate_i:.1f}/min vs {compared})"
        onset = _rise_onset(rows["timestamp"], inc_span.start, inc_span.end)
    elif kind == "error_rate":
        signal = "error log rate up"
        summary = f"{resource} logs errors {_ratio(rate_i, rate_b)} as often ({rate_i:.1f}/min vs {compared})" + (
            f", mostly {_quote(what)}" if exception[0] else ""
        )
        onset = _rise_onset(rows["timestamp"], inc_span.start, inc_span.end)
    elif kind == "stopped":
        signal = f"log template stopped: {short}"
        summary = f"{resource} stopped logging {_quote(readable)} ({compared}, {rate_i:.1f}/min now)"
        onset = still["timestamp"].max() if still is not None else pd.Timestamp(inc_span.start)
    else:
        signal = "stopped logging"
        summary = f"{resource} logged nothing during the incident ({compared})"
        onset = pd.Timestamp(inc_span.start)
    template_key = keys.get(template_id) if template_id >= 0 else None
    groups = rows["log_group"].dropna().astype(str) if "log_group" in rows else pd.Series(dtype=object)
    groups = groups[groups != ""]
    details = LogDetails(
        test=kind,
        log_group=str(groups.mode().iloc[0]) if len(groups) else None,
        template_key=template_key,
        template=_shorten(template, SAMPLE_CHARS) if template else None,
        error=error,
        exception_class=exception[0] or None,
        exception_message=_shorten(exception[1], 200) if exception[0] and exception[1] else None,
        constraint=constraint_named(template, exception[0], exception[1], *sample_logs[:1]),
        baseline_count=kb,
        incident_count=ki,
        baseline_minutes=round(base_span.minutes, 3),
        incident_minutes=round(inc_span.minutes, 3),
        p_value=float(f"{row.p:.3g}"),
        p_value_corrected=float(f"{row.p_adj:.3g}"),
        tests=int(row.tests),
        reference=reference,
    )
    # The resource's error rate and silence are one observation each; a template's is keyed by the template.
    key = f"template {template_key}" if template_key is not None else kind
    return Finding(
        id=Finding.make_id("log", resource, key),
        domain=domain,
        kind="log",
        resource=resource,
        signal=signal,
        summary=summary,
        onset=onset.to_pydatetime() if onset is not None and not pd.isna(onset) else None,
        score=round(score_from_p(float(row.p_adj)), 4),
        direction="down" if kind in ("stopped", "silent") else "up",
        evidence=Evidence(
            baseline_value=round(rate_b, 4),
            incident_value=round(rate_i, 4),
            unit=UNIT,
            sample_logs=sample_logs,
            trace_ids=trace_ids,
            details=details,
        ),
    )


def _rise_onset(times: pd.Series, start: datetime, end: datetime) -> pd.Timestamp:
    """When a template that was already logged before began to run at its incident rate.

    Its first line in the window is no onset: the template existed all along. The onset is
    the change point of a two-rate Poisson model over the window: the line that best splits
    the window into a slower part before it and a faster part from it on (maximum
    likelihood).
    """
    ordered = np.sort(times.to_numpy(dtype="datetime64[ns]"))
    n = len(ordered)
    if n == 0:
        return pd.NaT
    start64 = pd.Timestamp(start).tz_convert(None).to_datetime64()
    end64 = pd.Timestamp(end).tz_convert(None).to_datetime64()
    tiny = 1.0 / 60.0
    before = np.maximum((ordered - start64).astype("timedelta64[ms]").astype(np.float64) / 60000.0, tiny)
    after = np.maximum((end64 - ordered).astype("timedelta64[ms]").astype(np.float64) / 60000.0, tiny)
    n1 = np.arange(n, dtype=np.float64)
    n2 = n - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.where(n1 > 0, n1 * np.log(n1 / before), 0.0) + n2 * np.log(n2 / after)
    ll = np.where(n2 / after > n1 / before, ll, -np.inf)
    best = int(np.argmax(ll)) if np.isfinite(ll).any() else 0
    return pd.Timestamp(ordered[best], tz="UTC")


def _strongest(tests: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The `limit` strongest tests of each resource, so that only those become findings:
    smallest corrected p first, errors before other templates on ties."""
    if tests.empty:
        return tests
    ranked = tests.assign(_ordinary=~tests["error"].astype(bool)).sort_values(
        ["resource", "p_adj", "_ordinary", "p", "template"], kind="stable"
    )
    return ranked.groupby("resource", sort=True).head(limit).drop(columns="_ordinary")


def tarone_count(p_mins) -> int:
    """Tarone's number of tests that count for a Bonferroni correction: the smallest k such that
    at most k tests could reach significance at ALPHA / k even with their most extreme counts."""
    p_mins = np.asarray(p_mins, dtype=float)
    k = 1
    while k < len(p_mins) and np.count_nonzero(p_mins <= ALPHA / k) > k:
        k += 1
    return k


def extract_exception(message: str) -> tuple[str | None, str | None]:
    """(class, message) of the exception a log message reports, innermost cause first."""
    causes = _CAUSED_BY.findall(message)
    if causes:
        name, text = causes[-1]
        return name, (text.strip() or None)
    heads = list(_EXCEPTION_HEAD.finditer(message))
    if not heads:
        return None, None
    # A Python traceback ends with the exception raised; the frames above it may quote source
    # lines such as `raise HTTPError(...)`, so it is the last head, not the first.
    match = heads[-1] if "Traceback (most recent call last)" in message else heads[0]
    return match.group(1), ((match.group(2) or "").strip() or None)


def _exception_of(messages: pd.Series) -> tuple[str | None, str | None]:
    for message in messages:
        found = extract_exception(message)
        if found[0]:
            return found
    return None, None


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _readable(template: str) -> str:
    """The template without the header an application writes before its message (time,
    logger, `TraceID: <*>`-style ids), keeping the level word: what an engineer reads."""
    tokens = template.split()
    kept: list[str] = []
    i = 0
    while i < len(tokens):
        if _ONLY_WILDCARDS.fullmatch(tokens[i]):
            i += 1
        elif tokens[i].endswith((":", "=")) and i + 1 < len(tokens) and _ONLY_WILDCARDS.fullmatch(tokens[i + 1]):
            i += 2
        elif _ERROR_LEVEL_UPPER.fullmatch(tokens[i]) or _QUIET_LEVEL.fullmatch(tokens[i]):
            kept.append(tokens[i])
            i += 1
        else:
            break
    rest = tokens[i:]
    return " ".join(kept + rest) if rest else template


def _quote(text: str) -> str:
    return f"'{_shorten(text, 100)}'"


def _ratio(new: float, old: float) -> str:
    return f"{new / old:.1f}x" if old > 0 else "newly"


# Exact binomial tails through the regularised incomplete beta function (no SciPy needed):
# P(X >= k) = I_p(k, n - k + 1) and P(X <= k) = I_{1-p}(n - k, k + 1).


def _binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    k, n = int(k), int(n)
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return _betainc(k, n - k + 1, p)


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    k, n = int(k), int(n)
    if k >= n:
        return 1.0
    if k < 0:
        return 0.0
    return _betainc(n - k, k + 1, 1.0 - p)


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) (continued fraction, Numerical Recipes 6.4)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _betacf(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 3e-16:
            break
    return h
