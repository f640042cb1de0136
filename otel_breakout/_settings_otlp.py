"""The OTel specification's rules across variables: OTLP settings per signal, headers, batch sizes, exporters."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any, cast
from urllib.parse import unquote

from otel_breakout._config_errors import ConfigError, ConfigWarning
from otel_breakout._scrub import default_scrubber
from otel_breakout._setting import Variable
from otel_breakout._settings_env import EnvReader
from otel_breakout._settings_otel import (
    BUILTIN_EXPORTERS,
    EXPORTERS,
    OTLP,
    RESOURCE_ATTRIBUTES,
    SIGNAL_OTLP,
    BatchSettings,
    OtlpExporterSettings,
    Protocol,
    Signal,
)

__all__ = ["read_batch", "read_exporters", "read_otlp", "read_pairs"]

# Headers as each transport accepts them, names once lower-cased: an HTTP token (RFC 9110) with a latin-1
# value, and gRPC's narrower metadata keys with a printable ASCII value. Anything else fails every export.
_HEADER_NAME = {"http/protobuf": re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+"), "grpc": re.compile(r"[0-9a-z_.\-]+")}
_HEADER_VALUE = {"http/protobuf": re.compile(r"[\t\x20-\x7e\x80-\xff]*"), "grpc": re.compile(r"[\x20-\x7e]*")}


def read_pairs(
    reader: EnvReader, variable: Variable[Any], generic: Variable[Any] | None = None
) -> tuple[tuple[str, str], ...]:
    """``k=v,k2=v2`` with percent-decoding, or a mapping argument."""
    found = reader.raw(variable.name, generic=None if generic is None else generic.name)
    if found is None:
        return ()
    origin, value = found
    reader.sources[variable.name] = origin
    if isinstance(value, Mapping):
        return tuple((str(k), str(v)) for k, v in value.items())
    result: list[tuple[str, str]] = []
    for item in str(value).split(","):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            if variable is RESOURCE_ATTRIBUTES:
                # The resource specification: discard the whole value when any part cannot be decoded.
                return reader.invalid(variable, origin, value, "comma-separated key=value pairs", ())
            shown = "***" if variable.secret else item
            reader.invalid(variable, origin, shown, "key=value", None, secret=variable.secret)
            continue
        result.append((unquote(key.strip()), unquote(val.strip())))
    return tuple(result)


def _headers(reader: EnvReader, variable: Variable[Any], protocol: Protocol) -> tuple[tuple[str, str], ...]:
    """OTLP header pairs, names lower-cased as the stock parser does: HTTP names are case-insensitive, and
    gRPC refuses capitals ("Illegal header key" on every export). A header the transport would refuse is
    reported here, naming the variable, instead of failing every export later."""
    generic = OTLP["HEADERS"]
    pairs = read_pairs(reader, variable, generic)
    found = reader.raw(variable.name, generic=generic.name)
    origin = found[0] if found is not None else variable.name
    result: list[tuple[str, str]] = []
    for name, value in pairs:
        name = name.strip().lower()
        if protocol == "grpc" and name.endswith("-bin"):
            reader.invalid(variable, origin, name, "a text header name (gRPC `-bin` headers carry bytes)", None)
        elif not _HEADER_NAME[protocol].fullmatch(name):
            allowed = "letters, digits and - _ ." if protocol == "grpc" else "an HTTP token (no spaces or separators)"
            reader.invalid(variable, origin, name, f"a header name of {allowed}", None)
        elif not _HEADER_VALUE[protocol].fullmatch(value):
            allowed = "printable ASCII" if protocol == "grpc" else "latin-1 without control characters"
            reader.invalid(variable, origin, value, f"a value for header {name!r} in {allowed}", None, secret=True)
        else:
            result.append((name, value))
    return tuple(result)


def read_otlp(reader: EnvReader, signal: Signal) -> tuple[OtlpExporterSettings, bool]:
    """One signal's OTLP settings, and whether an endpoint was configured (which turns on push)."""
    own = SIGNAL_OTLP[signal]
    protocol: Protocol = reader.read(own["PROTOCOL"], OTLP["PROTOCOL"])
    specific = reader.raw(own["ENDPOINT"].name)
    base = reader.raw(OTLP["ENDPOINT"].name)
    if specific is not None and "otlp_endpoint" not in reader.arguments:
        endpoint = str(specific[1])
        reader.sources[own["ENDPOINT"].name] = specific[0]
    elif base is not None:
        endpoint = str(base[1])
        reader.sources[OTLP["ENDPOINT"].name] = base[0]
        if protocol == "http/protobuf":
            # Only the generic endpoint gets the signal path appended (OTLP exporter specification).
            endpoint = endpoint.rstrip("/") + f"/v1/{signal}"
    else:
        endpoint = "http://localhost:4317" if protocol == "grpc" else f"http://localhost:4318/v1/{signal}"
    if not endpoint.startswith(("http://", "https://")) and (protocol == "http/protobuf" or "://" in endpoint):
        origin = (specific or base or ("endpoint", endpoint))[0]
        raise ConfigError(origin, default_scrubber().text(endpoint), "an http:// or https:// URL")
    timeout: int = reader.read(own["TIMEOUT"], OTLP["TIMEOUT"])
    if 0 < timeout < 100:
        warnings.warn(
            ConfigWarning(
                f"OTLP timeout for {signal} is {timeout} ms; the specification counts milliseconds, not seconds"
            ),
            stacklevel=3,
        )
    insecure_found = reader.raw(own["INSECURE"].name, generic=OTLP["INSECURE"].name)
    settings = OtlpExporterSettings(
        endpoint=endpoint,
        protocol=protocol,
        headers=_headers(reader, own["HEADERS"], protocol),
        timeout_ms=timeout,
        compression=reader.read(own["COMPRESSION"], OTLP["COMPRESSION"]),
        insecure=None if insecure_found is None else reader.read(own["INSECURE"], OTLP["INSECURE"]),
        certificate=_file(reader, signal, "CERTIFICATE"),
        client_key=_file(reader, signal, "CLIENT_KEY"),
        client_certificate=_file(reader, signal, "CLIENT_CERTIFICATE"),
    )
    return settings, specific is not None or base is not None


