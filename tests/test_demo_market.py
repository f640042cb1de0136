from __future__ import annotations

import pytest

from otel_breakout.demo._config import DemoConfig
from otel_breakout.demo._market import START_EPOCH, Market, MarketProfile, symbol_names
from otel_breakout.demo._trading import Indicators, PositionManager, evaluate_momentum, scan_symbol


def _closes(market: Market) -> list[float]:
    return [round(s.price, 12) for s in market.symbols]


def test_same_seed_same_market_bar_for_bar() -> None:
    a, b = Market(50, 11, MarketProfile()), Market(50, 11, MarketProfile())
    for _ in range(120):
        a.advance()
        b.advance()
    assert _closes(a) == _closes(b)
    c = Market(50, 12, MarketProfile())
    for _ in range(120):
        c.advance()
    assert _closes(a) != _closes(c)


def test_adding_symbols_does_not_change_the_others() -> None:
    small, large = Market(10, 3, MarketProfile()), Market(30, 3, MarketProfile())
    for _ in range(60):
        small.advance()
        large.advance()
    # The market index draws from its own generator, so the first ten symbols follow identical paths.
    assert _closes(small) == _closes(large)[:10]


def test_time_is_simulated_not_read_from_the_clock() -> None:
    market = Market(3, 1, MarketProfile(), bar_seconds=60)
    assert market.advance() == START_EPOCH + 60
    assert market.advance() == START_EPOCH + 120


def test_breakouts_happen_and_droughts_stop_them() -> None:
    lively = Market(100, 5, MarketProfile())
    lively.warm_up()
    broke = 0
    for _ in range(300):
        lively.advance()
        broke += sum(1 for s in lively.symbols if s.breakout_age == 1)
    assert broke > 20
    dry = Market(100, 5, MarketProfile(drought_every=400, drought_length=399))
    dry.warm_up()
    for _ in range(300):
        dry.advance()
        assert not any(s.breakout_age == 1 for s in dry.symbols if dry.in_drought())


def test_symbol_names_are_unique() -> None:
    names = symbol_names(500)
    assert len(set(names)) == 500
    assert names[0] == "BTC/USDT"


def test_indicators_and_checks_are_consistent() -> None:
    market = Market(40, 9, MarketProfile())
    market.warm_up()
    config = DemoConfig()
    returns = list(market.market_returns)
    for symbol in market.symbols:
        values = Indicators(symbol, returns)
        result = scan_symbol(values, config)
        assert [spec.name for spec, _ in result.checks] == ["min_volume", "min_trades_per_minute", "atr_range",
                                                            "spread", "correlation"]  # fmt: skip
        for spec, check in result.checks:
            assert check.passed == (check.value >= check.threshold if spec.direction == "min" else
                                    check.value <= check.threshold)  # fmt: skip
        assert 0.0 <= values.correlation() <= 1.0
        assert values.atr() > 0
        checks = evaluate_momentum(values, config)
        if checks is not None:
            assert [c.name for c in checks] == ["price_above_level", "volume_threshold", "breakout_confirmation"]


def test_positions_track_equity_and_drawdown() -> None:
    market = Market(5, 2, MarketProfile())
    market.warm_up()
    manager = PositionManager(DemoConfig(max_positions=1))
    symbol = market.symbols[0]
    position = manager.open(symbol.name, "momentum", symbol.bars[-1], 1.0, market.cycle)
    assert position is not None
    assert manager.open(market.symbols[1].name, "retest", market.symbols[1].bars[-1], 1.0, market.cycle) is None
    closed = []
    for _ in range(60):
        market.advance()
        closed += manager.manage({s.name: s.bars[-1] for s in market.symbols}, market.cycle)
    assert len(closed) == 1
    trade = closed[0]
    assert trade.exit_reason in {"stop", "target", "time"}
    assert manager.equity == DemoConfig().initial_equity + trade.pnl
    assert 0.0 <= manager.drawdown < 1.0


def _new_high_outcomes(seed: int, symbols: int = 200, cycles: int = 240, horizon: int = 20) -> dict[str, list[float]]:
    """Forward returns ``horizon`` bars after each close above the 20-bar high, by the bar's volume over its
    20-bar average: heavy (3x or more) against ordinary (under 1.5x)."""
    market = Market(symbols, seed, MarketProfile())
    market.warm_up()
    pending: list[tuple[int, int, float, str]] = []  # (due cycle, symbol index, entry close, kind)
    found: dict[str, list[float]] = {"heavy": [], "ordinary": []}
    for _ in range(cycles + horizon):
        market.advance()
        for index, symbol in enumerate(market.symbols):
            values = Indicators(symbol, list(market.market_returns))
            bar = symbol.bars[-1]
            if market.cycle <= cycles and bar.close > values.level():
                ratio = bar.volume / values.avg_volume()
                kind = "heavy" if ratio >= 3 else "ordinary" if ratio < 1.5 else ""
                if kind:
                    pending.append((market.cycle + horizon, index, bar.close, kind))
        for _, index, entry, kind in [p for p in pending if p[0] == market.cycle]:
            found[kind].append(market.symbols[index].bars[-1].close / entry - 1)
        pending = [p for p in pending if p[0] > market.cycle]
    return found


@pytest.mark.slow
def test_breakouts_on_heavy_volume_follow_through_and_others_do_not() -> None:
    # What the report's outcome rule and its tests rely on (docs/demo.md, "The market"): a new high made on heavy
    # volume is most often a real breakout, which keeps going for a while; one on ordinary volume is noise,
    # with no drift after it.
    for seed in (3, 4):
        found = _new_high_outcomes(seed)
        heavy, ordinary = found["heavy"], found["ordinary"]
        assert len(heavy) > 100 and len(ordinary) > 500
        heavy_mean, ordinary_mean = sum(heavy) / len(heavy), sum(ordinary) / len(ordinary)
        assert heavy_mean > 0.015, heavy_mean  # more than 1.5% over 20 bars, on average
        assert abs(ordinary_mean) < 0.005, ordinary_mean  # no edge: less than 0.5% either way
        assert sum(r > 0 for r in heavy) / len(heavy) > 0.65
