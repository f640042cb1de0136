"""The builder against the plain reference implementation, on random and on synthetic corpora.

Random corpora scatter a candidate's evaluations anywhere (the default window covers them all); synthetic
corpora keep them together as a bot writes them, which lets a tiny window and many byte ranges run through
the parallel path and the parent's merge of unfinished candidates.
"""

from __future__ import annotations

import gzip
import os
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_breakout import ConfigError, Settings
from otel_breakout.report import DiagnosticsReportBuilder
from otel_breakout.report._builder import idle_cores
from tests.support.report_reference import comparable, reference_report
from tests.support.synthetic import JournalSpec, write_journal, write_prices

_NAMES = {
    "scanner": ["min_volume", "max_spread", "atr_range"],
    "signal": ["volume", "rsi", "breakout"],
    "risk": ["max_positions"],
}
# Numeric candles join scanner filters with strategy conditions (60 and 60.0 are the same candle); a string,
# a boolean or no candle_ts does not (grouped by itself or by trace id).
_CANDLES = [60, 120, 180, 60.0, None, "c1", True]


@st.composite
def _event(draw: st.DrawFn) -> dict[str, Any]:
    component = draw(st.sampled_from(["scanner", "signal", "signal", "engine", "risk"]))
    stage = draw(
        st.sampled_from(
            ["liquidity", "volatility"]
            if component == "scanner"
            else ["momentum", "retest"]
            if component == "signal"
            else ["limits"]
        )
    )
    passed = draw(st.sampled_from([True, False, False, None]))
    payload: dict[str, Any] = {}
    name = None
    if component != "engine" and draw(st.booleans() | st.just(True)):
        name = draw(st.sampled_from(_NAMES.get(component, ["x"])))
        payload["filter" if component == "scanner" else "condition"] = name
        payload["value"] = draw(
            st.one_of(
                st.floats(min_value=-50, max_value=50, allow_nan=False),
                st.integers(-50, 50),
                st.none(),
                st.just("high"),
            )
        )
        payload["threshold"] = draw(st.sampled_from([10.0, 10, -4.0, 0.0, 2.5]))
        direction = draw(st.sampled_from(["min", "max", None, "sideways"]))
        if direction is not None:
            payload["direction"] = direction
        payload["candle_ts"] = draw(st.sampled_from(_CANDLES))
        if payload["candle_ts"] is None and draw(st.booleans()):
            del payload["candle_ts"]
    reason = None
    if passed is False:
        prefix = {"scanner": "filter", "signal": f"signal:{stage}"}.get(component, f"{component}:{stage}")
        reason = draw(st.sampled_from([f"{prefix}:{name}", "other", None]))
    return {
        "v": 1,
        "ts": draw(st.floats(min_value=1.7e9, max_value=1.7e9 + 86_400, allow_nan=False)),
        "session_id": draw(st.sampled_from(["S1", "S2"])),
        "component": component,
        "stage": stage,
        "symbol": draw(st.sampled_from(["A", "B", "C", None])),
        "passed": passed,
        "reason": reason,
        "near_miss": False,
        "trace_id": draw(st.sampled_from(["a" * 32, "b" * 32, "not-hex", None])),
        "span_id": draw(st.sampled_from(["c" * 16, None])),
        "payload": payload,
    }


@st.composite
def _candle_event(draw: st.DrawFn) -> dict[str, Any]:
    """Dense on purpose: few sessions, symbols and candles, so that filters and conditions meet on candles."""
    symbol = draw(st.sampled_from(["A", "B"]))
    component = draw(st.sampled_from(["scanner", "signal"]))
    stage = draw(st.sampled_from(["liquidity", "volatility"] if component == "scanner" else ["momentum", "retest"]))
    name = draw(st.sampled_from(_NAMES[component][:2]))
    threshold = draw(st.sampled_from([10.0, 2.5]))
    direction = draw(st.sampled_from(["min", "max"]))
    value = draw(st.one_of(st.floats(min_value=0, max_value=20, allow_nan=False), st.none()))
    passed = value is not None and (value >= threshold if direction == "min" else value <= threshold)
    if draw(st.integers(0, 9)) == 0:
        passed = not passed  # now and then a failure on the passing side (inconsistent) or a lucky pass
    key = "filter" if component == "scanner" else "condition"
    payload: dict[str, Any] = {key: name, "value": value, "threshold": threshold, "direction": direction}
    payload["candle_ts"] = candle = draw(st.sampled_from([60, 120, 60.0, 180]))
    # Some evaluations record their candle's close (one per symbol and candle; now and then one to skip).
    close = draw(st.sampled_from([None, "close", "close", 0, -1.0, True, "x"]))
    if close == "close":
        payload["close"] = 100.0 + candle / 60 + (0.5 if symbol == "A" else 0.0)
    elif close is not None:
        payload["close"] = close
    prefix = "filter" if component == "scanner" else f"signal:{stage}"
    return {
        "v": 1,
        "ts": 1.7e9 + draw(st.integers(0, 600)),
        "session_id": draw(st.sampled_from(["S1", "S1", "S2"])),
        "component": component,
        "stage": stage,
        "symbol": symbol,
        "passed": passed,
        "reason": None if passed else f"{prefix}:{name}",
        "near_miss": False,
        "trace_id": None,
        "span_id": None,
        "payload": payload,
    }


