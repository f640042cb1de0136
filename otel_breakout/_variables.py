"""Every environment variable otel-breakout honours, in documentation order, and how the set ones are shown.

The list is assembled from the declarations (:mod:`otel_breakout._settings_otel` for the OTel specification's,
:mod:`otel_breakout._settings_core` and :mod:`otel_breakout._settings_sections` for ours); the
environment-variable table in docs/environment.md is generated from it, and ``configure()``'s keywords are the
variables' arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from otel_breakout._scrub import default_scrubber
from otel_breakout._setting import Variable, variables_of
from otel_breakout._settings_core import CORE_VARIABLES
from otel_breakout._settings_otel import OTEL_VARIABLES, RESOURCE_ARGUMENTS
from otel_breakout._settings_sections import (
    ApiSettings,
    DiagnosticsSettings,
    MetricsSettings,
    ReportSettings,
    ResourceLimits,
    ResourceSettings,
)

__all__ = ["ARGUMENT_VARIABLES", "CONFIGURE_ARGUMENTS", "VARIABLES", "Variable", "shown_variables"]


def _resource_variables() -> tuple[Variable[Any], ...]:
    # The schedule first, then the limits ResourceSettings inherits, then the actions: the documented order.
    limits = tuple(variables_of(ResourceLimits))
    own = tuple(v for v in variables_of(ResourceSettings) if v not in limits)
    return (*own[:2], *limits, *own[2:])


VARIABLES: tuple[Variable[Any], ...] = (
    *OTEL_VARIABLES,
    *CORE_VARIABLES,
    *variables_of(DiagnosticsSettings),
    *variables_of(MetricsSettings),
    *_resource_variables(),
    *variables_of(ApiSettings),
    *variables_of(ReportSettings),
)
# configure() keyword -> the variable it overrides (its per-signal variants included).
ARGUMENT_VARIABLES: dict[str, str] = {v.argument: v.name for v in VARIABLES if v.argument is not None}
CONFIGURE_ARGUMENTS: tuple[str, ...] = (*ARGUMENT_VARIABLES, *RESOURCE_ARGUMENTS)


def shown_variables(env: Mapping[str, str]) -> dict[str, str]:
    """The documented and ``OTEL_BREAKOUT_*`` variables set in ``env``, secret values masked."""
    secret = {v.name for v in VARIABLES if v.secret}
    known = {v.name for v in VARIABLES}
    shown: dict[str, str] = {}
    for name in sorted(env):
        if name not in known and not name.startswith("OTEL_BREAKOUT_"):
            continue
        value = env[name]
        if name in secret or "TOKEN" in name or "PASSWORD" in name:
            # Header and token names help debugging; their values never leave the process.
            value = ",".join(f"{item.partition('=')[0]}=***" if "=" in item else "***" for item in value.split(","))
        elif name == "OTEL_RESOURCE_ATTRIBUTES":
            value = ",".join(_shown_attribute(item) for item in value.split(","))
        else:
            value = default_scrubber().text(value)  # user:password in an endpoint, ?token= in a URL
        shown[name] = value
    return shown


def _shown_attribute(item: str) -> str:
    """One ``key=value`` of OTEL_RESOURCE_ATTRIBUTES for display: masked under a secret key, and a value whose
    decoded form holds a credential shown decoded and scrubbed (percent-encoding hides it from the rules)."""
    key, sep, raw = item.partition("=")
    if not sep:
        return item
    if default_scrubber().is_secret_key(unquote(key.strip())):
        return f"{key}=***"
    decoded = unquote(raw.strip())
    clean = default_scrubber().text(decoded)
    return item if clean == decoded else f"{key}={clean}"
