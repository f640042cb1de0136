"""Metric views: latency buckets that suit a trading engine, and a per-metric cardinality limit."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from opentelemetry.sdk.metrics import Histogram
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

__all__ = ["LATENCY_BUCKETS_SECONDS", "OVERFLOW_ATTRIBUTES", "install_cardinality_limit", "latency_views"]

_logger = logging.getLogger(__name__)

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


_limit: int | None = None


def install_cardinality_limit(limit: int) -> bool:
    """Cap the attribute sets kept per metric stream; later sets fold into :data:`OVERFLOW_ATTRIBUTES`.

    The Python SDK has no cardinality limit yet, so a runaway attribute (a symbol, an order id) would grow
    memory without bound. We wrap the SDK's per-stream ``consume_measurement``: below the limit it costs one
    ``len()``; at the limit, measurements for a known attribute set pass through and new sets are redirected
    to the overflow set (which counts towards the limit, as the specification asks). The limit is
    process-wide: the last ``configure()`` sets it. Returns False when the SDK's internals have changed
    shape, in which case nothing is patched and a warning says so.
    """
    global _limit
    _limit = limit
    try:
        from opentelemetry.sdk.metrics._internal import _view_instrument_match as vim
    except ImportError:  # pragma: no cover - depends on the SDK release
        _logger.warning("this opentelemetry-sdk has no _view_instrument_match; metric cardinality is not limited")
        return False
    cls: Any = vim._ViewInstrumentMatch
    if getattr(cls, "_otel_breakout_limited", False):
        return True
    original = getattr(cls, "consume_measurement", None)
    hash_attributes = getattr(vim, "_hash_attributes", None)
    if original is None or hash_attributes is None:  # pragma: no cover - depends on the SDK release
        _logger.warning("unexpected opentelemetry-sdk internals; metric cardinality is not limited")
        return False

    overflow_key = hash_attributes(OVERFLOW_ATTRIBUTES)

    def consume_measurement(self: Any, measurement: Any, should_sample_exemplar: bool = True) -> None:
        streams = self._attributes_aggregation
        cap = _limit
        # Fast path: fewer streams than the limit allows real ones, so no new set can overflow yet.
        if cap is not None and len(streams) >= cap - 1:
            attributes = dict(measurement.attributes or {})
            keys = self._view._attribute_keys
            if keys is not None:
                attributes = {k: v for k, v in attributes.items() if k in keys}
            if hash_attributes(attributes) not in streams:
                real = len(streams) - (overflow_key in streams)
                if real >= cap - 1:
                    measurement = replace(measurement, attributes=OVERFLOW_ATTRIBUTES)
        original(self, measurement, should_sample_exemplar)

    cls.consume_measurement = consume_measurement
    cls._otel_breakout_limited = True
    return True
