"""Log records built once in their final form, and the batch processor that queues them without a copy.

The SDK spends more on each log record than the record itself costs us: ``Logger.emit`` re-validates every
attribute into a ``BoundedAttributes`` (which the OTLP encoder then reads key by key through the generic
mapping protocol), and the batch processor ``copy.copy()``s each record to let go of its context. Both exist
for records that arrive from anywhere; for the diagnostics records, whose attributes are clean by
construction and whose context holds nothing but a span's ids, they are pure cost. Here they are skipped
through the SDK's public types only: ``Logger.emit`` takes a :class:`PreparedLogRecord` (a
``ReadWriteLogRecord``) as it is, and :class:`LogBatchProcessor` is the SDK's batch processor, with its queue,
thread, limits, flush and shutdown, that enqueues such records without the copy. Every other record takes
the SDK's own path, and what the exporters receive is unchanged (tests hold the encoded bytes equal).
"""

from __future__ import annotations

from typing import Any

from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LogRecordLimits, ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

__all__ = ["LogBatchProcessor", "PreparedLogRecord", "prepared_record"]


class PreparedLogRecord(ReadWriteLogRecord):
    """A record whose attributes are already final: a dict of cleaned values (str, bool, int, float, or tuples of
    one of those), within the record limits. Its context holds at most a span's ids.

    The SDK would wrap the attributes in a ``BoundedAttributes``, cleaning each value again; for such a dict that
    gives the same keys, values and order, so this record keeps the dict. Should the limits be tighter than the
    record (``OTEL_LOGRECORD_ATTRIBUTE_*`` set low), it takes the SDK's path, which truncates and counts.
    """

    def __post_init__(self) -> None:
        attributes = self.log_record.attributes
        if not attributes:
            super().__post_init__()  # type: ignore[no-untyped-call]  # untyped upstream
            return
        limits = self.limits
        most = limits.max_log_record_attributes
        longest = limits.max_log_record_attribute_length
        if (most is not None and len(attributes) > most) or (
            longest is not None
            and any(
                (type(v) is str and len(v) > longest)
                or (type(v) is tuple and any(type(i) is str and len(i) > longest for i in v))
                for v in attributes.values()
            )
        ):
            super().__post_init__()  # type: ignore[no-untyped-call]  # untyped upstream


def prepared_record(
    record: LogRecord, resource: Resource, scope: InstrumentationScope | None, limits: LogRecordLimits
) -> PreparedLogRecord:
    """Wrap an API record whose attributes are a final dict (see :class:`PreparedLogRecord`) for ``Logger.emit``."""
    return PreparedLogRecord(log_record=record, resource=resource, instrumentation_scope=scope, limits=limits)


class LogBatchProcessor(BatchLogRecordProcessor):
    """The SDK's ``BatchLogRecordProcessor``, enqueueing :class:`PreparedLogRecord` as it is.

    The SDK copies each record so that the queued one no longer holds the context it was emitted in (which may
    hold a live span, baggage, anything), leaving the original intact for the processors after it. A prepared
    record's context holds only its span's ids: the copy buys nothing, so it is skipped. Any other record is
    queued exactly as the SDK does it.
    """

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        batch: Any = getattr(self, "_batch_processor", None)
        if type(log_record) is not PreparedLogRecord or batch is None or log_record.resource is None:
            # Not ours, or an SDK whose processor is built differently: its own path, unchanged.
            super().on_emit(log_record)
            return
        batch.emit(
            ReadableLogRecord(
                log_record=log_record.log_record,
                resource=log_record.resource,
                instrumentation_scope=log_record.instrumentation_scope,
                limits=log_record.limits,
            )
        )
