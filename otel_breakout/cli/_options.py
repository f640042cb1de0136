"""Command-line options for declared settings: their parser, their default and their help, from the declaration."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from otel_breakout._setting import Variable

__all__ = ["setting_help", "setting_type"]

_T = TypeVar("_T")


def setting_type(variable: Variable[_T]) -> Callable[[str], _T]:
    """An argparse ``type`` holding an option to the rule of the variable it overrides."""

    def parse(text: str) -> _T:
        try:
            return variable.parse(text)
        except (ValueError, TypeError):
            raise argparse.ArgumentTypeError(f"{text!r}: expected {variable.allowed}") from None

    parse.__name__ = variable.name  # argparse names the type in some messages
    return parse


def setting_help(text: str, variable: Variable[Any], *, from_environment: bool = True) -> str:
    """``text`` with the default the option falls back to: the variable (when it is read) and its default."""
    default = variable.shown_default.replace("%", "%%")  # argparse %-formats help texts
    return f"{text} (default: {variable.name}, {default})" if from_environment else f"{text} ({default})"
