"""The diagnostics report over >= 200 MB of generated journals, against a plain standard-library reference.

The reference (``tests/support/report_reference.py``) is what one would write first: ``json.loads`` per
line, every event kept in lists, a ``Counter``, ``statistics.median``. Before timing, the two must agree on
every count, median, what-if figure and outcome statistic, or the benchmark fails. Two corpora, each
generated once (seeded) and cached in the temporary directory with a price file of their candles: a bot
whose scanner stops a symbol at the first failed stage (filters grouped by trace), and the demo engine's
joined form, where every filter and condition of every candle is recorded and filters join the strategies'
conditions by ``candle_ts``. The prices row times one report process with the price file (outcomes for every
signal candidate, verdicts) against the same without it.
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks._harness import Row
from otel_breakout import Settings
from otel_breakout.report import DiagnosticsReportBuilder
from tests.support.report_reference import comparable, reference_report
from tests.support.synthetic import JournalSpec, write_journal, write_prices

_SYMBOLS = tuple(f"SYM{n}/USDT" for n in range(12))
_FULL = JournalSpec(seed=7, sessions=3, cycles=3600, symbols=_SYMBOLS)
_QUICK = JournalSpec(seed=7, sessions=2, cycles=300, symbols=_SYMBOLS)
_JOINED_FULL = JournalSpec(seed=8, sessions=2, cycles=2600, symbols=_SYMBOLS, joined=True)
_JOINED_QUICK = JournalSpec(seed=8, sessions=1, cycles=200, symbols=_SYMBOLS, joined=True)
_PRICES = "prices.csv"  # not a journal name: a directory input leaves it out


def _corpus(spec: JournalSpec) -> Path:
    kind = "-joined" if spec.joined else ""
    directory = (
        Path(tempfile.gettempdir()) / "otel-breakout-bench" / f"report-{spec.seed}-{spec.sessions}-{spec.cycles}{kind}"
    )
    done = directory / ".complete"
    if not done.exists():
        for stale in directory.glob("diag_*"):
            stale.unlink()
        write_journal(directory, spec, rotate_bytes=64 << 20)
        done.write_text("ok\n")
    if not (directory / _PRICES).exists():
        write_prices(directory / _PRICES, spec)
    return directory


def _check_identical(directory: Path) -> None:
    prices = [str(directory / _PRICES)]
    ours = comparable(DiagnosticsReportBuilder([directory], settings=Settings.from_env({}), prices=prices).build())
    reference = reference_report([str(directory)], prices=prices)
    if reference["outcomes"]["basis"] != "outcomes":
        raise AssertionError("the corpus has no outcomes; the prices row would time nothing")
    evidence = ours.pop("evidence")
    expected = reference.pop("evidence")
    if ours != reference or any(expected[reason] != examples for reason, examples in evidence.items()):
        raise AssertionError("the report and the reference disagree; the timing would be meaningless")


def run(quick: bool) -> Iterator[Row]:
    settings = Settings.from_env({})
    for spec, form in (
        ((_QUICK, None), (_JOINED_QUICK, "joined")) if quick else ((_FULL, None), (_JOINED_FULL, "joined"))
    ):
        directory = _corpus(spec)
        megabytes = sum(p.stat().st_size for p in directory.glob("diag_*")) / 1e6
        _check_identical(directory)

        def ours(directory: Path = directory) -> None:
            DiagnosticsReportBuilder([directory], settings=settings).build()

        def one_worker(directory: Path = directory) -> None:
            DiagnosticsReportBuilder([directory], settings=settings, workers=1).build()

        def baseline(directory: Path = directory) -> None:
            reference_report([str(directory)])

        def with_prices(directory: Path = directory) -> None:
            prices = [str(directory / _PRICES)]
            DiagnosticsReportBuilder([directory], settings=settings, workers=1, prices=prices).build()

        # Four-way interleaving (rotating the order each round), so load from neighbours hits all sides alike.
        times = _interleaved((ours, one_worker, baseline, with_prices), repeats=1 if quick else 3)
        both, single, reference, priced = (statistics.median(t) for t in times)
        name = f"report: {megabytes:.0f} MB of journals" + (", demo's joined form" if form else "")
        yield Row(
            f"{name}, default (a process per idle core), vs json.loads reference", both, reference, "s", "<= 0.2x"
        )
        yield Row(f"{name}, one process, vs the same", single, reference, "s", "<= 0.25x")
        yield Row(f"{name}, one process, with prices (outcomes, verdicts) vs without", priced, single, "s", "<= 1.3x")
    yield _blank_lines(_corpus(_QUICK if quick else _FULL), settings, quick)


def _blank_lines(directory: Path, settings: Settings, quick: bool) -> Row:
    """Blank and whitespace-only lines against as many bytes of real journal lines, one process each.

    Such runs (a corrupt or hostile journal) are skipped in bulk; before, each blank line cost a failed parse
    (2.5 us), 13 s for 5 MB of newlines.
    """
    size = (8 if quick else 32) << 20
    work = directory.parent / f"blank-{size}"
    work.mkdir(exist_ok=True)
    blank, journal = work / "diag_blank_1.jsonl", work / "diag_real_1.jsonl"
    if not blank.exists() or blank.stat().st_size != size:
        run = b"\n" * 4096 + b" \r\n" * 1024 + b"\t\n" * 1024
        blank.write_bytes((run * (size // len(run) + 1))[:size])
    # As many bytes of journal lines as of blank ones (within one line): taken from the corpus' largest files,
    # since its first file by name may be a short rotated remainder.
    if not journal.exists() or journal.stat().st_size < size - (1 << 20):
        data = b""
        for path in sorted(directory.glob("diag_*.jsonl"), key=lambda p: p.stat().st_size, reverse=True):
            with path.open("rb") as handle:
                data += handle.read(size - len(data))
            if len(data) >= size:
                break
        journal.write_bytes(data[: data.rfind(b"\n") + 1])

    def read(path: Path) -> Callable[[], object]:
        return lambda: DiagnosticsReportBuilder([path], settings=settings, workers=1).build()

    times = _interleaved((read(blank), read(journal)), repeats=3)
    ours, baseline = (statistics.median(t) for t in times)
    megabytes = size / 1e6
    return Row(
        f"report: {megabytes:.0f} MB of blank and whitespace-only lines vs {journal.stat().st_size / 1e6:.0f} MB "
        "of journal lines",
        ours,
        baseline,
        "s",
        "<= 0.25x",
    )


def _interleaved(functions: tuple[Callable[[], object], ...], *, repeats: int) -> list[list[float]]:
    samples: list[list[float]] = [[] for _ in functions]
    for round_ in range(repeats):
        shift = round_ % len(functions)
        for index in [*range(shift, len(functions)), *range(shift)]:
            gc.collect()
            start = time.perf_counter()
            functions[index]()
            samples[index].append(time.perf_counter() - start)
    return samples
