"""One declaration per setting: the rule, and everything that derives from it (sections, table, keywords)."""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from otel_breakout import (
    ApiSettings,
    ConfigError,
    DiagnosticsCollector,
    DiagnosticsSettings,
    MetricsSettings,
    ReportSettings,
    ResourceLimits,
    ResourceSettings,
    Settings,
    configure,
)
from otel_breakout._setting import Variable, override, variable_of, variables_of
from otel_breakout._variables import ARGUMENT_VARIABLES, CONFIGURE_ARGUMENTS, VARIABLES
from otel_breakout.cli import main
from otel_breakout.report import DiagnosticsReportBuilder

SECTIONS = (ApiSettings, DiagnosticsSettings, MetricsSettings, ReportSettings, ResourceSettings)
MARGIN = variable_of(DiagnosticsSettings, "near_miss_margin")


def test_every_section_field_is_declared_by_a_variable_listed_once() -> None:
    for section in SECTIONS:
        declared = list(variables_of(section))
        assert len(declared) == len(fields(section)), section
        for item in fields(section):
            variable = variable_of(section, item.name)
            assert item.default == variable.default, (section, item.name)
    names = [v.name for v in VARIABLES]
    assert len(names) == len(set(names))
    assert {v.name for section in SECTIONS for v in variables_of(section)} <= set(names)


@pytest.mark.parametrize("variable", [v for v in VARIABLES if v.kind != "rule"], ids=lambda v: v.name)
def test_every_default_obeys_its_own_rule(variable: Variable[Any]) -> None:
    # A default its own rule would refuse could never be set back by the variable: the declarations disagree.
    if variable.default is None:
        return
    default = variable.default
    parsed = variable.parse(default if not isinstance(default, tuple) else ",".join(default))
    expected = default.lower() if variable.kind == "choice" else default
    assert parsed == expected


def test_settings_from_an_empty_environment_are_the_declared_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_resource_limits_are_the_settings_limits_not_a_copy() -> None:
    assert issubclass(ResourceSettings, ResourceLimits)
    limit_names = [f.name for f in fields(ResourceLimits)]
    assert limit_names == [
        "max_cpu_percent", "max_memory_percent", "max_memory_mb", "max_disk_percent", "max_threads", "max_open_files",
    ]  # fmt: skip
    settings = Settings.from_env({"OTEL_BREAKOUT_RESOURCE_MAX_THREADS": "40", "OTEL_BREAKOUT_RESOURCE_INTERVAL": "2"})
    limits = ResourceLimits.from_settings(settings.resources)
    assert type(limits) is ResourceLimits
    assert limits == ResourceLimits(max_threads=40)
    assert ResourceLimits() == ResourceLimits.from_settings(ResourceSettings())


def test_rules_and_their_words() -> None:
    port = variable_of(ApiSettings, "port")
    assert port.allowed == "an integer from 0 to 65535"
    assert port.parse("9100") == 9100 and port.parse(80.0) == 80
    for bad in ("70000", "-1", "http", True, 8.5):
        with pytest.raises(ValueError):
            port.parse(bad)
    sinks = variable_of(DiagnosticsSettings, "sinks")
    assert sinks.parse("JSONL, logs") == ("jsonl", "logs")
    assert sinks.parse("none") == () and sinks.parse([]) == ()
    assert sinks.parse(["metrics", "spans"]) == ("metrics", "spans")
    with pytest.raises(ValueError):
        sinks.parse("none,jsonl")
    assert variable_of(ResourceSettings, "interval_s").allowed == "a number from 0.01 to 86400"
    assert MARGIN.shown_default == "0.1" and variable_of(ResourceSettings, "log_dir").shown_default == "unset"
    assert variable_of(ResourceSettings, "log_patterns").shown_default == "*.log,*.log.*,*.jsonl,*.jsonl.*"


