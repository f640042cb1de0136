"""One setting declared once: its variable, type, default, bounds and doc, and the rule that parses it.

Everything else derives from a :class:`Variable`: the environment reader, ``configure()``'s keywords, the
keyword checks of ``DiagnosticsCollector`` and ``DiagnosticsReportBuilder``, the CLI options and the
environment-variable table in docs/environment.md. A section's dataclass declares each field with
:func:`setting`, so the field's name, type and default sit beside the variable that sets it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import Field, dataclass, field, fields
from typing import Any, Generic, Literal, TypeVar, cast

from otel_breakout._config_errors import ConfigError

__all__ = ["INT_MAX", "Kind", "OnInvalid", "Variable", "declared", "override", "setting", "variable_of", "variables_of"]

_T = TypeVar("_T")
INT_MAX = 2**31 - 1
# "warn": the OTel specification asks for a warning and the default on a bad value.
# "error": a bad value raises ConfigError (our own variables, and places where a silent default would lose data).
OnInvalid = Literal["warn", "error"]
# "rule": read by the OTel exporter rules (otel_breakout._settings_otel), which combine several variables.
Kind = Literal["bool", "int", "float", "choice", "text", "names", "regexes", "file_patterns", "url_template", "rule"]
_KEY = "otel_breakout.variable"
_FILE_PATTERNS = "a comma list of file-name patterns without '/', '\\' or '..' (e.g. *.log,*.jsonl)"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _items(value: object) -> list[str]:
    """A comma list as a string, or an iterable of strings (an argument), split into stripped names."""
    texts = [value] if isinstance(value, str) else [str(v) for v in cast(Iterable[object], value)]
    return [name.strip() for text in texts for name in str(text).split(",") if name.strip()]


@dataclass(frozen=True, slots=True)
class Variable(Generic[_T]):
    """An environment variable and the setting it carries: the one declaration everything derives from."""

    name: str
    default: _T
    description: str
    kind: Kind = "text"
    minimum: float | None = None  # numbers: the smallest value; text: the shortest length
    maximum: float | None = None
    above_minimum: bool = False  # the minimum itself is refused (a margin of 0 selects nothing)
    choices: tuple[str, ...] = ()
    on_invalid: OnInvalid = "error"
    secret: bool = False
    argument: str | None = None  # the configure() keyword that overrides it
    shown: str | None = None  # the documented default, when the typed default does not say it
    expect: str | None = None  # the allowed values in words, when the bounds alone do not say them

    @property
    def allowed(self) -> str:
        """What a valid value looks like, for error messages and help texts."""
        if self.expect is not None:
            return self.expect
        low, high = self.minimum, self.maximum
        if self.kind == "bool":
            return "true or false"
        if self.kind == "int":
            return f"an integer from {_number_text(low or 0)} to {_number_text(INT_MAX if high is None else high)}"
        if self.kind == "float":
            if self.above_minimum:
                return f"a number above {_number_text(low or 0)} and at most {_number_text(high or 0)}"
            return f"a number from {_number_text(low or 0)} to {_number_text(high or 0)}"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "names":
            return "a comma list of " + ", ".join(self.choices) + ", or none"
        if self.kind == "regexes":
            return "a comma list of valid regular expressions"
        if self.kind == "file_patterns":
            return _FILE_PATTERNS
        if self.kind == "url_template":
            return "an http:// or https:// URL without spaces containing {trace_id}"
        if self.kind == "text" and low:
            return f"at least {_number_text(low)} characters"
        return "a string"

    @property
    def shown_default(self) -> str:
        """The default as the documentation writes it."""
        if self.shown is not None:
            return self.shown
        value: object = self.default
        if value is None:
            return "unset"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return _number_text(value)
        if isinstance(value, tuple):
            return ",".join(str(item) for item in value)
        return str(value)

    def parse(self, value: object) -> _T:
        """``value`` (a variable's text or an argument) as this setting's type; ``ValueError`` when invalid."""
        kind = self.kind
        result: object
        if kind == "bool":
            if isinstance(value, bool):
                return cast(_T, value)
            text = str(value).lower()
            if text not in ("true", "false"):
                raise ValueError(text)
            result = text == "true"
        elif kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            result = int(value) if isinstance(value, (int, float)) else int(str(value), 10)
            self._bounded(result)
        elif kind == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            result = float(cast(Any, value))
            self._bounded(result)
        elif kind == "choice":
            result = str(value).strip().lower()
            if result not in self.choices:
                raise ValueError(result)
        elif kind == "text":
            result = str(value)
            if self.minimum is not None and len(result) < self.minimum:
                raise ValueError("too short")
        elif kind == "names":
            names = tuple(dict.fromkeys(name.lower() for name in _items(value)))
            if names == ("none",) or (not names and not isinstance(value, str)):
                return cast(_T, ())
            if not names or any(name not in self.choices for name in names):
                raise ValueError(value)
            result = names
        elif kind == "regexes":
            patterns = result = tuple(_items(value))
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(pattern) from exc
        elif kind == "file_patterns":
            # Plain names only, so no pattern can reach another directory.
            result = tuple(_items(value))
            if not result or any(p.startswith("~") or any(s in p for s in ("/", "\\", "..")) for p in result):
                raise ValueError(value)
        elif kind == "url_template":
            result = str(value)
            text = str(result)
            if not text.startswith(("http://", "https://")) or "{trace_id}" not in text or any(map(str.isspace, text)):
                raise ValueError(text)
        else:
            raise TypeError(f"{self.name} is read by the OTel exporter rules, not parsed alone")
        return cast(_T, result)

    def _bounded(self, number: float) -> None:
        low = self.minimum if self.minimum is not None else 0
        high = self.maximum if self.maximum is not None else INT_MAX
        above = number > low if self.above_minimum else number >= low
        if not (math.isfinite(number) and above and number <= high):  # also refuses NaN
            raise ValueError(number)

    def check(self, value: object, source: str | None = None) -> _T:
        """``value`` given as an argument named ``source``: parsed, or a :class:`ConfigError` naming it."""
        try:
            return self.parse(value)
        except (ValueError, TypeError):
            shown = "***" if self.secret else value
            raise ConfigError(source or self.argument or self.name, shown, self.allowed) from None

    def check_scaled(self, value: object, scale: float, source: str) -> float:
        """A number given in other units (seconds for a variable in milliseconds: ``scale`` 0.001), held to the
        declared bounds in those units."""
        low, high = (self.minimum or 0) * scale, (self.maximum if self.maximum is not None else INT_MAX) * scale
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ConfigError(source, value, f"a number from {_number_text(low)} to {_number_text(high)}")
        return float(value)


def setting(name: str, default: _T, description: str, *, repr: bool = True, **rule: Any) -> _T:
    """A dataclass field declared by its variable (``rule``: the other fields of :class:`Variable`)."""
    return declared(Variable(name, default, description, **rule), repr=repr)


def declared(variable: Variable[_T], *, repr: bool = True) -> _T:
    """A dataclass field declared by ``variable``: its default, and the variable in the field's metadata."""
    return field(default=variable.default, repr=repr, metadata={_KEY: variable})


def variables_of(section: type) -> Iterator[Variable[Any]]:
    """The variables declaring a section's fields, in field order."""
    for item in fields(section):
        if _KEY in item.metadata:
            yield item.metadata[_KEY]


def variable_of(section: type, name: str) -> Variable[Any]:
    """The variable declaring the field ``name`` of ``section``."""
    found: Field[Any] = next(item for item in fields(section) if item.name == name)
    return cast(Variable[Any], found.metadata[_KEY])


def override(section: object, name: str, value: object) -> Any:
    """A keyword argument ``name`` overriding a settings section's field of that name: the section's value when
    ``None``, else ``value`` held to the field's variable's rule (a :class:`ConfigError` naming the keyword)."""
    if value is None:
        return getattr(section, name)
    return variable_of(type(section), name).check(value, name)
