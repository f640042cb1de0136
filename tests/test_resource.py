from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from opentelemetry.sdk import resources

from otel_breakout import Settings
from otel_breakout._resource import build_resource, process_instance_id


def test_resource_has_service_host_and_process_facts() -> None:
    resource = build_resource(Settings.from_env({}))
    attributes = resource.attributes
    assert attributes["service.name"] == "breakout-bot"
    assert attributes["service.instance.id"] == process_instance_id()
    assert attributes["process.pid"] == os.getpid()
    assert attributes["host.name"]
    assert attributes["telemetry.sdk.language"] == "python"
    assert attributes["telemetry.distro.name"] == "otel-breakout"
    assert "process.command_args" not in attributes  # command lines carry API keys too often


def test_instance_id_is_stable_and_overridable() -> None:
    assert build_resource(Settings.from_env({})).attributes["service.instance.id"] == process_instance_id()
    overridden = build_resource(Settings.from_env({}, service_instance_id="bot-7"))
    assert overridden.attributes["service.instance.id"] == "bot-7"
    from_env = build_resource(Settings.from_env({"OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=bot-9"}))
    assert from_env.attributes["service.instance.id"] == "bot-9"


def test_precedence_of_resource_sources() -> None:
    settings = Settings.from_env(
        {
            "OTEL_RESOURCE_ATTRIBUTES": "service.name=a,deployment.environment.name=paper,host.name=masked",
            "OTEL_SERVICE_NAME": "b",
        },
        service_version="3.1.4",
    )
    attributes = build_resource(settings, auto_instrumentation_version="0.66b1").attributes
    assert attributes["service.name"] == "b"
    assert attributes["service.version"] == "3.1.4"
    assert attributes["deployment.environment.name"] == "paper"
    assert attributes["host.name"] == "masked"
    assert attributes["telemetry.auto.version"] == "0.66b1"


def test_forked_child_gets_a_new_instance_id() -> None:
    code = (
        "import os, sys\n"
        "from otel_breakout._resource import process_instance_id\n"
        "parent = process_instance_id()\n"
        "r, w = os.pipe()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.write(w, process_instance_id().encode()); os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "child = os.read(r, 100).decode()\n"
        "print(parent != child and len(child) == 36)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "True", result.stderr


def test_the_resource_hashes_once_to_the_sdk_value() -> None:
    resource = build_resource(Settings.from_env({}))
    stock = resources.Resource(dict(resource.attributes))
    calls = 0
    original = json.dumps

    def counting(*args: object, **kwargs: object) -> str:
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(resources, "dumps", counting)
        ours = {hash(resource) for _ in range(3)}
        assert calls == 1  # the first time only
        assert ours == {hash(stock)} and calls == 2  # the stock one serialises on every call
    # The OTLP encoders group every record by resource: equal to the stock one, in a dict too.
    assert resource == stock and stock == resource and {stock: 1}[resource] == 1