def _file(reader: EnvReader, signal: Signal, suffix: str) -> str | None:
    found = reader.raw(SIGNAL_OTLP[signal][suffix].name, generic=OTLP[suffix].name)
    return None if found is None else str(found[1])


def read_batch(reader: EnvReader, variables: Mapping[str, Variable[Any]]) -> BatchSettings:
    """A batch processor's settings; a batch larger than the queue falls back, as the specification says."""
    queue: int = reader.read(variables["max_queue_size"])
    size_variable = variables["max_export_batch_size"]
    batch: int = reader.read(size_variable)
    if batch > queue:
        # The SDK refuses a batch larger than its queue; the specification says to fall back.
        batch = reader.invalid(
            size_variable,
            size_variable.name,
            batch,
            f"at most {variables['max_queue_size'].name} ({queue})",
            min(size_variable.default, queue),
        )
    return BatchSettings(
        schedule_delay_ms=reader.read(variables["schedule_delay_ms"]),
        export_timeout_ms=reader.read(variables["export_timeout_ms"]),
        max_queue_size=queue,
        max_export_batch_size=batch,
    )


def _installed_exporters(signal: Signal) -> tuple[str, ...]:
    # Third-party exporters register here, as the OTel SDK's own configurator expects.
    return tuple(ep.name for ep in entry_points(group=f"opentelemetry_{signal}_exporter"))


def read_exporters(reader: EnvReader, signal: Signal, default: tuple[str, ...]) -> tuple[str, ...]:
    """``OTEL_<SIGNAL>_EXPORTER``: known names only (an unknown one would silently lose the signal)."""
    variable = EXPORTERS[signal]
    found = reader.raw(variable.name)
    if found is None:
        return default
    origin, value = found
    names = [value] if isinstance(value, str) else list(cast(Iterable[str], value))
    parsed = tuple(dict.fromkeys(n.strip().lower() for item in names for n in str(item).split(",") if n.strip()))
    known = BUILTIN_EXPORTERS[signal] + _installed_exporters(signal)
    for name in parsed:
        if name not in known:
            raise ConfigError(origin, value, "a comma list of " + ", ".join(dict.fromkeys(known)))
    if "none" in parsed and len(parsed) > 1:
        raise ConfigError(origin, value, "`none` alone, or a list without `none`")
    reader.sources[variable.name] = origin
    return () if parsed == ("none",) else parsed
