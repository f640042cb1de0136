"""Price files as ccxt and freqtrade users export them, read into closes by symbol and candle."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from otel_breakout.report._prices import PriceBook, epoch_ms, symbol_key

T0 = 1_755_640_800  # 2025-08-19 22:00 UTC
WINDOW = {"BTC/USDT": (T0 * 1000, (T0 + 120) * 1000)}


def test_times_in_seconds_milliseconds_and_iso_text_meet() -> None:
    assert epoch_ms(T0) == epoch_ms(T0 * 1000) == epoch_ms(float(T0)) == T0 * 1000
    assert epoch_ms(str(T0 * 1000)) == T0 * 1000
    assert epoch_ms("2025-08-19T22:00:00Z") == epoch_ms("2025-08-19 22:00:00+00:00") == T0 * 1000
    assert epoch_ms("2025-08-20T00:00:00+02:00") == T0 * 1000
    assert epoch_ms("2025-08-19 22:00:00") == T0 * 1000  # no offset: UTC
    for bad in (None, True, "yesterday", float("nan"), float("inf"), 1e20, [1]):
        assert epoch_ms(bad) is None


def test_symbols_meet_by_their_letters_and_digits() -> None:
    assert symbol_key("BTC/USDT") == symbol_key("BTCUSDT") == symbol_key("btc_usdt") == "BTCUSDT"
    assert symbol_key("BTC/USDT:USDT") != symbol_key("BTC/USDT")  # a perpetual is another market


def test_a_ccxt_csv_export(tmp_path: Path) -> None:
    # pandas.DataFrame(exchange.fetch_ohlcv(symbol, "1m"), columns=[...]).assign(symbol=symbol).to_csv(index=False)
    rows = ["timestamp,open,high,low,close,volume,symbol"]
    rows += [f"{(T0 + 60 * i) * 1000},1,1,1,{100 + i},5,BTCUSDT" for i in range(30)]
    rows += [f"{T0 * 1000},1,1,1,7,5,ETH/USDT", "not-a-time,1,1,1,1,1,BTCUSDT", f"{T0 * 1000},1,1,1,-3,5,BTCUSDT"]
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(rows) + "\n")
    book = PriceBook()
    source = book.load(str(path), WINDOW, horizon=5)
    # The journal spells BTC/USDT; the file BTCUSDT. ETH has no candidate: its rows are not kept.
    assert (source.form, source.rows, source.bad_rows, source.symbols, source.error) == ("csv", 33, 2, 1, None)
    assert book.close_at("BTC/USDT", T0 * 1000) == 100.0
    # Kept from the first candle to five bars after the last (T0 + 120 s): 2 + 1 + 5 = 8 candles.
    assert source.kept == 8 and book.close_at("BTC/USDT", (T0 + 420) * 1000) == 107.0
    assert book.close_at("BTC/USDT", (T0 + 480) * 1000) is None
    assert book.bar_ms() == 60_000


def test_a_freqtrade_dataframe_csv_with_the_symbol_in_the_file_name(tmp_path: Path) -> None:
    # load_pair_history(...).to_csv(): an unnamed index column, "date" as text with an offset, no pair column.
    rows = [",date,open,high,low,close,volume"]
    rows += [f"{i},2025-08-19 22:0{i}:00+00:00,1,1,1,{50 + i},9" for i in range(3)]
    path = tmp_path / "BTC_USDT-1m.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    book = PriceBook()
    source = book.load(str(path), WINDOW, horizon=5)
    assert (source.form, source.rows, source.kept, source.error) == ("csv", 3, 3, None)
    assert book.close_at("BTC/USDT", (T0 + 120) * 1000) == 52.0


def test_freqtrade_json_data_files(tmp_path: Path) -> None:
    # freqtrade convert-data --format-to json (or jsongz): [[date_ms, open, high, low, close, volume], ...]
    candles = [[(T0 + 60 * i) * 1000, 1, 1, 1, 20 + i, 3] for i in range(4)]
    plain, zipped = tmp_path / "BTC_USDT-1m.json", tmp_path / "BTC_USDT-1m.json.gz"
    plain.write_bytes(orjson.dumps(candles))
    zipped.write_bytes(gzip.compress(orjson.dumps(candles)))
    for path in (plain, zipped):
        book = PriceBook()
        source = book.load(str(path), WINDOW, horizon=5)
        assert (source.form, source.rows, source.kept) == ("freqtrade-json", 4, 4)
        assert book.close_at("BTC/USDT", (T0 + 180) * 1000) == 23.0


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"symbol,when,price\nBTC/USDT,1,2\n", "needs a close column and a time column"),
        (b"[1, 2", "not JSON"),
        (b'{"a": 1}\n', "needs a close column"),  # not an array of candles, so read as CSV, and no header
    ],
)
def test_bad_files_are_reported_not_raised(tmp_path: Path, content: bytes, error: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    source = PriceBook().load(str(path), WINDOW, horizon=5)
    assert source.error is not None and error in source.error and source.kept == 0


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    source = PriceBook().load(str(tmp_path / "nope.csv"), WINDOW, horizon=5)
    assert source.error == "No such file or directory" and source.rows == 0


def test_the_first_close_of_a_candle_wins() -> None:
    book = PriceBook()
    book.add("BTC/USDT", 60_000, 1.0)
    book.add("BTC/USDT", 60_000, 2.0)
    assert book.close_at("BTC/USDT", 60_000) == 1.0
    assert book.close_at("ETH/USDT", 60_000) is None
