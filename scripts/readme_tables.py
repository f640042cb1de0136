"""Regenerate the README's generated tables from the code: ``python scripts/readme_tables.py``.

Each table sits between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers. ``tests/test_readme.py``
fails when the README differs from what this script would write, so the tables cannot drift.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
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


def render(readme: str) -> str:
    for name, generate in GENERATORS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no <!-- BEGIN {name} --> ... <!-- END {name} --> block")
        readme = pattern.sub(rf"\g<1>{_escape(generate())}\n\g<2>", readme)
    return readme


if __name__ == "__main__":
    path = ROOT / "README.md"
    path.write_text(render(path.read_text()))
