"""The demo engine's thresholds: defaults in code, overridable from a TOML file and by ``--set name=value``."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from otel_breakout._settings import ConfigError

__all__ = ["FILTERS", "DemoConfig", "FilterSpec"]


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """A scanner filter: its stage, the metric it tests, the config field holding its threshold."""

    stage: str
    name: str
    field: str
    direction: Literal["min", "max"]


# Pipeline order: a symbol leaves the funnel at the first filter it fails.
FILTERS: tuple[FilterSpec, ...] = (
    FilterSpec("liquidity", "min_volume", "min_volume", "min"),
    FilterSpec("liquidity", "min_trades_per_minute", "min_trades_per_minute", "min"),
    FilterSpec("volatility", "atr_range", "min_atr_pct", "min"),
    FilterSpec("execution", "spread", "max_spread_bps", "max"),
    FilterSpec("diversification", "correlation", "max_correlation", "max"),
)


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """Every threshold of the simulated bot in one place (names are what ``--set`` and TOML use)."""

    # --- scanner filters ---
    min_volume: float = 40_000.0
    """20-bar average volume, in quote currency per bar."""
    min_trades_per_minute: float = 40.0
    min_atr_pct: float = 0.25
    """14-bar average true range, as a percentage of price."""
    max_spread_bps: float = 14.0
    max_correlation: float = 0.85
    """Absolute correlation of 30-bar returns with the market index."""
    # --- momentum strategy ---
    momentum_breakout_pct: float = 0.0
    """price_above_level: close above the 20-bar high by at least this percentage."""
    momentum_volume_ratio: float = 2.0
    """volume_threshold: bar volume over its 20-bar average."""
    momentum_confirmation_atr: float = 0.3
    """breakout_confirmation: (close - level) / ATR."""
    # --- retest strategy ---
    retest_window: int = 12
    """A retest is looked for within this many bars after a breakout."""
    retest_tolerance_pct: float = 1.0
    """level_distance: how far the bar's low may sit from the broken level, in percent."""
    retest_bounce_atr: float = 0.1
    """bounce_confirmation: (close - level) / ATR after touching the level."""
    retest_volume_ratio: float = 0.8
    # --- position manager ---
    initial_equity: float = 100_000.0
    risk_per_trade: float = 0.003
    """Fraction of equity risked between entry and stop."""
    stop_atr: float = 1.5
    target_atr: float = 3.0
    max_hold_bars: int = 40
    max_positions: int = 8
    # --- market and engine ---
    bar_seconds: int = 60
    """Simulated time per engine cycle (one bar per symbol per cycle)."""
    leak_kib_per_cycle: int = 0
    """Memory the engine retains every cycle (the `leaky` scenario drives the memory alert)."""

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def replace(self, **changes: Any) -> DemoConfig:
        return dataclasses.replace(self, **changes)

    def with_overrides(self, overrides: Mapping[str, object], *, source: str) -> DemoConfig:
        """Apply ``{name: value}`` (strings are parsed to the field's type); bad names or values raise."""
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, raw in overrides.items():
            if name not in known:
                raise ConfigError(f"{source} {name}", raw, "one of " + ", ".join(sorted(known)))
            default = getattr(DemoConfig(), name)
            changes[name] = _coerce(raw, type(default), f"{source} {name}")
        return self.replace(**changes)

    def with_settings(self, assignments: Iterable[str]) -> DemoConfig:
        """Apply ``--set name=value`` assignments."""
        parsed: dict[str, str] = {}
        for item in assignments:
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                raise ConfigError("--set", item, "NAME=VALUE")
            parsed[name.strip()] = value.strip()
        return self.with_overrides(parsed, source="--set")

    def with_toml(self, path: str | Path) -> DemoConfig:
        """Apply a TOML file: top-level keys, or a ``[thresholds]`` table."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError("--config", str(path), f"a readable TOML file ({exc})") from None
        table = data.get("thresholds", data)
        if not isinstance(table, dict):
            raise ConfigError(f"{path} [thresholds]", table, "a table of name = value")
        return self.with_overrides(table, source=str(path))

    def threshold(self, spec: FilterSpec) -> float:
        return float(getattr(self, spec.field))


def _coerce(raw: object, kind: type, source: str) -> object:
    if isinstance(raw, bool) or (isinstance(raw, str) and kind is not str and not raw.strip()):
        raise ConfigError(source, raw, f"a {kind.__name__}")
    try:
        if kind is int:
            number = float(raw) if isinstance(raw, str) else raw
            if isinstance(number, float) and not number.is_integer():
                raise ValueError(raw)
            return int(number)  # type: ignore[call-overload]  # checked above
        if kind is float:
            value = float(raw)  # type: ignore[arg-type]  # str or number from TOML
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(raw)
            return value
    except (TypeError, ValueError):
        raise ConfigError(source, raw, f"a {kind.__name__}") from None
    return raw
