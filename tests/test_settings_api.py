from __future__ import annotations

import pytest

from otel_breakout import ConfigError, Settings

TOKEN = "correct-horse-battery-staple"


def test_api_defaults_bind_loopback_without_a_token() -> None:
    api = Settings.from_env({}).api
    assert (api.host, api.port, api.token) == ("127.0.0.1", 8000, None)
    assert (api.cycle_warning_s, api.cycle_critical_s) == (60.0, 180.0)


def test_api_variables() -> None:
    api = Settings.from_env(
        {
            "OTEL_BREAKOUT_API_HOST": "0.0.0.0",
            "OTEL_BREAKOUT_API_PORT": "9100",
            "OTEL_BREAKOUT_API_TOKEN": TOKEN,
            "OTEL_BREAKOUT_HEALTH_CYCLE_WARNING_SECONDS": "5",
            "OTEL_BREAKOUT_HEALTH_CYCLE_CRITICAL_SECONDS": "30.5",
        }
    ).api
    assert (api.host, api.port, api.token, api.cycle_warning_s, api.cycle_critical_s) == (
        "0.0.0.0", 9100, TOKEN, 5.0, 30.5,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OTEL_BREAKOUT_API_PORT", "70000", "an integer from 0 to 65535"),
        ("OTEL_BREAKOUT_API_PORT", "http", "an integer"),
        ("OTEL_BREAKOUT_API_TOKEN", "short", "at least 16 characters"),
        ("OTEL_BREAKOUT_API_TOKEN", "   ", "not blanks"),  # set to blanks is not "no token"
        ("OTEL_BREAKOUT_API_TOKEN", " \t\n ", "not blanks"),
        ("OTEL_BREAKOUT_HEALTH_CYCLE_WARNING_SECONDS", "0", "a number from 1"),
        ("OTEL_BREAKOUT_HEALTH_CYCLE_CRITICAL_SECONDS", "30", "at least OTEL_BREAKOUT_HEALTH_CYCLE_WARNING_SECONDS"),
    ],
)
def test_bad_api_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        Settings.from_env({variable: value})
    assert caught.value.source == variable
    if variable == "OTEL_BREAKOUT_API_TOKEN":
        assert value not in str(caught.value)


def test_an_empty_token_means_unset_and_a_padded_one_is_stripped() -> None:
    assert Settings.from_env({"OTEL_BREAKOUT_API_TOKEN": ""}).api.token is None
    assert Settings.from_env({"OTEL_BREAKOUT_API_TOKEN": f"  {TOKEN}\n"}).api.token == TOKEN


def test_the_token_is_masked_and_kept_out_of_repr() -> None:
    settings = Settings.from_env({"OTEL_BREAKOUT_API_TOKEN": TOKEN})
    assert TOKEN not in repr(settings)
    assert settings.as_dict()["api"]["token"] == "***"
    assert settings.as_dict(mask_secrets=False)["api"]["token"] == TOKEN
    assert Settings.from_env({}).as_dict()["api"]["token"] is None
