"""The call graph as traces show it: who calls whom, when the recorded topology does not say.

X-Ray draws its service map from the same data: a span whose parent span belongs to another
service is a call from that service to this one. Only calls between known resources become
edges, so a name seen in a span but not in the topology cannot widen the scope on its own.
"""

from __future__ import annotations

import pandas as pd

from domain.models import Edge


def with_caller(spans: pd.DataFrame) -> pd.DataFrame:
    """Each span with the service of its parent span (`caller`), where that is another service."""
    parents = spans[["trace_id", "span_id", "service"]].rename(columns={"span_id": "parent_id", "service": "caller"})
    calls = spans.merge(parents, on=["trace_id", "parent_id"], how="inner")
    return calls[calls["caller"] != calls["service"]]


def calls_from_spans(spans: pd.DataFrame, known: set[str]) -> list[Edge]:
    """caller -> callee for every pair of known resources one of whose spans is the parent of the other's."""
    if spans.empty:
        return []
    calls = with_caller(spans[["trace_id", "span_id", "parent_id", "service"]])
    pairs = calls[calls["caller"].isin(known) & calls["service"].isin(known)]
    unique = pairs[["caller", "service"]].drop_duplicates().sort_values(["caller", "service"])
    return [Edge(caller=str(c), callee=str(s)) for c, s in unique.itertuples(index=False)]
