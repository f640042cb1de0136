"""A deterministic simulated market: random walks with volatility regimes, volume bursts and real breakouts.

Everything derives from one seed: each symbol draws from its own ``random.Random`` seeded with
``"<seed>:<symbol>"``, so a run is reproducible bar for bar, and adding symbols does not change the
others. Time is simulated (``bar_seconds`` per cycle from a fixed epoch), never read from the clock.

What the report's outcome tests rely on, and ``tests/test_demo_market.py`` checks on its own: a **breakout**
is a tight consolidation (14-28 bars) that ends in a 2-4 bar drive through its high on 2.2 to 5 times normal
volume, then often a retest of the broken level, then 10-20 bars of follow-through (a drift of a quarter of
the bar's volatility per bar). So a new high on heavy volume (3x average or more) is most often a real
breakout, and gains 2% on average over the next 20 bars; a new high on ordinary volume is the random walk
(or an unexplained volume burst, 2% of bars) and has no drift after it: it fades back as often as it goes on.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

__all__ = ["Bar", "Market", "MarketProfile", "SymbolState"]

START_EPOCH = 1_755_640_800  # 2025-08-19 22:00 UTC, the seed's diag_A_BTC_USDT_1755640800 journal
HISTORY = 64
_QUOTES = ("USDT",)
_BASES = (
    "BTC ETH SOL BNB XRP ADA DOGE AVAX DOT LINK MATIC TRX LTC BCH ATOM UNI XLM ETC FIL APT ARB OP NEAR ICP "
    "HBAR VET INJ SUI SEI TIA RNDR GRT AAVE MKR SNX CRV LDO RUNE FTM ALGO SAND MANA AXS EGLD THETA FLOW CHZ "
    "KAVA ZEC DASH XMR NEO IOTA EOS XTZ QNT KSM ENJ BAT ZIL ONE HOT ROSE CELO ANKR COMP YFI SUSHI 1INCH"
).split()


@dataclass(frozen=True, slots=True)
class MarketProfile:
    """Knobs a scenario may turn; the defaults are the `default` scenario."""

    setup_probability: float = 0.0025
    """Per symbol and bar: the chance a consolidation (coil) starts, which ends in a breakout."""
    retest_probability: float = 0.55
    """After a breakout: the chance price comes back to the broken level and bounces."""
    drought_every: int = 0
    """When > 0: every this many cycles, a stretch of ``drought_length`` cycles without breakouts."""
    drought_length: int = 0
    burst_probability: float = 0.02
    """Per symbol and bar: the chance of an unexplained volume burst (two to four times normal)."""


@dataclass(frozen=True, slots=True)
class Bar:
    ts: float
    open: float
    high: float
    low: float
    close: float
    volume: float
    trades_per_minute: float
    spread_bps: float


def symbol_names(count: int) -> list[str]:
    names = []
    for i in range(count):
        base = _BASES[i % len(_BASES)]
        suffix = "" if i < len(_BASES) else str(i // len(_BASES) + 1)
        names.append(f"{base}{suffix}/{_QUOTES[0]}")
    return names


class SymbolState:
    """One symbol's random walk, its rolling history, and its coil/breakout/retest cycle."""

    __slots__ = (
        "_coil_center",
        "_coil_left",
        "_drive_left",
        "_regime_high",
        "_retest_left",
        "_rng",
        "_trend_left",
        "avg_trade_size",
        "bars",
        "base_spread",
        "base_volume",
        "beta",
        "breakout_age",
        "breakout_level",
        "name",
        "price",
        "returns",
        "sigma",
        "trades_scale",
    )  # fmt: skip

    def __init__(self, name: str, seed: int) -> None:
        rng = random.Random(f"{seed}:{name}")
        self._rng = rng
        self.name = name
        self.price = 10 ** rng.uniform(-1.0, 4.5)
        # Liquidity varies over orders of magnitude across a real universe of symbols.
        self.base_volume = 10 ** rng.uniform(4.0, 6.3)
        self.avg_trade_size = 10 ** rng.uniform(2.4, 3.4)
        self.trades_scale = rng.uniform(0.7, 1.3)
        self.base_spread = rng.uniform(1.5, 9.0) * (1.5 if self.base_volume < 10**4.6 else 1.0)
        self.beta = rng.uniform(0.2, 1.6)
        self.sigma = rng.uniform(0.0015, 0.0045)
        self._regime_high = False
        self._coil_left = 0
        self._coil_center = 0.0
        self._drive_left = 0
        self._retest_left = 0
        self._trend_left = 0
        self.breakout_level: float | None = None
        self.breakout_age = 10**9
        self.bars: deque[Bar] = deque(maxlen=HISTORY)
        self.returns: deque[float] = deque(maxlen=HISTORY)

    def step(self, ts: float, market_return: float, profile: MarketProfile, setups_allowed: bool) -> Bar:
        rng = self._rng
        if rng.random() < 0.03:
            self._regime_high = not self._regime_high
        sigma = self.sigma * (2.4 if self._regime_high else 1.0)
        volume_boost = 1.0
        drift = 0.0
        if self._coil_left > 0:
            # Consolidation: tight, mean-reverting around its centre, building the level to break.
            self._coil_left -= 1
            sigma *= 0.35
            drift = 0.25 * math.log(self._coil_center / self.price)
            volume_boost = 0.7
            if self._coil_left == 0:
                self._drive_left = rng.randint(2, 4)
                self.breakout_level = max(b.high for b in list(self.bars)[-20:]) if self.bars else self.price
                self.breakout_age = 0
        elif self._drive_left > 0:
            self._drive_left -= 1
            drift = rng.uniform(0.6, 1.4) * max(sigma, self.sigma) * 2.2
            volume_boost = rng.uniform(2.2, 5.0)
            if self._drive_left == 0:
                if rng.random() < profile.retest_probability:
                    self._retest_left = rng.randint(3, 6)
                self._trend_left = rng.randint(10, 20)
        elif self._retest_left > 0 and self.breakout_level is not None:
            self._retest_left -= 1
            # Drift back towards the broken level, then bounce off it on the last bar.
            drift = 0.45 * math.log(self.breakout_level * 1.001 / self.price)
            if self._retest_left == 0:
                drift = abs(drift) + sigma * 1.5
            volume_boost = 0.9
        elif self._trend_left > 0:
            # Follow-through: real breakouts tend to keep going for a while, which is why bots trade them.
            self._trend_left -= 1
            drift = sigma * 0.25
        elif setups_allowed and rng.random() < profile.setup_probability and len(self.bars) >= 25:
            self._coil_left = rng.randint(14, 28)
            self._coil_center = self.price
        if self.breakout_age < 10**9:
            self.breakout_age += 1

        ret = self.beta * market_return + rng.gauss(drift, sigma)
        open_ = self.price
        close = open_ * math.exp(ret)
        wick = abs(rng.gauss(0.0, sigma * 0.5))
        high = max(open_, close) * (1 + wick)
        low = min(open_, close) * (1 - abs(rng.gauss(0.0, sigma * 0.5)))
        burst = rng.uniform(2.0, 4.0) if rng.random() < profile.burst_probability else 1.0
        volume = self.base_volume * math.exp(rng.gauss(0.0, 0.35)) * volume_boost * burst
        volume *= 1.4 if self._regime_high else 1.0
        trades = volume / self.avg_trade_size * self.trades_scale * math.exp(rng.gauss(0.0, 0.15))
        spread = self.base_spread * (1.7 if self._regime_high else 1.0) * math.exp(rng.gauss(0.0, 0.2))
        bar = Bar(ts, open_, high, low, close, volume, trades, spread)
        self.price = close
        self.bars.append(bar)
        self.returns.append(ret)
        return bar


