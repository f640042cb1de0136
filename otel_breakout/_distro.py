"""Entry points for ``opentelemetry-instrument``: our distro and our configurator.

``OTEL_PYTHON_DISTRO=otel_breakout OTEL_PYTHON_CONFIGURATOR=otel_breakout opentelemetry-instrument python bot.py``
builds exactly what ``otel_breakout.configure()`` builds, views and logging included, because the
configurator simply calls it.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]  # no __all__ upstream
from opentelemetry.sdk._configuration import _BaseConfigurator

__all__ = ["BreakoutConfigurator", "BreakoutDistro"]


class BreakoutDistro(BaseDistro):  # type: ignore[misc]  # BaseDistro is untyped
    """Leaves every default to the configurator, which reads the same settings as ``configure()``."""

    def _configure(self, **kwargs: Any) -> None:
        return None


class BreakoutConfigurator(_BaseConfigurator):
    def _configure(self, **kwargs: Any) -> None:
        from otel_breakout._telemetry import configure

        configure(_auto_instrumentation_version=kwargs.get("auto_instrumentation_version"))
