"""The two ways a configuration value is refused: :class:`ConfigError` (raised) and :class:`ConfigWarning`."""

from __future__ import annotations

__all__ = ["ConfigError", "ConfigWarning"]


class ConfigError(ValueError):
    """A configuration value is invalid; names the variable (or argument), the value and what is allowed."""

    def __init__(self, source: str, value: object, allowed: str) -> None:
        self.source = source
        self.value = value
        self.allowed = allowed
        super().__init__(f"{source}={value!r} is not valid; expected {allowed}")


class ConfigWarning(UserWarning):
    """A configuration value was ignored and its default used, as the OTel specification asks."""
