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
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from operator import sub
from typing import Any, BinaryIO

import orjson

from otel_breakout.report._inputs import is_gzip
from otel_breakout.report._model_advice import PriceSource

__all__ = ["MAX_JSON_BYTES", "PriceBook", "epoch_ms", "symbol_key"]

MAX_JSON_BYTES = 512 << 20  # a JSON file is parsed whole; CSV is streamed whatever its size
_SECONDS_BELOW = 1e11  # a smaller epoch number is seconds (as milliseconds it would predate March 1973)
_SYMBOL_COLUMNS = ("symbol", "pair", "market")
_TIME_COLUMNS = ("timestamp", "date", "time", "datetime", "open_time", "ts")
_CLOSE_COLUMNS = ("close",)
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
_FILE_SYMBOL = re.compile(r"^(?P<symbol>[^-.]+)")
_FAR = 1 << 62
_UNKNOWN: Any = object()


class _Partial(Exception):
    """A read error part-way: the counts so far, and why it stopped."""

    def __init__(self, counts: tuple[int, int, int], cause: BaseException) -> None:
        super().__init__(str(cause))
        self.counts = counts
        self.cause = cause


def symbol_key(symbol: str) -> str:
    """The symbol's letters and digits, upper-cased: how a file's symbol meets the journal's."""
    return _NOT_ALNUM.sub("", symbol).upper()


def epoch_ms(value: object) -> int | None:
    """Integer epoch milliseconds for an epoch number (seconds or milliseconds) or ISO 8601 text; else None."""
    if type(value) is str and value.isdigit():  # the common case in a file: whole milliseconds or seconds
        whole = int(value)
        return whole * 1000 if whole < _SECONDS_BELOW else whole
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
    """The candles one symbol needs: from its first candidate to ``horizon`` bars after its last, a bar being
    the smallest spacing seen so far between the symbol's rows (kept inline in :meth:`PriceBook.load`)."""

    __slots__ = ("first", "last", "last_seen", "step")

    def __init__(self, first: int, last: int) -> None:
        self.first = first
        self.last = last
        self.last_seen: int | None = None
        self.step = _FAR  # the smallest spacing seen between this symbol's rows (its bar)


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
            times = sorted(series)  # distinct: every spacing is positive
            gaps.update(map(sub, times[1:], times))
        if not gaps:
            return None
        return min(gaps.items(), key=lambda item: (-item[1], item[0]))[0]

    def load(self, path: str, windows: Mapping[str, tuple[int, int]], horizon: int) -> PriceSource:
        """Read one file, keeping the rows of the symbols in ``windows`` (journal symbol -> (first, last) candle
        in ms) from their first candle to ``horizon`` bars after their last. Rows of other symbols are skipped
        unread (``bad_rows`` counts those of wanted symbols without a time or a positive close). Never raises
        for bad content."""
        keys = {symbol_key(symbol): symbol for symbol in windows}
        state = {symbol: _Window(*window) for symbol, window in windows.items()}
        rows = kept = bad = 0
        form = ""
        # Per spelling in the file: its window and series (None: no candidate wants it). The loop is hot: rows are
        # read in place (no generator in between) and the common forms (whole-number times) parsed inline.
        known: dict[str, tuple[_Window, dict[int, float]] | None] = {}
        try:
            with _open(path) as handle:
                head = handle.peek(64)[:64] if hasattr(handle, "peek") else b""
                text: io.TextIOWrapper | None = None
                if head.lstrip().startswith(b"["):
                    form = "freqtrade-json"
                    table: Any = _json_table(handle)
                    symbol_at, time_at, close_at, fixed = None, 0, 4, _file_symbol(path)
                else:
                    form = "csv"
                    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
                    table = csv.reader(text)
                    symbol_at, time_at, close_at = _csv_columns(next(table, None))
                    fixed = _file_symbol(path)
                try:
                    rows, kept, bad = self._rows(
                        table, symbol_at, time_at, close_at, fixed, known, keys, state, horizon
                    )
                finally:
                    if text is not None:
                        text.detach()  # the with-block closes the file
        except _Partial as partial:
            rows, kept, bad = partial.counts
            return PriceSource(path, form, rows, kept, _matched(known), bad, _describe(partial.cause))
        except (OSError, EOFError, ValueError, UnicodeDecodeError, csv.Error) as exc:
            return PriceSource(path, form, rows, kept, _matched(known), bad, _describe(exc))
        return PriceSource(path, form, rows, kept, _matched(known), bad, None)

    def _rows(
        self,
        table: Any,
        symbol_at: int | None,
        time_at: int,
        close_at: int,
        fixed: str,
        known: dict[str, tuple[_Window, dict[int, float]] | None],
        keys: Mapping[str, str],
        state: Mapping[str, _Window],
        horizon: int,
    ) -> tuple[int, int, int]:
        """The hot loop of :meth:`load`: (rows, kept, bad rows)."""
        rows = kept = bad = 0
        try:
            for row in table:
                if not row:
                    continue  # a blank line
                rows += 1
                try:
                    symbol = fixed if symbol_at is None else row[symbol_at]
                    stamp, close = row[time_at], row[close_at]
                    target = known.get(symbol, _UNKNOWN)
                except (IndexError, TypeError, KeyError):  # a short row, or not a row at all
                    bad += 1
                    continue
                if target is _UNKNOWN:
                    journal = symbol if symbol in state else keys.get(symbol_key(symbol))
                    target = known[symbol] = (
                        None if journal is None else (state[journal], self.series.setdefault(journal, {}))
                    )
                if target is None:
                    continue
                ms: int | None
                if type(stamp) is str and stamp.isdigit():
                    whole = int(stamp)
                    ms = whole * 1000 if whole < _SECONDS_BELOW else whole
                elif type(stamp) is int and stamp >= _SECONDS_BELOW:
                    ms = stamp
                else:
                    ms = epoch_ms(stamp)
                try:
                    price = float(close)
                except (TypeError, ValueError):
                    price = 0.0
                if ms is None or not 0 < price < math.inf or type(close) is bool:
                    bad += 1
                    continue
                window, series = target
                # The window (see _Window), inline: this symbol's spacing, then whether the row is wanted.
                last_seen = window.last_seen
                if last_seen is None:
                    window.last_seen = ms
                elif ms > last_seen:
                    if ms - last_seen < window.step:
                        window.step = ms - last_seen
                    window.last_seen = ms
                if ms >= window.first and (window.step == _FAR or ms <= window.last + horizon * window.step):
                    series.setdefault(ms, price)
                    kept += 1
        except (OSError, EOFError, ValueError, UnicodeDecodeError, csv.Error) as exc:
            raise _Partial((rows, kept, bad), exc) from None
        return rows, kept, bad


