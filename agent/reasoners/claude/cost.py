"""Estimated cost of the tokens an investigation used, from list prices (USD per million tokens).

Prices change: these are the published list prices when this was written, matched by model
family; an unknown model gets no estimate rather than a wrong one.
"""

from __future__ import annotations

from domain.models import ModelUsage

# family substring -> (input, output); cache reads cost 0.1x input, 5-minute cache writes 1.25x.
PRICES: dict[str, tuple[float, float]] = {
    "opus-4-5": (5.0, 25.0),
    "opus-4-6": (5.0, 25.0),
    "opus": (15.0, 75.0),
    "sonnet": (3.0, 15.0),
    "haiku-4": (1.0, 5.0),
    "haiku": (0.8, 4.0),
}
CACHE_READ = 0.1
CACHE_WRITE = 1.25


def price(model: str) -> tuple[float, float] | None:
    name = model.lower()
    return next((p for family, p in PRICES.items() if family in name), None)


def estimate_cost(model: str, usage: ModelUsage) -> float | None:
    found = price(model)
    if found is None:
        return None
    per_in, per_out = found
    total = (usage.input_tokens * per_in + usage.cache_read_tokens * per_in * CACHE_READ
             + usage.cache_write_tokens * per_in * CACHE_WRITE + usage.output_tokens * per_out)
    return round(total / 1_000_000, 6)


def usage_line(usage: ModelUsage) -> str:
    cost = f"~${usage.cost_usd:.4f}" if usage.cost_usd is not None else "cost unknown for this model"
    return (f"{usage.requests} request(s): {usage.input_tokens} input + {usage.cache_read_tokens} cached "
            f"+ {usage.cache_write_tokens} cache-write, {usage.output_tokens} output tokens, {cost}; "
            f"largest request {usage.largest_request_tokens} of a {usage.budget_tokens}-token budget")
