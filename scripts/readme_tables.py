"""Regenerate the documentation's generated tables from the code: ``python scripts/readme_tables.py``.

Each table sits in its home page (:data:`HOMES`) between ``<!-- BEGIN name -->`` and ``<!-- END name -->``
markers. ``tests/test_docs.py`` fails when a page differs from what this script would write, so the tables
cannot drift.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from otel_breakout._variables import VARIABLES  # noqa: E402  # after the path tweak, on purpose


def environment_table() -> str:
    lines = ["| Variable | Default | Meaning | Bad value |", "| --- | --- | --- | --- |"]
    for var in VARIABLES:
        shown = var.shown_default
        default = shown if shown.startswith("`") or not shown else f"`{shown}`"
        bad = "warning, default used" if var.on_invalid == "warn" else "`ConfigError`"
        lines.append(f"| `{var.name}` | {default or '-'} | {var.description} | {bad} |")
    return "\n".join(lines)


def metric_table() -> str:
    from otel_breakout.catalogue import CATALOGUE, prometheus_name

    lines = [
        "| OTel name | Prometheus name | Kind | Unit | Attributes | Meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in CATALOGUE:
        attributes = ", ".join(f"`{a}`" for a in spec.attributes)
        if spec.optional_attributes:
            attributes += (", " if attributes else "") + ", ".join(f"`{a}` (opt-in)" for a in spec.optional_attributes)
        lines.append(
            f"| `{spec.name}` | `{prometheus_name(spec)}` | {spec.kind} | `{spec.unit}` | "
            f"{attributes or '-'} | {spec.description} |"
        )
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\")


GENERATORS: dict[str, Callable[[], str]] = {"environment": environment_table, "metrics": metric_table}


# Where each generated table lives, relative to the repository root.
HOMES: dict[str, str] = {"environment": "docs/environment.md", "metrics": "docs/metric-catalogue.md"}


def block_pattern(name: str) -> re.Pattern[str]:
    """The ``<!-- BEGIN name -->`` ... ``<!-- END name -->`` block of generated table ``name``."""
    return re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)


def render(text: str, names: Iterable[str]) -> str:
    """``text`` with the generated tables ``names`` rewritten from the code; each must have its block."""
    for name in names:
        pattern = block_pattern(name)
        if not pattern.search(text):
            raise SystemExit(f"no <!-- BEGIN {name} --> ... <!-- END {name} --> block")
        text = pattern.sub(rf"\g<1>{_escape(GENERATORS[name]())}\n\g<2>", text)
    return text


def rendered_pages() -> dict[Path, tuple[str, str]]:
    """Each page holding generated tables: its text as it is, and as this script would write it."""
    pages: dict[Path, list[str]] = {}
    for name, home in HOMES.items():
        pages.setdefault(ROOT / home, []).append(name)
    result: dict[Path, tuple[str, str]] = {}
    for path, names in pages.items():
        text = path.read_text(encoding="utf-8")
        result[path] = (text, render(text, names))
    return result


if __name__ == "__main__":
    for page, (current, rendered) in rendered_pages().items():
        if rendered != current:
            page.write_text(rendered, encoding="utf-8")
            print(f"rewrote {page.relative_to(ROOT)}")
