"""The Jinja2 environment for the templates in the `prompts` package.

Templates are read with `importlib.resources`, so they load the same from a checkout, an
editable install and a wheel. Undefined names fail (`StrictUndefined`) instead of rendering
as empty text.
"""

from __future__ import annotations

from importlib.resources import files

from jinja2 import Environment, FunctionLoader, StrictUndefined

TEMPLATE_PACKAGE = "prompts"


def _source(name: str) -> str | None:
    resource = files(TEMPLATE_PACKAGE).joinpath(name)
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


def environment() -> Environment:
    return Environment(
        loader=FunctionLoader(_source), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
