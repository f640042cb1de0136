from __future__ import annotations

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