def _matched(known: Mapping[str, tuple[_Window, dict[int, float]] | None]) -> int:
    """Journal symbols a file had rows for (two spellings of one symbol count once)."""
    return len({id(target[1]) for target in known.values() if target is not None and target[0].last_seen is not None})


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _open(path: str) -> Any:
    if is_gzip(path):
        return gzip.open(path, "rb")
    return open(path, "rb")  # closed by the caller's with-block


def _file_symbol(path: str) -> str:
    match = _FILE_SYMBOL.match(os.path.basename(path))
    return match.group("symbol") if match else ""


def _pick(header: list[str], names: Iterable[str]) -> int | None:
    lowered = [name.strip().lower() for name in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _csv_columns(header: list[str] | None) -> tuple[int | None, int, int]:
    """(symbol, time, close) column indexes from the header row; no symbol column: None."""
    if header is None:
        raise ValueError("an empty file: expected a header row with symbol, timestamp and close columns")
    time_at, close_at = _pick(header, _TIME_COLUMNS), _pick(header, _CLOSE_COLUMNS)
    if time_at is None or close_at is None:
        raise ValueError(
            "the header row needs a close column and a time column (timestamp, date, time, datetime, open_time "
            f"or ts); found {', '.join(h.strip() for h in header) or 'nothing'}"
        )
    return _pick(header, _SYMBOL_COLUMNS), time_at, close_at


def _json_table(handle: BinaryIO) -> list[Any]:
    data = handle.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise ValueError(f"a JSON price file over {MAX_JSON_BYTES >> 20} MiB; convert it to CSV, which is streamed")
    try:
        rows = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(rows, list):
        raise ValueError("expected an array of [date_ms, open, high, low, close, volume] rows")
    return rows
