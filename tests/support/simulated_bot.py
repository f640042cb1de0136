"""A breakout engine simulated on our real telemetry, served on loopback like the bot's API.

Stands in for ``otel-breakout demo`` in the stack's integration test until the demo lands: a
:class:`Telemetry` (the foundation's providers and Prometheus pull reader) whose catalogue instruments a
small engine loop drives the way a bot would (state changes, scans, filter and condition evaluations,
signals, trades, equity, resources), served at ``/api/metrics`` by a loopback HTTP server.

The test only depends on :data:`BotFactory`: a scenario name in, a running :class:`ScrapeTarget` out.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from otel_breakout._settings import Settings
from otel_breakout._telemetry import Telemetry
from otel_breakout.catalogue import CATALOGUE, ENGINE_STATES, get_spec, prometheus_name

__all__ = ["BotFactory", "Scenario", "ScrapeTarget", "SimulatedEngine", "catalogue_exposition", "simulated_bot"]

Scenario = Literal["normal", "starved"]

STRATEGIES = ("momentum", "retest")
# Scanner stages in funnel order, each with its filters (names as in the seed's diag_summary).
STAGES: Mapping[str, tuple[str, ...]] = {
    "liquidity": ("min_volume", "min_trades_per_minute"),
    "volatility": ("atr_range",),
    "correlation": ("btc_correlation",),
    "breakout": ("range_breakout",),
}
CONDITIONS: Mapping[str, tuple[str, ...]] = {
    "momentum": ("volume_threshold", "price_breakout"),
    "retest": ("breakout_confirmation", "retest_hold"),
}


@dataclass(frozen=True, slots=True)
class ScrapeTarget:
    """Where Prometheus finds a bot: ``http://<address><metrics_path>``."""

    address: str
    metrics_path: str = "/api/metrics"
    scenario: str = "normal"
    service_name: str = "breakout-bot"  # OTEL_SERVICE_NAME of the bot: the name dashboards select it by


BotFactory = Callable[[Scenario], AbstractContextManager[ScrapeTarget]]


