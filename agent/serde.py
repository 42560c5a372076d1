"""The checkpoint serializer: LangGraph's msgpack serializer with the state's types allow-listed.

LangGraph revives pydantic models from a checkpoint only for types it was told about; for
anything else it warns today and will refuse in a later version. The allow-list is computed
from the state model's own fields, so a model added to the state is registered without
anyone remembering to do it here.
"""

from __future__ import annotations

import types
import typing

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel


def _models_in(annotation: object, found: set[type[BaseModel]]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in found:
            return
        found.add(annotation)
        for field in annotation.model_fields.values():
            _models_in(field.annotation, found)
        return
    for arg in typing.get_args(annotation):
        _models_in(arg, found)
    if isinstance(annotation, types.UnionType):
        for arg in annotation.__args__:
            _models_in(arg, found)


def state_types(*roots: type[BaseModel]) -> list[tuple[str, str]]:
    """(module, name) of every pydantic model reachable from `roots`' fields."""
    found: set[type[BaseModel]] = set()
    for root in roots:
        _models_in(root, found)
    return sorted((cls.__module__, cls.__qualname__) for cls in found)


def checkpoint_serializer() -> JsonPlusSerializer:
    """A serializer that revives exactly the investigation's state types (and LangGraph's own)."""
    from agent.nodes.review import RerunRequest
    from agent.state import InvestigationInput, InvestigationState, ReviewRequest

    # The input and the resume value sit in pending writes of a run stopped before its first step.
    roots = (InvestigationState, InvestigationInput, ReviewRequest, RerunRequest)
    return JsonPlusSerializer(allowed_msgpack_modules=state_types(*roots))
