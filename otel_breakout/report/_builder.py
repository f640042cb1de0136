"""``DiagnosticsReportBuilder``: find the journals, scan them (in parallel when large), analyse, report."""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from typing import Any

from otel_breakout._internal import internal_errors_raise, log_internal_error
from otel_breakout._setting import override as _override
from otel_breakout._settings import Settings
from otel_breakout.report._aggregate import Aggregate
from otel_breakout.report._analysis import analyse
from otel_breakout.report._inputs import Chunk, SourceFile, expand_inputs, plan_chunks
from otel_breakout.report._model import ReportOptions
from otel_breakout.report._model_advice import OUTCOME_DEFAULTS
from otel_breakout.report._outcomes import OutcomeSettings, expand_price_paths, load_outcomes
from otel_breakout.report._records import ChunkResult, ScanOptions
from otel_breakout.report._report import DiagnosticsReport
from otel_breakout.report._scan import scan_chunk
from otel_breakout.report._timeparse import parse_time

__all__ = ["DiagnosticsReportBuilder", "Progress", "idle_cores"]

Progress = Callable[[int, int], None]
PathLike = str | os.PathLike[str]
TimeLike = float | str | datetime
_INTERNAL = "internal error: "


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cpu_times(path: str) -> tuple[int, int]:
    """(idle, total) jiffies of all CPUs, from the first line of /proc/stat."""
    with open(path, encoding="ascii") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    return fields[3] + (fields[4] if len(fields) > 4 else 0), sum(fields[:8])


def idle_cores(cores: int, *, interval: float = 0.1, stat: str = "/proc/stat") -> int:
    """How many of ``cores`` sat idle over ``interval`` seconds (all of them where /proc/stat is missing).

    A second worker only pays when a core is free: with the CPU shared between busy sessions (Linux
    autogroup), more processes do not get this one more time, and the split costs some work.
    """
    try:
        idle_before, total_before = _cpu_times(stat)
        time.sleep(interval)
        idle_after, total_after = _cpu_times(stat)
    except (OSError, ValueError, IndexError):
        return cores
    elapsed = total_after - total_before
    if elapsed <= 0:
        return cores
    machine = os.cpu_count() or cores
    free = (idle_after - idle_before) / elapsed * machine
    return max(0, min(cores, round(free)))


def _scan_guarded(chunk: Chunk, options: ScanOptions) -> ChunkResult:
    # Runs in a worker: a bug must come back as data, never kill the pool or the report.
    try:
        return scan_chunk(chunk, options)
    except Exception as exc:
        result = ChunkResult(chunk.file_index, chunk.chunk_index, chunk.size)
        result.error = f"{_INTERNAL}{type(exc).__name__}: {exc}"
        return result


