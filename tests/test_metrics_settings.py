from __future__ import annotations

import pytest

from otel_breakout import ConfigError, MetricsSettings, ResourceSettings, Settings


def test_defaults_follow_the_seed() -> None:
    settings = Settings.from_env({})
    assert settings.metrics == MetricsSettings(window=1000, symbol_attribute=False, symbol_limit=50)
    resources = settings.resources
    assert (resources.max_memory_percent, resources.max_threads, resources.max_open_files) == (85.0, 80, 800)
    assert resources.log_dir is None and resources.auto_optimize is True
    assert isinstance(resources, ResourceSettings)


def test_variables_are_read() -> None:
    settings = Settings.from_env(
        {
            "OTEL_BREAKOUT_METRICS_WINDOW": "0",
            "OTEL_BREAKOUT_METRICS_SYMBOL_ATTRIBUTE": "true",
            "OTEL_BREAKOUT_METRICS_SYMBOL_LIMIT": "7",
            "OTEL_BREAKOUT_RESOURCE_INTERVAL": "1.5",
            "OTEL_BREAKOUT_RESOURCE_HISTORY": "10",
            "OTEL_BREAKOUT_RESOURCE_MAX_CPU_PERCENT": "75",
            "OTEL_BREAKOUT_RESOURCE_MAX_MEMORY_PERCENT": "80.5",
            "OTEL_BREAKOUT_RESOURCE_MAX_MEMORY_MB": "512",
            "OTEL_BREAKOUT_RESOURCE_MAX_DISK_PERCENT": "95",
            "OTEL_BREAKOUT_RESOURCE_MAX_THREADS": "40",
            "OTEL_BREAKOUT_RESOURCE_MAX_OPEN_FILES": "300",
            "OTEL_BREAKOUT_RESOURCE_AUTO_OPTIMIZE": "false",
            "OTEL_BREAKOUT_RESOURCE_COOLDOWN": "30",
            "OTEL_BREAKOUT_RESOURCE_DISK_PATH": "/tmp",
            "OTEL_BREAKOUT_RESOURCE_LOG_DIR": "logs",
            "OTEL_BREAKOUT_RESOURCE_LOG_MAX_AGE": "3600",
        }
    )
    assert settings.metrics == MetricsSettings(window=0, symbol_attribute=True, symbol_limit=7)
    assert settings.resources == ResourceSettings(
        interval_s=1.5, history=10, max_cpu_percent=75.0, max_memory_percent=80.5, max_memory_mb=512.0,
        max_disk_percent=95.0, max_threads=40, max_open_files=300, auto_optimize=False, cooldown_s=30.0,
        disk_path="/tmp", log_dir="logs", log_max_age_s=3600.0,
    )  # fmt: skip
    assert settings.sources["OTEL_BREAKOUT_RESOURCE_LOG_DIR"] == "OTEL_BREAKOUT_RESOURCE_LOG_DIR"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_BREAKOUT_METRICS_WINDOW", "-1"),
        ("OTEL_BREAKOUT_METRICS_SYMBOL_ATTRIBUTE", "yes"),
        ("OTEL_BREAKOUT_METRICS_SYMBOL_LIMIT", "0"),
        ("OTEL_BREAKOUT_RESOURCE_INTERVAL", "0"),
        ("OTEL_BREAKOUT_RESOURCE_MAX_MEMORY_PERCENT", "101"),
        ("OTEL_BREAKOUT_RESOURCE_MAX_CPU_PERCENT", "nan"),
        ("OTEL_BREAKOUT_RESOURCE_MAX_THREADS", "0"),
        ("OTEL_BREAKOUT_RESOURCE_COOLDOWN", "-5"),
        ("OTEL_BREAKOUT_RESOURCE_LOG_PATTERNS", ","),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: value})
