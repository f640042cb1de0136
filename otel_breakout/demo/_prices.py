"""The demo's candle file: every symbol's bar of every cycle, as a real bot's market-data store keeps them.

It is what ``otel-breakout report --prices`` reads (a CSV with ccxt's OHLCV columns plus the symbol, times
in epoch milliseconds), so the demo's own report can judge each threshold by what the candidates it blocked
did next. The engine only records symbols with a setup, so the journal alone has too few closes for that.
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import TracebackType
from typing import TextIO

from otel_breakout.demo._market import Market

__all__ = ["PRICE_COLUMNS", "PriceRecorder"]

PRICE_COLUMNS = ("symbol", "timestamp", "open", "high", "low", "close", "volume")


class PriceRecorder:
    """Appends the market's latest bar of every symbol to a CSV file; :meth:`close` when done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = self.path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(PRICE_COLUMNS)
        self.rows = 0

    def record(self, market: Market) -> None:
        """The bars the market just made (call after each cycle)."""
        if self._file is None:
            return
        rows = []
        for symbol in market.symbols:
            bar = symbol.bars[-1]
            # Ten significant digits: what an exchange quotes, and a third of the file size of repr().
            rows.append((symbol.name, round(bar.ts * 1000), *(f"{x:.10g}" for x in (bar.open, bar.high, bar.low,
                         bar.close, bar.volume))))  # fmt: skip
        self._writer.writerows(rows)
        self.rows += len(rows)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> PriceRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
