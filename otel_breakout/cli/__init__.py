"""The ``otel-breakout`` command line.

Each subcommand lives in its own ``_<name>.py`` module exposing ``register(subparsers)``; the module
imports its heavy dependencies inside the command so ``otel-breakout --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from otel_breakout._settings import ConfigError
from otel_breakout._version import __version__

__all__ = ["main"]

# Add a subcommand by adding its module here.
_COMMANDS = (
    "otel_breakout.cli._env",
    "otel_breakout.cli._serve",
    "otel_breakout.cli._snapshot",
    "otel_breakout.cli._report",
    "otel_breakout.cli._demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otel-breakout",
        description="OpenTelemetry observability for breakout trading bots.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in _COMMANDS:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = getattr(args, "func", None)
    if command is None:
        parser.print_help()
        return 2
    try:
        return int(command(args))
    except ConfigError as exc:
        print(f"otel-breakout: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