class Market:
    """All symbols plus a market index whose return every symbol follows with its own beta."""

    def __init__(self, symbols: int, seed: int, profile: MarketProfile, bar_seconds: int = 60) -> None:
        self.profile = profile
        self.bar_seconds = bar_seconds
        self.cycle = 0
        self._rng = random.Random(f"{seed}:market")
        self.symbols = [SymbolState(name, seed) for name in symbol_names(symbols)]
        self.market_returns: deque[float] = deque(maxlen=HISTORY)

    @property
    def now(self) -> float:
        return float(START_EPOCH + self.cycle * self.bar_seconds)

    def in_drought(self) -> bool:
        p = self.profile
        return p.drought_every > 0 and (self.cycle % p.drought_every) >= p.drought_every - p.drought_length

    def advance(self) -> float:
        """Move every symbol one bar; returns the bar's timestamp (simulated epoch seconds)."""
        self.cycle += 1
        ts = self.now
        market_return = self._rng.gauss(0.0, 0.0012)
        self.market_returns.append(market_return)
        setups = not self.in_drought()
        for symbol in self.symbols:
            symbol.step(ts, market_return, self.profile, setups)
        return ts

    def warm_up(self, bars: int = 40) -> None:
        """Fill every symbol's history so indicators are defined from the first engine cycle."""
        for _ in range(bars):
            self.advance()
