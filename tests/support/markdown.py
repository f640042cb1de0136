"""Reading our Markdown as GitHub renders it: headings and their anchors, links, and links that do not resolve."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

from tests.support.stack import github_anchor

__all__ = ["anchors", "broken_links", "links", "prose"]

_FENCE = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[^\n]*$", re.S | re.M)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
# [text](target) or [text](target "title"), not images; the text may hold one level of brackets.
_LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, ...


def prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code: what GitHub renders as Markdown, not as code."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of ``text``; a repeated heading gets ``-1``, ``-2``, ..."""
    seen: Counter[str] = Counter()
    result: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        anchor = github_anchor(heading)
        result.add(f"{anchor}-{seen[anchor]}" if seen[anchor] else anchor)
        seen[anchor] += 1
    return result


def links(text: str) -> list[str]:
    """Every link target in the Markdown of ``text`` (code excluded), in order."""
    return _LINK.findall(prose(text))


def broken_links(page: Path, root: Path) -> list[str]:
    """The relative links of ``page`` whose file (inside ``root``) or anchor does not exist, as ``target: why``."""
    broken: list[str] = []
    for target in links(page.read_text(encoding="utf-8")):
        if _EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page.resolve()
        if not resolved.is_relative_to(root.resolve()):
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor:
            if resolved.suffix != ".md" or resolved.is_dir():
                broken.append(f"{target}: an anchor into a file that is not Markdown")
            elif unquote(anchor) not in anchors(resolved.read_text(encoding="utf-8")):
                broken.append(f"{target}: no heading with that anchor")
    return broken
