"""Reasoners: what turns the engine's ranked candidates into the hypotheses an engineer reads.

The deterministic engine is the default and needs no model; `claude` reads the same findings
through the Anthropic SDK and is grounded by code (agent/reasoners/claude/grounding.py).
"""
