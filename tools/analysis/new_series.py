"""Series that only the incident has, and what to measure them against.

A canary's new task definition revision, a replacement instance: their series start at the
deploy, with no normal point of their own. Without a reference they would never be tested, and
faulty code in one version would go unseen. Their sibling series (the same resource, metric and
statistic under the same dimensions but one whose value differs, such as the old revision)
served the same kind of requests before and during the incident: its baseline is the reference.
The metric analysis (metrics.py) calls both functions below on its frames, whose series are
identified by `key` (resource, namespace, metric, stat, dimensions as a JSON text).
"""

from __future__ import annotations

import json

import pandas as pd

from tools.analysis.semantics import bad_direction, is_traffic


def namespace_of(value: object) -> str | None:
    """A series' namespace, None when it has none."""
    return value if isinstance(value, str) and value else None


def parsed_dimensions(dimensions: object) -> dict[str, str]:
    """A series' dimensions, stored as a JSON object's text, as a dict of strings."""
    return {str(k): str(v) for k, v in json.loads(dimensions).items()} if isinstance(dimensions, str) and dimensions else {}


# Statistics that add up over calls: a series' level depends on the share of the traffic it got.
_EXTENSIVE = ("sum", "samplecount")


def with_sibling_references(stats: pd.DataFrame, inc: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Baseline statistics for series that only the incident has, borrowed from a sibling.

    A canary's new task definition revision (or a replacement instance) publishes series that
    start at its deploy: no normal point of their own, so without a reference they would never
    be tested, and faulty code in one version would go unseen. Its sibling, the same resource,
    metric and statistic under the same dimensions but one whose value differs (the old
    revision), served the same requests with the old code: its baseline is the reference. Only
    for statistics that do not add up over calls (averages, percentiles, extremes): a sum
    depends on the share of the traffic each version gets, and a canary gets a fraction.
    When several siblings have a baseline, the one with the most points is taken."""
    new = inc[key].drop_duplicates()
    new = new[~pd.MultiIndex.from_frame(new).isin(stats.index) & ~new["stat"].str.lower().isin(_EXTENSIVE)]
    if new.empty or stats.empty:
        return stats
    family: dict[tuple, list[tuple[dict, tuple]]] = {}
    for key in stats.index:
        family.setdefault(key[:4], []).append((parsed_dimensions(key[4]), key))
    borrowed: dict[tuple, tuple] = {}
    for key in new.itertuples(index=False, name=None):
        dims = parsed_dimensions(key[4])
        matching = _siblings(dims, [d for d, _ in family.get(key[:4], [])])
        siblings = [k for d, k in family.get(key[:4], []) if d in matching]
        if siblings:
            borrowed[key] = max(siblings, key=lambda k: stats.at[k, "n"])
    if not borrowed:
        return stats
    extra = stats.loc[list(borrowed.values())].set_axis(pd.MultiIndex.from_tuples(list(borrowed), names=key))
    return pd.concat([stats, extra])


def _siblings(dims: dict[str, str], candidates: list[dict[str, str]]) -> list[dict[str, str]]:
    """The dimension sets that name the same keys and differ from `dims` in exactly one value."""
    return [d for d in candidates if d.keys() == dims.keys() and sum(d[k] != dims[k] for k in dims) == 1]


def with_new_partition_rates(base: pd.DataFrame, inc: pd.DataFrame, key: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(base, inc) with a rate per request for the failure counts of series only the incident has.

    A canary revision's error count has no normal point of its own, and its sibling's (the old
    revision's) count is no reference: it depends on the share of the traffic each gets. Its
    errors per request are: the same requests, the old code. So where a new series counts
    failures (a Sum whose bad direction is up) and its partition also counts requests, the
    incident gets its rate, "<metric> per request" (an average), and the baseline the sibling
    partition's rate over its own requests; `with_sibling_references` then makes that the
    reference. Series that have a baseline of their own are left as they are.

    Each rate point also carries what it was built from (columns `counted_metric`,
    `counted_stat` and `requests`, NaN on every other series), so that a finding on it can be turned back into a
    count: a canary failing half of its 900 requests a minute fails 450 calls a minute, which is
    what its callers' failure counts are compared with."""
    known = set(base[key].drop_duplicates().itertuples(index=False, name=None))
    sums = inc[inc["stat"].str.lower().isin(_EXTENSIVE)]
    new = [k for k in sums[key].drop_duplicates().itertuples(index=False, name=None) if k not in known]
    failures = [k for k in new if not is_traffic(k[2], namespace_of(k[1])) and bad_direction(k[2], namespace_of(k[1])) == "up"]
    if not failures:
        return base, inc
    # (resource, namespace, metric, stat) -> the baseline's dimension texts, by their parsed value
    base_dims: dict[tuple, dict[str, dict[str, str]]] = {}
    for r, ns, m, st, dims in known:
        base_dims.setdefault((r, ns, m, st), {})[dims] = parsed_dimensions(dims)
    added_inc, added_base = [], []
    for r, ns, m, st, dims in failures:
        mine = parsed_dimensions(dims)
        traffic = sorted({k[2] for k in new if k[:2] == (r, ns) and k[3:] == (st, dims) and is_traffic(k[2], namespace_of(ns))})
        for t in traffic:
            counted = base_dims.get((r, ns, t, st), {})
            candidates = {raw: d for raw, d in base_dims.get((r, ns, m, st), {}).items() if raw in counted}
            matching = _siblings(mine, list(candidates.values()))
            sibling = next((raw for raw, d in candidates.items() if d in matching), None)
            if sibling is None:
                continue
            added_inc.append(_rate(inc, (r, ns, st), m, t, dims))
            added_base.append(_rate(base, (r, ns, st), m, t, sibling))
            break
    if not added_inc:
        return base, inc
    return pd.concat([base, *added_base], ignore_index=True), pd.concat([inc, *added_inc], ignore_index=True)


def _rate(frame: pd.DataFrame, where: tuple[str, str, str], failures: str, requests: str, dims: str) -> pd.DataFrame:
    """The series `failures` / `requests` of one partition, point by point (periods with requests only)."""
    r, ns, st = where
    part = frame[(frame["resource"] == r) & (frame["namespace"] == ns) & (frame["stat"] == st) & (frame["dimensions"] == dims)]
    num = part[part["metric"] == failures].set_index("timestamp")["value"]
    den = part[part["metric"] == requests].set_index("timestamp")["value"]
    both = pd.concat([num.rename("n"), den.rename("d")], axis=1, join="inner")
    both = both[both["d"] > 0]
    return pd.DataFrame({
        "resource": r, "namespace": ns, "metric": f"{failures} per request", "stat": "Average", "dimensions": dims,
        "timestamp": both.index, "value": (both["n"] / both["d"]).to_numpy(),
        "counted_metric": failures, "counted_stat": st, "requests": both["d"].to_numpy(dtype=float),
    })
