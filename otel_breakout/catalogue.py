"""The metric catalogue: every instrument otel-breakout creates, in one place.

Dashboards, alert rules, the docs' metric catalogue and the tests all read this module, so a renamed
metric fails the build instead of silently emptying a panel. Names follow OTel conventions (``breakout.*``
namespaces, UCUM units, semantic-convention names and kinds for process and system metrics) and map to
the Prometheus names the real exposition produces with :func:`prometheus_name` (a test renders the whole
catalogue through the Prometheus reader and compares).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter

from otel_breakout._exposition import IDENTITY_ATTRIBUTES, metric_family_name
from otel_breakout._views import LATENCY_BUCKETS_SECONDS

__all__ = [
    "CATALOGUE",
    "ENGINE_STATES",
    "GROUPS",
    "IDENTITY_ATTRIBUTES",
    "LEGACY_ALIASES",
    "OUTCOMES",
    "MetricSpec",
    "UnknownMetricError",
    "bucket_boundaries",
    "create_instrument",
    "get_spec",
    "names_in",
    "prometheus_name",
]

Kind = Literal["counter", "updown_counter", "histogram", "gauge"]
Group = Literal["engine", "scanner", "trading", "diag", "resource", "self"]

ENGINE_STATES: tuple[str, ...] = ("IDLE", "SCANNING", "SIGNAL_WAIT", "MANAGING")
# Closed trades and signed PnL: > 0 win, < 0 loss, == 0 breakeven.
OUTCOMES: tuple[str, ...] = ("win", "loss", "breakeven")
GROUPS: tuple[Group, ...] = ("engine", "scanner", "trading", "diag", "resource", "self")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One instrument: OTel name, kind, UCUM unit, the only attribute keys it may carry, and what it means."""

    name: str
    kind: Kind
    unit: str
    attributes: tuple[str, ...]
    description: str
    # Advisory bucket boundaries for histograms not measured in seconds (seconds get the latency buckets).
    buckets: tuple[float, ...] | None = None
    # Attribute keys allowed only when the user opts in (high cardinality, under the cardinality limit).
    optional_attributes: tuple[str, ...] = ()
    # Closed value sets for enumerated attributes, as (key, allowed values) pairs.
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # OTel histograms take no negative values: a signed histogram records the magnitude and sets
    # ``outcome`` from the sign (win > 0, loss < 0, breakeven 0); callers pass the signed value.
    signed: bool = False

    @property
    def group(self) -> Group:
        """The section of the catalogue (and of ``MetricsLogger.summary()``) this metric belongs to."""
        for prefix, group in _GROUP_PREFIXES:
            if self.name.startswith(prefix):
                return group
        return "trading"

    def allowed_values(self, key: str) -> tuple[str, ...] | None:
        """The closed value set of attribute ``key``, or None when any (bounded) value is accepted."""
        for name, allowed in self.values:
            if name == key:
                return allowed
        return None


_GROUP_PREFIXES: tuple[tuple[str, Group], ...] = (
    ("breakout.engine.", "engine"),
    ("breakout.scanner.", "scanner"),
    ("breakout.diag.", "diag"),
    ("breakout.metrics.", "self"),
    ("breakout.resource.", "resource"),
    ("breakout.process.", "resource"),
    ("process.", "resource"),
    ("system.", "resource"),
)

_PNL_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0)
_STATE = (("state", ENGINE_STATES),)
_TRANSITION = (("from_state", ENGINE_STATES), ("to_state", ENGINE_STATES))
_OUTCOME = (("outcome", OUTCOMES),)

