from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path

import pytest

import otel_breakout

# Any change to the public surface must be deliberate: update this list in the same commit.
EXPECTED = [
    "LATENCY_BUCKETS_SECONDS",
    "ApiSettings",
    "BatchSettings",
    "ConfigError",
    "ConfigWarning",
    "DiagnosticsCollector",
    "DiagnosticsEvent",
    "DiagnosticsReport",
    "DiagnosticsReportBuilder",
    "DiagnosticsSettings",
    "MetricsLogger",
    "MetricsSettings",
    "OptimizationAction",
    "OtlpExporterSettings",
    "ReportSettings",
    "ResourceLimits",
    "ResourceMetrics",
    "ResourceMonitor",
    "ResourceSettings",
    "Sample",
    "Settings",
    "Telemetry",
    "__version__",
    "configure",
    "get_metrics_logger",
    "get_resource_monitor",
    "get_telemetry",
    "take_memory_snapshot",
]


def test_all_is_sorted_and_deliberate() -> None:
    assert otel_breakout.__all__ == EXPECTED
    # Sorted the way ruff's RUF022 sorts it (constants, classes, functions), which lint enforces.
    assert len(set(otel_breakout.__all__)) == len(otel_breakout.__all__)
    for name in otel_breakout.__all__:
        assert hasattr(otel_breakout, name), name


def test_api_surface_is_deliberate() -> None:
    import otel_breakout.api

    assert otel_breakout.api.__all__ == ["ApiServer", "MetricsSource", "ResourceSource", "SnapshotTaker", "create_app"]
    for name in otel_breakout.api.__all__:
        assert hasattr(otel_breakout.api, name), name


# --- every public module: discovered, not listed, so a new subpackage cannot escape these checks ---------------
API_SNAPSHOT = Path(__file__).parent / "data" / "public_api.txt"


def _public_modules() -> list[str]:
    found = ["otel_breakout"]
    for info in pkgutil.walk_packages(otel_breakout.__path__, "otel_breakout."):
        parts = info.name.split(".")[1:]
        if not any(part.startswith("_") for part in parts):  # private modules, and __main__
            found.append(info.name)
    return sorted(found)


def _ruff_order(name: str) -> tuple[int, str]:
    # RUF022's isort-style order, which lint enforces: constants, then classes, then everything else.
    if len(name) > 1 and name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


@pytest.mark.parametrize("name", _public_modules())
def test_every_public_module_declares_a_sorted_importable_all(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__dict__.get("__all__")
    assert isinstance(exported, list), f"{name} has no __all__ list"
    assert exported == sorted(exported, key=_ruff_order), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    assert [n for n in exported if n.startswith("_") and n != "__version__"] == [], f"{name} exports private names"
    # What a user's star import gets: every name, importable, with no warning (warnings are errors here).
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)  # the star import is the check
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(exported)
    for exported_name in exported:
        value = namespace[exported_name]
        defined_in = getattr(value, "__module__", None)
        if isinstance(value, type) or callable(value):
            # Ours, never a third-party object passed off as our API.
            assert isinstance(defined_in, str) and defined_in.startswith("otel_breakout"), (exported_name, defined_in)


def test_the_public_surface_matches_its_snapshot() -> None:
    """Every public module's ``__all__``; after a deliberate change rerun with UPDATE_GOLDEN=1 and review the diff."""
    lines = []
    for name in _public_modules():
        lines += [f"{name}:", *(f"    {exported}" for exported in importlib.import_module(name).__all__)]
    text = "\n".join(lines) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        API_SNAPSHOT.write_text(text)
    assert text == API_SNAPSHOT.read_text(), "the public API changed; if intended, rerun with UPDATE_GOLDEN=1"
