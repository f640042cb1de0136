"""Candle closes for outcomes: from ``--prices`` files and from the journal, looked up by symbol and candle.

Two file forms are read, plain or gzip (detected by content):

- **CSV** with a header row: a close column (``close``), a time column (``timestamp``, ``date``, ``time``,
  ``datetime``, ``open_time`` or ``ts``) and a symbol column (``symbol``, ``pair`` or ``market``); without
  a symbol column the file name names the symbol (``BTC_USDT-1m.csv``). Other columns are ignored. This is
  what ``pandas.DataFrame(exchange.fetch_ohlcv(...), columns=[...]).to_csv()`` writes for a ccxt user, and
  what ``to_csv()`` writes for a freqtrade dataframe (``date`` as ``2025-08-19 22:00:00+00:00``).
- **freqtrade's JSON data files** (``freqtrade convert-data --format-to json``): an array of
  ``[date_ms, open, high, low, close, volume]`` rows, the symbol from the file name (``BTC_USDT-1m.json``).

Times are epoch milliseconds (ccxt, freqtrade), epoch seconds (a number below 10^11, which as milliseconds
would be before March 1973) or ISO 8601 text (UTC unless an offset is given). Every time is kept as integer
milliseconds, the journal's ``candle_ts`` included, so seconds and milliseconds meet. Symbols match exactly,
or else by their letters and digits, upper-cased (``BTC/USDT``, ``BTCUSDT`` and ``btc_usdt`` are one symbol).

Memory is bounded by the journal, not by the files: only rows of symbols that have candidates are kept, from
their first candle to the longest horizon after their last (see :meth:`PriceBook.load`).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from itertools import pairwise
from typing import Any, BinaryIO

import orjson

from otel_breakout.report._inputs import is_gzip
from otel_breakout.report._model import PriceSource

__all__ = ["MAX_JSON_BYTES", "PriceBook", "epoch_ms", "symbol_key"]

MAX_JSON_BYTES = 512 << 20  # a JSON file is parsed whole; CSV is streamed whatever its size
_SECONDS_BELOW = 1e11  # a smaller epoch number is seconds (as milliseconds it would predate March 1973)
_SYMBOL_COLUMNS = ("symbol", "pair", "market")
_TIME_COLUMNS = ("timestamp", "date", "time", "datetime", "open_time", "ts")
_CLOSE_COLUMNS = ("close",)
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
_FILE_SYMBOL = re.compile(r"^(?P<symbol>[^-.]+)")
_FAR = 1 << 62


def symbol_key(symbol: str) -> str:
    """The symbol's letters and digits, upper-cased: how a file's symbol meets the journal's."""
    return _NOT_ALNUM.sub("", symbol).upper()


