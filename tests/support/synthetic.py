"""Synthetic diagnostics journals, written by the journal codec (:mod:`otel_breakout.diagnostics._schema`).

Test and benchmark support (``bench_report`` and the report's tests), not part of the wheel.

A seeded random walk through a breakout bot's pipeline: every scan cycle runs the scanner's filter stages
over the symbols (a symbol that fails a stage stops there), then every strategy evaluates all its
conditions on the candle of each symbol that passed. Values are drawn around each threshold so that a
realistic share of failures are near misses, and per-symbol biases make the blockers differ by symbol.
The same seed always yields the same bytes.

``joined=True`` writes what the demo engine records instead: every filter and every condition of every
strategy on every symbol's candle, scanner events carrying the ``candle_ts`` too, and values drawn
independently of the thresholds. ``thresholds`` then overrides thresholds by check name without changing
a single value, so a planted fault (a threshold far too strict) and a rerun with the report's
recommendation differ only in which evaluations pass.
"""

from __future__ import annotations

import gzip
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from otel_breakout.diagnostics._schema import encode, journal_line

__all__ = ["CheckSpec", "JournalSpec", "iter_events", "price_path", "write_journal", "write_prices"]

Direction = Literal["min", "max"]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One filter or condition: passes when ``value >= threshold`` (min) or ``value <= threshold`` (max)."""

    name: str
    direction: Direction
    threshold: float
    pass_rate: float
    near_share: float  # share of the failures that land within 10% of the threshold


SCANNER_STAGES: tuple[tuple[str, tuple[CheckSpec, ...]], ...] = (
    (
        "liquidity",
        (
            CheckSpec("min_volume_usd", "min", 5_000_000.0, 0.85, 0.3),
            CheckSpec("min_trades_per_minute", "min", 30.0, 0.8, 0.4),
            CheckSpec("max_spread_bps", "max", 8.0, 0.9, 0.5),
        ),
    ),
    ("volatility", (CheckSpec("atr_range", "min", 0.012, 0.7, 0.45),)),
    ("correlation", (CheckSpec("max_btc_correlation", "max", 0.85, 0.9, 0.6),)),
)
STRATEGIES: tuple[tuple[str, tuple[CheckSpec, ...]], ...] = (
    (
        "momentum",
        (
            CheckSpec("volume_threshold", "min", 1.5, 0.6, 0.5),
            CheckSpec("price_breakout", "min", 0.002, 0.7, 0.35),
            CheckSpec("rsi_max", "max", 75.0, 0.9, 0.6),
        ),
    ),
    (
        "retest",
        (
            CheckSpec("breakout_confirmation", "min", 0.6, 0.55, 0.5),
            CheckSpec("pullback_depth", "max", 0.35, 0.8, 0.4),
        ),
    ),
)
DEFAULT_SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "ADA/USDT", "AVAX/USDT", "LINK/USDT")


@dataclass(frozen=True, slots=True)
class JournalSpec:
    """What to simulate. ``cycles`` scan cycles per session, one every ``cycle_seconds``."""

    seed: int = 0
    sessions: int = 1
    symbols: Sequence[str] = DEFAULT_SYMBOLS
    cycles: int = 50
    start_ts: float = 1_755_640_800.0
    cycle_seconds: float = 60.0
    traced_share: float = 0.95  # cycles that ran inside a span (the others have null trace ids)
    other_events: bool = True  # engine cycle and risk events from plain ``record()``
    coerced_share: float = 0.002  # values the collector coerced from NaN to null with a marker
    joined: bool = False  # the demo's form: everything evaluated on every candle, filters with candle_ts
    thresholds: tuple[tuple[str, float], ...] = ()  # (check name, threshold) overrides, joined form only
    closes: bool = False  # joined form: each evaluation also records its candle's close (see price_path)


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _draw(rng: random.Random, check: CheckSpec, bias: float) -> tuple[float, bool]:
    t = check.threshold
    passed = rng.random() < max(0.05, min(0.98, check.pass_rate + bias))
    if passed:
        gap = rng.uniform(0.0, 0.6)
    elif rng.random() < check.near_share:
        gap = -rng.uniform(0.001, 0.1)
    else:
        gap = -rng.uniform(0.1, 0.7)
    value = t * (1 + gap) if check.direction == "min" else t * (1 - gap)
    return round(value, 6), passed


def _draw_fixed(rng: random.Random, check: CheckSpec, bias: float, threshold: float) -> tuple[float, bool]:
    """A value around the check's default threshold from exactly three draws, judged against ``threshold``."""
    pass_draw, near_draw, size = rng.random(), rng.random(), rng.random()
    if pass_draw < max(0.05, min(0.98, check.pass_rate + bias)):
        gap = 0.6 * size
    elif near_draw < check.near_share:
        gap = -(0.001 + 0.099 * size)
    else:
        gap = -(0.1 + 0.6 * size)
    t = check.threshold
    value = round(t * (1 + gap) if check.direction == "min" else t * (1 - gap), 6)
    return value, (value >= threshold if check.direction == "min" else value <= threshold)


