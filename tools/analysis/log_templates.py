"""Log template mining: turn free-text log messages into a small set of templates.

A Drain-style parser (He et al., ICWS 2017) with general variable masks:

1. Mask variables with precompiled regexes (UUIDs, IPs, hex, numbers and any token that
   holds a digit, paths, quoted ids) so that `took 12 ms` and `took 913 ms` become the
   same masked line `took <*> ms`.
2. Deduplicate masked lines (pandas factorize): a million lines of real logs usually hold
   a few thousand distinct masked lines, and only those reach the parse tree.
3. Drain's fixed-depth tree: route by token count and the first tokens, then pick the
   most similar cluster in the leaf (share of equal tokens, wildcards count as equal) and
   generalise the template where tokens differ; open a new cluster when no cluster is
   similar enough.

What the caller passes: the *message* part of a log line only — not the timestamp,
level, logger or pid prefix a log shipper adds (loghub's `Content` column; a CloudWatch
event's `message` after the shipper's prefix is removed). Prefixes with timestamps would be
masked anyway, but a level word or logger name in front changes the tree route.

One configuration serves every system: nothing here is tuned to a particular log source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

WILDCARD = "<*>"

# A character of a variable token; a dot only inside it, so "took 5." keeps its full stop.
_WORD = r"(?:[\w\-+#@$]|\.(?=\w))"
# Order matters: specific shapes first, so that an IP is not eaten as three decimals.
_MASKS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
    re.compile(r"(?:[A-Za-z]+://)?(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?"),
    re.compile(r"(?<![\w.])(?:/[\w.\-]+){2,}/?"),
    # Any run of word characters that holds a digit: 1234, 0x1f, blk_-42, node-17, 3.5ms.
    # A word with one trailing digit (SOCKS5, utf8, ipv4) is a name, not a value.
    re.compile(rf"(?<![\w\-+#@$.])(?![A-Za-z]{{2,}}\d(?!{_WORD})){_WORD}*\d{_WORD}*"),
)
_TOKEN_SPLIT = re.compile(r"\s+")
_HAS_DIGIT_OR_WILDCARD = re.compile(r"\d|<\*>")


def mask(message: str) -> str:
    """Return `message` with its variable parts replaced by `<*>`."""
    for pattern in _MASKS:
        message = pattern.sub(WILDCARD, message)
    return message.strip()


def mask_series(messages: pd.Series) -> pd.Series:
    """Vectorised `mask` over a Series of strings (None/NaN become empty strings)."""
    values = messages.fillna("").astype(str)
    for pattern in _MASKS:
        values = values.str.replace(pattern, WILDCARD, regex=True)
    return values.str.strip()


@dataclass
class _Cluster:
    tokens: list[str]
    size: int = 0

    @property
    def template(self) -> str:
        return " ".join(self.tokens)


@dataclass
class _Node:
    children: dict[str, "_Node"] = field(default_factory=dict)
    clusters: list[int] = field(default_factory=list)


class TemplateMiner:
    """Stateful Drain parser: feed it masked token lists, get stable template ids back.

    Ids never change once given; a cluster's template text may become more general as
    more lines arrive, so read `template(id)` after the last `add`.
    """

    def __init__(self, *, similarity: float = 0.8, depth: int = 4, max_children: int = 100) -> None:
        if not 0.0 < similarity <= 1.0:
            raise ValueError(f"similarity must be in (0, 1], got {similarity}")
        self.similarity = similarity
        self.prefix_depth = max(depth - 2, 1)
        self.max_children = max_children
        self._root = _Node()
        self._clusters: list[_Cluster] = []

    def __len__(self) -> int:
        return len(self._clusters)

    def template(self, template_id: int) -> str:
        return self._clusters[template_id].template

    def templates(self) -> list[str]:
        return [c.template for c in self._clusters]

    def add(self, tokens: Sequence[str], count: int = 1) -> int:
        """Assign a masked, tokenised line (seen `count` times) to a cluster; return its id."""
        leaf = self._leaf(tokens)
        best, best_sim = -1, -1.0
        for cid in leaf.clusters:
            sim = _similarity(self._clusters[cid].tokens, tokens)
            if sim > best_sim:
                best, best_sim = cid, sim
        if best >= 0 and best_sim >= self.similarity:
            cluster = self._clusters[best]
            cluster.tokens = _merge(cluster.tokens, tokens)
            cluster.size += count
            return best
        self._clusters.append(_Cluster(tokens=list(tokens), size=count))
        cid = len(self._clusters) - 1
        leaf.clusters.append(cid)
        return cid

    def _leaf(self, tokens: Sequence[str]) -> _Node:
        node = self._root.children.setdefault(str(len(tokens)), _Node())
        for token in tokens[: self.prefix_depth]:
            key = WILDCARD if _HAS_DIGIT_OR_WILDCARD.search(token) else token
            child = node.children.get(key)
            if child is None:
                if len(node.children) >= self.max_children:
                    key = WILDCARD
                child = node.children.setdefault(key, _Node())
            node = child
        return node


def _similarity(template: Sequence[str], tokens: Sequence[str]) -> float:
    if not tokens:
        return 1.0
    same = sum(1 for a, b in zip(template, tokens) if a == b or a == WILDCARD)
    return same / len(tokens)


def _merge(template: list[str], tokens: Sequence[str]) -> list[str]:
    return [a if a == b else WILDCARD for a, b in zip(template, tokens)]


def tokenize(masked: str) -> list[str]:
    return [t for t in _TOKEN_SPLIT.split(masked) if t]


@dataclass
class MinedLogs:
    """Per-message template ids (aligned with the input) and the template texts."""

    template_ids: np.ndarray
    templates: list[str]

    def template_of(self, position: int) -> str:
        return self.templates[int(self.template_ids[position])]


def mine(messages: Iterable[str] | pd.Series, miner: TemplateMiner | None = None) -> MinedLogs:
    """Mine templates for `messages`; pass a shared `miner` to keep ids comparable across calls."""
    series = messages if isinstance(messages, pd.Series) else pd.Series(list(messages), dtype=object)
    miner = miner if miner is not None else TemplateMiner()
    masked = mask_series(series)
    codes, uniques = pd.factorize(masked, sort=False)
    counts = np.bincount(codes, minlength=len(uniques)) if len(codes) else np.zeros(0, dtype=int)
    unique_ids = np.fromiter(
        (miner.add(tokenize(text), int(n)) for text, n in zip(uniques, counts)),
        dtype=np.int64,
        count=len(uniques),
    )
    ids = unique_ids[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    return MinedLogs(template_ids=ids, templates=miner.templates())
