from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType

import pytest

from otel_breakout.metrics import BoundCounter, BoundGauge
from otel_breakout.metrics._trading import Equity, Funnel, closed_trade, strategy_attributes


class Strategy(enum.Enum):
    MOMENTUM = "momentum"


class Rejects:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, name: str, exc: BaseException) -> None:
        self.seen.append((name, str(exc)))


def _gauge(rejects: Rejects, **attributes: str) -> BoundGauge:
    frozen: Mapping[str, str] = MappingProxyType(attributes)
    return BoundGauge("g", deque(maxlen=10), rejects, frozen, dict(attributes))


def test_strategy_attributes_add_the_symbol_only_when_given() -> None:
    assert strategy_attributes("momentum", None) == {"strategy": "momentum"}
    assert strategy_attributes(Strategy.MOMENTUM, "BTCUSDT", outcome="win") == {
        "strategy": Strategy.MOMENTUM,
        "outcome": "win",
        "symbol": "BTCUSDT",
    }


def test_a_closed_trade_takes_its_outcome_from_the_sign_unless_given() -> None:
    assert closed_trade(12.5, None) == (12.5, "win")
    assert closed_trade(-3, None) == (-3.0, "loss")
    assert closed_trade(0.0, None) == (0.0, "breakeven")
    assert closed_trade(-1.0, "stopped") == (-1.0, "stopped")


@pytest.mark.parametrize("pnl", [math.nan, math.inf, -math.inf, 10**400, "1.5", True])
def test_a_closed_trade_with_a_bad_pnl_is_refused(pnl: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        closed_trade(pnl, None)  # type: ignore[arg-type]  # the bad values a bot may pass


def test_the_funnel_drops_stages_a_scan_did_not_reach_to_zero() -> None:
    rejects = Rejects()
    gauges: dict[object, BoundGauge] = {}

    def bind(stage: object) -> BoundGauge:
        if stage == "bad":
            raise ValueError("no such stage")
        return gauges.setdefault(stage, _gauge(rejects, stage=str(stage)))

    scanned = BoundCounter("scanned", deque(maxlen=10), rejects, MappingProxyType({}), {})
    funnel = Funnel(bind, scanned, rejects)
    funnel.scan({"universe": 40, "liquidity": 12, "breakout": 3}, None)
    funnel.scan([("universe", 38), ("liquidity", 9), ("bad", 1)], 50)
    assert {stage: gauge.value for stage, gauge in gauges.items()} == {"universe": 38, "liquidity": 9, "breakout": 0}
    assert scanned.total == 40 + 50
    assert rejects.seen == [("breakout.scanner.candidates", "no such stage")]
    funnel.scan([("universe",)], None)  # type: ignore[list-item]  # a malformed funnel
    assert rejects.seen[-1][1].startswith("a funnel is (stage, remaining) pairs") and scanned.total == 90


def test_equity_keeps_its_peak_and_refuses_bad_values() -> None:
    rejects = Rejects()
    equity, drawdown = _gauge(rejects), _gauge(rejects)
    book = Equity(equity, drawdown, rejects)
    book.update(1000.0, None)
    book.update(900.0, None)
    assert equity.value == 900.0 and drawdown.value == pytest.approx(0.1)
    book.update(math.nan, None)
    book.update(950.0, math.inf)
    assert [name for name, _ in rejects.seen] == ["breakout.equity", "breakout.equity"]
    book.update(950.0, None)  # the peak is still 1000: one NaN did not reset it
    assert drawdown.value == pytest.approx(0.05)
    book.update(950.0, 2000.0)  # a peak restored after a restart
    assert drawdown.value == pytest.approx(0.525)
