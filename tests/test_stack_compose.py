"""compose.yaml and the app's Dockerfile, checked as data (there is no Docker here)."""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support.stack import COMPOSE, ROOT, load_yaml, volume_mounts

STACK: dict[str, Any] = load_yaml(COMPOSE)
SERVICES: dict[str, dict[str, Any]] = STACK["services"]
REQUIRED = {"app", "otel-collector", "prometheus", "alertmanager", "loki", "tempo", "grafana", "node-exporter"}
# A tag with a version number in it (or a digest); never `latest`, never a bare major.
PINNED = re.compile(r"^[a-z0-9./_-]+:(?!latest\b)v?\d+\.\d+(\.\d+)?[a-z0-9._-]*(@sha256:[0-9a-f]{64})?$")


def _from_lines(dockerfile: str) -> list[str]:
    return [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]


def test_the_stack_has_every_component() -> None:
    assert set(SERVICES) == REQUIRED


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_runs_a_pinned_image_or_a_build_from_pinned_images(name: str) -> None:
    service = SERVICES[name]
    build = service.get("build")
    if build is None:
        assert PINNED.match(service["image"]), f"{name}: {service['image']} is not pinned"
        return
    if "dockerfile_inline" in build:
        bases = _from_lines(build["dockerfile_inline"])
    else:
        bases = _from_lines((ROOT / build.get("context", ".") / build["dockerfile"]).read_text())
    assert bases
    for base in bases:
        assert PINNED.match(base), f"{name}: base image {base} is not pinned"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck(name: str) -> None:
    check = SERVICES[name]["healthcheck"]
    assert check["test"][0] == "CMD" and len(check["test"]) > 2
    assert check["interval"] and check["retries"] > 0


def test_dependencies_wait_for_health() -> None:
    edges = 0
    for name, service in SERVICES.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
            assert "healthcheck" in SERVICES[dependency]
            edges += 1
    assert edges >= 8
    assert set(SERVICES["grafana"]["depends_on"]) >= {"prometheus", "loki", "tempo"}
    assert set(SERVICES["otel-collector"]["depends_on"]) == {"prometheus", "loki", "tempo"}


def test_every_published_port_is_bound_to_loopback() -> None:
    published = [(name, port) for name, service in SERVICES.items() for port in service.get("ports", [])]
    assert len(published) >= 7
    for name, port in published:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name} publishes {port!r}"
    assert "127.0.0.1:3001:3001" in SERVICES["grafana"]["ports"]  # the seed's Grafana port


def test_bind_mounts_exist_and_named_volumes_are_declared_and_used() -> None:
    declared = set(STACK["volumes"])
    used = set()
    for name, service in SERVICES.items():
        for source in volume_mounts(service):
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repository"
            elif not source.startswith("/"):
                assert source in declared, f"{name} uses undeclared volume {source}"
                used.add(source)
    assert used == declared


def test_config_files_named_on_command_lines_are_mounted() -> None:
    checked = 0
    for name, service in SERVICES.items():
        targets = set(volume_mounts(service).values())
        for arg in service.get("command", []):
            match = re.match(r"-{1,2}config(?:\.file)?=(.+)", arg)
            if match:
                path = match.group(1)
                assert any(path == t or path.startswith(t + "/") for t in targets), f"{name}: {path} is not mounted"
                checked += 1
    assert checked == 5  # collector, prometheus, alertmanager, loki, tempo


def test_grafana_has_no_default_password_and_anonymous_viewers() -> None:
    environment = SERVICES["grafana"]["environment"]
    password = environment["GF_SECURITY_ADMIN_PASSWORD"]
    # ${VAR:?message}: compose refuses to start while the variable is unset or empty.
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", password)
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert environment["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert "admin/admin" not in COMPOSE.read_text()
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^GRAFANA_ADMIN_PASSWORD=$", example, re.MULTILINE), "documented, and without a value"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_the_app_is_the_demo_built_from_this_repository() -> None:
    app = SERVICES["app"]
    assert app["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert app["command"] == ["otel-breakout", "demo", "--host", "0.0.0.0", "--port", "8000"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert cmd is not None and shlex.split(cmd.group(1).replace(",", " ").strip("[]")) == app["command"]
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            *sources, _ = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the repository"
    assert re.search(r"^USER 10001$", dockerfile, re.MULTILINE), "the bot must not run as root"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env"} <= set(ignored)
    # The service name the dashboards' log panels and Loki select on.
    assert app["environment"]["OTEL_SERVICE_NAME"] == "breakout-bot"


# --- the Compose specification and the upstream defects fixed in review ------------------------------------

LINUX_OVERRIDE = ROOT / "compose.linux.yaml"


def _compose_schema() -> dict[str, Any]:
    """The Compose specification's JSON schema, as check-jsonschema (pinned in the dev dependencies) vendors it."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    raw = vendor.joinpath("compose-spec.json").read_bytes()
    # The package ships the schema's digest: the file is the one it was released with.
    assert hashlib.sha256(raw).hexdigest() == vendor.joinpath("sha256/compose-spec.sha256").read_text().strip()
    schema: dict[str, Any] = json.loads(raw)
    return schema


@pytest.mark.parametrize("path", [COMPOSE, LINUX_OVERRIDE], ids=lambda p: p.name)
def test_compose_files_follow_the_compose_specification(path: Path) -> None:
    schema = _compose_schema()
    assert schema["title"] == "Compose Specification"
    validator = jsonschema.Draft202012Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(load_yaml(path))]
    assert not errors, "\n".join(errors)


def test_the_schema_check_can_fail() -> None:
    validator = jsonschema.Draft202012Validator(_compose_schema())
    broken = load_yaml(COMPOSE)
    broken["services"]["app"]["pull_policy"] = "sometimes"
    broken["services"]["grafana"]["helthcheck"] = {}
    messages = [e.message for e in validator.iter_errors(broken)]
    assert any("sometimes" in m for m in messages)
    assert any("helthcheck" in m for m in messages)


@pytest.mark.parametrize("name", sorted(name for name, service in SERVICES.items() if "build" in service))
def test_images_built_here_are_never_pulled(name: str) -> None:
    # Without pull_policy: build, compose tries the registry first, where anyone could publish the name.
    service = SERVICES[name]
    assert service["pull_policy"] == "build", name
    assert service["image"].startswith("otel-breakout/")


def test_the_app_healthcheck_asks_the_health_route_not_the_exposition() -> None:
    test = " ".join(SERVICES["app"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/api/metrics/health'" in test
    from otel_breakout.api import create_app

    assert "/api/metrics/health" in {getattr(route, "path", None) for route in create_app().routes}


def test_node_exporter_starts_on_docker_desktop_and_gets_propagation_on_linux() -> None:
    service = SERVICES["node-exporter"]
    # Docker Desktop and rootless Docker refuse mount propagation: none by default.
    assert service["volumes"] == ["/:/host:ro"]
    assert "--path.rootfs=/host" in service["command"]
    assert service["pid"] == "host"
    # compose.linux.yaml replaces that mount (compose merges volumes by their target) with rslave.
    override = load_yaml(LINUX_OVERRIDE)
    assert set(override["services"]) == {"node-exporter"}
    (mount,) = override["services"]["node-exporter"]["volumes"]
    assert mount == "/:/host:ro,rslave"
    assert volume_mounts(override["services"]["node-exporter"]) == volume_mounts(service)
    assert "compose.linux.yaml" in COMPOSE.read_text()
