from __future__ import annotations

import asyncio
import enum
import json
import logging
import math
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import NumberDataPoint, Sum

from otel_breakout import Settings, Telemetry
from otel_breakout._internal import set_internal_errors_raise
from otel_breakout.catalogue import ENGINE_STATES, UnknownMetricError
from otel_breakout.metrics import MetricAttributeError, MetricsLogger, Sample, _instruments, _logger, get_metrics_logger
from otel_breakout.testing import TelemetryCapture, capture_telemetry
from tests.support.binaries import venv_bin

Points = dict[frozenset[tuple[str, Any]], Any]


@pytest.fixture
def logger(capture: TelemetryCapture) -> MetricsLogger:
    return MetricsLogger(capture.telemetry)


def key(**attributes: Any) -> frozenset[tuple[str, Any]]:
    return frozenset(attributes.items())


def production() -> Any:
    """Run a block the way a bot runs: guarded failures are logged and swallowed, not raised."""

    class _Production:
        def __enter__(self) -> None:
            self.previous = set_internal_errors_raise(False)

        def __exit__(self, *exc: object) -> None:
            set_internal_errors_raise(self.previous)

    return _Production()


# --- every instrument and attribute set, read back from the in-memory reader ----------------------


def test_engine_instruments(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    assert capture.metric_points("breakout.engine.state") == {}  # nothing before the first state
    for state in ENGINE_STATES:
        logger.set_state(state)
        points = capture.metric_points("breakout.engine.state")
        assert points == {key(state=s): (1.0 if s == state else 0.0) for s in ENGINE_STATES}
    logger.set_state("MANAGING")  # no change: no transition
    logger.set_state("idle")  # case-insensitive, canonical spelling kept
    transitions = capture.metric_points("breakout.engine.state.transitions")
    # Every transition is pre-bound, so rate() works from the first change on.
    assert len(transitions) == len(ENGINE_STATES) * (len(ENGINE_STATES) - 1)
    for a in ENGINE_STATES:
        for b in ENGINE_STATES:
            if a != b:
                expected = 1.0 if (a, b) in {("IDLE", "SCANNING"), ("SCANNING", "SIGNAL_WAIT"),
                                             ("SIGNAL_WAIT", "MANAGING"), ("MANAGING", "IDLE")} else 0.0  # fmt: skip
                assert transitions[key(from_state=a, to_state=b)] == expected, (a, b)

    logger.end_cycle(0.004, now=1000.0)
    logger.end_cycle(0.2, now=1001.5)
    assert capture.metric_points("breakout.engine.cycles") == {key(): 2.0}
    assert capture.metric_points("breakout.engine.last_cycle.timestamp") == {key(): 1001.5}
    assert capture.metric_points("breakout.engine.cycles_since_signal") == {key(): 2.0}
    histogram = capture.metric_points("breakout.engine.cycle.duration")[key()]
    assert histogram.count == 2 and histogram.sum == pytest.approx(0.204)
    assert histogram.min == pytest.approx(0.004) and histogram.max == pytest.approx(0.2)
    bounds = list(histogram.explicit_bounds)
    assert bounds[0] == 0.001 and bounds[-1] == 10.0
    assert histogram.bucket_counts[bounds.index(0.005)] == 1  # 4 ms lands in (2.5 ms, 5 ms]
    assert histogram.bucket_counts[bounds.index(0.25)] == 1
    assert logger.last_cycle_age(now=1004.0) == pytest.approx(2.5)
    assert logger.last_cycle_age(now=1000.0) == 0.0  # never negative, even with a skewed clock


def test_scanner_instruments(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    logger.scan({"universe": 300, "liquidity": 120, "atr_range": 14, "breakout": 2})
    logger.scan([("universe", 280), ("liquidity", 90)])  # stopped early: later stages drop to 0
    assert capture.metric_points("breakout.scanner.symbols.scanned") == {key(): 580.0}
    assert capture.metric_points("breakout.scanner.candidates") == {
        key(stage="universe"): 280.0,
        key(stage="liquidity"): 90.0,
        key(stage="atr_range"): 0.0,
        key(stage="breakout"): 0.0,
    }
    logger.scan({"universe": 5}, scanned=7)
    assert capture.metric_points("breakout.scanner.symbols.scanned") == {key(): 587.0}
    assert logger.summary()["scanner"]["funnel"] == {"universe": 5.0, "liquidity": 0.0, "atr_range": 0.0,
                                                      "breakout": 0.0}  # fmt: skip


def test_trading_instruments(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    for strategy in ("momentum", "retest"):
        logger.signal(strategy)
        logger.trade_opened(strategy)
    logger.trade_closed("momentum", 25.0)
    logger.trade_closed("momentum", -10.0)
    logger.trade_closed("retest", 0.0)
    logger.trade_closed("retest", 3.0, outcome="breakeven")  # explicit outcome wins for the counter
    logger.update_equity(1000.0)
    logger.update_equity(1100.0)
    logger.update_equity(990.0)
    logger.set_open_positions(2)

    assert capture.metric_points("breakout.signals") == {key(strategy="momentum"): 1.0, key(strategy="retest"): 1.0}
    assert capture.metric_points("breakout.trades.opened") == {
        key(strategy="momentum"): 1.0,
        key(strategy="retest"): 1.0,
    }
    assert capture.metric_points("breakout.trades.closed") == {
        key(strategy="momentum", outcome="win"): 1.0,
        key(strategy="momentum", outcome="loss"): 1.0,
        key(strategy="retest", outcome="breakeven"): 2.0,
    }
    pnl = capture.metric_points("breakout.trade.pnl")
    assert {k: (p.count, p.sum) for k, p in pnl.items()} == {
        key(strategy="momentum", outcome="win"): (1, 25.0),
        key(strategy="momentum", outcome="loss"): (1, 10.0),  # OTel histograms take magnitudes
        key(strategy="retest", outcome="breakeven"): (1, 0.0),
        key(strategy="retest", outcome="win"): (1, 3.0),
    }
    assert capture.metric_points("breakout.equity") == {key(): 990.0}
    assert capture.metric_points("breakout.drawdown") == {key(): pytest.approx(0.1)}
    assert capture.metric_points("breakout.positions.open") == {key(): 2.0}
    logger.update_equity(900.0, peak=2000.0)  # a peak restored after a restart
    assert capture.metric_points("breakout.drawdown") == {key(): pytest.approx(0.55)}

    trading = logger.summary()["trading"]
    assert trading["signals"] == {"momentum": 1.0, "retest": 1.0}
    assert trading["trades_closed"] == {"momentum": {"win": 1.0, "loss": 1.0}, "retest": {"breakeven": 2.0}}
    assert trading["pnl"]["sum"] == pytest.approx(18.0)  # the window keeps the sign
    assert trading["pnl"]["win_rate"] == pytest.approx(0.5)
    assert [s.value for s in logger.series("trade_pnl")] == [25.0, -10.0, 0.0, 3.0]
    assert logger.series("breakout.trade.pnl")[1].attributes == {"strategy": "momentum", "outcome": "loss"}


def test_cycles_since_signal_resets_on_a_signal(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    for _ in range(3):
        logger.end_cycle(0.01)
    assert logger.cycles_since_signal == 3
    logger.signal("retest")
    assert capture.metric_points("breakout.engine.cycles_since_signal") == {key(): 0.0}
    logger.end_cycle(0.01)
    assert capture.metric_points("breakout.engine.cycles_since_signal") == {key(): 1.0}
    assert logger.summary()["engine"]["cycles_since_signal"] == 1


def test_symbol_is_dropped_unless_opted_in(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    logger.signal("momentum", symbol="BTC/USDT")
    assert capture.metric_points("breakout.signals") == {key(strategy="momentum"): 1.0}


def test_symbol_opt_in_is_capped() -> None:
    settings = Settings.from_env({"OTEL_BREAKOUT_METRICS_SYMBOL_ATTRIBUTE": "true",
                                  "OTEL_BREAKOUT_METRICS_SYMBOL_LIMIT": "2"})  # fmt: skip
    capture = capture_telemetry(settings)
    try:
        logger = MetricsLogger(capture.telemetry)
        for symbol in ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC/USDT", "XRP/USDT"):
            logger.trade_opened("momentum", symbol=symbol)
        assert capture.metric_points("breakout.trades.opened") == {
            key(strategy="momentum", symbol="BTC/USDT"): 2.0,
            key(strategy="momentum", symbol="ETH/USDT"): 1.0,
            key(strategy="momentum", symbol="_other"): 2.0,
        }
        # The symbol budget is shared by every metric of the logger.
        logger.signal("momentum", symbol="DOGE/USDT")
        assert capture.metric_points("breakout.signals") == {key(strategy="momentum", symbol="_other"): 1.0}
        assert logger.summary()["trading"]["trades_opened"] == {"momentum": 5.0}
    finally:
        capture.close()


def test_cardinality_limit_folds_new_sets_into_overflow() -> None:
    capture = capture_telemetry(cardinality_limit=4)
    try:
        logger = MetricsLogger(capture.telemetry)
        for i in range(6):
            logger.record("breakout.signals", 1, strategy=f"s{i}")
        points = capture.metric_points("breakout.signals")
        assert points == {
            key(strategy="s0"): 1.0,
            key(strategy="s1"): 1.0,
            key(strategy="s2"): 1.0,
            key(**{"otel.metric.overflow": True}): 3.0,
        }
        assert logger.series("breakout.signals")[-1].attributes == {"otel.metric.overflow": "true"}
    finally:
        capture.close()


def test_enums_are_accepted_as_states_and_attribute_values(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    class State(enum.Enum):
        IDLE = enum.auto()
        SCANNING = enum.auto()

    class Strategy(str, enum.Enum):
        MOMENTUM = "momentum"

    logger.set_state(State.IDLE)
    logger.set_state(State.SCANNING)
    logger.signal(Strategy.MOMENTUM)
    assert logger.state == "SCANNING"
    assert capture.metric_points("breakout.signals") == {key(strategy="momentum"): 1.0}


# --- errors: at bind time they raise, in the loop they never do ---------------------------------------


def test_binding_explains_what_is_wrong(logger: MetricsLogger) -> None:
    with pytest.raises(UnknownMetricError, match=r"breakout\.signals"):
        logger.counter("breakout.signal")
    with pytest.raises(UnknownMetricError, match="ResourceMonitor"):
        logger.gauge("process.cpu.utilization")
    with pytest.raises(UnknownMetricError, match="DiagnosticsCollector"):
        logger.counter("breakout.diag.evaluations")
    with pytest.raises(TypeError, match="is a gauge, not a counter"):
        logger.counter("breakout.equity")
    with pytest.raises(MetricAttributeError, match=r"does not take attribute 'venue'.*allowed: strategy"):
        logger.counter("breakout.signals", strategy="x", venue="binance")
    with pytest.raises(MetricAttributeError, match="needs attribute"):
        logger.counter("breakout.trades.closed", strategy="momentum")
    with pytest.raises(MetricAttributeError, match="'draw' is not one of win, loss, breakeven"):
        logger.counter("breakout.trades.closed", strategy="momentum", outcome="draw")
    with pytest.raises(MetricAttributeError, match="set from the sign"):
        logger.histogram("breakout.trade.pnl", strategy="momentum", outcome="win")
    with pytest.raises(MetricAttributeError, match="str, int, bool or an Enum"):
        logger.counter("breakout.signals", strategy=["momentum"])
    with pytest.raises(ValueError, match="set_state"):
        logger.gauge("breakout.engine.state", state="IDLE")
    with pytest.raises(ValueError, match="not seconds"):
        logger.timer("breakout.trade.pnl", strategy="momentum")


def test_record_raises_under_tests(logger: MetricsLogger) -> None:
    with pytest.raises(UnknownMetricError):
        logger.record("breakout.signal", 1, strategy="momentum")
    with pytest.raises(ValueError, match="counter: increments must be finite and >= 0"):
        logger.record("breakout.engine.cycles", -1)
    with pytest.raises(ValueError, match="finite"):
        logger.counter("breakout.engine.cycles").add(math.nan)
    with pytest.raises(MetricAttributeError):
        logger.record("breakout.signals", 1, strategy={"unhashable": 1})
    with pytest.raises(MetricAttributeError, match="not an engine state"):
        logger.set_state("PAUSED")
    with pytest.raises(MetricAttributeError, match="one-hot"):
        logger.record("breakout.engine.state", 0, state="IDLE")


def test_in_production_bad_measurements_are_dropped_counted_and_logged(
    capture: TelemetryCapture, logger: MetricsLogger, caplog: pytest.LogCaptureFixture
) -> None:
    cycles = logger.counter("breakout.engine.cycles")
    # Bad values are warnings (the bot's bug, not ours), the rest errors: both say the bot keeps running.
    with production(), caplog.at_level(logging.WARNING, "otel_breakout"):
        logger.record("breakout.signal", 1, strategy="momentum")
        logger.record("not.a.metric", 1)
        logger.record("breakout.signals", 1, strategy="momentum", venue="x")
        cycles.add(-3)
        logger.gauge("breakout.equity").set(float("inf"))
        logger.histogram("breakout.engine.cycle.duration").record("slow")  # type: ignore[arg-type]  # on purpose
        logger.end_cycle(-1.0)
        logger.scan([("universe",)])  # type: ignore[list-item]  # on purpose
        logger.scan(None)  # type: ignore[arg-type]  # on purpose
        logger.set_state("PAUSED")
        logger.update_equity("lots")  # type: ignore[arg-type]  # on purpose
        logger.trade_closed("momentum", None)  # type: ignore[arg-type]  # on purpose
    assert capture.metric_points("breakout.metrics.dropped") == {
        key(metric="unknown", cause="unknown_metric"): 2.0,
        key(metric="breakout.signals", cause="bad_attributes"): 1.0,
        key(metric="breakout.engine.cycles", cause="bad_value"): 1.0,
        key(metric="breakout.equity", cause="bad_value"): 2.0,
        key(metric="breakout.engine.cycle.duration", cause="bad_value"): 2.0,
        key(metric="breakout.engine.state", cause="bad_attributes"): 1.0,
        key(metric="breakout.trade.pnl", cause="bad_value"): 1.0,  # a bad PnL rejects the whole trade
        key(metric="breakout.scanner.candidates", cause="bad_value"): 2.0,
    }
    assert "the bot keeps running" in caplog.text
    assert logger.summary()["dropped"] == 12.0
    assert capture.metric_points("breakout.engine.cycles") == {key(): 0.0}  # the bad cycle was not booked


def test_bad_values_are_rejected_and_never_poison_the_numbers(
    capture: TelemetryCapture,
    logger: MetricsLogger,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from otel_breakout import _internal

    monkeypatch.setattr(_internal, "_last_logged", {})
    monkeypatch.setattr(_internal, "_rejected_since", {})
    with production(), caplog.at_level(logging.WARNING, "otel_breakout"):
        # A NaN or infinite first equity must not become the running peak (drawdown would read 0 forever).
        logger.update_equity(math.nan)
        logger.update_equity(math.inf)
        logger.update_equity(1000.0, peak=math.nan)
        logger.update_equity(True)
        logger.update_equity(1000.0)
        logger.update_equity(1100.0)
        logger.update_equity(990.0)
        # A PnL that is not a finite number counts neither a trade nor a PnL: NaN is not a breakeven trade,
        # 10**400 not a win, "1.5" and True not numbers.
        bad: tuple[Any, ...] = (math.nan, -math.inf, 10**400, "1.5", True, None)
        for value in bad:
            logger.trade_closed("momentum", value)
        logger.trade_closed("momentum", 2)
        logger.gauge("breakout.positions.open").set("3")  # type: ignore[arg-type]  # on purpose
        logger.counter("breakout.engine.cycles").add(True)
        logger.end_cycle("0.5")  # type: ignore[arg-type]  # on purpose
    assert capture.metric_points("breakout.equity") == {key(): 990.0}
    assert capture.metric_points("breakout.drawdown") == {key(): pytest.approx(0.1)}
    assert capture.metric_points("breakout.trades.closed") == {key(strategy="momentum", outcome="win"): 1.0}
    pnl = capture.metric_points("breakout.trade.pnl")
    assert {k: (p.count, p.sum) for k, p in pnl.items()} == {key(strategy="momentum", outcome="win"): (1, 2.0)}
    assert capture.metric_points("breakout.metrics.dropped") == {
        key(metric="breakout.equity", cause="bad_value"): 4.0,
        key(metric="breakout.trade.pnl", cause="bad_value"): 6.0,
        key(metric="breakout.positions.open", cause="bad_value"): 1.0,
        key(metric="breakout.engine.cycles", cause="bad_value"): 1.0,
        key(metric="breakout.engine.cycle.duration", cause="bad_value"): 1.0,
    }
    assert capture.metric_points("breakout.positions.open") == {}
    # One warning per site per minute, without a traceback; the next one says how many were not logged.
    warnings = [r for r in caplog.records if "rejected a value" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING] * 5
    assert all(r.exc_info is None for r in warnings)
    pnl_warning = next(r.getMessage() for r in warnings if "breakout.trade.pnl" in r.getMessage())
    assert "the bot keeps running" in pnl_warning and "nan" in pnl_warning
    monkeypatch.setattr(_internal, "_last_logged", {k: v - 61 for k, v in _internal._last_logged.items()})
    with production(), caplog.at_level(logging.WARNING, "otel_breakout"):
        logger.trade_closed("momentum", math.nan)
    assert "(5 more since the last warning)" in caplog.records[-1].getMessage()


# --- the window, series, summary -------------------------------------------------------------------


def test_window_is_bounded_and_series_are_samples() -> None:
    capture = capture_telemetry(environ={"OTEL_BREAKOUT_METRICS_WINDOW": "5"})
    try:
        logger = MetricsLogger(capture.telemetry)
        before = time.time()
        for i in range(12):
            logger.record("breakout.equity", 100 + i)
        series = logger.series("breakout.equity")
        assert [s.value for s in series] == [107.0, 108.0, 109.0, 110.0, 111.0]
        assert all(isinstance(s, Sample) and before <= s.ts <= time.time() for s in series)
        assert series[0].attributes == {}
        with pytest.raises(AttributeError):
            series[0].value = 3.0  # type: ignore[misc]  # frozen on purpose
        assert capture.metric_points("breakout.equity") == {key(): 111.0}  # the instrument keeps the last
        assert logger.names()[0] == "breakout.engine.cycle.duration"
        assert "breakout.equity" in logger.names() and "process.cpu.utilization" not in logger.names()
        everything = logger.all()
        assert list(everything) == logger.names()
        assert everything["breakout.signals"] == []
        with pytest.raises(UnknownMetricError):
            logger.series("nope")
        assert series[0].as_dict() == {"ts": series[0].ts, "value": 107.0, "attributes": {}}
    finally:
        capture.close()


def test_summary_is_json_ready_with_the_seed_sections(logger: MetricsLogger) -> None:
    empty = logger.summary()
    assert set(empty) >= {"engine", "trading", "scanner"}
    assert empty["engine"]["state"] is None and empty["engine"]["last_cycle_age_s"] is None
    assert empty["engine"]["cycle_duration_s"]["count"] == 0
    logger.set_state("SCANNING")
    for duration in (0.01, 0.02, 0.03, 0.04, 0.5):
        logger.end_cycle(duration)
    summary = json.loads(json.dumps(logger.summary()))
    engine = summary["engine"]
    assert engine["state"] == "SCANNING" and engine["cycles"] == 5.0
    assert engine["cycle_duration_s"]["p50"] == 0.03
    assert engine["cycle_duration_s"]["p95"] == 0.5
    assert engine["cycle_duration_s"]["max"] == 0.5
    assert engine["cycle_duration_s"]["mean"] == pytest.approx(0.12)
    assert 0 <= engine["last_cycle_age_s"] < 5


def test_seed_names_are_accepted(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    logger.record("engine_cycle_time", 0.25)
    logger.record("scanner_symbols_scanned", 40)
    assert capture.metric_points("breakout.scanner.symbols.scanned") == {key(): 40.0}
    # A cycle duration means a cycle ended, so the seed's way of timing cycles keeps every engine metric right.
    assert capture.metric_points("breakout.engine.cycles") == {key(): 1.0}
    assert logger.last_cycle_age() is not None and logger.cycles_since_signal == 1
    with pytest.raises(MetricAttributeError, match="takes no attributes"):
        logger.record("engine_cycle_time", 0.1, engine="main")
    assert logger.series("engine_cycle_time") == logger.series("breakout.engine.cycle.duration")
    assert [s.value for s in logger.series("engine_cycle_time")] == [0.25]


# --- timers --------------------------------------------------------------------------------------------


def test_cycle_timer_as_context_manager_and_decorator(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    with logger.cycle():
        time.sleep(0.002)

    @logger.cycle()
    def one_cycle(n: int) -> int:
        return n * 2

    @logger.cycle()
    def failing_cycle() -> None:
        raise RuntimeError("exchange down")

    assert one_cycle(21) == 42
    assert one_cycle.__name__ == "one_cycle"
    with pytest.raises(RuntimeError):
        failing_cycle()  # a failed cycle still took time and still counts
    timer = logger.timer("breakout.engine.cycle.duration")  # the bare histogram: no cycle bookkeeping
    with timer, timer:  # nesting keeps one start per level
        pass
    point = capture.metric_points("breakout.engine.cycle.duration")[key()]
    assert point.count == 5
    assert capture.metric_points("breakout.engine.cycles") == {key(): 3.0}
    durations = [s.value for s in logger.series("breakout.engine.cycle.duration")]
    assert durations[0] >= 0.002


def test_cycle_timer_decorates_coroutines(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    @logger.cycle()
    async def one_cycle() -> str:
        await asyncio.sleep(0.003)
        return "done"

    assert asyncio.run(one_cycle()) == "done"
    assert logger.series("breakout.engine.cycle.duration")[0].value >= 0.003
    assert capture.metric_points("breakout.engine.cycles") == {key(): 1.0}


# --- local aggregation keeps OTel semantics ----------------------------------------------------------


def test_counters_stay_exact_under_threads(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    bound = logger.counter("breakout.signals", strategy="momentum")

    def hammer() -> None:
        for _ in range(5000):
            bound.add()
            logger.record("breakout.signals", 1, strategy="momentum")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert capture.metric_points("breakout.signals") == {key(strategy="momentum"): 40_000.0}


def test_counters_are_cumulative_across_collections(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    cycles = logger.counter("breakout.engine.cycles")
    cycles.add(2)
    assert capture.metric_points("breakout.engine.cycles") == {key(): 2.0}
    cycles.add(3)
    assert capture.metric_points("breakout.engine.cycles") == {key(): 5.0}
    metric = capture.metrics()["breakout.engine.cycles"]
    assert isinstance(metric.data, Sum)
    assert metric.data.is_monotonic and metric.data.aggregation_temporality.name == "CUMULATIVE"


def test_histograms_wait_for_collection_and_keep_their_span_as_exemplar(
    capture: TelemetryCapture, logger: MetricsLogger
) -> None:
    histogram = logger.histogram("breakout.engine.cycle.duration")
    tracer = capture.telemetry.get_tracer()
    with tracer.start_as_current_span("engine.cycle") as span:
        histogram.record(0.042)
    instrument = logger._instrument("breakout.engine.cycle.duration")
    assert len(instrument._pending) == 1  # nothing paid to the SDK on the bot's thread yet
    point = capture.metric_points("breakout.engine.cycle.duration")[key()]
    assert point.count == 1 and len(instrument._pending) == 0
    exemplar = point.exemplars[0]
    assert exemplar.value == 0.042
    assert exemplar.span_id == span.get_span_context().span_id
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_histogram_queue_is_bounded_and_loses_nothing(
    capture: TelemetryCapture, logger: MetricsLogger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_instruments, "PENDING_LIMIT", 10)
    histogram = logger.histogram("breakout.engine.cycle.duration")
    for _ in range(25):
        histogram.record(0.01)
    assert len(logger._instrument("breakout.engine.cycle.duration")._pending) == 10
    point = capture.metric_points("breakout.engine.cycle.duration")[key()]
    assert point.count == 25 and point.sum == pytest.approx(0.25)


def test_prometheus_exposition_of_the_logger(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    logger.set_state("SCANNING")
    logger.end_cycle(0.03)
    logger.signal("momentum")
    text = capture.telemetry.prometheus_text().decode()
    assert 'breakout_engine_state{otel_scope_name="otel_breakout"' in text
    assert 'breakout_engine_cycle_duration_seconds_bucket{le="0.05",' in text
    assert "breakout_engine_cycle_duration_seconds_count{" in text
    assert 'breakout_signals_total{otel_scope_name="otel_breakout",otel_scope_schema_url="",' in text


# --- process-wide logger and the global providers ----------------------------------------------------


def test_get_metrics_logger_is_one_per_process() -> None:
    _logger._reset_for_tests()
    try:
        first = get_metrics_logger()
        assert get_metrics_logger() is first
        with pytest.raises(RuntimeError, match=r"reuse it \(get_metrics_logger\(\)\)"):
            MetricsLogger()
    finally:
        _logger._reset_for_tests()


def test_one_logger_per_meter_provider(capture: TelemetryCapture, logger: MetricsLogger) -> None:
    # The SDK would hand a second logger the first one's instruments without its callbacks: silence.
    with pytest.raises(RuntimeError, match="already reports on this meter provider"):
        MetricsLogger(capture.telemetry)
    other = MetricsLogger(meter=capture.telemetry.get_meter("my_bot.second_engine"))
    other.record("breakout.engine.cycles", 2)
    logger.record("breakout.engine.cycles", 1)
    data = capture.metric_reader.get_metrics_data()
    assert data is not None
    cycles = []
    for resource_metrics in data.resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "breakout.engine.cycles":
                    point = metric.data.data_points[0]
                    assert isinstance(point, NumberDataPoint)
                    cycles.append((scope.scope.name, point.value))
    assert sorted(cycles) == [("my_bot.second_engine", 2.0), ("otel_breakout", 1.0)]


@pytest.mark.slow
def test_works_under_stock_opentelemetry_instrument(tmp_path: Path) -> None:
    """The stock distro and configurator set global providers without our views: advisory buckets apply."""
    script = tmp_path / "bot.py"
    script.write_text(
        "from otel_breakout.metrics import get_metrics_logger\n"
        "log = get_metrics_logger()\n"
        "log.set_state('SCANNING')\n"
        "for d in (0.004, 0.03, 0.2):\n"
        "    log.end_cycle(d)\n"
        "log.signal('momentum')\n"
        "import otel_breakout, opentelemetry.metrics as m\n"
        "assert otel_breakout.get_telemetry() is None\n"
        "assert type(m.get_meter_provider()).__module__.startswith('opentelemetry.sdk')\n"
    )
    result = subprocess.run(
        [venv_bin("opentelemetry-instrument"), sys.executable, str(script)],
        env={
            "PATH": "/usr/bin:/bin",
            # The stock distro and configurator, not ours (both are installed; pick explicitly).
            "OTEL_PYTHON_DISTRO": "distro",
            "OTEL_PYTHON_CONFIGURATOR": "configurator",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "console",
            "OTEL_METRIC_EXPORT_INTERVAL": "60000",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # The console exporter prints one JSON document at shutdown.
    exported = json.loads(result.stdout)
    metrics = {m["name"]: m for rm in exported["resource_metrics"] for sm in rm["scope_metrics"] for m in sm["metrics"]}
    cycle = metrics["breakout.engine.cycle.duration"]["data"]["data_points"][0]
    assert cycle["count"] == 3 and cycle["explicit_bounds"][0] == 0.001 and cycle["explicit_bounds"][-1] == 10.0
    assert metrics["breakout.signals"]["data"]["data_points"][0]["value"] == 1
    states = {p["attributes"]["state"]: p["value"] for p in metrics["breakout.engine.state"]["data"]["data_points"]}
    assert states == {"IDLE": 0, "SCANNING": 1, "SIGNAL_WAIT": 0, "MANAGING": 0}


def test_disabled_sdk_still_keeps_windows_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_instruments, "PENDING_LIMIT", 100)
    telemetry = Telemetry.create(Settings.from_env({"OTEL_SDK_DISABLED": "true"}))
    logger = MetricsLogger(telemetry)
    for _ in range(300):
        logger.end_cycle(0.01)
    logger.signal("momentum")
    summary = logger.summary()
    assert summary["engine"]["cycles"] == 300.0 and summary["trading"]["signals"] == {"momentum": 1.0}
    # Nobody ever collects from a no-op provider: the histogram queue stops at its bound.
    assert len(logger._instrument("breakout.engine.cycle.duration")._pending) == 100
