"""Prompt size of `--reasoner claude` over every bundle below a directory, against the local stub.

    .venv/bin/python -m bench.claude_prompt_size out/bundles [--budget 20000] [--workers 2]

The stub answers every request with an empty hypothesis list, so the engine's ranking is
kept and the eval numbers must equal the deterministic ones; what is measured is the largest
request each investigation would send (counted locally before sending, see
agent/reasoners/claude/compact.py: the stub offers no token count here, so the reasoner uses
its deliberately high estimate, an upper bound of what the API would count), against the budget. No model and no network are used.
"""

from __future__ import annotations

import os
import statistics
import sys
from functools import partial
from pathlib import Path

from domain.settings import ReasonerOptions, Settings
from evals.metrics import build_report
from evals.report import to_markdown
from evals.runner import investigate_with, run_eval
from tests.model_stub import ModelStub, Reply, answer


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", type=Path)
    parser.add_argument("--budget", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ.setdefault("ANTHROPIC_API_KEY", "stub-key-no-model-is-called")
    no_count = Reply(status=404, body={"type": "error", "error": {"type": "not_found_error", "message": "no count here"}})
    with ModelStub([], default=answer([]), count=no_count) as stub:
        options = ReasonerOptions(name="claude", base_url=stub.url, input_token_budget=args.budget, max_retries=0)
        settings = Settings.defaults().model_copy(update={"reasoner": options})
        results, _ = run_eval(args.bundles, workers=args.workers, investigate=partial(investigate_with, settings))
    sizes = [r.usage.largest_request_tokens for r in results if r.usage is not None]
    fell_back = sum(r.fell_back for r in results)
    print(to_markdown(build_report(str(args.bundles), results)))
    print(f"requests measured: {len(sizes)} investigations; fell back: {fell_back}; failed: {sum(bool(r.error) for r in results)}")
    if sizes:
        print(f"largest request per investigation (estimated input tokens): median {statistics.median(sizes):.0f}, "
              f"max {max(sizes)}, budget {args.budget}; over budget: {sum(s > args.budget for s in sizes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
