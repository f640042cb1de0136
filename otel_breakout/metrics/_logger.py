"""``MetricsLogger``: the seed's API over OTel instruments, plus the engine helpers a bot calls each cycle."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

from opentelemetry.metrics import Meter

from otel_breakout._internal import internal_errors_raise, log_internal_error, log_rejected_value
from otel_breakout._settings import Settings
from otel_breakout._telemetry import Telemetry
from otel_breakout.catalogue import CATALOGUE, ENGINE_STATES, LEGACY_ALIASES, UnknownMetricError, get_spec
from otel_breakout.metrics._bound import AnyBound, BoundCounter, BoundGauge, BoundHistogram, BoundUpDownCounter
from otel_breakout.metrics._engine import CYCLE, STATE, EngineBook
from otel_breakout.metrics._instruments import Instrument, MetricAttributeError, SymbolPolicy
from otel_breakout.metrics._provider import ProcessWide, claim_meter, resolve
from otel_breakout.metrics._summary import summarize
from otel_breakout.metrics._timer import Timer
from otel_breakout.metrics._trading import FUNNEL, Equity, Funnel, closed_trade, strategy_attributes
from otel_breakout.metrics._window import Sample

__all__ = ["MetricsLogger", "get_metrics_logger"]

_GROUPS = ("engine", "scanner", "trading", "self")
_FAST_LIMIT = 20_000


def _cause(exc: BaseException) -> str:
    if isinstance(exc, UnknownMetricError):
        return "unknown_metric"
    if isinstance(exc, MetricAttributeError):
        return "bad_attributes"
    if isinstance(exc, (ValueError, TypeError)):
        return "bad_value"
    return "error"


class MetricsLogger:
    """Engine, scanner and trading metrics: OTel instruments plus a bounded rolling window per metric.

    ``record(name, value, **attributes)`` takes any catalogue name of the engine, scanner and trading groups
    (or a seed name such as ``engine_cycle_time``). For the hot path, bind once and keep the handle:
    ``logger.counter("breakout.signals", strategy="momentum").add()``. Binding validates the name and the
    attributes and raises a clear error; recording never raises into the bot (a bad measurement is logged,
    counted in ``breakout.metrics.dropped`` and dropped; tests using our fixtures see it raised).
    """

    def __init__(
        self,
        telemetry: Telemetry | None = None,
        *,
        settings: Settings | None = None,
        meter: Meter | None = None,
        engine_states: Sequence[str] = ENGINE_STATES,
    ) -> None:
        self.engine_states = tuple(engine_states)
        if not self.engine_states or len(set(self.engine_states)) != len(self.engine_states):
            raise ValueError("engine_states must be distinct, non-empty state names")
        telemetry, settings = resolve(telemetry, meter, settings)
        meter = claim_meter("MetricsLogger", telemetry, meter)
        self.settings = settings
        symbols = SymbolPolicy(settings.metrics.symbol_attribute, settings.metrics.symbol_limit)
        self._instruments: dict[str, Instrument] = {}
        self._histograms: list[Instrument] = []
        fallback: Callable[[], None] | None = self._flush_histograms
        for spec in CATALOGUE:
            if spec.group not in _GROUPS:
                continue
            observed = spec.name != STATE and spec.kind != "histogram"
            instrument = Instrument(
                spec,
                meter,
                window=settings.metrics.window,
                cardinality_limit=settings.cardinality_limit,
                symbols=symbols,
                reject=self._reject,
                # The fallback flush for readers that do not flush before collecting (see _flush.py), in the
                # first callback the SDK runs, so that it precedes every observation of this logger.
                before_collect=fallback if observed else None,
                observe=spec.name != STATE,
            )
            if observed:
                fallback = None
            self._instruments[spec.name] = instrument
            if spec.kind == "histogram":
                self._histograms.append(instrument)
        for alias, name in LEGACY_ALIASES.items():
            self._instruments[alias] = self._instruments[name]
        self._names = [spec.name for spec in CATALOGUE if spec.name in self._instruments]
        self._engine = EngineBook(self.engine_states, self._instruments, self._reject)
        self._funnel = Funnel(lambda stage: self.gauge(FUNNEL, stage=stage),
                              self.counter("breakout.scanner.symbols.scanned"), self._reject)  # fmt: skip
        self._equity = Equity(self.gauge("breakout.equity"), self.gauge("breakout.drawdown"), self._reject)
        self._positions = self.gauge("breakout.positions.open")
        # The hot path is one dict lookup: (name, *attributes as given) -> the cell they resolved to. Misses
        # go through the name's recorder, which validates, and the cell found is cached (bounded).
        self._fast: dict[tuple[object, ...], AnyBound] = {}
        self._recorders: dict[str, Callable[[float, dict[str, object]], AnyBound | None]] = {
            name: instrument.record for name, instrument in self._instruments.items()
        }
        self._recorders[STATE] = self._engine.record_state
        for name, instrument in self._instruments.items():
            if instrument.spec.name == CYCLE:
                self._recorders[name] = self._engine.record_cycle
        state = get_spec(STATE)
        meter.create_observable_gauge(STATE, [self._engine.observe_state], state.unit, state.description)

    # --- the seed API -----------------------------------------------------------------------------

    def record(self, name: str, value: float, **attributes: object) -> None:
        """Record ``value`` for catalogue metric ``name``: add (counters), set (gauges) or observe (histograms)."""
        try:
            key = (name, *attributes.items())
            try:
                cell = self._fast.get(key)
            except TypeError:  # an unhashable attribute value: the slow path says what is wrong
                cell = None
                key = ()
            if cell is not None:
                cell.apply(value)
                return
            recorder = self._recorders.get(name)
            if recorder is None:
                raise self._unknown(name)
            cell = recorder(value, attributes)
            if cell is not None and key and len(self._fast) < _FAST_LIMIT:
                self._fast[key] = cell
        except Exception as exc:
            self._reject(name, exc)

    def series(self, name: str) -> list[Sample]:
        """The rolling window of ``name``, oldest first (empty before the first measurement)."""
        instrument = self._instruments.get(name)
        if instrument is None:
            raise self._unknown(name)
        return [Sample(ts, value, attributes) for ts, value, attributes in list(instrument.window)]

    def all(self) -> dict[str, list[Sample]]:
        """Every metric's window, by catalogue name."""
        return {name: self.series(name) for name in self._names}

    def names(self) -> list[str]:
        """The catalogue names this logger serves, in catalogue order."""
        return list(self._names)

    def summary(self) -> dict[str, Any]:
        """JSON-ready totals and window statistics under ``engine``, ``trading`` and ``scanner``."""
        return summarize(self._instruments, self._engine)

    def last_cycle_age(self, now: float | None = None) -> float | None:
        """Seconds since the last engine cycle ended (None before the first)."""
        return self._engine.last_cycle_age(now)

    # --- binding: the hot path's way in ------------------------------------------------------------

    def counter(self, name: str, **attributes: object) -> BoundCounter:
        """A pre-bound counter (or up-down counter); raises now if the name or attributes are wrong."""
        cell = self._bind(name, ("counter", "updown_counter"), attributes)
        assert isinstance(cell, BoundCounter)
        return cell

    def up_down_counter(self, name: str, **attributes: object) -> BoundUpDownCounter:
        cell = self._bind(name, ("updown_counter",), attributes)
        assert isinstance(cell, BoundUpDownCounter)
        return cell

    def gauge(self, name: str, **attributes: object) -> BoundGauge:
        """A pre-bound gauge; raises now if the name or attributes are wrong."""
        if self._instruments.get(name) is self._instruments[STATE]:
            raise ValueError(f"{STATE} is one-hot over the engine states: use set_state()")
        cell = self._bind(name, ("gauge",), attributes)
        assert isinstance(cell, BoundGauge)
        return cell

    def histogram(self, name: str, **attributes: object) -> BoundHistogram:
        """A pre-bound histogram; raises now if the name or attributes are wrong."""
        cell = self._bind(name, ("histogram",), attributes)
        assert isinstance(cell, BoundHistogram)
        return cell

    def timer(self, name: str, **attributes: object) -> Timer:
        """A context manager and decorator recording elapsed seconds into a histogram measured in ``s``.

        For engine cycles use :meth:`cycle`, which also books the cycle count and timestamps.
        """
        histogram = self.histogram(name, **attributes)
        unit = self._instruments[name].spec.unit
        if unit != "s":
            raise ValueError(f"{name} is measured in {unit!r}, not seconds")
        return Timer(histogram.record)

    def _bind(self, name: str, kinds: tuple[str, ...], attributes: Mapping[str, object]) -> AnyBound:
        instrument = self._instruments.get(name)
        if instrument is None:
            raise self._unknown(name)
        if instrument.spec.kind not in kinds:
            raise TypeError(f"{instrument.spec.name} is a {instrument.spec.kind}, not a {' or '.join(kinds)}")
        return instrument.bind(attributes)

    # --- engine helpers (the state machine and cycle books live in _engine.py) -----------------------

    def set_state(self, state: str | Enum) -> None:
        """Move the engine to ``state``: the one-hot state gauge, and a transition when it changed."""
        self._engine.set_state(state)

    @property
    def state(self) -> str | None:
        return self._engine.state

    def cycle(self) -> Timer:
        """Time one engine cycle (context manager or decorator); see :meth:`end_cycle`."""
        return Timer(self.end_cycle)

    def end_cycle(self, duration_s: float, *, now: float | None = None) -> None:
        """Book a finished cycle: duration, count, last-cycle timestamp and cycles since the last signal."""
        self._engine.end_cycle(duration_s, now)

    @property
    def cycles_since_signal(self) -> int:
        return self._engine.cycles_since_signal

    def signal(self, strategy: str | Enum, *, symbol: str | None = None, count: int = 1) -> None:
        """A strategy produced ``count`` signals; resets the cycles-since-signal gauge."""
        self.record("breakout.signals", count, **strategy_attributes(strategy, symbol))
        self._engine.signalled()

    # --- trading helpers (funnel, equity and trade rules live in _trading.py) --------------------------

    def scan(self, funnel: Mapping[str, int] | Iterable[tuple[str, int]], *, scanned: int | None = None) -> None:
        """One scan: candidates left after each filter stage, in order; ``scanned`` defaults to the first stage.

        Stages seen in earlier scans but missing from this one drop to 0 (the scan stopped before them).
        """
        self._funnel.scan(funnel, scanned)

    def trade_opened(self, strategy: str | Enum, *, symbol: str | None = None) -> None:
        self.record("breakout.trades.opened", 1, **strategy_attributes(strategy, symbol))

    def trade_closed(
        self, strategy: str | Enum, pnl: float, *, outcome: str | None = None, symbol: str | None = None
    ) -> None:
        """A closed trade: the closed counter by outcome (from the PnL's sign unless given) and the PnL.

        A PnL that is not a finite number (NaN, infinity, an integer beyond float range, text, a bool) is
        rejected whole: neither the trade nor its PnL is counted, so a bad value never reads as a breakeven
        trade or a win.
        """
        try:
            value, outcome = closed_trade(pnl, outcome)
        except Exception as exc:
            self._reject("breakout.trade.pnl", exc)
            return
        self.record("breakout.trades.closed", 1, **strategy_attributes(strategy, symbol, outcome=outcome))
        self.record("breakout.trade.pnl", value, strategy=strategy)

    def update_equity(self, equity: float, *, peak: float | None = None) -> None:
        """Set equity, and drawdown from the highest equity seen (or ``peak``, e.g. restored after a restart).

        Equity or a peak that is not a finite number is rejected (counted and warned about) and leaves the
        running peak as it was: one NaN must not turn every later drawdown into 0.
        """
        self._equity.update(equity, peak)

    def set_open_positions(self, count: int) -> None:
        self._positions.set(count)

    # --- internals ----------------------------------------------------------------------------------

    def _unknown(self, name: str) -> Exception:
        try:
            spec = get_spec(name)
        except UnknownMetricError as exc:
            return exc
        owner = "DiagnosticsCollector" if spec.group == "diag" else "ResourceMonitor"
        return UnknownMetricError(f"{name!r} is reported by the {owner}, not by MetricsLogger")

    def _reject(self, name: str, exc: BaseException) -> None:
        instrument = self._instruments.get(name)
        # Unknown names fold into one value: a typo in a loop must not grow the dropped counter's series.
        metric = instrument.spec.name if instrument is not None else "unknown"
        dropped = self._instruments["breakout.metrics.dropped"]
        cause = _cause(exc)
        if name != "breakout.metrics.dropped":
            dropped.record(1, {"metric": metric, "cause": cause})
        if cause == "bad_value":
            log_rejected_value(f"MetricsLogger ({metric})", exc)
        else:
            log_internal_error(f"MetricsLogger ({metric})", exc)
        if internal_errors_raise():
            raise exc

    def _flush_histograms(self) -> None:
        for histogram in self._histograms:
            histogram.flush()

    def _instrument(self, name: str) -> Instrument:
        return self._instruments[name]


_process_wide = ProcessWide(MetricsLogger, "MetricsLogger")


def get_metrics_logger() -> MetricsLogger:
    """The process-wide logger, on the ``configure()`` handle (or the global meter provider) at first use."""
    return _process_wide.get()


def _reset_for_tests() -> None:
    """Forget the process-wide logger (its instruments stay registered on the provider it used)."""
    _process_wide.reset()
