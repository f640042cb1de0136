"""Outcomes: what each signal candidate did next, from the closes at its candle and ``h`` bars later.

A candidate's outcome at horizon ``h`` is its **net forward return**: the close ``h`` bars after the candle it
was evaluated on, over that candle's close, minus one, minus the round-trip cost (fees and slippage, in basis
points). Returns are long (a breakout buys). The candle length comes from ``bar_seconds`` or, by default, from
the prices: the most common spacing between a symbol's consecutive closes. A close must exist at exactly the
candle's time and ``h`` bars later; otherwise the outcome is unknown and the candidate is left out (and
counted). Nothing is interpolated, and no close after the candle is used as its entry: no look-ahead.
"""

from __future__ import annotations

import glob
import math
import os
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from typing import Any

from otel_breakout.report._aggregate import Aggregate
from otel_breakout.report._model_advice import OutcomeSettings, OutcomeStats, PriceSource
from otel_breakout.report._prices import _SECONDS_BELOW, PriceBook, epoch_ms

__all__ = ["OutcomeSettings", "Outcomes", "expand_price_paths", "load_outcomes", "outcome_stats"]

_GLOB_CHARS = re.compile(r"[*?\[]")
_PRICE_SUFFIXES = (".csv", ".csv.gz", ".json", ".json.gz")


def expand_price_paths(patterns: Iterable[str]) -> tuple[list[str], list[str]]:
    """Price files named by paths, globs or directories (their ``*.csv``, ``*.json`` files, plain or ``.gz``),
    each once, in name order; plus the patterns that matched nothing."""
    found: list[str] = []
    unmatched: list[str] = []
    seen: set[str] = set()
    for pattern in patterns:
        if _GLOB_CHARS.search(pattern):
            matches = sorted(m for m in glob.glob(pattern, recursive=True) if not os.path.isdir(m))
        elif os.path.isdir(pattern):
            matches = sorted(
                os.path.join(pattern, name) for name in os.listdir(pattern) if name.endswith(_PRICE_SUFFIXES)
            )
        else:
            matches = [pattern]
        if not matches:
            unmatched.append(pattern)
        for path in matches:
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                found.append(path)
    return found, unmatched


class Outcomes:
    """Net forward returns of candles (``(symbol, candle_ts)``) at each horizon."""

    def __init__(
        self,
        book: PriceBook,
        bar_ms: int | None,
        settings: OutcomeSettings,
        sources: Sequence[PriceSource],
        journal_prices: int,
    ) -> None:
        self.book = book
        self.bar_ms = bar_ms
        self.settings = settings
        self.sources = tuple(sources)
        self.journal_prices = journal_prices
        self._cost = settings.cost_bps / 10_000
        self._index = settings.horizons.index(settings.horizon)
        self.cache: dict[Any, tuple[float | None, ...]] = {}
        """``(symbol, candle_ts)`` -> :meth:`returns`, for hot loops: ``cache.get(at) or returns(at)``."""

    @property
    def available(self) -> bool:
        return self.bar_ms is not None and bool(self.book.series)

    def returns(self, at: Any) -> tuple[float | None, ...]:
        """The net forward return at every horizon (None where a close is missing)."""
        found = self.cache.get(at)
        if found is None:
            self.prefill((at,))
            found = self.cache[at]
        return found

    def prefill(self, ats: Iterable[Any]) -> None:
        """:meth:`returns` of many candidates at once, into the cache (a report asks for every candidate's)."""
        cache, book, cost = self.cache, self.book.series, self._cost
        bar = self.bar_ms
        steps = [h * bar for h in self.settings.horizons] if bar is not None else []
        unknown: tuple[float | None, ...] = (None,) * len(self.settings.horizons)
        for at in ats:
            if at in cache:
                continue
            entry = series = ms = None
            if at is not None and bar is not None:
                symbol, candle = at
                ms = _ms(candle)
                series = book.get(symbol) if type(symbol) is str else None
                if series is not None and ms is not None:
                    entry = series.get(ms)
            if entry is None or series is None or ms is None:
                cache[at] = unknown
                continue
            closes = [series.get(ms + step) for step in steps]
            cache[at] = tuple([None if later is None else later / entry - 1 - cost for later in closes])

    def decision(self, at: Any) -> float | None:
        """The net forward return at the decision horizon."""
        return self.returns(at)[self._index]


def _ms(candle: Any) -> int | None:
    """A journal ``candle_ts`` in integer milliseconds (numbers inline; anything else as :func:`epoch_ms`)."""
    if type(candle) is float or type(candle) is int:
        number: float = candle
        if -_SECONDS_BELOW < number < _SECONDS_BELOW:
            return round(number * 1000)
        if -1e16 < number < 1e16:
            return round(number)
    return epoch_ms(candle)


def _candidates(agg: Aggregate) -> set[Any]:
    """Every signal candidate whose outcome the report needs: ``(symbol, candle_ts)``."""
    seen: set[Any] = {(symbol, candle) for _, symbol, candle in agg.fired}
    for acc in agg.checks.values():
        seen.update(acc.signal_at)
    seen.discard(None)  # signal_at holds None for candidates off a candle
    return seen


def _windows(seen: set[Any]) -> dict[str, tuple[int, int]]:
    """Per symbol, the first and last candle (ms) of the candidates ``seen``."""
    spans: dict[str, list[int]] = {}
    for symbol, candle in seen:
        ms = _ms(candle)
        if type(symbol) is not str or ms is None:
            continue
        span = spans.get(symbol)
        if span is None:
            spans[symbol] = [ms, ms]
        elif ms < span[0]:
            span[0] = ms
        elif ms > span[1]:
            span[1] = ms
    return {symbol: (span[0], span[1]) for symbol, span in spans.items()}


def load_outcomes(agg: Aggregate, price_paths: Sequence[str], settings: OutcomeSettings) -> Outcomes:
    """The closes the journal recorded (payload ``close`` with a numeric ``candle_ts``), then the files'."""
    book = PriceBook()
    journal = 0
    for (symbol, candle), close in agg.prices.items():
        ms = _ms(candle)
        if type(symbol) is str and ms is not None:
            book.add(symbol, ms, float(close))
            journal += 1
    seen = _candidates(agg)
    windows = _windows(seen) if price_paths else {}
    sources = [book.load(path, windows, max(settings.horizons)) for path in price_paths]
    if settings.bar_seconds is not None:
        bar_ms: int | None = round(settings.bar_seconds * 1000)
    else:
        bar_ms = book.bar_ms()
    outcomes = Outcomes(book, bar_ms, settings, sources, journal)
    outcomes.prefill(seen)
    return outcomes


def outcome_stats(horizon: int, candidates: int, returns: Sequence[float], bounds: tuple[float, float]) -> OutcomeStats:
    """Median, clipped average and win share of the known ``returns`` of ``candidates``."""
    if not returns:
        return OutcomeStats(horizon, candidates, 0, None, None, None)
    low, high = bounds
    ordered = sorted(returns)
    n = len(ordered)
    # Clipping a sorted list changes only its ends: the average needs no pass over every value.
    below, above = bisect_left(ordered, low), bisect_right(ordered, high)
    clipped_sum = math.fsum([*([low] * below), *ordered[below:above], *([high] * (n - above))])  # exact
    mid = n // 2
    median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return OutcomeStats(horizon, candidates, n, median, clipped_sum / n, (n - bisect_right(ordered, 0.0)) / n)
