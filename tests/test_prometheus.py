from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client.parser import text_string_to_metric_families

from otel_breakout import Settings, Telemetry, __version__
from otel_breakout._prometheus import PrometheusPullReader
from otel_breakout.metrics import MetricsLogger


@pytest.fixture
def reader() -> Iterator[PrometheusPullReader]:
    reader = PrometheusPullReader()
    provider = MeterProvider(metric_readers=[reader])
    yield reader
    provider.shutdown()


def counter_value(text: bytes) -> float:
    for family in text_string_to_metric_families(text.decode()):
        if family.name == "calls":
            return float(family.samples[0].value)
    raise AssertionError(text)


def test_gzip_and_formats(reader: PrometheusPullReader) -> None:
    plain = reader.render()
    assert gzip.decompress(reader.render(gzipped=True)) == plain
    assert reader.render(openmetrics=True).endswith(b"# EOF\n")
    assert gzip.decompress(reader.render(openmetrics=True, gzipped=True)).endswith(b"# EOF\n")


def test_concurrent_scrapes_share_collections_and_never_see_stale_data() -> None:
    calls = 0
    gate = threading.Event()

    def slow_callback(options: object) -> list[object]:
        nonlocal calls
        calls += 1
        gate.wait(0.05)  # long enough for the other threads to queue up behind this collection
        return []

    reader = PrometheusPullReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("m")
    meter.create_observable_gauge("slow", callbacks=[slow_callback])  # type: ignore[list-item]  # returns no points
    counter = meter.create_counter("calls")
    results: dict[int, tuple[float, float]] = {}

    def scrape(i: int) -> None:
        before = float(i)
        results[i] = (before, counter_value(reader.render()))

    try:
        counter.add(1)
        threads = []
        for i in range(1, 21):
            # Each scraper records its own increment first: its result must include it.
            counter.add(1)
            thread = threading.Thread(target=scrape, args=(i + 1,))
            threads.append(thread)
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(results) == 20
        for before, seen in results.values():
            assert seen >= before
        assert calls < 20  # coalesced: far fewer collections than scrapes
    finally:
        provider.shutdown()


def test_a_failed_collection_is_not_served_as_empty(
    reader: PrometheusPullReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = reader.collect

    def failing(timeout_millis: float = 10_000) -> None:
        monkeypatch.setattr(reader, "collect", original)
        raise RuntimeError("collection failed")

    monkeypatch.setattr(reader, "collect", failing)
    with pytest.raises(RuntimeError):
        reader.render()
    assert reader.render() == b""  # no instruments yet, but a real (empty) collection
    assert not reader._running


# --- the exposition of a fixed input ------------------------------------------------------------------

_GOLDEN = Path(__file__).parent / "data" / "exposition"
_UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _fixed_exposition(openmetrics: bool) -> list[bytes]:
    """Two scrapes of a logger fed a fixed sequence; the host-specific target_info is left out."""
    settings = Settings.from_env({
        "OTEL_SERVICE_NAME": "golden-bot",
        "OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=bot-1,deployment.environment.name=test",
        "OTEL_METRICS_EXPORTER": "none",
    })  # fmt: skip
    reader = PrometheusPullReader(target_info=False)
    telemetry = Telemetry.create(settings, metric_readers=[reader])
    try:
        logger = MetricsLogger(telemetry)
        logger.set_state("SCANNING")
        for duration in (0.004, 0.03, 0.2, 1.5):
            logger.end_cycle(duration, now=1_700_000_000.0)
        logger.record("scanner_symbols_scanned", 5)  # a seed name
        logger.scan({"universe": 40, "liquidity": 12, "breakout": 3})
        logger.signal("momentum")
        logger.set_state("MANAGING")
        logger.trade_opened("momentum")
        logger.trade_closed("momentum", -3.5)
        logger.update_equity(10_000.0)
        logger.update_equity(9_650.0)
        logger.set_open_positions(1)
        first = reader.render(openmetrics=openmetrics)
        logger.trade_closed("momentum", 12.25)
        logger.trade_closed("breakout", 0.0)
        logger.histogram("breakout.engine.cycle.duration").record(0.08)
        logger.scan({"universe": 38, "liquidity": 9})
        logger.set_state("IDLE")
        second = reader.render(openmetrics=openmetrics)
    finally:
        telemetry.shutdown()
    version = f'otel_scope_version="{__version__}"'.encode()
    return [body.replace(version, b'otel_scope_version="VERSION"') for body in (first, second)]


@pytest.mark.parametrize("openmetrics", [False, True], ids=["text", "openmetrics"])
def test_the_exposition_of_a_fixed_input_is_unchanged(openmetrics: bool) -> None:
    """Byte for byte: refactoring the metrics modules must not move a series, a label or a value."""
    for number, body in enumerate(_fixed_exposition(openmetrics), start=1):
        golden = _GOLDEN / f"logger-{number}.{'om' if openmetrics else 'prom'}.txt"
        if _UPDATE:
            golden.write_bytes(body)
        assert body == golden.read_bytes(), f"{golden.name} changed; if intended, rerun with UPDATE_GOLDEN=1"
