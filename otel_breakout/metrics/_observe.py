"""The resource monitor's OTel instruments: semantic-convention gauges read from a fresh sample at collection."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from otel_breakout._internal import internal_errors_raise, log_internal_error
from otel_breakout.catalogue import get_spec
from otel_breakout.metrics._resources import MIB, ResourceMetrics

__all__ = ["register_resource_instruments"]


def register_resource_instruments(meter: Meter, sample: Callable[[], ResourceMetrics], mountpoint: str) -> None:
    """One observable instrument per catalogue resource metric, each reading ``sample()`` when collected."""

    def gauge(name: str, read: Callable[[ResourceMetrics], float], attrs: Mapping[str, str] | None = None) -> None:
        spec = get_spec(name)

        def callback(options: CallbackOptions) -> Iterable[Observation]:
            try:
                return [Observation(read(sample()), attrs)]
            except Exception as exc:
                log_internal_error(f"observing {name}", exc)
                if internal_errors_raise():
                    raise
                return []

        create = meter.create_observable_gauge if spec.kind == "gauge" else meter.create_observable_up_down_counter
        create(spec.name, [callback], spec.unit, spec.description)

    gauge("process.cpu.utilization", lambda m: m.process_cpu_percent / 100.0)
    gauge("process.memory.usage", lambda m: round(m.process_memory_mb * MIB))
    gauge("process.thread.count", lambda m: m.active_threads)
    gauge("process.open_file_descriptor.count", lambda m: m.open_files)
    gauge("breakout.process.network.connections", lambda m: m.network_connections)
    gauge("system.cpu.utilization", lambda m: m.cpu_percent / 100.0)
    gauge("system.memory.utilization", lambda m: m.memory_percent / 100.0, {"system.memory.state": "used"})
    gauge(
        "system.filesystem.utilization",
        lambda m: m.disk_usage_percent / 100.0,
        {"system.filesystem.mountpoint": mountpoint},
    )
