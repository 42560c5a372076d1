"""Template-mining throughput on a generated 1,000,000-line input, one process, one core.

Usage: `.venv/bin/python bench/log_throughput.py [--lines 1000000] [--datasets ../shared/datasets]`

The input is sampled from the loghub-2k messages of all 16 systems with their variables
re-randomised, so that most lines are not exact duplicates: every digit becomes a random
digit (ids, counters, addresses, durations), and where the true template lines up token for
token with the message, the letters of whole-token variables (user names, host names) are drawn
from a pool of 20 random spellings per slot, since such names recur in real logs. Without the datasets a
synthetic service-log mix is used instead. Prints lines/s (wall clock, and per CPU-second so that a busy shared machine does not
skew it) and the peak resident memory.
"""

from __future__ import annotations

import argparse
import random
import resource
import string
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.analysis.log_templates import WILDCARD, mine  # noqa: E402

SYSTEMS = (
    "HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "HPC", "Thunderbird", "Windows",
    "Linux", "Android", "HealthApp", "Apache", "Proxifier", "OpenSSH", "OpenStack", "Mac",
)
_SYNTHETIC = [
    ("GET /api/orders/{n} took {n} ms status {n}", "GET /api/orders/<*> took <*> ms status <*>"),
    ("user {w} logged in from {n}.{n}.{n}.{n}", "user <*> logged in from <*>"),
    ("Connection refused to {w}:{n} after {n} retries", "Connection refused to <*> after <*> retries"),
    ("heartbeat ok seq={n}", "heartbeat ok seq=<*>"),
]


def _shuffle_chars(token: str, rng: random.Random) -> str:
    out = []
    for ch in token:
        if ch.isdigit():
            out.append(rng.choice(string.digits))
        elif ch.islower():
            out.append(rng.choice(string.ascii_lowercase))
        elif ch.isupper():
            out.append(rng.choice(string.ascii_uppercase))
        else:
            out.append(ch)
    return "".join(out)


def _variable_positions(content: str, template: str) -> set[int] | None:
    tokens, slots = content.split(), template.split()
    if len(tokens) != len(slots):
        return None
    return {i for i, slot in enumerate(slots) if slot == WILDCARD}


def _digits(text: str, rng: random.Random) -> str:
    return "".join(rng.choice(string.digits) if ch.isdigit() else ch for ch in text)


class _Recipe:
    """One loghub message and, per variable token, a pool of respellings of its letters."""

    def __init__(self, content: str, template: str, rng: random.Random, pool: int = 20) -> None:
        self.content = content
        self.tokens = content.split()
        positions = _variable_positions(content, template) or set()
        self.pools = {i: [_shuffle_chars(self.tokens[i], rng) for _ in range(pool)] for i in positions}

    def line(self, rng: random.Random) -> str:
        if not self.pools:
            return _digits(self.content, rng)
        return " ".join(
            _digits(rng.choice(self.pools[i]) if i in self.pools else token, rng)
            for i, token in enumerate(self.tokens)
        )


def base_lines(datasets: Path) -> list[tuple[str, str]]:
    loghub = datasets / "loghub-2k"
    if not loghub.is_dir():
        print(f"loghub-2k not found at {loghub}: using a 4-template synthetic mix, not comparable "
              "with the documented figures", file=sys.stderr)
        return [(c.replace("{n}", "1").replace("{w}", "alice"), t) for c, t in _SYNTHETIC]
    pairs: list[tuple[str, str]] = []
    for system in SYSTEMS:
        frame = pd.read_csv(loghub / system / f"{system}_2k.log_structured_corrected.csv")
        pairs.extend(zip(frame["Content"].astype(str), frame["EventTemplate"].astype(str)))
    return pairs


def generate(n_lines: int, datasets: Path, seed: int = 7) -> pd.Series:
    rng = random.Random(seed)
    pairs = base_lines(datasets)
    recipes = [_Recipe(content, template, rng) for content, template in pairs]
    lines = [recipes[rng.randrange(len(recipes))].line(rng) for _ in range(n_lines)]
    return pd.Series(lines, dtype=object)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    print(f"generating {args.lines:,} lines ...", file=sys.stderr)
    lines = generate(args.lines, args.datasets)
    distinct = lines.nunique()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"mining ... ({distinct:,} distinct lines)", file=sys.stderr)
    pa.set_cpu_count(1)  # one core: no hidden Arrow thread pool
    started, cpu_started = time.perf_counter(), time.process_time()
    mined = mine(lines)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"lines            {len(lines):>12,}")
    print(f"distinct lines   {distinct:>12,}")
    print(f"templates        {len(mined.templates):>12,}")
    print(f"elapsed (wall)   {elapsed:>12.2f} s")
    print(f"elapsed (CPU)    {cpu:>12.2f} s")
    print(f"throughput       {len(lines) / elapsed:>12,.0f} lines/s wall clock")
    print(f"throughput       {len(lines) / cpu:>12,.0f} lines/s of CPU time (what a free core would do)")
    print(f"peak RSS         {peak:>12,.0f} MiB (input generated: {rss_before:,.0f} MiB before mining)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
