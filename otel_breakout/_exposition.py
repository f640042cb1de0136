"""Prometheus text (0.0.4) and OpenMetrics (1.0) exposition written straight from collected ``MetricsData``.

The OTel Prometheus exporter translates every point into prometheus_client families and then formats
them one sample at a time; on a 10k-series bot that cost several times the collection itself. This writer
formats each point once, caches the escaped label block of every stream between scrapes (the SDK hands
back the same attributes object for a stream on every collection), and joins one list of strings.

Names follow the OTel-to-Prometheus compatibility specification, as the exporter does: sanitised names,
UCUM units mapped to suffixes (annotations such as ``{trade}`` dropped), ``_total`` on monotonic sums,
``target_info`` from the resource, ``otel_scope_*`` labels. One deliberate difference: a gauge whose unit
is ``1`` gets the ``_ratio`` suffix the specification asks for (the exporter leaves a TODO there), so
the names agree with what the Collector and Prometheus' own OTLP receiver produce for the same metric
pushed over OTLP. OpenMetrics output also carries the SDK's exemplars (trace and span ids) on counters and
histogram buckets, which the exporter drops: a Prometheus with exemplar storage links a latency bucket to
the trace of a slow cycle.

Identity labels: the writer can copy chosen resource attributes onto every series (the exporter's
``with_resource_constant_labels`` option in the compatibility specification). The pull reader copies
:data:`IDENTITY_ATTRIBUTES`, the same attributes the stack's Prometheus promotes from OTLP
(``otlp.promote_resource_attributes``), so a bot's series carry the same ``service_name`` and
``service_instance_id`` whether they were scraped or pushed: dashboards select a bot by them and
collapse the two copies of one process into one.
"""

from __future__ import annotations

import json
import logging
import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    MetricsData,
    NumberDataPoint,
    Sum,
)

__all__ = ["IDENTITY_ATTRIBUTES", "ExpositionWriter", "format_value", "metric_family_name"]

_logger = logging.getLogger("otel_breakout")

_NAME_RE = re.compile(r"[^a-zA-Z0-9:]+")
_LABEL_RE = re.compile(r"[^a-zA-Z0-9]+")
_ANNOTATION_RE = re.compile(r"{.*}")
# UCUM units to Prometheus suffixes, as in the compatibility specification (and the Collector's translator).
_UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds",
    "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius",
    "Hz": "hertz", "1": "", "%": "percent",
}  # fmt: skip
_PER_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}
_SPECIAL_VALUES = {"inf": "+Inf", "-inf": "-Inf", "nan": "NaN"}
_SCOPE_PREFIX = "otel_scope_"
_TEXT_TYPE = {"counter": "counter", "gauge": "gauge", "histogram": "histogram"}

# Which bot (service.name, plus the environment it runs in) and which process of it (service.instance.id):
# enough to tell bots apart and to recognise two copies of one process, bounded in cardinality (one value
# per process), and identical to Prometheus' OTLP promotion of the same attributes.
IDENTITY_ATTRIBUTES: tuple[str, ...] = ("deployment.environment.name", "service.instance.id", "service.name")


def format_value(value: float) -> str:
    """A sample value the way Go (and prometheus_client's ``floatToGoString``) writes it."""
    text = repr(float(value))
    special = _SPECIAL_VALUES.get(text)
    if special is not None:
        return special
    dot = text.find(".")
    if dot > 6 and value > 0:
        # Go switches to exponent notation sooner than Python does.
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def _sanitize_name(name: str) -> str:
    if name and name[0].isdigit():
        name = "_" + name[1:]
    return _NAME_RE.sub("_", name)


def _sanitize_label(key: str) -> str:
    if key and key[0].isdigit():
        key = "_" + key[1:]
    return _LABEL_RE.sub("_", key)


def _unit_suffix(unit: str, gauge: bool) -> str:
    # Only a true gauge of unit "1" is a ratio (the specification, and the Collector's translator); a
    # fraction-valued up-down counter keeps no suffix.
    if unit == "1" and gauge:
        return "ratio"
    unit = _ANNOTATION_RE.sub("", unit)
    if unit in _UNITS:
        return _UNITS[unit]
    top, slash, bottom = unit.partition("/")
    if slash:
        bottom = _NAME_RE.sub("_", bottom)
        if bottom:
            top = _NAME_RE.sub("_", top)
            top = _UNITS.get(top, top)
            bottom = _PER_UNITS.get(bottom, bottom)
            return f"{top}_per_{bottom}" if top else f"per_{bottom}"
    return _NAME_RE.sub("_", unit).strip("_")


