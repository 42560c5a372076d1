"""Reasoners: what turns ranked candidates into explained hypotheses (title, reasoning, next
steps). The protocol is in `base`, the no-LLM reasoner in `deterministic`.

Claude (`claude/`, chosen by `settings.reasoner.name`) runs after them: it reads the
explained hypotheses and compact findings, may dig through the TelemetrySource, and its
answer is grounded by code (claude/grounding.py); it reports tokens and cost, so it is a
step of its own rather than a `Reasoner.explain`.
"""
