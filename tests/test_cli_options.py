"""CLI options for declared settings: the variable's rule, default and help."""

from __future__ import annotations

import argparse

import pytest

from otel_breakout import ApiSettings, DiagnosticsSettings
from otel_breakout._setting import variable_of
from otel_breakout.cli import build_parser
from otel_breakout.cli._options import setting_help, setting_type


def test_an_option_is_parsed_by_its_variable() -> None:
    port = variable_of(ApiSettings, "port")
    parse = setting_type(port)
    assert parse("0") == 0 and parse("65535") == 65535
    with pytest.raises(argparse.ArgumentTypeError, match=r"'70000': expected an integer from 0 to 65535"):
        parse("70000")


def test_help_names_the_variable_and_its_default() -> None:
    margin = variable_of(DiagnosticsSettings, "near_miss_margin")
    assert setting_help("margin", margin) == "margin (default: OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN, 0.1)"
    assert setting_help("port", variable_of(ApiSettings, "port"), from_environment=False) == "port (8000)"


def test_the_demo_takes_the_declared_defaults() -> None:
    args = build_parser().parse_args(["demo"])
    assert (args.host, args.port, args.diag_dir) == (
        ApiSettings().host, ApiSettings().port, DiagnosticsSettings().output_dir,
    )  # fmt: skip
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--port", "-1"])
