"""The generic environment reader: precedence, origins, and warn-or-raise by the variable's declaration."""

from __future__ import annotations

import pytest

from otel_breakout import ConfigError, ConfigWarning
from otel_breakout._setting import Variable
from otel_breakout._settings_env import EnvReader

OURS = Variable("OTEL_BREAKOUT_X", 5, "ours", kind="int", minimum=1, maximum=10, argument="x")
STANDARD = Variable("OTEL_X", 5, "standard", kind="int", on_invalid="warn", argument="x_standard")
SIGNAL = Variable("OTEL_X_TRACES", 5, "per signal", kind="int", on_invalid="warn")
SECRET = Variable("OTEL_X_SECRET", None, "secret", kind="text", minimum=16, on_invalid="warn", secret=True)
ARGUMENTS = {v.name: v.argument for v in (OURS, STANDARD) if v.argument is not None}


def _reader(environ: dict[str, str], **arguments: object) -> EnvReader:
    return EnvReader(environ, arguments, ARGUMENTS)


def test_argument_beats_environment_beats_default_and_origins_are_kept() -> None:
    assert _reader({}).read(OURS) == 5
    reader = _reader({"OTEL_BREAKOUT_X": " 7 "})
    assert reader.read(OURS) == 7 and reader.sources == {"OTEL_BREAKOUT_X": "OTEL_BREAKOUT_X"}
    reader = _reader({"OTEL_BREAKOUT_X": "7"}, x=9)
    assert reader.read(OURS) == 9 and reader.sources == {"OTEL_BREAKOUT_X": "configure(x=...)"}
    assert _reader({"OTEL_BREAKOUT_X": "  "}).read(OURS) == 5  # blank is unset


def test_a_specific_variable_falls_back_to_its_generic_one() -> None:
    assert _reader({"OTEL_X": "3"}).read(SIGNAL, STANDARD) == 3
    assert _reader({"OTEL_X": "3", "OTEL_X_TRACES": "4"}).read(SIGNAL, STANDARD) == 4
    # An argument for the generic variable shadows the environment, the specific variable included.
    assert _reader({"OTEL_X_TRACES": "4"}, x_standard=2).read(SIGNAL, STANDARD) == 2


def test_ours_raise_standard_ones_warn_unless_strict_or_given_as_arguments() -> None:
    with pytest.raises(ConfigError, match=r"OTEL_BREAKOUT_X='11' is not valid; expected an integer from 1 to 10"):
        _reader({"OTEL_BREAKOUT_X": "11"}).read(OURS)
    with pytest.warns(ConfigWarning, match=r"OTEL_X='many' ignored; expected an integer from 0 to 2147483647"):
        assert _reader({"OTEL_X": "many"}).read(STANDARD) == 5
    strict = _reader({"OTEL_X": "many"})
    strict.strict = True
    with pytest.raises(ConfigError, match="OTEL_X"):
        strict.read(STANDARD)
    with pytest.raises(ConfigError, match=r"configure\(x_standard=\.\.\.\)"):
        _reader({}, x_standard="many").read(STANDARD)


def test_a_secret_value_is_never_echoed() -> None:
    with pytest.warns(ConfigWarning) as record:
        assert _reader({"OTEL_X_SECRET": "hunter2"}).read(SECRET) is None
    assert "hunter2" not in str(record[0].message) and "'***'" in str(record[0].message)
