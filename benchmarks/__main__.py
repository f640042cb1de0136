"""Run every ``benchmarks/bench_*.py`` module and print one table: name, ours, baseline, ratio, budget.

Each module defines ``run(quick: bool) -> Iterable[Row]``. ``--quick`` shrinks the workloads (for a smoke
check, not for quoting); ``--only NAME`` runs the modules whose name contains NAME.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from collections.abc import Iterable

from benchmarks._harness import Row


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
            if abs(value) >= scale or suffix == "ns":
                return f"{value / scale:.3g} {suffix}"
    return f"{value:.3g} {unit}".strip()


def render(rows: Iterable[Row]) -> str:
    lines = ["| name | ours | baseline | ratio | budget |", "| --- | ---: | ---: | ---: | --- |"]
    for row in rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        lines.append(
            f"| {row.name} | {_fmt(row.ours, row.unit)} | {_fmt(row.baseline, row.unit)} | {ratio} | {row.budget} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small workloads: a smoke run, not figures to quote")
    parser.add_argument("--only", default="", help="run only modules whose name contains this")
    args = parser.parse_args(argv)
    import benchmarks

    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    rows: list[Row] = []
    for name in names:
        if args.only not in name:
            continue
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        new = list(module.run(args.quick))
        rows.extend(new)
        print(f"# {name}: {len(new)} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
