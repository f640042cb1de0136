"""The generic environment reader: a value's origin, argument > environment > default, and the warn-or-raise rule."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar, cast

from otel_breakout._config_errors import ConfigError, ConfigWarning
from otel_breakout._scrub import default_scrubber
from otel_breakout._setting import Variable, variable_of

__all__ = ["EnvReader"]

_T = TypeVar("_T")


class EnvReader:
    """Reads declared variables from arguments and an environment, recording where each value came from."""

    def __init__(
        self, environ: Mapping[str, str], arguments: Mapping[str, Any], argument_for: Mapping[str, str]
    ) -> None:
        self.environ = environ
        self.arguments = arguments
        self._argument_for = argument_for  # variable name -> the configure() keyword that overrides it
        self.sources: dict[str, str] = {}
        self.strict = False

    def raw(self, var: str, *, generic: str | None = None) -> tuple[str, object] | None:
        """(origin, value) for ``var``; an argument for ``generic`` (or ``var``) shadows the environment."""
        for name in (var, generic):
            if name is not None and name in self._argument_for and self._argument_for[name] in self.arguments:
                arg = self._argument_for[name]
                return f"configure({arg}=...)", self.arguments[arg]
        for name in (var, generic):
            if name is None:
                continue
            value = self.environ.get(name)
            # The specification treats an empty value exactly like an unset one.
            if value is not None and value.strip():
                return name, value.strip()
        return None

    def invalid(
        self, variable: Variable[Any], origin: str, value: object, allowed: str, default: _T, *, secret: bool = False
    ) -> _T:
        """Raise a :class:`ConfigError`, or warn and return ``default`` where the OTel specification says so."""
        shown = "***" if secret else default_scrubber().text(value) if isinstance(value, str) else value
        if origin.startswith("configure(") or self.strict or variable.on_invalid == "error":
            raise ConfigError(origin, shown, allowed)
        warnings.warn(ConfigWarning(f"{origin}={shown!r} ignored; expected {allowed}; using {default!r}"), stacklevel=4)
        return default

    def read(self, variable: Variable[_T], generic: Variable[_T] | None = None, *, default: Any = None) -> _T:
        """The value of ``variable`` (falling back to ``generic``, then to ``default`` or the declared default)."""
        found = self.raw(variable.name, generic=None if generic is None else generic.name)
        fallback: _T = variable.default if generic is None else generic.default
        if default is not None:
            fallback = default
        if found is None:
            return fallback
        origin, value = found
        try:
            result = variable.parse(value)
        except (ValueError, TypeError):
            return self.invalid(variable, origin, value, variable.allowed, fallback, secret=variable.secret)
        self.sources[variable.name] = origin
        return result

    def section(self, cls: type[_T]) -> _T:
        """A settings section whose every field is declared by a variable."""
        values = {item.name: self.read(variable_of(cls, item.name)) for item in fields(cast(Any, cls))}
        return cls(**values)
