"""``MetricsLogger``: the seed's API over OTel instruments, plus the engine helpers a bot calls each cycle."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from types import MappingProxyType
from typing import Any, cast

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Meter, Observation

from otel_breakout._internal import internal_errors_raise, log_internal_error, log_rejected_value
from otel_breakout._settings import Settings
from otel_breakout._telemetry import INSTRUMENTATION_SCOPE, Telemetry, get_telemetry
from otel_breakout._version import __version__
from otel_breakout.catalogue import CATALOGUE, ENGINE_STATES, SEED_ALIASES, UnknownMetricError, get_spec
from otel_breakout.metrics._bound import (
    AnyBound,
    BoundCounter,
    BoundGauge,
    BoundHistogram,
    BoundUpDownCounter,
    as_number,
)
from otel_breakout.metrics._instruments import (
    Instrument,
    MetricAttributeError,
    SymbolPolicy,
    claim_instruments,
    release_instruments,
)
from otel_breakout.metrics._summary import summarize
from otel_breakout.metrics._timer import Timer
from otel_breakout.metrics._window import Sample

__all__ = ["MetricsLogger", "get_metrics_logger"]

_GROUPS = ("engine", "scanner", "trading", "self")
_STATE = "breakout.engine.state"
_CYCLE = "breakout.engine.cycle.duration"
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
        telemetry = telemetry if telemetry is not None else (get_telemetry() if meter is None else None)
        if meter is not None:
            claim_instruments(meter, "MetricsLogger")
        elif telemetry is not None:
            claim_instruments(telemetry.meter_provider, "MetricsLogger")
            meter = telemetry.get_meter()
        else:
            # Without a Telemetry the global provider is used: the one `opentelemetry-instrument` installed,
            # or the API's proxy, which switches to the real provider whenever one is set.
            claim_instruments(metrics.get_meter_provider(), "MetricsLogger")
            meter = metrics.get_meter(INSTRUMENTATION_SCOPE, __version__)
        if settings is None:
            settings = telemetry.settings if telemetry is not None else Settings.from_env()
        self.settings = settings
        symbols = SymbolPolicy(settings.metrics.symbol_attribute, settings.metrics.symbol_limit)
        self._instruments: dict[str, Instrument] = {}
        self._histograms: list[Instrument] = []
        fallback: Callable[[], None] | None = self._flush_histograms
        for spec in CATALOGUE:
            if spec.group not in _GROUPS:
                continue
            observed = spec.name != _STATE and spec.kind != "histogram"
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
                observe=spec.name != _STATE,
            )
            if observed:
                fallback = None
            self._instruments[spec.name] = instrument
            if spec.kind == "histogram":
                self._histograms.append(instrument)
        for alias, name in SEED_ALIASES.items():
            self._instruments[alias] = self._instruments[name]
        self._names = [spec.name for spec in CATALOGUE if spec.name in self._instruments]
        # The hot path is one dict lookup: (name, *attributes as given) -> the cell they resolved to. Misses
        # go through the name's recorder, which validates, and the cell found is cached (bounded).
        self._fast: dict[tuple[object, ...], AnyBound] = {}
        self._recorders: dict[str, Callable[[float, dict[str, object]], AnyBound | None]] = {
            name: instrument.record for name, instrument in self._instruments.items()
        }
        self._recorders[_STATE] = self._record_state
        # A cycle's duration means a cycle ended: the seed's record("engine_cycle_time", dt) keeps
        # cycles, last-cycle age and cycles-since-signal right too.
        for name, instrument in self._instruments.items():
            if instrument.spec.name == _CYCLE:
                self._recorders[name] = self._record_cycle
        # Engine bookkeeping, pre-bound so that each helper is a few attribute stores. An RLock: a helper
        # called from a signal handler that interrupted another one must not wait for itself, and each
        # section is a few independent stores that a nested one cannot corrupt.
        self._lock = threading.RLock()
        self._state: str | None = None
        self._state_names = {s.casefold(): s for s in self.engine_states}
        self._state_window = self._instruments[_STATE].window
        self._state_attrs = {s: MappingProxyType({"state": s}) for s in self.engine_states}
        transitions = self._instruments["breakout.engine.state.transitions"]
        self._transitions: dict[tuple[str, str], BoundCounter] = {
            (a, b): cast(BoundCounter, transitions._cell((("from_state", a), ("to_state", b))))
            for a in self.engine_states
            for b in self.engine_states
            if a != b
        }
        self._cycle_duration = self.histogram(_CYCLE)
        self._cycles = self.counter("breakout.engine.cycles")
        self._last_cycle = self.gauge("breakout.engine.last_cycle.timestamp")
        self._since_signal = self.gauge("breakout.engine.cycles_since_signal")
        self._equity = self.gauge("breakout.equity")
        self._drawdown = self.gauge("breakout.drawdown")
        self._positions = self.gauge("breakout.positions.open")
        self._scanned = self.counter("breakout.scanner.symbols.scanned")
        self._cycles_since_signal = 0
        self._last_cycle_ts: float | None = None
        self._peak_equity: float | None = None
        self._stages: dict[object, BoundGauge] = {}
        state = get_spec(_STATE)
        meter.create_observable_gauge(_STATE, [self._observe_state], state.unit, state.description)

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

    def _record_cycle(self, value: float, attributes: dict[str, object]) -> None:
        if attributes:
            raise MetricAttributeError(f"{_CYCLE} takes no attributes")
        self.end_cycle(value)

    def _record_state(self, value: float, attributes: dict[str, object]) -> None:
        state = attributes.get("state")
        if value != 1 or not isinstance(state, (str, Enum)) or len(attributes) != 1:
            raise MetricAttributeError(f"{_STATE} is one-hot: record(name, 1, state=STATE), or use set_state()")
        self.set_state(state)

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
        return summarize(self)

    def last_cycle_age(self, now: float | None = None) -> float | None:
        """Seconds since the last engine cycle ended (None before the first)."""
        last = self._last_cycle_ts
        if last is None:
            return None
        return max(0.0, (time.time() if now is None else now) - last)

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
        if self._instruments.get(name) is self._instruments[_STATE]:
            raise ValueError(f"{_STATE} is one-hot over the engine states: use set_state()")
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

    # --- engine helpers -----------------------------------------------------------------------------

    def set_state(self, state: str | Enum) -> None:
        """Move the engine to ``state``: the one-hot state gauge, and a transition when it changed."""
        try:
            if isinstance(state, Enum):
                state = state.value if isinstance(state.value, str) else state.name
            new = self._state_names.get(str(state).casefold())
            if new is None:
                raise MetricAttributeError(f"{state!r} is not an engine state ({', '.join(self.engine_states)})")
            with self._lock:
                old, self._state = self._state, new
            if old == new:
                return
            self._state_window.append((time.time(), 1.0, self._state_attrs[new]))
            if old is not None:
                self._transitions[(old, new)].add(1.0)
        except Exception as exc:
            self._reject(_STATE, exc)

    @property
    def state(self) -> str | None:
        return self._state

    def cycle(self) -> Timer:
        """Time one engine cycle (context manager or decorator); see :meth:`end_cycle`."""
        return Timer(self.end_cycle)

    def end_cycle(self, duration_s: float, *, now: float | None = None) -> None:
        """Book a finished cycle: duration, count, last-cycle timestamp and cycles since the last signal."""
        try:
            duration = as_number(duration_s)
            if not 0.0 <= duration < math.inf:
                raise ValueError(f"a cycle duration must be finite and >= 0 seconds, got {duration_s!r}")
        except Exception as exc:
            self._reject(_CYCLE, exc)
            return
        self._cycle_duration.record(duration)
        self._cycles.add(1.0)
        ts = time.time() if now is None else now
        with self._lock:
            self._cycles_since_signal += 1
            since = self._cycles_since_signal
            self._last_cycle_ts = ts
        self._last_cycle.set(ts)
        self._since_signal.set(since)

    @property
    def cycles_since_signal(self) -> int:
        return self._cycles_since_signal

    def signal(self, strategy: str | Enum, *, symbol: str | None = None, count: int = 1) -> None:
        """A strategy produced ``count`` signals; resets the cycles-since-signal gauge."""
        attributes: dict[str, object] = {"strategy": strategy}
        if symbol is not None:
            attributes["symbol"] = symbol
        self.record("breakout.signals", count, **attributes)
        with self._lock:
            self._cycles_since_signal = 0
        self._since_signal.set(0.0)

    def scan(self, funnel: Mapping[str, int] | Iterable[tuple[str, int]], *, scanned: int | None = None) -> None:
        """One scan: candidates left after each filter stage, in order; ``scanned`` defaults to the first stage.

        Stages seen in earlier scans but missing from this one drop to 0 (the scan stopped before them).
        """
        try:
            stages = list(funnel.items() if isinstance(funnel, Mapping) else funnel)
            if any(len(stage) != 2 for stage in stages):
                raise ValueError("a funnel is (stage, remaining) pairs or a {stage: remaining} mapping")
        except Exception as exc:
            self._reject("breakout.scanner.candidates", exc)
            return
        self._scanned.add(stages[0][1] if scanned is None and stages else scanned or 0)
        seen: set[object] = set()
        for stage, remaining in stages:
            gauge = self._stages.get(stage)
            if gauge is None:
                try:
                    gauge = self.gauge("breakout.scanner.candidates", stage=stage)
                except Exception as exc:
                    self._reject("breakout.scanner.candidates", exc)
                    continue
                self._stages[stage] = gauge
            gauge.set(remaining)
            seen.add(stage)
        for stage, gauge in list(self._stages.items()):
            if stage not in seen:
                gauge.set(0.0)

    def trade_opened(self, strategy: str | Enum, *, symbol: str | None = None) -> None:
        attributes: dict[str, object] = {"strategy": strategy}
        if symbol is not None:
            attributes["symbol"] = symbol
        self.record("breakout.trades.opened", 1, **attributes)

    def trade_closed(
        self, strategy: str | Enum, pnl: float, *, outcome: str | None = None, symbol: str | None = None
    ) -> None:
        """A closed trade: the closed counter by outcome (from the PnL's sign unless given) and the PnL.

        A PnL that is not a finite number (NaN, infinity, an integer beyond float range, text, a bool) is
        rejected whole: neither the trade nor its PnL is counted, so a bad value never reads as a breakeven
        trade or a win.
        """
        try:
            value = as_number(pnl)
            if not -math.inf < value < math.inf:
                raise ValueError(f"a trade's PnL must be finite, got {pnl!r}")
        except Exception as exc:
            self._reject("breakout.trade.pnl", exc)
            return
        if outcome is None:
            outcome = "win" if value > 0 else "loss" if value < 0 else "breakeven"
        attributes: dict[str, object] = {"strategy": strategy, "outcome": outcome}
        if symbol is not None:
            attributes["symbol"] = symbol
        self.record("breakout.trades.closed", 1, **attributes)
        self.record("breakout.trade.pnl", value, strategy=strategy)

    def update_equity(self, equity: float, *, peak: float | None = None) -> None:
        """Set equity, and drawdown from the highest equity seen (or ``peak``, e.g. restored after a restart).

        Equity or a peak that is not a finite number is rejected (counted and warned about) and leaves the
        running peak as it was: one NaN must not turn every later drawdown into 0.
        """
        try:
            value = as_number(equity)
            if not -math.inf < value < math.inf:
                raise ValueError(f"equity must be finite, got {equity!r}")
            if peak is not None:
                given = as_number(peak)
                if not -math.inf < given < math.inf:
                    raise ValueError(f"peak must be finite, got {peak!r}")
                peak = given
            with self._lock:
                candidates = [v for v in (self._peak_equity, peak, value) if v is not None]
                self._peak_equity = top = max(candidates)
            self._equity.set(value)
            self._drawdown.set(max(0.0, (top - value) / top) if top > 0 else 0.0)
        except Exception as exc:
            self._reject("breakout.equity", exc)

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

    def _observe_state(self, options: CallbackOptions) -> list[Observation]:
        current = self._state
        if current is None:
            return []
        # Derived from one variable at collection time, so a scrape never sees zero or two states at 1.
        return [Observation(1.0 if s == current else 0.0, {"state": s}) for s in self.engine_states]

    def _instrument(self, name: str) -> Instrument:
        return self._instruments[name]

    def _totals(self, name: str) -> list[tuple[Mapping[str, str], float]]:
        """Lifetime totals (counters) or last values (gauges) by attribute set."""
        out: list[tuple[Mapping[str, str], float]] = []
        for cell in self._instruments[name].cells:
            if isinstance(cell, BoundCounter):
                out.append((cell.attributes, cell.total))
            elif isinstance(cell, BoundGauge) and cell.value is not None:
                out.append((cell.attributes, cell.value))
        return out


_global: MetricsLogger | None = None
_global_lock = threading.Lock()


def get_metrics_logger() -> MetricsLogger:
    """The process-wide logger, on the ``configure()`` handle (or the global meter provider) at first use."""
    global _global
    if _global is None:
        with _global_lock:
            if _global is None:
                _global = MetricsLogger()
    return _global


def _reset_for_tests() -> None:
    """Forget the process-wide logger (its instruments stay registered on the provider it used)."""
    global _global
    with _global_lock:
        _global = None
        release_instruments(metrics.get_meter_provider(), "MetricsLogger")
