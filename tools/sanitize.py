"""Make untrusted text (log lines, alarm names, titles, change parameters) safe to show.

Text read from telemetry is written by whoever can write a log line or name an alarm. Shown
raw, an escape sequence can clear the engineer's screen or retitle the terminal, a bidi
override can make a line read differently from what it holds, and HTML or link syntax in
the Markdown report can run or mislead in whatever renders it. Both functions keep every
character visible: a control becomes its escape (`\\x1b`, `\\u202e`) instead of vanishing,
so the engineer still sees that something odd was in the data. JSON output needs neither:
`json.dumps` escapes controls itself and must stay exact.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls (a lone 0x9b is a CSI on some
# terminals), and the Unicode format characters that reorder or hide text.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"
    "\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str) -> str:
    """`text` with every control character except newline and tab escaped visibly."""
    return _CONTROL.sub(_escape, str(text))


# ASCII punctuation that starts Markdown syntax (emphasis, code, links, images, headings,
# tables, HTML); CommonMark renders a backslash-escaped one literally.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]()#!|~{}])")
_AUTOLINK = re.compile(r"(?i)(://|www\.)")


def for_markdown(text: str) -> str:
    """`text` as inline Markdown that renders literally: no HTML, links, images or emphasis survive.

    Newlines become spaces so a value cannot open a block (a heading, a list, a raw HTML
    block) of its own; controls are escaped as in the terminal.
    """
    text = for_terminal(str(text)).replace("\n", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    # GitHub-flavoured Markdown links bare URLs; an escaped colon or dot is not a URL.
    return _AUTOLINK.sub(lambda m: "\\:" + m.group()[1:] if m.group() == "://" else m.group()[:3] + "\\.", text)
