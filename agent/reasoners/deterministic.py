"""The no-LLM reasoner: hypotheses worded from templates over the ranker's quantities.

It lives with its templates in agent/ranking/explanation.py (the ranker's default); this is
its name among the reasoners.
"""

from __future__ import annotations

from agent.ranking.explanation import DeterministicReasoner

__all__ = ["DeterministicReasoner"]
