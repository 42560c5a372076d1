"""Grouping accuracy of the template miner on the 16 loghub-2k systems.

Usage: `.venv/bin/python bench/loghub_accuracy.py [--datasets ../shared/datasets]`

Grouping accuracy is logparser's definition (Zhu et al., ICSE-SEIP 2019): a line counts as
correct when the set of lines in its predicted group equals the set of lines in its true
group. The anchor is Drain's published average of 0.865.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.analysis.log_templates import mine  # noqa: E402

SYSTEMS = (
    "HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "HPC", "Thunderbird", "Windows",
    "Linux", "Android", "HealthApp", "Apache", "Proxifier", "OpenSSH", "OpenStack", "Mac",
)
DRAIN_PUBLISHED = 0.865


def grouping_accuracy(truth: pd.Series, predicted: pd.Series) -> float:
    """Share of lines whose predicted group is exactly their true group."""
    truth = truth.reset_index(drop=True)
    predicted = predicted.reset_index(drop=True)
    frame = pd.DataFrame({"truth": truth, "pred": predicted})
    true_sizes = frame["truth"].value_counts()
    correct = 0
    for _, group in frame.groupby("pred", sort=False):
        labels = group["truth"].unique()
        if len(labels) == 1 and true_sizes[labels[0]] == len(group):
            correct += len(group)
    return correct / len(frame) if len(frame) else 1.0


def system_accuracy(loghub_dir: Path, system: str) -> float:
    frame = pd.read_csv(loghub_dir / system / f"{system}_2k.log_structured_corrected.csv")
    mined = mine(frame["Content"].astype(str))
    return grouping_accuracy(frame["EventId"], pd.Series(mined.template_ids))


def accuracy_table(loghub_dir: Path) -> dict[str, float]:
    return {system: system_accuracy(loghub_dir, system) for system in SYSTEMS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    loghub = args.datasets / "loghub-2k"
    if not loghub.is_dir():
        print(f"loghub-2k not found at {loghub} (pass --datasets)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    table = accuracy_table(loghub)
    print(f"{'system':<12} {'accuracy':>8}")
    for system, value in table.items():
        print(f"{system:<12} {value:>8.3f}")
    average = sum(table.values()) / len(table)
    print(f"{'average':<12} {average:>8.3f}   (Drain published: {DRAIN_PUBLISHED})")
    print(f"elapsed {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