_JUNK = st.sampled_from(
    [
        b"not json",
        b'{"v": 1, "ts": NaN}',
        b'{"v": 2, "ts": 1, "session_id": "S", "component": "c", "stage": "s"}',
        b'{"v": 1, "ts": "x", "session_id": "S", "component": "c", "stage": "s"}',
        b'{"ts": 1}',
        b"[1]",
        b"",
    ]
)
_LINE = st.one_of(_event().map(orjson.dumps), _event().map(orjson.dumps), _JUNK)


def _write(directory: Path, files: list[list[bytes]], compress: list[bool]) -> list[str]:
    paths = []
    for n, (lines, gz) in enumerate(zip(files, compress, strict=False)):
        data = b"\n".join(lines) + b"\n"
        path = directory / f"diag_S_{n}.jsonl{'.gz' if gz else ''}"
        path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
        paths.append(str(path))
    return paths


def _assert_same(ours: dict[str, Any], reference: dict[str, Any]) -> None:
    ours_evidence, reference_evidence = ours.pop("evidence"), reference.pop("evidence")
    assert ours == reference
    for reason, examples in ours_evidence.items():
        assert reference_evidence[reason] == examples, reason


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(st.lists(_LINE, max_size=60), min_size=1, max_size=3),
    compress=st.lists(st.booleans(), min_size=3, max_size=3),
    chunk_bytes=st.integers(min_value=1024, max_value=8192),
    margin=st.sampled_from([0.1, 0.05, 0.5]),
    share=st.sampled_from([0.5, 0.3, 1.0]),
)
def test_random_corpora_match_the_reference(
    tmp_path_factory: pytest.TempPathFactory,
    files: list[list[bytes]],
    compress: list[bool],
    chunk_bytes: int,
    margin: float,
    share: float,
) -> None:
    paths = _write(tmp_path_factory.mktemp("random"), files, compress)
    report = DiagnosticsReportBuilder(
        paths, near_miss_margin=margin, recover_share=share, chunk_bytes=chunk_bytes, workers=1
    ).build()
    _assert_same(comparable(report), reference_report(paths, margin=margin, share=share))


def _by_candle(event: dict[str, Any]) -> tuple[str, str, float]:
    return event["session_id"], event["symbol"], float(event["payload"]["candle_ts"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(_candle_event(), min_size=1, max_size=80),
    chunk_bytes=st.integers(min_value=1024, max_value=4096),
    margin=st.sampled_from([0.1, 0.5]),
    share=st.sampled_from([0.5, 0.3, 1.0]),
    window=st.sampled_from([1, 2, 4096]),
    together=st.booleans(),
)
def test_filters_joined_with_conditions_on_candles_match_the_reference(
    tmp_path_factory: pytest.TempPathFactory,
    events: list[dict[str, Any]],
    chunk_bytes: int,
    margin: float,
    share: float,
    window: int,
    together: bool,
) -> None:
    # Small windows are exact when each candle's evaluations are written together, as a bot does; byte
    # ranges of a few lines then cut through candles, which the parent must join. The full window is exact
    # in any order.
    if window < 4096 or together:
        events = sorted(events, key=_by_candle)
    paths = _write(tmp_path_factory.mktemp("candles"), [[orjson.dumps(e) for e in events]], [False])
    # One-bar outcomes from the closes the journal recorded: each candle's is the next candle's close.
    outcomes: dict[str, Any] = {"horizons": (1,), "horizon": 1, "min_outcomes": 5}
    report = DiagnosticsReportBuilder(
        paths,
        near_miss_margin=margin,
        recover_share=share,
        chunk_bytes=chunk_bytes,
        workers=1,
        group_window=window,
        **outcomes,
    ).build()
    _assert_same(comparable(report), reference_report(paths, margin=margin, share=share, **outcomes))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(st.lists(_LINE, max_size=60), min_size=1, max_size=2),
    since=st.sampled_from([None, 1.7e9 + 20_000]),
    until=st.sampled_from([None, 1.7e9 + 60_000]),
    symbols=st.sampled_from([None, {"A"}, {"A", "B"}]),
    sessions=st.sampled_from([None, {"S2"}]),
)
def test_filters_match_the_reference(
    tmp_path_factory: pytest.TempPathFactory,
    files: list[list[bytes]],
    since: float | None,
    until: float | None,
    symbols: set[str] | None,
    sessions: set[str] | None,
) -> None:
    paths = _write(tmp_path_factory.mktemp("filters"), files, [False, True])
    report = DiagnosticsReportBuilder(paths, since=since, until=until, symbols=symbols, sessions=sessions).build()
    expected = reference_report(paths, since=since, until=until, symbols=symbols, sessions=sessions)
    _assert_same(comparable(report), expected)


