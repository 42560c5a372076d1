from __future__ import annotations

from pydantic import BaseModel, Field

from domain.errors import UserError


class Problem(BaseModel):
    """One thing wrong with a bundle, located by file and field."""

    file: str
    field: str = ""
    message: str
    blocking: bool = Field(
        default=True,
        description="False for data the investigation can still use by ignoring it (non-finite or duplicate points)",
    )

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class BundleError(UserError):
    """A bundle cannot be used; the message is one line naming the file and field."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = str(problems[0])
        more = f" (and {len(problems) - 1} more problem(s); run `investigator validate`)" if len(problems) > 1 else ""
        super().__init__(first + more)
