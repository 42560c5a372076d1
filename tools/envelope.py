"""One result envelope for every tool call.

Failures reach the analyses (and, later, the reasoner) as data rather than exceptions: a
source that is denied or unavailable becomes a visible gap in the investigation instead of
a crash at 3 a.m.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Status = Literal["ok", "empty", "error", "denied", "unavailable"]


class ToolResult(BaseModel, Generic[T]):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    tool: str
    status: Status
    data: T | None = None
    error: str | None = None
    query: dict[str, Any] = Field(default_factory=dict)
    truncated: bool = False
    note: str | None = Field(default=None, description="what was sampled or cut, and how to narrow the query")
    source_link: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "empty")

    @classmethod
    def success(cls, tool: str, data: T, query: dict[str, Any], *, empty: bool = False, **extra: Any) -> "ToolResult[T]":
        return cls(tool=tool, status="empty" if empty else "ok", data=data, query=query, **extra)

    @classmethod
    def failure(cls, tool: str, status: Status, error: str, query: dict[str, Any]) -> "ToolResult[T]":
        return cls(tool=tool, status=status, error=error, query=query)
