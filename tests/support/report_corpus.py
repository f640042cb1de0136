"""The fixed corpus behind the golden report: ``python -m tests.support.report_corpus`` rewrites it.

Two sessions of a synthetic bot (one rotated, one gzip-compressed), one session in the demo engine's
joined form (filters recorded with the candle's ``candle_ts``) with a planted fault (``atr_range`` at 0.025
where the values reach 0.0192) and a price file of its candles, and one small file of damaged lines, so the
golden report shows every section, outcomes and input problems included. The files are checked in: the golden
test reads them, never this generator, so a change to the generator cannot silently move the goldens.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from tests.support.synthetic import JournalSpec, write_journal, write_prices

__all__ = ["CORPUS", "PRICES", "write_corpus"]

ROOT = Path(__file__).resolve().parent.parent / "data" / "report"
CORPUS = ROOT / "journals"
PRICES = ROOT / "prices.csv"  # candles of the joined session, for its outcomes

_DAMAGED = (
    b"this line is not JSON\n"
    b'{"v": 1, "ts": NaN, "session_id": "G2", "component": "scanner", "stage": "liquidity", "payload": {}}\n'
    b'{"v": 1, "ts": "yesterday", "session_id": "G2", "component": "scanner", "stage": "liquidity"}\n'
    b'{"v": 2, "ts": 1755641000.0, "session_id": "G2", "component": "scanner", "stage": "liquidity"}\n'
    b'{"v": 1, "ts": 1755641000.5, "session_id": "G2", "component": "scanner", "stage": "liq'
)


def write_corpus(directory: Path = CORPUS) -> list[Path]:
    if directory.exists():
        shutil.rmtree(directory)
    symbols = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "DOGE/USDT")
    first = write_journal(directory, JournalSpec(seed=42, cycles=6, symbols=symbols), rotate_bytes=40_000)
    second = write_journal(
        directory,
        JournalSpec(seed=43, cycles=6, symbols=symbols, start_ts=1_755_641_400.0, traced_share=0.8),
        compress=True,
    )
    joined_spec = JournalSpec(
        seed=46,
        cycles=10,
        symbols=symbols,
        start_ts=1_755_642_000.0,
        joined=True,
        coerced_share=0.02,
        thresholds=(("atr_range", 0.025),),
    )
    joined = write_journal(directory, joined_spec)
    write_prices(PRICES, joined_spec)
    damaged = directory / "diag_G3_1755641000.jsonl"
    damaged.write_bytes(_DAMAGED)
    return [*first, *second, *joined, damaged]


if __name__ == "__main__":
    for path in write_corpus():
        print(path.relative_to(ROOT), path.stat().st_size)
    with gzip.open(next(CORPUS.glob("*.gz")), "rb") as handle:
        print("gzip lines:", handle.read().count(b"\n"))
