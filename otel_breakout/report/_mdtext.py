"""Text helpers shared by the Markdown renderers: safe code spans and number formats.

Every string that comes from a journal (reasons, symbols, stages, paths) is shown in a code span with
backticks, pipes and line breaks neutralised, so a hostile journal cannot inject links, HTML or break a
table.
"""

from __future__ import annotations

__all__ = ["code", "g", "n", "pct"]

_MAX_TEXT = 120


def code(text: object) -> str:
    value = str(text)
    if len(value) > _MAX_TEXT:
        value = value[: _MAX_TEXT - 1] + "…"
    value = value.replace("`", "'").replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    return f"`{value}`"


def n(value: int) -> str:
    return f"{value:,}"


def g(value: float) -> str:
    return f"{value:.6g}"


def pct(value: float) -> str:
    return f"{value:.1%}"