def metric_family_name(name: str, unit: str, kind: str, *, gauge: bool | None = None) -> tuple[str, str]:
    """(family name, unit suffix) for an OTel metric; counters' samples add ``_total`` to the family name.

    The one naming rule: :func:`otel_breakout.catalogue.prometheus_name` (dashboards, alert rules,
    docs/metric-catalogue.md) is this too.

    ``gauge``: whether the OTel data is a Gauge (default: ``kind == "gauge"``); an up-down counter is
    exposed as a gauge but does not take the ``_ratio`` suffix.
    """
    family = _sanitize_name(name)
    suffix = _unit_suffix(unit, kind == "gauge" if gauge is None else gauge)
    if kind == "counter" and family.endswith("_total"):
        family = family[: -len("_total")]
    if suffix and not family.endswith("_" + suffix):
        family += "_" + suffix
    return family, suffix


def _escape_value(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def _label_text(value: object) -> str:
    # Non-string attribute values as the exporter writes them: JSON (true, 3, ["a", "b"]).
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _label_items(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(name, ``name="escaped value"``) sorted by name, from sanitised (name, raw value) pairs."""
    if len({key for key, _ in pairs}) != len(pairs):
        # Two attribute keys sanitised to one label name ("a.b" and "a_b"): the specification joins the
        # values with ";" in the order of the original keys, which is the order the pairs arrive in.
        joined: dict[str, list[str]] = {}
        for key, value in pairs:
            joined.setdefault(key, []).append(value)
        pairs = [(key, ";".join(values)) for key, values in joined.items()]
    return [(key, f'{key}="{_escape_value(value)}"') for key, value in sorted(pairs)]


def _label_block(pairs: Sequence[tuple[str, str]]) -> str:
    """``a="x",b="y"``, sorted by name."""
    return ",".join(item for _, item in _label_items(pairs))


def _bucket_labels(pairs: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """The labels before and after ``le`` in name order, as prometheus_client writes bucket lines."""
    items = _label_items(pairs)
    before = ",".join(item for key, item in items if key < "le")
    after = ",".join(item for key, item in items if key > "le")  # an attribute named "le" cannot stay
    return (before + "," if before else ""), ("," + after if after else "")


def _point_pairs(attributes: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not attributes:
        return []
    return [(_sanitize_label(k), _label_text(v)) for k, v in sorted(attributes.items())]


def _exemplar_text(exemplar: Any) -> str:
    """`` # {trace_id="..",span_id=".."} value timestamp``: the jump from a Prometheus sample to its trace."""
    return (
        f' # {{trace_id="{exemplar.trace_id:032x}",span_id="{exemplar.span_id:016x}"}} '
        f"{format_value(exemplar.value)} {exemplar.time_unix_nano / 1e9:.3f}"
    )


def _latest_exemplar(exemplars: Sequence[Any]) -> str:
    traced = [e for e in exemplars if e.trace_id and e.span_id]
    return _exemplar_text(max(traced, key=lambda e: e.time_unix_nano)) if traced else ""


def _bucket_exemplars(bounds: Sequence[float], exemplars: Sequence[Any]) -> dict[int, str]:
    """Bucket index -> exemplar text; a value lands in the first bucket whose bound is >= it."""
    found: dict[int, Any] = {}
    for exemplar in exemplars:
        if not (exemplar.trace_id and exemplar.span_id) or exemplar.value != exemplar.value:  # NaN
            continue
        index = bisect_left(bounds, exemplar.value)
        current = found.get(index)
        if current is None or exemplar.time_unix_nano > current.time_unix_nano:
            found[index] = exemplar
    return {index: _exemplar_text(exemplar) for index, exemplar in found.items()}


# A stream's label block, and for histograms the labels before and after ``le``.
_Cached = tuple[object, str, tuple[str, str]]


@dataclass(slots=True)
class _Family:
    name: str
    kind: str  # counter, gauge or histogram
    unit: str
    help: str
    lines: list[str]


class ExpositionWriter:
    """Formats ``MetricsData``; keeps per-stream label caches, so use one writer per reader (not thread-safe)."""

    def __init__(
        self, *, target_info: bool = True, scope_labels: bool = True, resource_labels: Sequence[str] = ()
    ) -> None:
        self._target_info = target_info
        self._scope_labels = scope_labels
        self._resource_keys = tuple(resource_labels)
        # The resource attributes copied onto every series, as sanitised (name, value) pairs.
        self._identity: tuple[tuple[str, str], ...] = ()
        # (scope, metric name) -> {id(attributes): (attributes, label block, bucket split)}; rebuilt every
        # write so that streams that disappeared are forgotten.
        self._labels: dict[tuple[object, str], dict[int, _Cached]] = {}
        self._names: dict[tuple[str, str, str, bool], tuple[str, str]] = {}
        self._les: dict[tuple[float, ...], list[str]] = {}
        self._resource: tuple[object, str] | None = None
        self._conflicts: set[str] = set()

    def write(self, data: MetricsData | None, *, openmetrics: bool = False) -> bytes:
        families: dict[str, _Family] = {}
        target = ""
        labels_next: dict[tuple[object, str], dict[int, _Cached]] = {}
        for rm in data.resource_metrics if data is not None else ():
            if self._target_info and not target:
                target = self._resource_labels(rm.resource)
            identity = self._identity_pairs(rm.resource)
            if identity != self._identity:
                # Another resource (never, with one SDK provider): no cached label block may be reused.
                self._identity = identity
                self._labels = {}
            for sm in rm.scope_metrics:
                scope = sm.scope
                scope_pairs: list[tuple[str, str]] = []
                if self._scope_labels:
                    scope_pairs = [
                        ("otel_scope_name", scope.name or ""),
                        ("otel_scope_schema_url", scope.schema_url or ""),
                        ("otel_scope_version", scope.version or ""),
                    ]
                    for key, value in (scope.attributes or {}).items():
                        scope_pairs.append((_sanitize_label(_SCOPE_PREFIX + key), _label_text(value)))
                for metric in sm.metrics:
                    stream = (scope, metric.name)
                    cache = labels_next[stream] = {}
                    old = self._labels.get(stream, {})
                    self._add_metric(families, metric, scope_pairs, old, cache, openmetrics)
        self._labels = labels_next
        return self._render(families, target, openmetrics)

    # --- collection -------------------------------------------------------------------------------

    def _resource_labels(self, resource: Any) -> str:
        cached = self._resource
        if cached is not None and cached[0] is resource:
            return cached[1]
        pairs = [(_sanitize_label(k), _label_text(v)) for k, v in sorted(resource.attributes.items())]
        block = _label_block(pairs)
        self._resource = (resource, block)
        return block

    def _identity_pairs(self, resource: Any) -> tuple[tuple[str, str], ...]:
        if not self._resource_keys:
            return ()
        attributes = resource.attributes
        return tuple(
            (_sanitize_label(key), _label_text(attributes[key])) for key in self._resource_keys if key in attributes
        )

    def _family_name(self, name: str, unit: str, kind: str, gauge: bool) -> tuple[str, str]:
        key = (name, unit, kind, gauge)
        found = self._names.get(key)
        if found is None:
            found = self._names[key] = metric_family_name(name, unit, kind, gauge=gauge)
        return found

    def _add_metric(
        self,
        families: dict[str, _Family],
        metric: Any,
        scope_pairs: list[tuple[str, str]],
        old: dict[int, _Cached],
        new: dict[int, _Cached],
        openmetrics: bool,
    ) -> None:
        data = metric.data
        if isinstance(data, Sum):
            # The compatibility specification: cumulative non-monotonic sums are gauges.
            monotonic = data.is_monotonic or data.aggregation_temporality != AggregationTemporality.CUMULATIVE
            kind = "counter" if monotonic else "gauge"
        elif isinstance(data, Gauge):
            kind = "gauge"
        elif isinstance(data, Histogram):
            kind = "histogram"
        else:
            self._conflict(metric.name, f"{type(data).__name__} has no Prometheus form here; it is left out")
            return
        name, suffix = self._family_name(metric.name, metric.unit or "", kind, isinstance(data, Gauge))
        family = families.get(name)
        if family is None:
            family = families[name] = _Family(name, kind, suffix, metric.description or "", [])
        elif family.kind != kind:
            self._conflict(name, f"two metrics map to {name} with different types; the second is left out")
            return
        lines = family.lines
        sample = name + "_total" if kind == "counter" else name
        for point in data.data_points:
            attributes = point.attributes
            hit = old.get(id(attributes))
            if hit is None or hit[0] is not attributes:
                point_pairs = _point_pairs(attributes)
                if self._identity:
                    # A point attribute of the same name wins, as in Prometheus' OTLP promotion.
                    taken = {key for key, _ in point_pairs}
                    point_pairs += [pair for pair in self._identity if pair[0] not in taken]
                pairs = scope_pairs + point_pairs
                split = _bucket_labels(pairs) if kind == "histogram" else ("", "")
                hit = (attributes, _label_block(pairs), split)
            new[id(attributes)] = hit
            block = hit[1]
            if kind != "histogram":
                assert isinstance(point, NumberDataPoint)
                # OpenMetrics carries exemplars on counters and histogram buckets only.
                exemplar = _latest_exemplar(point.exemplars) if openmetrics and kind == "counter" else ""
                labels = f"{{{block}}}" if block else ""
                lines.append(f"{sample}{labels} {format_value(point.value)}{exemplar}\n")
                continue
            assert isinstance(point, HistogramDataPoint)
            self._histogram_lines(family, point, block, hit[2], openmetrics)

    def _histogram_lines(
        self, family: _Family, point: HistogramDataPoint, block: str, split: tuple[str, str], openmetrics: bool
    ) -> None:
        bounds = tuple(point.explicit_bounds)
        les = self._les.get(bounds)
        if les is None:
            les = self._les[bounds] = [format_value(b) for b in bounds] + ["+Inf"]
        name = family.name
        head = f'{name}_bucket{{{split[0]}le="'
        tail = f'"{split[1]}}} '
        cumulative = 0
        lines = family.lines
        exemplars = _bucket_exemplars(bounds, point.exemplars) if openmetrics and point.exemplars else None
        for index, (le, count) in enumerate(zip(les, point.bucket_counts, strict=True)):
            cumulative += count
            exemplar = exemplars.get(index, "") if exemplars else ""
            lines.append(f"{head}{le}{tail}{format_value(cumulative)}{exemplar}\n")
        if bounds and bounds[0] < 0:
            # OpenMetrics allows neither _sum nor _count on a histogram with negative buckets (the sum could
            # fall), and prometheus_client leaves both out in either format; so do we, so that a series never
            # depends on the negotiated format. The +Inf bucket still carries the count.
            return
        labels = f"{{{block}}}" if block else ""
        lines.append(f"{name}_count{labels} {format_value(point.count)}\n")
        lines.append(f"{name}_sum{labels} {format_value(point.sum)}\n")

    def _conflict(self, name: str, message: str) -> None:
        if name not in self._conflicts:
            self._conflicts.add(name)
            _logger.warning("Prometheus exposition: %s: %s", name, message)

    # --- rendering --------------------------------------------------------------------------------

    def _render(self, families: dict[str, _Family], target: str, openmetrics: bool) -> bytes:
        out: list[str] = []
        if target:
            if openmetrics:
                out.append(f"# HELP target Target metadata\n# TYPE target info\ntarget_info{{{target}}} 1.0\n")
            else:
                out.append(
                    f"# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{{{target}}} 1.0\n"
                )
        for family in families.values():
            if openmetrics:
                help_text = family.help.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
                out.append(f"# HELP {family.name} {help_text}\n# TYPE {family.name} {family.kind}\n")
                if family.unit:
                    out.append(f"# UNIT {family.name} {family.unit}\n")
            else:
                help_text = family.help.replace("\\", "\\\\").replace("\n", "\\n")
                shown = family.name + "_total" if family.kind == "counter" else family.name
                out.append(f"# HELP {shown} {help_text}\n# TYPE {shown} {_TEXT_TYPE[family.kind]}\n")
            out.extend(family.lines)
        if openmetrics:
            out.append("# EOF\n")
        return "".join(out).encode("utf-8", "replace")