CATALOGUE: tuple[MetricSpec, ...] = (
    # --- engine -----------------------------------------------------------------------------------
    MetricSpec("breakout.engine.cycle.duration", "histogram", "s", (), "Wall time of one engine cycle."),
    MetricSpec("breakout.engine.cycles", "counter", "{cycle}", (), "Engine cycles completed."),
    MetricSpec(
        "breakout.engine.state",
        "gauge",
        "{state}",
        ("state",),
        "1 for the engine's current state, 0 for the others (IDLE, SCANNING, SIGNAL_WAIT, MANAGING).",
        values=_STATE,
    ),
    MetricSpec(
        "breakout.engine.state.transitions",
        "counter",
        "{transition}",
        ("from_state", "to_state"),
        "Engine state changes, by previous and next state.",
        values=_TRANSITION,
    ),
    MetricSpec(
        "breakout.engine.cycles_since_signal",
        "gauge",
        "{cycle}",
        (),
        "Cycles completed since the last signal; drives the signal-starvation alert.",
    ),
    MetricSpec(
        "breakout.engine.last_cycle.timestamp", "gauge", "s", (), "Unix time at which the last engine cycle ended."
    ),
    # --- scanner ----------------------------------------------------------------------------------
    MetricSpec("breakout.scanner.symbols.scanned", "counter", "{symbol}", (), "Symbols evaluated by the scanner."),
    MetricSpec(
        "breakout.scanner.candidates",
        "gauge",
        "{symbol}",
        ("stage",),
        "Candidates left after each filter stage in the last scan (the funnel).",
    ),
    # --- strategy and trading ---------------------------------------------------------------------
    MetricSpec(
        "breakout.signals",
        "counter",
        "{signal}",
        ("strategy",),
        "Signals generated, by strategy.",
        optional_attributes=("symbol",),
    ),
    MetricSpec(
        "breakout.trades.opened",
        "counter",
        "{trade}",
        ("strategy",),
        "Trades opened, by strategy.",
        optional_attributes=("symbol",),
    ),
    MetricSpec(
        "breakout.trades.closed",
        "counter",
        "{trade}",
        ("strategy", "outcome"),
        "Trades closed, by strategy and outcome (win, loss, breakeven).",
        optional_attributes=("symbol",),
        values=_OUTCOME,
    ),
    MetricSpec(
        "breakout.trade.pnl",
        "histogram",
        "{quote}",
        ("strategy", "outcome"),
        "Size of the realised profit or loss per closed trade, in quote currency; `outcome` gives the sign.",
        buckets=_PNL_BUCKETS,
        values=_OUTCOME,
        signed=True,
    ),
    MetricSpec("breakout.equity", "gauge", "{quote}", (), "Account equity, in quote currency."),
    MetricSpec("breakout.drawdown", "gauge", "1", (), "Drawdown from the equity peak, as a fraction (0 to 1)."),
    MetricSpec("breakout.positions.open", "gauge", "{position}", (), "Open positions."),
    # --- diagnostics collector --------------------------------------------------------------------
    MetricSpec(
        "breakout.diag.evaluations",
        "counter",
        "{evaluation}",
        ("component", "stage", "check", "outcome"),
        "Filter and condition evaluations, by component, stage (or strategy), filter or condition, and outcome "
        "(pass, fail).",
    ),
    MetricSpec(
        "breakout.diag.reasons",
        "counter",
        "{event}",
        ("reason",),
        "Failures by reason (filter:<name>, signal:<strategy>:<condition>).",
    ),
    MetricSpec(
        "breakout.diag.near_misses",
        "counter",
        "{event}",
        ("component", "stage", "check"),
        "Failures within the near-miss margin of their threshold, by component, stage (or strategy) and check.",
    ),
    MetricSpec(
        "breakout.diag.dropped",
        "counter",
        "{event}",
        ("sink", "cause"),
        "Diagnostic events a sink did not get, by sink (queue, jsonl, span_events, all) and cause (full, "
        "write_error, disabled, budget, error, shutdown); sink reasons, cause overflow: failures counted under the "
        "reason (other) because OTEL_BREAKOUT_DIAG_MAX_REASONS distinct reasons were already counted.",
    ),
    # --- resource monitor (OTel semantic conventions where they exist) ------------------------------
    MetricSpec("process.cpu.utilization", "gauge", "1", (), "Process CPU use as a fraction of all available cores."),
    MetricSpec("process.memory.usage", "updown_counter", "By", (), "Process resident memory."),
    MetricSpec("process.thread.count", "updown_counter", "{thread}", (), "Process threads."),
    MetricSpec(
        "process.open_file_descriptor.count", "updown_counter", "{file_descriptor}", (), "Open file descriptors."
    ),
    MetricSpec(
        "breakout.process.network.connections",
        "updown_counter",
        "{connection}",
        (),
        "Internet (TCP and UDP) connections held by the process.",
    ),
    MetricSpec("system.cpu.utilization", "gauge", "1", (), "System-wide CPU use as a fraction of all cores."),
    MetricSpec(
        "system.memory.utilization",
        "gauge",
        "1",
        ("system.memory.state",),
        "System memory in use as a fraction of the total (state `used`).",
        values=(("system.memory.state", ("used",)),),
    ),
    MetricSpec(
        "system.filesystem.utilization",
        "gauge",
        "1",
        ("system.filesystem.mountpoint",),
        "Filesystem space in use as a fraction, for the monitored mount point.",
    ),
    MetricSpec(
        "breakout.resource.actions",
        "counter",
        "{action}",
        ("action",),
        "Corrective actions the resource monitor ran (gc, cache_clear, log_cleanup, thread_warning).",
        values=(("action", ("gc", "cache_clear", "log_cleanup", "thread_warning")),),
    ),
    # --- otel-breakout itself -----------------------------------------------------------------------
    MetricSpec(
        "breakout.metrics.dropped",
        "counter",
        "{measurement}",
        ("metric", "cause"),
        "Measurements MetricsLogger refused (unknown_metric, bad_value, bad_attributes), by metric.",
        values=(("cause", ("unknown_metric", "bad_value", "bad_attributes", "error")),),
    ),
)

