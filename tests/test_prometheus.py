from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client.parser import text_string_to_metric_families

from otel_breakout._prometheus import PrometheusPullReader


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
