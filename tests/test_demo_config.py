from __future__ import annotations

from pathlib import Path

import pytest

from otel_breakout import ConfigError
from otel_breakout.demo._config import FILTERS, DemoConfig
from otel_breakout.demo._runner import DemoOptions, build_config
from otel_breakout.demo._scenarios import SCENARIOS, get_scenario


def test_set_parses_to_the_field_type() -> None:
    config = DemoConfig().with_settings(["min_volume=12.5", "max_positions=3", "momentum_volume_ratio = 2.5"])
    assert config.min_volume == 12.5
    assert config.max_positions == 3 and isinstance(config.max_positions, int)
    assert config.momentum_volume_ratio == 2.5


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("min_volum=1", "one of"),
        ("min_volume", "NAME=VALUE"),
        ("=3", "NAME=VALUE"),
        ("min_volume=lots", "a float"),
        ("min_volume=nan", "a float"),
        ("max_positions=2.5", "a int"),
        ("max_positions=", "a int"),
    ],
)
def test_bad_assignments_name_the_setting(assignment: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DemoConfig().with_settings([assignment])


def test_toml_file_top_level_or_thresholds_table(tmp_path: Path) -> None:
    flat = tmp_path / "flat.toml"
    flat.write_text("min_volume = 1000.0\nmax_positions = 2\n")
    table = tmp_path / "table.toml"
    table.write_text("[thresholds]\nmax_spread_bps = 30\n")
    assert DemoConfig().with_toml(flat).min_volume == 1000.0
    assert DemoConfig().with_toml(table).max_spread_bps == 30.0
    bad = tmp_path / "bad.toml"
    bad.write_text("min_volume = [")
    with pytest.raises(ConfigError, match="TOML"):
        DemoConfig().with_toml(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("nope = 1\n")
    with pytest.raises(ConfigError, match="nope"):
        DemoConfig().with_toml(unknown)


def test_precedence_scenario_then_toml_then_set(tmp_path: Path) -> None:
    toml = tmp_path / "t.toml"
    toml.write_text("momentum_volume_ratio = 4.0\nmin_volume = 5.0\n")
    options = DemoOptions(scenario="strict_volume", config_file=str(toml), settings=("min_volume=7",))
    config = build_config(options)
    assert config.momentum_volume_ratio == 4.0  # TOML beats the scenario
    assert config.min_volume == 7.0  # --set beats TOML
    assert build_config(DemoOptions(scenario="strict_volume")).momentum_volume_ratio == 6.0


def test_every_filter_reads_a_real_setting() -> None:
    names = set(DemoConfig.names())
    assert {spec.field for spec in FILTERS} <= names
    assert [spec.name for spec in FILTERS] == ["min_volume", "min_trades_per_minute", "atr_range", "spread",
                                               "correlation"]  # fmt: skip


def test_scenarios_override_only_known_settings() -> None:
    for scenario in SCENARIOS.values():
        DemoConfig().with_overrides(scenario.overrides, source=scenario.name)
    with pytest.raises(ConfigError, match="--scenario"):
        get_scenario("nope")
    planted = [s for s in SCENARIOS.values() if s.planted_reason]
    assert len(planted) >= 3


def test_cli_lists_settings_and_refuses_bad_ones(capsys: pytest.CaptureFixture[str]) -> None:
    from otel_breakout.cli import main

    assert main(["demo", "--list-settings"]) == 0
    listed = capsys.readouterr().out
    assert "min_atr_pct = 0.25" in listed and "momentum_volume_ratio = 2.0" in listed
    assert main(["demo", "--no-api", "--cycles", "1", "--set", "min_atr=1"]) == 2
    assert "configuration error: --set min_atr='1' is not valid" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--scenario", "nope"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("shape", ["under a regular file", "a directory"])
def test_an_unwritable_report_fails_before_the_run(tmp_path: Path, shape: str) -> None:
    import subprocess

    from tests.support.binaries import venv_bin

    blocker = tmp_path / "blocker"
    blocker.write_text("")
    report = blocker / "report.md" if shape == "under a regular file" else tmp_path
    diag = tmp_path / "diag"
    args = ["demo", "--no-api", "--duration", "120", "--diag-dir", str(diag), "--report", str(report)]
    try:
        done = subprocess.run([venv_bin("otel-breakout"), *args], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the demo ran before finding out that its report could not be written")
    assert done.returncode == 2
    assert f"cannot write the report to {report}" in done.stderr
    assert not diag.exists()  # nothing ran