_BY_NAME = {spec.name: spec for spec in CATALOGUE}

# The original system's MetricsLogger names, accepted by ``MetricsLogger.record()`` and ``series()`` for parity.
LEGACY_ALIASES: Mapping[str, str] = {
    "engine_cycle_time": "breakout.engine.cycle.duration",
    "scanner_symbols_scanned": "breakout.scanner.symbols.scanned",
    "trade_pnl": "breakout.trade.pnl",
}

# Old public names, kept for one release: reading one warns and answers with the new name's value.
_DEPRECATED = {"SEED_ALIASES": "LEGACY_ALIASES"}


def __getattr__(name: str) -> Mapping[str, str]:
    new = _DEPRECATED.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"otel_breakout.catalogue.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
    value: Mapping[str, str] = globals()[new]
    return value


class UnknownMetricError(KeyError):
    """A metric name that is not in the catalogue; the message lists close names."""

    def __str__(self) -> str:
        # KeyError would print the message quoted, as if it were a missing key.
        return str(self.args[0]) if self.args else ""


def get_spec(name: str) -> MetricSpec:
    """The spec for ``name`` (or a legacy alias); a clear :class:`UnknownMetricError` listing close names otherwise."""
    spec = _BY_NAME.get(LEGACY_ALIASES.get(name, name))
    if spec is not None:
        return spec
    tail = re.split(r"[._]", name)[-1]
    close = [n for n in _BY_NAME if tail and tail in n][:5]
    hint = f"; did you mean {', '.join(close)}?" if close else "; see otel_breakout.catalogue.CATALOGUE"
    raise UnknownMetricError(f"{name!r} is not in the otel-breakout metric catalogue{hint}")


def bucket_boundaries(spec: MetricSpec) -> tuple[float, ...] | None:
    """Explicit bucket boundaries for a histogram: its own, else the latency buckets for seconds."""
    if spec.kind != "histogram":
        return None
    if spec.buckets is not None:
        return spec.buckets
    return LATENCY_BUCKETS_SECONDS if spec.unit == "s" else None


def create_instrument(meter: Meter, name: str) -> Counter | UpDownCounter | Histogram:
    """A synchronous instrument for a catalogue counter, up-down counter or histogram.

    Histograms carry ``explicit_bucket_boundaries_advisory``, so they get the right buckets even on
    providers built without our views (``opentelemetry-instrument`` with the stock distro). Gauges are
    observable by nature here; :class:`~otel_breakout.metrics.MetricsLogger` creates those.
    """
    spec = get_spec(name)
    if spec.kind == "counter":
        return meter.create_counter(spec.name, spec.unit, spec.description)
    if spec.kind == "updown_counter":
        return meter.create_up_down_counter(spec.name, spec.unit, spec.description)
    if spec.kind == "histogram":
        return meter.create_histogram(
            spec.name, spec.unit, spec.description, explicit_bucket_boundaries_advisory=bucket_boundaries(spec)
        )
    raise ValueError(f"{name} is a {spec.kind}; create it as an observable instrument")


def prometheus_name(spec: MetricSpec) -> str:
    """The Prometheus family name (histograms: the base name of ``_bucket``/``_sum``/``_count``).

    The name our pull exposition gives the instrument (the OTel-to-Prometheus compatibility rules, as the
    Collector and Prometheus' OTLP receiver apply them): counters' samples end in ``_total``.
    """
    family, _ = metric_family_name(spec.name, spec.unit, spec.kind)
    return family + "_total" if spec.kind == "counter" else family


def names_in(group: str, specs: Sequence[MetricSpec] = CATALOGUE) -> list[str]:
    """The catalogue names of one group, in catalogue order."""
    return [spec.name for spec in specs if spec.group == group]
