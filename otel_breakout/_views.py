"""Metric views: latency buckets that suit a trading engine, and a per-metric cardinality limit."""

from __future__ import annotations

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics import _Gauge as SyncGauge  # the SDK exports its synchronous gauge so
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

__all__ = ["INSTRUMENT_KINDS", "LATENCY_BUCKETS_SECONDS", "OVERFLOW_ATTRIBUTES", "cardinality_limits", "latency_views"]

# Every SDK instrument class, for the per-kind mappings a reader takes (cardinality limits, temporality).
INSTRUMENT_KINDS = (Counter, UpDownCounter, Histogram, SyncGauge, ObservableCounter, ObservableUpDownCounter,
                     ObservableGauge)  # fmt: skip

# 1 ms to 10 s. The default OTel buckets (0, 5, 10, 25 ... 10000) assume milliseconds and would put
# every engine cycle, measured in seconds, into the first two buckets.
LATENCY_BUCKETS_SECONDS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip

# The attribute set the OTel metrics specification reserves for measurements past the cardinality limit.
OVERFLOW_ATTRIBUTES = {"otel.metric.overflow": True}


def latency_views() -> list[View]:
    """Every histogram measured in seconds gets the latency buckets (unless its own view says otherwise)."""
    return [
        View(
            instrument_type=Histogram,
            instrument_unit="s",
            aggregation=ExplicitBucketHistogramAggregation(boundaries=LATENCY_BUCKETS_SECONDS),
        )
    ]


def cardinality_limits(limit: int) -> dict[type, int]:
    """The same limit for every instrument kind, for a reader's ``cardinality_limits``.

    Without a limit a runaway attribute (a symbol, an order id) grows memory without bound. Past the limit
    the SDK folds new attribute sets into one :data:`OVERFLOW_ATTRIBUTES` point per stream, so totals stay
    right while the series count stays bounded.
    """
    return {kind: limit for kind in INSTRUMENT_KINDS}
