"""Named scenarios: the healthy default, three planted faults, signal starvation and a memory leak."""

from __future__ import annotations

from dataclasses import dataclass, field

from otel_breakout._settings import ConfigError
from otel_breakout.demo._market import MarketProfile

__all__ = ["SCENARIOS", "Scenario", "get_scenario"]


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    overrides: dict[str, object] = field(default_factory=dict)
    profile: MarketProfile = field(default_factory=MarketProfile)
    planted_reason: str | None = None
    """For a planted fault: the reason the report must rank first."""
    planted_setting: str | None = None
    """For a planted fault: the ``--set`` name of the mis-set threshold."""


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("default", "a healthy bot on a lively market"),
        Scenario(
            "strict_volume",
            "planted fault: the momentum volume threshold is far too strict",
            {"momentum_volume_ratio": 6.0},
            planted_reason="signal:momentum:volume_threshold",
            planted_setting="momentum_volume_ratio",
        ),
        Scenario(
            "narrow_atr",
            "planted fault: the ATR range filter admits almost nothing",
            {"min_atr_pct": 1.0},
            planted_reason="filter:atr_range",
            planted_setting="min_atr_pct",
        ),
        Scenario(
            "strict_confirmation",
            "planted fault: the breakout confirmation demands far too much",
            {"momentum_confirmation_atr": 2.0},
            planted_reason="signal:momentum:breakout_confirmation",
            planted_setting="momentum_confirmation_atr",
        ),
        Scenario(
            "starved",
            "long stretches without a single signal (drives the starvation alert)",
            {"momentum_volume_ratio": 2.6},
            MarketProfile(setup_probability=0.004, drought_every=150, drought_length=120, burst_probability=0.0),
        ),
        Scenario(
            "leaky",
            "memory grows steadily (drives the memory alert and the resource monitor's corrective actions)",
            {"leak_kib_per_cycle": 1024},
        ),
    )
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ConfigError("--scenario", name, "one of " + ", ".join(SCENARIOS)) from None
