"""Reasoners: what turns ranked candidates into explained hypotheses (title, reasoning, next
steps). The protocol is in `base`, the no-LLM reasoner in `deterministic`."""
