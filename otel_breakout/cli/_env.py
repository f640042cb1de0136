"""``otel-breakout env``: the effective settings and the variables behind them, secrets masked."""

from __future__ import annotations

import argparse
import json
from typing import Any

from otel_breakout._settings import Settings, environment_variables

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("env", help="print the effective settings (secrets masked)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of aligned text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    effective = settings.as_dict(mask_secrets=True)
    environment = environment_variables()
    if args.json:
        print(json.dumps({"settings": effective, "environment": environment}, indent=2, default=str))
        return 0
    print("# effective settings")
    for key, value in effective.items():
        print(f"{key:32} {json.dumps(value, default=str)}")
    print("\n# variables set in the environment")
    for name, value in environment.items() or [("(none)", "")]:
        print(f"{name}={value}" if value else name)
    return 0
