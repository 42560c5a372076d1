"""The domain layer: models, ids and errors that every other layer shares.

Nothing here imports from `tools`, `agent`, `evals` or `ui`: it is the bottom of the stack
(docs/architecture.md).
"""
