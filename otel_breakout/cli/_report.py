"""``otel-breakout report``: turn diagnostics journals into ``reports/diag_summary.md`` (or JSON).

Exit status: 0 when a report was written (with a warning line on stderr when lines were skipped or some
files could not be read), 1 when no input could be read or the report could not be written, 2 for usage
errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from otel_breakout.report._model_advice import OUTCOME_DEFAULTS

__all__ = ["register"]

_DEFAULT_OUTPUT = {"md": "reports/diag_summary.md", "json": "reports/diag_summary.json"}


def _time(text: str) -> float:
    from otel_breakout.report._timeparse import parse_time

    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a share above 0 and at most 1 (0.5 means 50%)")
    return value


def _horizons(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected bar counts separated by commas, such as 5,10,20"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: expected bar counts of 1 or more, such as 5,10,20")
    return values


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1e8:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number")
    return value


def _bps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 10_000:
        raise argparse.ArgumentTypeError(f"{text!r}: expected basis points from 0 to 9999 (10 means 0.1%)")
    return value


def register(subparsers: Any) -> None:
    from otel_breakout._setting import variable_of
    from otel_breakout._settings import DiagnosticsSettings, ReportSettings
    from otel_breakout.cli._options import setting_help, setting_type
    from otel_breakout.report._timeparse import TIME_HELP

    margin = variable_of(DiagnosticsSettings, "near_miss_margin")
    workers = variable_of(ReportSettings, "workers")

    parser = subparsers.add_parser(
        "report",
        help="summarise diagnostics journals: top reasons, funnel, near misses, threshold advice",
        description="Read diagnostics journals (JSONL, plain or gzip) and write a report: ranked failure "
        "reasons, the funnel per stage, near misses and threshold advice judged by outcomes (with --prices, or "
        "closes recorded in the journal).",
    )
    parser.add_argument("inputs", nargs="+", metavar="PATH_OR_GLOB", help="journal files, globs or directories")
    parser.add_argument("-o", "--output", help="where to write ('-' for stdout); default reports/diag_summary.md")
    parser.add_argument("--format", choices=("md", "json"), default="md", help="Markdown (default) or JSON")
    parser.add_argument("--since", type=_time, help=f"only events at or after this time: {TIME_HELP}")
    parser.add_argument("--until", type=_time, help="only events at or before this time (same forms)")
    parser.add_argument("--symbol", action="append", dest="symbols", metavar="S", help="only this symbol (repeat)")
    parser.add_argument("--session", action="append", dest="sessions", metavar="ID", help="only this session")
    parser.add_argument(
        "--margin", type=setting_type(margin), help=setting_help("near-miss margin, fraction of the threshold", margin)
    )
    parser.add_argument(
        "--recover-share",
        type=_share,
        default=0.5,
        help="the what-if row marked: the smallest change recovering this share of the signals a check alone "
        "blocked (of its near misses when none); untested, for comparison",
    )
    outcomes = parser.add_argument_group(
        "outcomes", "judge each threshold by what the candidates it blocked did next (needs prices)"
    )
    outcomes.add_argument(
        "--prices",
        action="append",
        default=[],
        metavar="FILE",
        help="candles: CSV with symbol, timestamp and close columns (ccxt's OHLCV plus a symbol), or freqtrade's "
        "JSON data files; plain or gzip; paths, globs or directories (repeat)",
    )
    defaults = OUTCOME_DEFAULTS
    # (flag, parser, default, metavar, help): the defaults are the report's own (OutcomeSettings).
    options: tuple[tuple[str, Any, Any, str, str], ...] = (
        ("--horizons", _horizons, defaults.horizons, "N,N",
         f"forward returns after N bars ({','.join(map(str, defaults.horizons))})"),
        ("--horizon", int, None, "N", f"the horizon verdicts use ({defaults.horizon})"),
        ("--cost-bps", _bps, defaults.cost_bps, "BPS",
         f"round-trip fees and slippage, basis points ({defaults.cost_bps:g})"),
        ("--min-outcomes", int, defaults.min_outcomes, "N",
         f"outcomes per group a verdict needs ({defaults.min_outcomes})"),
        ("--edge-share", _share, defaults.edge_share, "SHARE",
         f"a loosening needs the blocked candidates to beat this share of the signals' average "
         f"({defaults.edge_share:g})"),
    )  # fmt: skip
    for flag, parse, default, metavar, text in options:
        outcomes.add_argument(flag, type=parse, default=default, metavar=metavar, help=text)
    outcomes.add_argument(
        "--bar-seconds", type=_positive, default=None, metavar="S", help="candle length (default: from the prices)"
    )
    parser.add_argument(
        "--workers",
        type=setting_type(workers),
        help=setting_help("processes for large inputs (0: one per idle core)", workers),
    )
    parser.add_argument(
        "--progress", choices=("auto", "always", "never"), default="auto", help="progress bar (auto: terminal, 50 MB+)"
    )
    parser.set_defaults(func=run)


def _write(text: str, output: str) -> None:
    """Write atomically, so a reader never sees half a report and a failed run keeps the previous one."""
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _warn(message: str) -> None:
    print(f"otel-breakout report: warning: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    import orjson

    from otel_breakout.cli._progress import ProgressBar, want_progress
    from otel_breakout.report import DiagnosticsReportBuilder

    horizons = tuple(args.horizons)
    default = OUTCOME_DEFAULTS.horizon
    horizon = args.horizon if args.horizon is not None else (default if default in horizons else max(horizons))
    if horizon not in horizons:
        horizons = tuple(sorted({*horizons, horizon}))
    try:
        builder = DiagnosticsReportBuilder(
            args.inputs,
            near_miss_margin=args.margin,
            recover_share=args.recover_share,
            since=args.since,
            until=args.until,
            symbols=args.symbols,
            sessions=args.sessions,
            workers=args.workers,
            prices=args.prices,
            horizons=horizons,
            horizon=horizon,
            cost_bps=args.cost_bps,
            min_outcomes=args.min_outcomes,
            edge_share=args.edge_share,
            bar_seconds=args.bar_seconds,
        )
    except ValueError as exc:
        print(f"otel-breakout report: {exc}", file=sys.stderr)
        return 2
    for pattern in builder.unmatched:
        _warn(f"nothing matches {pattern!r}")
    for pattern in builder.price_unmatched:
        _warn(f"no price file matches {pattern!r}")
    readable = [f for f in builder.files if f.error is None]
    for source in builder.files:
        if source.error is not None:
            _warn(f"cannot read {source.path}: {source.error}")
    if not readable:
        print("otel-breakout report: error: no input could be read; no report written", file=sys.stderr)
        return 1
    bar = ProgressBar(sys.stderr) if want_progress(args.progress, sys.stderr, builder.total_bytes) else None
    try:
        report = builder.build(progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    if not report.readable:
        print("otel-breakout report: error: no input could be read; no report written", file=sys.stderr)
        return 1
    if args.format == "json":
        text = orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"
    else:
        text = report.to_markdown()
    output = args.output or _DEFAULT_OUTPUT[args.format]
    if output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            _write(text, output)
        except OSError as exc:
            print(f"otel-breakout report: error: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    t = report.totals
    destination = "stdout" if output == "-" else output
    print(
        f"otel-breakout report: {t.events:,} events from {t.files} file(s), {t.failures:,} failures -> {destination}",
        file=sys.stderr,
    )
    if t.skipped_lines:
        causes = ", ".join(f"{row.cause} {row.count:,}" for row in report.skipped)
        _warn(f"skipped {t.skipped_lines:,} lines ({causes}); see 'Input problems' in the report")
    for read in report.files:
        if read.error is not None and read.lines:
            _warn(f"{read.path} stopped after {read.lines:,} lines: {read.error}")
    outcomes = report.outcomes
    if outcomes is not None:
        for priced in outcomes.prices:
            if priced.error is not None:
                _warn(f"cannot read prices {priced.path}: {priced.error}")
        if args.prices and outcomes.basis != "outcomes":
            _warn("no signal candidate has an outcome; see 'Outcomes' in the report")
    return 0