def _synthetic(directory: Path, seed: int, *, joined: bool = False, closes: bool = False) -> list[str]:
    spec = JournalSpec(seed=seed, sessions=2, cycles=25, traced_share=0.9, joined=joined, closes=closes)
    return [str(p) for p in write_journal(directory, spec, rotate_bytes=60_000)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("window", "joined", "prices"),
    [(1, False, None), (3, False, None), (50, False, None), (1, True, "file"), (7, True, "journal")],
)
def test_parallel_byte_ranges_and_small_windows_match_the_reference(
    tmp_path: Path, window: int, joined: bool, prices: str | None
) -> None:
    # Joined journals put each candle's filters and conditions in one group, so byte ranges cut through
    # candles (7,000-byte ranges hold about 20 events): the parent must join their parts exactly, and so
    # the values of the signals that fired and the outcomes of every candidate.
    paths = _synthetic(tmp_path, seed=window, joined=joined, closes=prices == "journal")
    files = []
    if prices == "file":
        spec = JournalSpec(seed=window, sessions=2, cycles=25, traced_share=0.9, joined=True)
        files = [str(write_prices(tmp_path / "prices.csv", spec))]
    parallel = DiagnosticsReportBuilder(
        paths, workers=2, chunk_bytes=7_000, parallel_min_bytes=0, group_window=window, prices=files
    ).build()
    sequential = DiagnosticsReportBuilder(paths, workers=1, chunk_bytes=1 << 30, prices=files).build()
    assert parallel.to_dict() | {"options": None} == sequential.to_dict() | {"options": None}
    expected = reference_report(paths, prices=files)
    assert expected["outcomes"]["basis"] == ("outcomes" if joined else "no_outcomes")
    _assert_same(comparable(parallel), expected)


@pytest.mark.slow
def test_workers_start_with_spawn_when_threads_are_running(tmp_path: Path) -> None:
    # fork is only used while the process has a single thread; with a thread alive the pool must spawn.
    paths = _synthetic(tmp_path, seed=11)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        report = DiagnosticsReportBuilder(paths, workers=2, chunk_bytes=20_000, parallel_min_bytes=0).build()
    finally:
        stop.set()
        thread.join()
    _assert_same(comparable(report), reference_report(paths))


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="near_miss_margin"):
        DiagnosticsReportBuilder("x", near_miss_margin=0)
    with pytest.raises(ValueError, match="recover_share"):
        DiagnosticsReportBuilder("x", recover_share=1.5)
    with pytest.raises(ValueError, match="group_window"):
        DiagnosticsReportBuilder("x", group_window=0)
    with pytest.raises(ValueError, match="workers"):
        DiagnosticsReportBuilder("x", workers=-1)
    with pytest.raises(ValueError, match="not a time"):
        DiagnosticsReportBuilder("x", since="last tuesday")
    with pytest.raises(ConfigError, match="trace_url_template"):
        DiagnosticsReportBuilder("x", trace_url_template="ftp://tempo/{trace_id}")


def test_trace_links_follow_the_configured_template(tmp_path: Path) -> None:
    paths = _synthetic(tmp_path, seed=3)
    settings = Settings.from_env({"OTEL_BREAKOUT_TRACE_URL_TEMPLATE": "https://tempo.example/trace/{trace_id}"})
    report = DiagnosticsReportBuilder(paths, settings=settings).build()
    links = [link for item in report.evidence for link in item.examples if link.trace_id]
    assert links and all(link.url == f"https://tempo.example/trace/{link.trace_id}" for link in links)
    default = DiagnosticsReportBuilder(paths, settings=Settings.from_env({})).build()
    url = next(link.url for item in default.evidence for link in item.examples if link.url)
    assert url.startswith("http://127.0.0.1:3001/explore?") and "tempo" in url


def test_idle_cores_from_proc_stat(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3\n")

    def later() -> None:
        stat.write_text("cpu  150 0 150 900 0 0 0 0 0 0\n")  # half the time idle

    timer = threading.Timer(0.05, later)
    timer.start()
    try:
        free = idle_cores(64, interval=0.3, stat=str(stat))
    finally:
        timer.join()
    assert free == round(0.5 * (os.cpu_count() or 1))
    assert idle_cores(3, interval=0.0, stat=str(stat)) == 3  # no time passed: assume all free
    assert idle_cores(2, interval=0.0, stat=str(tmp_path / "missing")) == 2
    assert 0 <= idle_cores(2, interval=0.05) <= 2  # the real /proc/stat where there is one