def _near(value: float | None, threshold: float, passed: bool) -> bool:
    if passed or value is None:
        return False
    margin = 0.1 * abs(threshold) if threshold != 0 else 0.1
    return abs(value - threshold) <= margin


def _cycles(
    spec: JournalSpec, rng: random.Random
) -> Iterator[tuple[str, dict[str, dict[str, float]], float, str | None, int]]:
    """Every scan cycle of every session: (session, per-symbol biases, cycle start, trace id or None, candle_ts).

    Draws the biases at each session's start and the trace before each cycle, between the draws of the cycles."""
    for s in range(spec.sessions):
        session = f"S{spec.seed}-{s}" if spec.sessions > 1 else f"S{spec.seed}"
        biases = {
            sym: {c.name: rng.uniform(-0.25, 0.1) for _, cs in (*SCANNER_STAGES, *STRATEGIES) for c in cs}
            for sym in spec.symbols
        }
        cycle_start = spec.start_ts + s * spec.cycles * spec.cycle_seconds
        for _ in range(spec.cycles):
            traced = rng.random() < spec.traced_share
            yield session, biases, cycle_start, _hex(rng, 32) if traced else None, int(cycle_start // 60 * 60)
            cycle_start = cycle_start + spec.cycle_seconds


def iter_events(spec: JournalSpec) -> Iterator[dict[str, Any]]:
    """The events of every session, in the order a bot would write them."""
    if spec.joined:
        yield from _joined_events(spec)
        return
    if spec.thresholds:
        raise ValueError("threshold overrides need joined=True (values must not depend on the thresholds)")
    rng = random.Random(spec.seed)
    for session, biases, cycle_start, trace, candle_ts in _cycles(spec, rng):
        ts = cycle_start
        for symbol in spec.symbols:
            survived = True
            for stage, checks in SCANNER_STAGES:
                stage_ok = True
                for check in checks:
                    ts += 0.001
                    value: float | None
                    value, passed = _draw(rng, check, biases[symbol][check.name])
                    payload: dict[str, Any] = {
                        "filter": check.name,
                        "value": value,
                        "threshold": check.threshold,
                        "direction": check.direction,
                    }
                    if not passed and rng.random() < spec.coerced_share:
                        payload["value"] = value = None
                        payload["value__coerced"] = "nan"
                    yield journal_line(
                        round(ts, 6),
                        session,
                        "scanner",
                        stage,
                        symbol,
                        passed,
                        None if passed else f"filter:{check.name}",
                        _near(value, check.threshold, passed),
                        trace,
                        _hex(rng, 16) if trace is not None else None,
                        payload,
                    )
                    stage_ok = stage_ok and passed
                if not stage_ok:
                    survived = False
                    break
            if not survived:
                continue
            for strategy, conditions in STRATEGIES:
                for cond in conditions:
                    ts += 0.001
                    value, passed = _draw(rng, cond, biases[symbol][cond.name])
                    yield journal_line(
                        round(ts, 6),
                        session,
                        "signal",
                        strategy,
                        symbol,
                        passed,
                        None if passed else f"signal:{strategy}:{cond.name}",
                        _near(value, cond.threshold, passed),
                        trace,
                        _hex(rng, 16) if trace is not None else None,
                        {
                            "strategy": strategy,
                            "condition": cond.name,
                            "value": value,
                            "threshold": cond.threshold,
                            "direction": cond.direction,
                            "candle_ts": candle_ts,
                        },
                    )
        if spec.other_events:
            yield from _other_events(rng, spec, ts, session, trace)


def _other_events(
    rng: random.Random, spec: JournalSpec, ts: float, session: str, trace: str | None
) -> Iterator[dict[str, Any]]:
    ts += 0.001
    yield journal_line(
        round(ts, 6),
        session,
        "engine",
        "cycle",
        None,
        None,
        None,
        False,
        trace,
        None,
        {"duration_ms": round(rng.uniform(5, 80), 3)},
    )
    if rng.random() < 0.1:
        ts += 0.001
        yield journal_line(
            round(ts, 6),
            session,
            "risk",
            "position_limit",
            rng.choice(list(spec.symbols)),
            False,
            "risk:max_positions",
            False,
            trace,
            None,
            {"open_positions": 3, "limit": 3},
        )


def _candles(spec: JournalSpec, extra: int = 0) -> list[int]:
    """Every candle the spec's cycles evaluate (sessions one after another), then ``extra`` more."""
    step = spec.cycle_seconds
    count = spec.sessions * spec.cycles + extra
    return [int((spec.start_ts + i * step) // 60 * 60) for i in range(count)]


def price_path(spec: JournalSpec, extra: int = 0) -> dict[str, dict[int, float]]:
    """A random walk of closes per symbol over the spec's candles (``candle_ts`` -> close), from generators of
    its own: recording the closes or writing them to a file changes no other draw."""
    candles = _candles(spec, extra)
    paths: dict[str, dict[int, float]] = {}
    for symbol in spec.symbols:
        rng = random.Random(f"{spec.seed}:prices:{symbol}")
        price = 10 ** rng.uniform(0, 4)
        series: dict[int, float] = {}
        for candle in candles:
            price *= math.exp(rng.gauss(0.0, 0.004))
            series[candle] = round(price, 8)
        paths[symbol] = series
    return paths


def write_prices(path: str | Path, spec: JournalSpec, *, extra: int = 30) -> Path:
    """The spec's closes as a price CSV (symbol, timestamp in epoch milliseconds, close), ``extra`` candles past
    the last one so that every candle has its forward returns."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("symbol,timestamp,close\n")
        for symbol, series in price_path(spec, extra).items():
            for candle, close in series.items():
                handle.write(f"{symbol},{candle * 1000},{close!r}\n")
    return path


def _joined_events(spec: JournalSpec) -> Iterator[dict[str, Any]]:
    rng = random.Random(spec.seed)
    closes = price_path(spec) if spec.closes else None
    overrides = dict(spec.thresholds)
    known = {c.name for _, cs in (*SCANNER_STAGES, *STRATEGIES) for c in cs}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"no check named {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    for session, biases, cycle_start, trace, candle_ts in _cycles(spec, rng):
        ts = cycle_start
        for symbol in spec.symbols:
            for component, groups in (("scanner", SCANNER_STAGES), ("signal", STRATEGIES)):
                for stage, checks in groups:
                    for check in checks:
                        ts += 0.001
                        threshold = overrides.get(check.name, check.threshold)
                        value: float | None
                        value, passed = _draw_fixed(rng, check, biases[symbol][check.name], threshold)
                        coerced = rng.random() < spec.coerced_share
                        span = _hex(rng, 16) if trace is not None else None
                        if component == "scanner":
                            payload: dict[str, Any] = {"filter": check.name}
                            reason = f"filter:{check.name}"
                        else:
                            payload = {"strategy": stage, "condition": check.name}
                            reason = f"signal:{stage}:{check.name}"
                        payload.update(value=value, threshold=threshold, direction=check.direction)
                        payload["candle_ts"] = candle_ts
                        if closes is not None:
                            payload["close"] = closes[symbol][candle_ts]
                        if coerced:  # a NaN fails whatever the threshold, as comparisons with NaN do
                            payload["value"] = value = None
                            payload["value__coerced"] = "nan"
                            passed = False
                        yield journal_line(
                            round(ts, 6),
                            session,
                            component,
                            stage,
                            symbol,
                            passed,
                            None if passed else reason,
                            _near(value, threshold, passed),
                            trace,
                            span,
                            payload,
                        )
        if spec.other_events:
            yield from _other_events(rng, spec, ts, session, trace)


def write_journal(
    directory: str | Path,
    spec: JournalSpec,
    *,
    rotate_bytes: int | None = None,
    compress: bool = False,
) -> list[Path]:
    """Write ``spec``'s events as ``diag_<session>_<epoch>.jsonl`` files (rotated ``.1``, ``.2``... past
    ``rotate_bytes``; gzip-compressed ``.jsonl.gz`` with ``compress``). Returns the files in write order."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    current: Any = None
    current_session: str | None = None
    size = 0
    rotation = 0
    epoch = int(spec.start_ts)

    def open_next(session: str) -> Any:
        nonlocal size
        suffix = f".{rotation}" if rotation else ""
        path = directory / f"diag_{session}_{epoch}{suffix}.jsonl{'.gz' if compress else ''}"
        written.append(path)
        size = 0
        # mtime=0: the same spec gives the same bytes, compressed or not.
        return gzip.GzipFile(path, "wb", compresslevel=5, mtime=0) if compress else path.open("wb")

    try:
        for event in iter_events(spec):
            line = encode(event)
            if event["session_id"] != current_session:
                if current is not None:
                    current.close()
                current_session, rotation = event["session_id"], 0
                current = open_next(event["session_id"])
            elif rotate_bytes is not None and size + len(line) > rotate_bytes:
                current.close()
                rotation += 1
                current = open_next(event["session_id"])
            current.write(line)
            size += len(line)
    finally:
        if current is not None:
            current.close()
    return written