class DiagnosticsReportBuilder:
    """Build a :class:`DiagnosticsReport` from diagnostics journals (plain or gzip, paths, globs or directories).

    Memory stays bounded whatever the input size: lines are read in 1 MiB blocks (a line over
    ``max_line_bytes`` is skipped as it streams past), at most ``2 * group_window`` groups (stage candidates
    or candles) are open per process, distinct-key tables are capped, and the only arrays that grow are those
    the exact medians and what-if counts need: near misses (24 bytes each), other failures with a numeric
    value (8 bytes each) and candidates a check alone blocked (24 bytes each).
    Inputs of ``parallel_min_bytes`` or more are read by ``workers`` processes over 32 MiB byte ranges
    (``0``, the default: one per core that is idle when the read starts, see :func:`idle_cores`).

    Outcomes: ``prices`` (paths, globs or directories of CSV or freqtrade JSON candles, see
    :mod:`otel_breakout.report._prices`) and any ``close`` the journal recorded with a ``candle_ts`` give each
    signal candidate its net forward return ``horizons`` bars later (``horizon``, one of them, decides), after
    ``cost_bps`` round-trip costs; ``bar_seconds`` is the candle length (default: told from the prices). The
    verdicts need ``min_outcomes`` outcomes per group, and a loosening candidates beating ``edge_share`` of the
    fired signals' average beyond chance (see :mod:`otel_breakout.report._verdict`).

    ``near_miss_margin``, ``workers`` and ``trace_url_template`` default to ``settings`` (else
    ``Settings.from_env()``: ``OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN``, ``OTEL_BREAKOUT_REPORT_WORKERS``,
    ``OTEL_BREAKOUT_TRACE_URL_TEMPLATE``) and are held to those variables' rules: a :class:`ConfigError` otherwise.
    """

    def __init__(
        self,
        paths_or_globs: PathLike | Iterable[PathLike],
        *,
        near_miss_margin: float | None = None,
        recover_share: float = 0.5,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        symbols: Iterable[str] | None = None,
        sessions: Iterable[str] | None = None,
        trace_url_template: str | None = None,
        workers: int | None = None,
        settings: Settings | None = None,
        group_window: int = 4096,
        max_line_bytes: int = 1 << 20,
        evidence_per_reason: int = 3,
        chunk_bytes: int = 32 << 20,
        parallel_min_bytes: int = 64 << 20,
        prices: PathLike | Iterable[PathLike] | None = None,
        horizons: Iterable[int] = OUTCOME_DEFAULTS.horizons,
        horizon: int = OUTCOME_DEFAULTS.horizon,
        cost_bps: float = OUTCOME_DEFAULTS.cost_bps,
        min_outcomes: int = OUTCOME_DEFAULTS.min_outcomes,
        edge_share: float = OUTCOME_DEFAULTS.edge_share,
        bar_seconds: float | None = OUTCOME_DEFAULTS.bar_seconds,
    ) -> None:
        if isinstance(paths_or_globs, (str, os.PathLike)):
            paths_or_globs = [paths_or_globs]
        self._inputs = tuple(os.fspath(p) for p in paths_or_globs)
        if not (math.isfinite(recover_share) and 0 < recover_share <= 1):
            raise ValueError(f"recover_share={recover_share!r}: expected a share above 0 and at most 1")
        for name, value, minimum in (
            ("group_window", group_window, 1),
            ("max_line_bytes", max_line_bytes, 64),
            ("evidence_per_reason", evidence_per_reason, 0),
            ("chunk_bytes", chunk_bytes, 1024),
            ("parallel_min_bytes", parallel_min_bytes, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name}={value!r}: expected an integer of at least {minimum}")
        self._outcome_settings = OutcomeSettings(
            tuple(horizons), horizon, float(cost_bps), min_outcomes, float(edge_share),
            None if bar_seconds is None else float(bar_seconds),
        )  # fmt: skip
        if prices is None:
            prices = []
        elif isinstance(prices, (str, os.PathLike)):
            prices = [prices]
        self._prices = tuple(os.fspath(p) for p in prices)
        self._price_files: list[str] | None = None
        self._price_unmatched: list[str] = []
        self._since = None if since is None else parse_time(since)
        self._until = None if until is None else parse_time(until)
        self._symbols = tuple(sorted(set(symbols))) if symbols is not None else ()
        self._sessions = tuple(sorted(set(sessions))) if sessions is not None else ()
        self._symbols_given = symbols is not None
        self._sessions_given = sessions is not None
        settings = settings if settings is not None else Settings.from_env()
        # The keywords that override settings are held to the rules of the variables they override.
        self._template: str = _override(settings.report, "trace_url_template", trace_url_template)
        self._workers: int = _override(settings.report, "workers", workers)  # 0: decided per build
        self._margin = float(_override(settings.diagnostics, "near_miss_margin", near_miss_margin))
        self._share = float(recover_share)
        self._window = group_window
        self._max_line = max_line_bytes
        self._per_reason = evidence_per_reason
        self._chunk_bytes = chunk_bytes
        self._parallel_min = parallel_min_bytes
        self._files: list[SourceFile] | None = None
        self._unmatched: list[str] = []

    @property
    def files(self) -> list[SourceFile]:
        """The input files, expanded from the paths and globs (on first use)."""
        if self._files is None:
            self._files, self._unmatched = expand_inputs(self._inputs)
        return self._files

    @property
    def unmatched(self) -> list[str]:
        """Paths and globs that named no file."""
        _ = self.files
        return list(self._unmatched)

    @property
    def price_files(self) -> list[str]:
        """The price files, expanded from ``prices`` (on first use)."""
        if self._price_files is None:
            self._price_files, self._price_unmatched = expand_price_paths(self._prices)
        return list(self._price_files)

    @property
    def price_unmatched(self) -> list[str]:
        """Price paths and globs that named no file."""
        _ = self.price_files
        return list(self._price_unmatched)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files if f.error is None)

    def _options(self) -> ScanOptions:
        return ScanOptions(
            margin=self._margin,
            since=float("-inf") if self._since is None else self._since,
            until=float("inf") if self._until is None else self._until,
            symbols=frozenset(self._symbols) if self._symbols_given else None,
            sessions=frozenset(self._sessions) if self._sessions_given else None,
            max_line_bytes=self._max_line,
            group_window=self._window,
            evidence_per_reason=self._per_reason,
        )

    def build(self, progress: Progress | None = None) -> DiagnosticsReport:
        """Read every input once and return the report. ``progress(done_bytes, total_bytes)`` is called as
        chunks finish. Never raises for bad input: unreadable files and bad lines are in the report."""
        files = self.files
        options = self._options()
        chunks = plan_chunks(files, self._chunk_bytes)
        total = sum(chunk.size for chunk in chunks)
        aggregate = Aggregate(files, options)
        for result in self._results(chunks, options, total):
            if result.error is not None and result.error.startswith(_INTERNAL):
                log_internal_error("otel-breakout report", RuntimeError(result.error))
                if internal_errors_raise():
                    raise RuntimeError(result.error)
            aggregate.add(result)
            if progress is not None:
                progress(aggregate.bytes_done, total)
        aggregate.finish()
        settings = self._outcome_settings
        report_options = ReportOptions(
            inputs=self._inputs,
            near_miss_margin=self._margin,
            recover_share=self._share,
            since=self._since,
            until=self._until,
            symbols=self._symbols,
            sessions=self._sessions,
            group_window=self._window,
            max_line_bytes=self._max_line,
            prices=self._prices,
            horizons=settings.horizons,
            horizon=settings.horizon,
            cost_bps=settings.cost_bps,
            min_outcomes=settings.min_outcomes,
            edge_share=settings.edge_share,
            bar_seconds=settings.bar_seconds,
        )
        outcomes = None
        if self.price_files or aggregate.prices:
            outcomes = load_outcomes(aggregate, self.price_files, settings)
        return analyse(aggregate, report_options, self._template, outcomes=outcomes)

    def _results(self, chunks: list[Chunk], options: ScanOptions, total: int) -> Iterator[ChunkResult]:
        workers = self._workers
        if total >= self._parallel_min and len(chunks) > 1 and workers == 0:
            workers = max(1, idle_cores(_available_cores()))
        workers = min(workers, len(chunks))
        if workers <= 1 or total < self._parallel_min:
            for chunk in chunks:
                yield _scan_guarded(chunk, options)
            return
        yield from _parallel(chunks, options, workers)


def _context() -> Any:
    # fork is the cheapest start, and safe while this process has no other thread; otherwise spawn.
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _parallel(chunks: list[Chunk], options: ScanOptions, workers: int) -> Iterator[ChunkResult]:
    """Results in journal order, with at most ``2 * workers`` chunks in flight (bounded memory)."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
        pending: deque[Future[ChunkResult]] = deque()
        queue = iter(chunks)
        for chunk in queue:
            pending.append(pool.submit(_scan_guarded, chunk, options))
            if len(pending) >= 2 * workers:
                break
        while pending:
            result = pending.popleft().result()
            following = next(queue, None)
            if following is not None:
                pending.append(pool.submit(_scan_guarded, following, options))
            yield result
