"""Game-day scenario library: deterministic AWS-shaped incidents on a reference application.

`evals.gameday.generate.build(name, seed)` returns one incident; `suite()` writes bundles.
See docs/gameday.md.
"""