def epoch_ms(value: object) -> int | None:
    """Integer epoch milliseconds for an epoch number (seconds or milliseconds) or ISO 8601 text; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return _iso_ms(text)
    else:
        return None
    if not math.isfinite(number) or abs(number) >= 1e16:
        return None
    return round(number * 1000) if abs(number) < _SECONDS_BELOW else round(number)


def _iso_ms(text: str) -> int | None:
    try:
        # Python 3.10's fromisoformat takes neither a trailing Z nor a bare date with a T-less time oddity.
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


class _Window:
    """The candles one symbol needs: from its first candidate to ``horizon`` bars after its last."""

    __slots__ = ("first", "last", "last_seen", "step")

    def __init__(self, first: int, last: int) -> None:
        self.first = first
        self.last = last
        self.last_seen: int | None = None
        self.step = _FAR  # the smallest spacing seen between this symbol's rows (its bar)

    def keep(self, ms: int, horizon: int) -> bool:
        if self.last_seen is not None and ms > self.last_seen:
            self.step = min(self.step, ms - self.last_seen)
        if self.last_seen is None or ms > self.last_seen:
            self.last_seen = ms
        if ms < self.first:
            return False
        return self.step == _FAR or ms <= self.last + horizon * self.step


class PriceBook:
    """Closes by symbol and candle (integer epoch milliseconds)."""

    def __init__(self) -> None:
        self.series: dict[str, dict[int, float]] = {}
        self._keys: dict[str, str] = {}  # symbol_key -> the journal's spelling

    def add(self, symbol: str, ms: int, close: float) -> None:
        """A close; the first one recorded for a candle wins (the journal's, then the files' in order)."""
        series = self.series.get(symbol)
        if series is None:
            series = self.series[symbol] = {}
        series.setdefault(ms, close)

    def close_at(self, symbol: str, ms: int) -> float | None:
        series = self.series.get(symbol)
        return None if series is None else series.get(ms)

    def bar_ms(self) -> int | None:
        """The most common spacing between consecutive closes of a symbol (the candle length), or None."""
        gaps: Counter[int] = Counter()
        for series in self.series.values():
            times = sorted(series)
            gaps.update(b - a for a, b in pairwise(times) if b > a)
        if not gaps:
            return None
        return min(gaps.items(), key=lambda item: (-item[1], item[0]))[0]

    def load(self, path: str, windows: Mapping[str, tuple[int, int]], horizon: int) -> PriceSource:
        """Read one file, keeping the rows of the symbols in ``windows`` (journal symbol -> (first, last) candle
        in ms) from their first candle to ``horizon`` bars after their last. Never raises for bad content."""
        keys = {symbol_key(symbol): symbol for symbol in windows}
        state = {symbol: _Window(*window) for symbol, window in windows.items()}
        rows = kept = bad = 0
        matched: set[str] = set()
        form = ""
        try:
            with _open(path) as handle:
                head = handle.peek(64)[:64] if hasattr(handle, "peek") else b""
                form = "freqtrade-json" if head.lstrip().startswith(b"[") else "csv"
                reader = _json_rows(path, handle) if form == "freqtrade-json" else _csv_rows(path, handle)
                for symbol, stamp, close in reader:
                    rows += 1
                    ms = epoch_ms(stamp)
                    price = _price(close)
                    if ms is None or price is None:
                        bad += 1
                        continue
                    journal = symbol if symbol in state else keys.get(symbol_key(symbol))
                    if journal is None or not state[journal].keep(ms, horizon):
                        continue
                    matched.add(journal)
                    self.add(journal, ms, price)
                    kept += 1
        except (OSError, EOFError, ValueError, UnicodeDecodeError, csv.Error) as exc:
            return PriceSource(path, form, rows, kept, len(matched), bad, _describe(exc))
        return PriceSource(path, form, rows, kept, len(matched), bad, None)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _open(path: str) -> Any:
    if is_gzip(path):
        return gzip.open(path, "rb")
    return open(path, "rb")  # closed by the caller's with-block


def _price(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        price = float(value)  # type: ignore[arg-type]  # str or number, anything else raises
    except (TypeError, ValueError):
        return None
    return price if math.isfinite(price) and price > 0 else None


def _file_symbol(path: str) -> str:
    match = _FILE_SYMBOL.match(os.path.basename(path))
    return match.group("symbol") if match else ""


def _pick(header: list[str], names: Iterable[str]) -> int | None:
    lowered = [name.strip().lower() for name in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _csv_rows(path: str, handle: BinaryIO) -> Iterator[tuple[str, object, object]]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        yield from _csv_body(path, csv.reader(text))
    finally:
        text.detach()  # the caller closes the file


def _csv_body(path: str, reader: Iterator[list[str]]) -> Iterator[tuple[str, object, object]]:
    header = next(reader, None)
    if header is None:
        return
    time_at, close_at = _pick(header, _TIME_COLUMNS), _pick(header, _CLOSE_COLUMNS)
    if time_at is None or close_at is None:
        raise ValueError(
            "the header row needs a close column and a time column (timestamp, date, time, datetime, open_time "
            f"or ts); found {', '.join(h.strip() for h in header) or 'nothing'}"
        )
    symbol_at = _pick(header, _SYMBOL_COLUMNS)
    fixed = _file_symbol(path)
    width = max(time_at, close_at, -1 if symbol_at is None else symbol_at)
    for row in reader:
        if len(row) <= width:
            if row:
                yield "", None, None  # counted as a bad row
            continue
        yield (row[symbol_at] if symbol_at is not None else fixed), row[time_at], row[close_at]


def _json_rows(path: str, handle: BinaryIO) -> Iterator[tuple[str, object, object]]:
    data = handle.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise ValueError(f"a JSON price file over {MAX_JSON_BYTES >> 20} MiB; convert it to CSV, which is streamed")
    try:
        rows = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(rows, list):
        raise ValueError("expected an array of [date_ms, open, high, low, close, volume] rows")
    symbol = _file_symbol(path)
    for row in rows:
        if isinstance(row, list) and len(row) >= 5:
            yield symbol, row[0], row[4]
        else:
            yield "", None, None
