"""Replay bundles through the local emulator and compare with their offline replay.

Usage: `.venv/bin/python bench/emulator_replay.py [--scenario NAME ...] [--seed 1] [BUNDLE ...]`

Without bundle paths it generates the game-day scenarios (evals/gameday) for one seed. For
each bundle: seed an in-process emulator, investigate its alarm through boto3, and print
the offline #1, the live #1, seeding and investigation wall-clock seconds and the API calls
and metrics requested. Ends with how many bundles rank the same #1 both ways.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.runner import investigate_bundle  # noqa: E402
from agent.live import investigate_alarm  # noqa: E402
from domain.settings import AwsOptions, Settings  # noqa: E402
from tools.bundle.validate import load_manifest  # noqa: E402
from tools.emulator.scenario import load_scenario  # noqa: E402
from tools.emulator.seed import seed  # noqa: E402
from tools.emulator.server import serve_in_thread  # noqa: E402


def _top(investigation) -> str:
    h = investigation.hypotheses[0] if investigation.hypotheses else None
    return f"{h.resource}/{h.cause}" if h else "abstained"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="*", type=Path)
    parser.add_argument("--scenario", action="append", default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "emulator")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "emulator")
    with tempfile.TemporaryDirectory() as tmp:
        bundles = list(args.bundles)
        if not bundles:
            from evals.gameday.generate import build, scenario_names, write

            for name in args.scenario or scenario_names():
                bundles.append(write(build(name, args.seed), Path(tmp)))
        same = 0
        print(f"{'bundle':45} {'offline #1':34} {'live #1':34} {'seed s':>6} {'live s':>6} {'calls':>5} {'metrics':>7}")
        for bundle in bundles:
            offline = _top(investigate_bundle(bundle))
            scenario = load_scenario(bundle, datetime.now(timezone.utc), args.region)
            with serve_in_thread(scenario) as endpoint:
                started = time.perf_counter()
                seed(scenario, endpoint)
                seeded = time.perf_counter()
                run = investigate_alarm(scenario.alarm_name, settings=Settings(aws=AwsOptions(region=args.region, endpoint_url=endpoint)))
                done = time.perf_counter()
            live = _top(run.investigation)
            same += live == offline
            label = load_manifest(bundle).id[:45]
            print(f"{label:45} {offline:34} {live:34} {seeded - started:6.1f} {done - seeded:6.1f} "
                  f"{run.usage.total_calls:5d} {run.usage.metrics_requested:7d}", flush=True)
        print(f"same #1 live and offline: {same} of {len(bundles)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
