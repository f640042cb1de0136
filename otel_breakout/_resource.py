"""The OTel resource: who is emitting, on which host, in which process."""

from __future__ import annotations

import os
import platform
import socket
import sys
import uuid

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.version import __version__ as sdk_version

from otel_breakout._scrub import default_scrubber
from otel_breakout._settings import Settings
from otel_breakout._version import __version__

__all__ = ["build_resource", "process_instance_id"]

_instance_id = str(uuid.uuid4())


def _new_instance_id() -> None:
    # A forked child is a different process and must not share its parent's instance id.
    global _instance_id
    _instance_id = str(uuid.uuid4())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_instance_id)


class _Resource(Resource):
    """A ``Resource`` that hashes once: it is immutable, and the OTLP encoders hash it for every record they group.

    The SDK's ``Resource.__hash__`` serialises every attribute to JSON on each call, once per exported span, log
    record or metric batch; this gives the same value, computed on first use (two threads racing there compute
    the same number).
    """

    def __init__(self, attributes: dict[str, str | int], schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)
        self._hash: int | None = None

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = super().__hash__()
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or super().__eq__(other)


def process_instance_id() -> str:
    """A UUID stable for the life of this process (regenerated in forked children)."""
    return _instance_id


def build_resource(settings: Settings, *, auto_instrumentation_version: str | None = None) -> Resource:
    """Defaults < host and process facts < ``OTEL_RESOURCE_ATTRIBUTES`` < ``OTEL_SERVICE_NAME`` < arguments.

    Command-line arguments are left out on purpose: bots pass API keys on the command line more often than
    anyone would like, and the resource is attached to every span, log record and metric export.
    """
    attributes: dict[str, str | int] = {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": sdk_version,
        "telemetry.distro.name": "otel-breakout",
        "telemetry.distro.version": __version__,
        "host.name": socket.gethostname(),
        "host.arch": platform.machine().lower(),
        "os.type": sys.platform if sys.platform != "win32" else "windows",
        "process.pid": os.getpid(),
        "process.executable.name": os.path.basename(sys.executable),
        "process.runtime.name": sys.implementation.name,
        "process.runtime.version": platform.python_version(),
    }
    if auto_instrumentation_version:
        attributes["telemetry.auto.version"] = auto_instrumentation_version
    # OTEL_RESOURCE_ATTRIBUTES rides on every span, log record and metric export (and target_info): a value
    # under a secret key, or a credential in a value, never does.
    attributes.update(dict(default_scrubber().pairs(settings.resource_attributes)))
    attributes["service.name"] = settings.service_name
    attributes["service.version"] = settings.service_version
    attributes["service.instance.id"] = settings.service_instance_id or process_instance_id()
    return _Resource(attributes)
