"""Log template mining: turn free-text log messages into a small set of templates.

A Drain-style parser (He et al., ICWS 2017) with one general variable mask:

1. Mask variables (paths, written-out dates, and any token holding a digit: numbers, hex,
   IPs, UUIDs, ids) so that `took 12 ms` and `took 913 ms` become the same masked line
   `took <*> ms`. Each distinct message is masked once, with RE2 through pyarrow.
2. Deduplicate masked lines (Arrow dictionary encoding): a million lines of real logs
   usually hold a few thousand distinct masked lines, and only those reach the parse tree.
3. Drain's fixed-depth tree: route by token count and the first tokens, then pick the
   most similar template in the leaf (the share of equal constant tokens) and generalise
   it where tokens differ; open a new template when none is similar enough.

What the caller passes: the *message* of a log line, not the prefix a log shipper adds
(loghub's `Content` column; a CloudWatch event's `message`). A prefix the application
writes itself (time, level, logger, trace ids) is harmless: its variable parts are masked,
and its level word rightly keeps ERROR and INFO lines apart.

One configuration serves every system: nothing here is tuned to a particular log source.
See docs/log-analysis.md for the measured accuracy and throughput.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

WILDCARD = "<*>"
# Long messages carry payloads (lists, dumps) whose length varies from line to line; the
# words that say what happened come first, so only the first tokens decide the template.
MAX_TOKENS = 24
VARIABLE_AFTER = 32  # distinct words at one position of a leaf that make it a variable

# A variable is a path, or a run of token characters holding a digit (1234, 0x1f, blk_-42,
# node-17, 3.5ms, 10.0.0.1, a UUID, clients1.example.com) -- except a word of two or more
# letters ending in a single digit (SOCKS5, utf8, ipv4, sha1), which names a thing.
# Two spellings of one rule: Python `re` for single strings, and RE2 (no lookaround) for
# pyarrow's vectorised replace, where the separator in front of a variable is captured
# and written back. tests/test_log_templates.py checks that they agree.
_T = r"[\w\-+#@$.]"
# A written-out date and time: [Mon ]Jul 22 19:29:09[ 2005]; numeric dates fall to the digit rule.
_DATE = (
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+"
    r"\d{1,2},?(?:\s+\d{4})?\s+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s+[A-Z]{3,4})?(?:\s+\d{4})?"
)
_VARIABLE = re.compile(
    rf"(?<!{_T})"
    r"(?:(?:/[\w.\-]+){2,}/?"
    rf"|{_DATE}"
    rf"|(?![A-Za-z]{{2,}}\d(?!{_T})){_T}*\d{_T}*)",
    re.ASCII,
)
_VARIABLE_RE2 = (
    rf"(^|[^\w\-+#@$.])(?:(?:/[\w.\-]+){{2,}}/?"
    rf"|{_DATE}"
    rf"|{_T}*\d{_T}+"
    r"|\d"
    r"|[A-Za-z]\d"
    rf"|{_T}*[_\-+#@$.]{_T}*\d)"
)
_TOKEN_SPLIT = re.compile(r"\s+")
_TROUBLE = re.compile(
    r"error|fail|exception|fatal|panic|refused|denied|reject|timeout|timed out|unreachable|abort|invalid|"
    r"unable|cannot|can't|could not",
    re.IGNORECASE,
)
_ONLY_WILDCARDS = re.compile(r"(?:<\*>|[^\w<>*\s])+")
_HAS_DIGIT_OR_WILDCARD = re.compile(r"\d|<\*>")


def mask(message: str) -> str:
    """Return `message` with its variable parts replaced by `<*>`."""
    return _VARIABLE.sub(WILDCARD, message).strip()


def mask_series(messages: pd.Series) -> pd.Series:
    """Vectorised `mask` over a Series of strings (None/NaN become empty strings)."""
    masked = _mask_array(_to_arrow(messages))
    return pd.Series(masked.to_numpy(zero_copy_only=False), index=messages.index, dtype=object)


def _to_arrow(messages: pd.Series) -> pa.Array:
    """Messages as one Arrow large_string array, nulls as empty strings."""
    try:
        values = pa.array(messages, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Non-string objects (numbers, bytes) in the column: take their text, keep nulls null.
        text = messages.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
        values = pa.array(text, type=pa.large_string(), from_pandas=True)
    if isinstance(values, pa.ChunkedArray):  # pandas' Arrow-backed string dtype
        values = values.combine_chunks()
    return pc.fill_null(values, "")


def _mask_array(values: pa.Array) -> pa.Array:
    replaced = pc.replace_substring_regex(values, pattern=_VARIABLE_RE2, replacement=r"\1" + WILDCARD)
    return pc.utf8_trim_whitespace(replaced)


class _Leaf:
    """The clusters of one tree leaf as an int matrix, so a line is compared with all at once.

    A leaf also counts the distinct words met at each position: where more than
    `variable_after` different words have appeared among lines of the same length and the
    same first words, the position holds a variable (a host, a user name) and no longer
    counts for or against similarity.
    """

    __slots__ = ("rows", "ids", "n", "seen", "variable", "variable_after")

    def __init__(self, width: int, variable_after: int) -> None:
        self.rows = np.empty((4, width), dtype=np.int32)
        self.ids: list[int] = []
        self.n = 0
        self.seen: list[set[int] | None] = [set() for _ in range(width)]
        self.variable = np.zeros(width, dtype=bool)
        self.variable_after = variable_after

    def append(self, row: np.ndarray, cluster_id: int) -> None:
        if self.n == len(self.rows):
            self.rows = np.concatenate([self.rows, np.empty_like(self.rows)])
        self.rows[self.n] = row
        self.ids.append(cluster_id)
        self.n += 1

    def observe(self, codes: list[int], wild: np.ndarray) -> None:
        for position, code in enumerate(codes):
            words = self.seen[position]
            if words is None or wild[code]:
                continue
            words.add(code)
            if len(words) > self.variable_after:
                self.variable[position] = True
                self.seen[position] = None


class _Node:
    __slots__ = ("children", "leaf")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.leaf: _Leaf | None = None


class TemplateMiner:
    """Stateful Drain parser: feed it masked lines, get stable template ids back.

    Ids never change once given; a template's text may become more general as more lines
    arrive, so read `template(id)` after the last `add`. The defaults were chosen once on
    loghub-2k (see docs/log-analysis.md) and serve every log source.
    """

    def __init__(
        self, *, similarity: float = 0.7, depth: int = 4, max_children: int = 100, variable_after: int = VARIABLE_AFTER
    ) -> None:
        if not 0.0 < similarity <= 1.0:
            raise ValueError(f"similarity must be in (0, 1], got {similarity}")
        self.similarity = similarity
        self.prefix_depth = max(depth - 2, 1)
        self.max_children = max_children
        self.variable_after = variable_after
        self._root = _Node()
        self._vocabulary: dict[str, int] = {WILDCARD: 0}
        self._words: list[str] = [WILDCARD]
        self._wild = np.ones(1, dtype=bool)
        self._leaf_of: list[tuple[_Leaf, int]] = []
        self._sizes: list[int] = []
        self._memo: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._leaf_of)

    def template(self, template_id: int) -> str:
        leaf, slot = self._leaf_of[template_id]
        return " ".join(self._words[i] for i in leaf.rows[slot])

    def templates(self) -> list[str]:
        return [self.template(i) for i in range(len(self))]

    def sizes(self) -> list[int]:
        """How many lines each template has absorbed so far."""
        return list(self._sizes)

    def add(self, masked: str, count: int = 1) -> int:
        """Assign one masked line (seen `count` times) to a template; return the template id."""
        known = self._memo.get(masked)
        if known is not None:
            self._sizes[known] += count
            return known
        cluster_id = self._add_tokens(tokenize(masked)[:MAX_TOKENS], bool(_TROUBLE.search(masked)), count)
        self._memo[masked] = cluster_id
        return cluster_id

    def _add_tokens(self, tokens: list[str], troubled: bool, count: int) -> int:
        vocabulary = self._vocabulary
        codes = []
        for token in tokens:
            code = vocabulary.get(token)
            if code is None:
                code = vocabulary[token] = len(self._words)
                self._words.append(token)
                if code >= len(self._wild):
                    self._wild = np.concatenate([self._wild, np.zeros(len(self._wild), dtype=bool)])
                # "<*>:<*>", "(<*>)," are as variable as "<*>"; they keep their spelling.
                self._wild[code] = bool(_ONLY_WILDCARDS.fullmatch(token))
            codes.append(code)
        row = np.array(codes, dtype=np.int32)
        leaf = self._leaf(tokens, troubled)
        leaf.observe(codes, self._wild)
        if leaf.n:
            rows = leaf.rows[: leaf.n]
            # Drain's similarity: the share of equal constant tokens. A wildcard in the
            # template does not count as a match (so a template that has become mostly
            # wildcards cannot swallow every line of its length), and a position where both
            # are wildcards says nothing, so it counts neither way.
            template_wild = self._wild[rows]
            informative = ~((template_wild & self._wild[row]) | leaf.variable)
            hits = ((rows == row) & ~template_wild & informative).sum(axis=1)
            sims = hits / np.maximum(informative.sum(axis=1), 1)
            slot = int(sims.argmax())
            if sims[slot] >= self.similarity:
                current = rows[slot]
                current[current != row] = 0
                cluster_id = leaf.ids[slot]
                self._sizes[cluster_id] += count
                return cluster_id
        cluster_id = len(self._leaf_of)
        leaf.append(row, cluster_id)
        self._leaf_of.append((leaf, leaf.n - 1))
        self._sizes.append(count)
        return cluster_id

    def _leaf(self, tokens: Sequence[str], troubled: bool) -> _Leaf:
        # Lines that speak of trouble never share a template with lines that do not, or
        # "payment failed for order <*>" would hide inside "payment <*> for order <*>".
        node = self._root.children.setdefault(f"{'!' if troubled else ''}{len(tokens)}", _Node())
        for token in tokens[: self.prefix_depth]:
            # Tokens with digits or wildcards are likely variables: never a branch of their own.
            key = WILDCARD if _HAS_DIGIT_OR_WILDCARD.search(token) else token
            child = node.children.get(key)
            if child is None:
                if len(node.children) >= self.max_children:
                    key = WILDCARD
                child = node.children.setdefault(key, _Node())
            node = child
        if node.leaf is None:
            node.leaf = _Leaf(len(tokens), self.variable_after)
        return node.leaf


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
    if series.empty:
        return MinedLogs(template_ids=np.zeros(0, dtype=np.int64), templates=miner.templates())
    # Real logs repeat themselves: mask each distinct message once, parse each distinct
    # masked line once.
    raw = pc.dictionary_encode(_to_arrow(series))
    masked = pc.dictionary_encode(_mask_array(raw.dictionary))
    codes = masked.indices.to_numpy()[raw.indices.to_numpy()]
    counts = np.bincount(codes, minlength=len(masked.dictionary))
    unique_ids = np.fromiter(
        (miner.add(text, int(n)) for text, n in zip(masked.dictionary.to_pylist(), counts)),
        dtype=np.int64,
        count=len(masked.dictionary),
    )
    return MinedLogs(template_ids=unique_ids[codes], templates=miner.templates())