class SimulatedEngine:
    """One bot's engine loop, recording every catalogue metric with catalogue attributes only."""

    def __init__(self, telemetry: Telemetry, scenario: Scenario, *, seed: int = 7) -> None:
        self.scenario = scenario
        self._random = random.Random(seed)
        meter = telemetry.get_meter()
        self._instruments: dict[str, Any] = {}
        for spec in CATALOGUE:
            create = {
                "counter": meter.create_counter,
                "updown_counter": meter.create_up_down_counter,
                "histogram": meter.create_histogram,
                "gauge": meter.create_gauge,
            }[spec.kind]
            self._instruments[spec.name] = create(spec.name, unit=spec.unit, description=spec.description)
        self._levels: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._state = "IDLE"
        self._cycles_since_signal = 0
        self._equity = self._peak = 10_000.0
        self._open: list[str] = []
        self.cycles = 0

    def _record(self, name: str, value: float, **attributes: str) -> None:
        spec = get_spec(name)
        unknown = set(attributes) - set(spec.attributes) - set(spec.optional_attributes)
        if unknown:  # the simulation must stay true to the catalogue
            raise AssertionError(f"{name} has no attributes {sorted(unknown)}")
        instrument = self._instruments[name]
        attrs = dict(attributes)
        if spec.kind == "gauge":
            instrument.set(value, attrs)
        elif spec.kind == "histogram":
            instrument.record(value, attrs)
        elif spec.kind == "updown_counter":  # the value is a level, as for a gauge: add the change
            key = (name, tuple(sorted(attrs.items())))
            instrument.add(value - self._levels.get(key, 0.0), attrs)
            self._levels[key] = value
        else:
            instrument.add(value, attrs)

    def _enter(self, state: str) -> None:
        if state != self._state:
            self._record("breakout.engine.state.transitions", 1, from_state=self._state, to_state=state)
        self._state = state
        for name in ENGINE_STATES:
            self._record("breakout.engine.state", 1 if name == state else 0, state=name)

    def cycle(self) -> None:
        rnd = self._random
        started = time.time()
        self._enter("SCANNING")
        symbols = 40
        self._record("breakout.scanner.symbols.scanned", symbols)
        left = symbols
        for stage, filters in STAGES.items():
            for check in filters:
                rejected = rnd.randint(0, max(0, left // 3))
                for outcome, count in (("fail", rejected), ("pass", left - rejected)):
                    if count:
                        self._record(
                            "breakout.diag.evaluations", count, component="scanner", stage=stage, check=check,
                            outcome=outcome,
                        )  # fmt: skip
                if rejected:
                    self._record("breakout.diag.reasons", rejected, reason=f"filter:{check}")
                    near = rnd.randint(0, rejected)
                    self._record("breakout.diag.near_misses", near, component="scanner", check=check)
                left -= rejected
            self._record("breakout.scanner.candidates", left, stage=stage)

        self._enter("SIGNAL_WAIT")
        signalled = False
        for strategy, conditions in CONDITIONS.items():
            passed = self.scenario == "normal" and left > 0 and rnd.random() < 0.5
            for condition in conditions:
                outcome = "pass" if passed else "fail"
                self._record(
                    "breakout.diag.evaluations", 1, component="signal", stage=strategy, check=condition, outcome=outcome
                )
                if not passed:
                    self._record("breakout.diag.reasons", 1, reason=f"signal:{strategy}:{condition}")
                    self._record("breakout.diag.near_misses", rnd.randint(0, 1), component="signal", check=condition)
            if passed:
                signalled = True
                self._record("breakout.signals", 1, strategy=strategy)
                self._record("breakout.trades.opened", 1, strategy=strategy)
                self._open.append(strategy)

        if self._open:
            self._enter("MANAGING")
            if rnd.random() < 0.6:
                strategy = self._open.pop(0)
                pnl = rnd.uniform(-120.0, 160.0)
                outcome = "win" if pnl > 1 else ("loss" if pnl < -1 else "breakeven")
                self._record("breakout.trades.closed", 1, strategy=strategy, outcome=outcome)
                self._record("breakout.trade.pnl", abs(pnl), strategy=strategy, outcome=outcome)
                self._equity += pnl
                self._peak = max(self._peak, self._equity)
        self._record("breakout.positions.open", len(self._open))
        self._record("breakout.equity", self._equity)
        self._record("breakout.drawdown", 1 - self._equity / self._peak)

        self._cycles_since_signal = 0 if signalled else self._cycles_since_signal + 1
        self._record("breakout.engine.cycles_since_signal", self._cycles_since_signal)
        self._enter("IDLE")
        self.cycles += 1
        self._record("breakout.engine.cycles", 1)
        ended = time.time()
        # A scan of real exchanges takes tens of milliseconds; simulate that spread, not this loop's speed.
        self._record("breakout.engine.cycle.duration", (ended - started) + rnd.uniform(0.02, 0.15))
        self._record("breakout.engine.last_cycle.timestamp", ended)

        self._record("process.cpu.utilization", rnd.uniform(0.05, 0.3))
        self._record("process.memory.usage", 80e6 + 1e5 * self.cycles)
        self._record("process.thread.count", 12)
        self._record("process.open_file_descriptor.count", 40)
        self._record("breakout.process.network.connections", 6)
        self._record("system.cpu.utilization", rnd.uniform(0.2, 0.5))
        self._record("system.memory.utilization", 0.6, **{"system.memory.state": "used"})
        self._record("breakout.metrics.dropped", rnd.randint(0, 1), metric="breakout.signals", cause="bad_value")
        self._record("system.filesystem.utilization", 0.42, **{"system.filesystem.mountpoint": "/"})
        if self.cycles % 5 == 1:
            self._record("breakout.resource.actions", 1, action="gc")
            self._record("breakout.diag.dropped", 1, sink="journal", cause="queue_full")


# The foundation's pull reader leaves the `_ratio` suffix off gauges with unit "1", which the catalogue (and
# Prometheus' OTLP receiver) put on. The API part's exposition writer adds it; until that lands, rename the
# families here so the scrape carries catalogue names. A no-op once the reader emits them itself.
_RATIO_RENAMES = {
    prometheus_name(spec).removesuffix("_ratio"): prometheus_name(spec)
    for spec in CATALOGUE
    if spec.kind == "gauge" and spec.unit == "1"
}
_RATIO_PATTERN = re.compile(
    r"^(# (?:HELP|TYPE) )?(" + "|".join(map(re.escape, _RATIO_RENAMES)) + r")(?=[ {])", re.MULTILINE
)


def catalogue_exposition(text: str) -> str:
    return _RATIO_PATTERN.sub(lambda m: (m.group(1) or "") + _RATIO_RENAMES[m.group(2)], text)


def _handler(telemetry: Telemetry, metrics_path: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != metrics_path:
                self.send_error(404)
                return
            body = catalogue_exposition(telemetry.prometheus_text().decode()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # scrapes every second: keep test output clean
            pass

    return Handler


@contextmanager
def simulated_bot(scenario: Scenario, *, period: float = 0.2) -> Iterator[ScrapeTarget]:
    """A simulated bot cycling every ``period`` seconds, scrapeable on a free loopback port."""
    telemetry = Telemetry.create(Settings.from_env({}))
    engine = SimulatedEngine(telemetry, scenario, seed=len(scenario))
    engine.cycle()  # every series exists before the first scrape
    metrics_path = "/api/metrics"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(telemetry, metrics_path))
    stop = threading.Event()

    def run_engine() -> None:
        while not stop.wait(period):
            engine.cycle()

    threads = [
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True),
        threading.Thread(target=run_engine, daemon=True),
    ]
    for thread in threads:
        thread.start()
    host, port = server.server_address[:2]
    try:
        yield ScrapeTarget(f"{host!s}:{port}", metrics_path, scenario)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        for thread in threads:
            thread.join(timeout=5)
        telemetry.shutdown()
