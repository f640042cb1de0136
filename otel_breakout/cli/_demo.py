"""``otel-breakout demo``: a simulated breakout engine, fully instrumented, with its API and a report."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _report_problem(report: str) -> str | None:
    """Why ``report`` could not be written (None when it can): its directory made and a file created in it, as
    the final write will."""
    path = Path(report)
    if path.is_dir():
        return "it is a directory"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".check"):
            pass
        if path.exists() and not os.access(path, os.W_OK):
            return "it is not writable"
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def register(subparsers: Any) -> None:
    from otel_breakout._setting import variable_of
    from otel_breakout._settings import ApiSettings, DiagnosticsSettings
    from otel_breakout.cli._options import setting_help, setting_type
    from otel_breakout.demo._scenarios import SCENARIOS

    # The demo takes the settings' defaults, not the environment: the same command runs the same demo anywhere.
    host, port = variable_of(ApiSettings, "host"), variable_of(ApiSettings, "port")
    diag_dir = variable_of(DiagnosticsSettings, "output_dir")

    parser = subparsers.add_parser(
        "demo",
        help="run a simulated breakout engine with the API, and write a diagnostics report at the end",
        description="Runs an instrumented breakout engine on a simulated market, serves the metrics API in the "
        "same process, and writes a diagnostics report when it stops (end of duration or Ctrl-C).",
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument(
        "--duration",
        type=_non_negative_float,
        default=None,
        metavar="S",
        help="stop after S seconds (default 60, unless --cycles is given)",
    )
    length.add_argument("--cycles", type=_positive_int, default=None, metavar="N", help="stop after N cycles")
    parser.add_argument("--symbols", type=_positive_int, default=200, metavar="N", help="simulated symbols (200)")
    parser.add_argument("--seed", type=int, default=7, metavar="N", help="market seed; same seed, same run (7)")
    parser.add_argument(
        "--scenario",
        default="default",
        choices=sorted(SCENARIOS),
        help="market and thresholds: default, a planted fault, starved or leaky",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one threshold (repeatable; see --list-settings)",
    )
    parser.add_argument(
        "--config",
        dest="config_file",
        metavar="FILE.toml",
        help="thresholds from a TOML file (top-level keys or a [thresholds] table)",
    )
    parser.add_argument("--list-settings", action="store_true", help="print every threshold and its default")
    parser.add_argument(
        "--host", default=host.default, help=setting_help("API bind address", host, from_environment=False)
    )
    parser.add_argument(
        "--port",
        type=setting_type(port),
        default=port.default,
        help=setting_help("API port, 0 picks a free one", port, from_environment=False),
    )
    parser.add_argument("--no-api", dest="serve", action="store_false", help="do not serve the API")
    parser.add_argument(
        "--linger",
        type=_non_negative_float,
        default=0.0,
        metavar="S",
        help="keep serving the API S seconds after the engine stops (0)",
    )
    parser.add_argument(
        "--diag-dir",
        default=diag_dir.default,
        help=setting_help("diagnostics journal directory", diag_dir, from_environment=False),
    )
    parser.add_argument(
        "--report", default="reports/diag_summary.md", help="report path (reports/diag_summary.md; a .json path: JSON)"
    )
    parser.add_argument(
        "--speed",
        type=_non_negative_float,
        default=4.0,
        metavar="X",
        help="engine cycles per second (4; 0 runs as fast as the engine can)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from otel_breakout.demo._config import DemoConfig
    from otel_breakout.demo._runner import DemoOptions, build_config, install_signal_handlers, run_demo

    if args.list_settings:
        defaults = DemoConfig()
        for name in DemoConfig.names():
            print(f"{name} = {getattr(defaults, name)!r}")
        return 0
    duration = args.duration if args.duration is not None else (None if args.cycles else 60.0)
    options = DemoOptions(
        duration_s=duration or None,
        cycles=args.cycles,
        symbols=args.symbols,
        seed=args.seed,
        scenario=args.scenario,
        settings=tuple(args.settings),
        config_file=args.config_file,
        host=args.host,
        port=args.port,
        diag_dir=args.diag_dir,
        report=args.report,
        speed=args.speed,
        serve=args.serve,
        linger_s=args.linger,
    )
    build_config(options)  # a bad scenario, file or --set fails here, before anything starts
    problem = _report_problem(args.report)
    if problem is not None:
        # The report is written when the run ends: find out now, not after a whole run.
        print(f"otel-breakout demo: error: cannot write the report to {args.report}: {problem}", file=sys.stderr)
        return 2
    stop = threading.Event()
    restore = install_signal_handlers(stop)
    try:
        run_demo(options, out=sys.stdout, stop=stop)
    except OSError as exc:
        print(f"otel-breakout demo: {exc}", file=sys.stderr)
        return 1
    finally:
        restore()
    return 0
