"""Time and size of the classic game-day suite (15 scenarios x 5 seeds).

Usage: `.venv/bin/python bench/gameday_generation.py [--seeds 5] [--out DIR]`

Prints bundles written, wall-clock and CPU seconds (CPU time is what a busy shared machine
does not distort), total and largest bundle size. The CI budget is 300 KB per bundle.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.gameday.generate import suite  # noqa: E402

BUDGET_BYTES = 300_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="keep the bundles here (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        wall, cpu = time.perf_counter(), time.process_time()
        paths = suite(out, seeds=range(1, args.seeds + 1), suite_name="classic")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        sizes = [sum(f.stat().st_size for f in p.iterdir()) for p in paths]
    print(f"bundles: {len(paths)}")
    print(f"wall: {wall:.1f} s  cpu: {cpu:.1f} s  ({cpu / len(paths):.2f} cpu-s per bundle)")
    print(f"size: total {sum(sizes) / 1e6:.1f} MB, mean {sum(sizes) / len(sizes) / 1e3:.0f} KB, largest {max(sizes) / 1e3:.0f} KB")
    over = sum(size > BUDGET_BYTES for size in sizes)
    print(f"over the {BUDGET_BYTES // 1000} KB budget: {over}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