def test_a_checked_argument_names_its_keyword_and_hides_secrets() -> None:
    token = variable_of(ApiSettings, "token")
    with pytest.raises(ConfigError) as caught:
        token.check("short-secret", "token")
    assert caught.value.source == "token" and "short-secret" not in str(caught.value)
    assert override(ApiSettings(port=1234), "port", None) == 1234
    assert override(ApiSettings(), "port", 9000) == 9000
    with pytest.raises(ConfigError, match=r"port=-5 is not valid; expected an integer from 0 to 65535"):
        override(ApiSettings(), "port", -5)
    flush = variable_of(DiagnosticsSettings, "flush_interval_ms")
    assert flush.check_scaled(0.5, 0.001, "flush_interval") == 0.5
    with pytest.raises(ConfigError, match=r"flush_interval=5 is not valid; expected a number from 0.01 to 1"):
        flush.check_scaled(5, 0.001, "flush_interval")


def test_configure_takes_exactly_the_declared_arguments() -> None:
    parameters = set(inspect.signature(configure).parameters) - {"environ", "_auto_instrumentation_version"}
    assert parameters == set(CONFIGURE_ARGUMENTS)
    # Every argument overrides a declared variable, or sets a resource attribute.
    assert set(CONFIGURE_ARGUMENTS) - set(ARGUMENT_VARIABLES) == {"service_version", "service_instance_id"}
    known = {v.name for v in VARIABLES}
    assert set(ARGUMENT_VARIABLES.values()) <= known


@pytest.mark.parametrize("margin", [0.05, 1.0])
def test_the_near_miss_margin_is_accepted_by_one_rule_everywhere(
    margin: float, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "diag_S_1.jsonl"
    journal.write_text("")
    settings = Settings.from_env({"OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN": str(margin)})
    assert settings.diagnostics.near_miss_margin == margin
    with DiagnosticsCollector(output_dir=tmp_path, settings=settings, near_miss_margin=margin, enabled=False):
        pass
    report = DiagnosticsReportBuilder([journal], near_miss_margin=margin, settings=Settings.from_env({})).build()
    assert report.options.near_miss_margin == margin
    assert main(["report", str(journal), "--margin", str(margin), "--format", "json", "-o", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["options"]["near_miss_margin"] == margin


@pytest.mark.parametrize("margin", [0.0, -0.1, 1.5, 10.0, math.nan, math.inf])
def test_the_near_miss_margin_is_refused_by_one_rule_everywhere(
    margin: float, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError, match="OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN"):
        Settings.from_env({"OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN": str(margin)})
    settings = Settings.from_env({})
    with pytest.raises(ConfigError, match="near_miss_margin") as collector:
        DiagnosticsCollector(output_dir=tmp_path, settings=settings, near_miss_margin=margin, enabled=False)
    with pytest.raises(ConfigError, match="near_miss_margin") as builder:
        DiagnosticsReportBuilder([tmp_path], near_miss_margin=margin, settings=settings)
    assert collector.value.allowed == builder.value.allowed == MARGIN.allowed
    with pytest.raises(SystemExit) as cli:
        main(["report", str(tmp_path), "--margin", str(margin)])
    assert cli.value.code == 2
    assert f"expected {MARGIN.allowed}" in capsys.readouterr().err


def test_the_report_takes_the_settings_margin_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "diag_S_1.jsonl"
    journal.write_text("")
    settings = Settings.from_env({"OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN": "0.25"})
    assert DiagnosticsReportBuilder([journal], settings=settings).build().options.near_miss_margin == 0.25
    monkeypatch.setenv("OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN", "0.3")
    assert main(["report", str(journal), "--format", "json", "-o", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["options"]["near_miss_margin"] == 0.3
    assert main(["report", str(journal), "--margin", "0.2", "--format", "json", "-o", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["options"]["near_miss_margin"] == 0.2


def test_report_keywords_follow_the_report_variables() -> None:
    settings = Settings.from_env({})
    with pytest.raises(ConfigError, match="workers"):
        DiagnosticsReportBuilder("x", workers=-1, settings=settings)
    with pytest.raises(ConfigError, match="trace_url_template"):
        DiagnosticsReportBuilder("x", trace_url_template="http://x/{trace_id} y", settings=settings)
