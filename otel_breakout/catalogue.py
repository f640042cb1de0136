"""The metric catalogue: every instrument otel-breakout creates, in one place.

Dashboards, alert rules, the README's metric table and the tests all read this module, so a renamed
metric fails the build instead of silently emptying a panel. Names follow OTel conventions (``breakout.*``
namespaces, UCUM units) and map to conventional Prometheus names with :func:`prometheus_name`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["CATALOGUE", "ENGINE_STATES", "MetricSpec", "get_spec", "prometheus_name"]

Kind = Literal["counter", "updown_counter", "histogram", "gauge"]

ENGINE_STATES: tuple[str, ...] = ("IDLE", "SCANNING", "SIGNAL_WAIT", "MANAGING")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One instrument: OTel name, kind, UCUM unit, the only attribute keys it may carry, and what it means."""

    name: str
    kind: Kind
    unit: str
    attributes: tuple[str, ...]
    description: str
    # Advisory bucket boundaries for histograms not measured in seconds (seconds get the latency view).
    buckets: tuple[float, ...] | None = None
    # Attribute keys allowed only when the user opts in (high cardinality, under the cardinality limit).
    optional_attributes: tuple[str, ...] = ()


_PNL_BUCKETS = (-1000.0, -500.0, -250.0, -100.0, -50.0, -25.0, -10.0, -5.0, -1.0, 0.0,
                1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0)  # fmt: skip

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
    ),
    MetricSpec(
        "breakout.engine.state.transitions",
        "counter",
        "{transition}",
        ("from", "to"),
        "Engine state changes, by previous and next state.",
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
    ),
    MetricSpec(
        "breakout.trade.pnl",
        "histogram",
        "{quote}",
        ("strategy",),
        "Realised profit or loss per closed trade, in quote currency.",
        buckets=_PNL_BUCKETS,
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
        "write_error, disabled, budget, error).",
    ),
    # --- resource monitor (OTel semantic conventions) ---------------------------------------------
    MetricSpec("process.cpu.utilization", "gauge", "1", (), "Process CPU use as a fraction of all cores."),
    MetricSpec("process.memory.usage", "gauge", "By", (), "Process resident memory."),
    MetricSpec("process.thread.count", "gauge", "{thread}", (), "Process threads."),
    MetricSpec("process.open_file_descriptor.count", "gauge", "{file_descriptor}", (), "Open file descriptors."),
    MetricSpec(
        "breakout.process.network.connections", "gauge", "{connection}", (), "Network connections held by the process."
    ),
    MetricSpec("system.cpu.utilization", "gauge", "1", (), "System-wide CPU use as a fraction."),
    MetricSpec("system.memory.utilization", "gauge", "1", (), "System memory in use as a fraction."),
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
    ),
)

_BY_NAME = {spec.name: spec for spec in CATALOGUE}


def get_spec(name: str) -> MetricSpec:
    """The spec for ``name``; a clear ``KeyError`` listing close names otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        close = [n for n in _BY_NAME if name.rsplit(".", 1)[-1] in n][:5]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"{name!r} is not in the otel-breakout metric catalogue{hint}") from None


# UCUM units to the Prometheus suffixes the OTel-to-Prometheus compatibility specification uses.
_UNIT_SUFFIX = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "ratio"}


def prometheus_name(spec: MetricSpec) -> str:
    """The Prometheus series name (histograms: the base name of ``_bucket``/``_sum``/``_count``)."""
    name = re.sub(r"[^a-zA-Z0-9_:]", "_", spec.name)
    suffix = _UNIT_SUFFIX.get(spec.unit, "")
    if spec.unit == "1" and spec.kind != "gauge":
        suffix = ""
    if suffix and not name.endswith("_" + suffix):
        name += "_" + suffix
    if spec.kind == "counter":
        name += "_total"
    return name
