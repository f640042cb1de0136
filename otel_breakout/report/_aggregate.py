"""Merging chunk results, in journal order, into the totals of the whole input.

Line numbers become absolute (each file's chunks arrive in order, so their line counts add up), and
groups that a chunk could not finish are joined with their other parts here. The parent keeps a group
open only while a later chunk could still hold its evaluations: ``group_window`` new groups after its
creation it is finished, exactly as in a single sequential pass whenever a group's evaluations are written
before ``group_window`` newer groups appear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from otel_breakout.report._candidates import Tables, finalize, merge_state
from otel_breakout.report._inputs import SourceFile
from otel_breakout.report._records import OTHER, CheckAcc, ChunkResult, GroupKey, ScanOptions

__all__ = ["Aggregate", "FileStats"]

Position = tuple[int, int]  # (file index, line number): journal order


@dataclass(slots=True)
class FileStats:
    lines: int = 0
    events: int = 0
    filtered: int = 0
    skipped: int = 0
    error: str | None = None
    read_any: bool = False


class Aggregate:
    """The merged state; :meth:`add` each chunk result in journal order, then :meth:`finish`."""

    def __init__(self, files: Sequence[SourceFile], options: ScanOptions) -> None:
        self.files = list(files)
        self.options = options
        self.file_stats = [FileStats(error=f.error) for f in files]
        self.events = 0
        self.filtered = 0
        self.ts_min = float("inf")
        self.ts_max = float("-inf")
        self.shapes: dict[tuple[Any, ...], int] = {}
        self.shape_folded = 0
        self.first_seen: dict[tuple[str, str, str | None], Position] = {}
        self.checks: dict[tuple[str, str, str], CheckAcc] = {}
        self.untracked_checks = 0
        self.skipped: dict[str, int] = {}
        self.skip_examples: dict[str, list[Position]] = {}
        self.evidence: dict[str | None, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = {}
        self.reasons_folded = 0
        self.funnel: dict[tuple[str, str], list[Any]] = {}
        self.signals: dict[str, list[Any]] = {}
        self.entered: dict[tuple[str, str], list[Any]] = {}
        self.fired: list[tuple[str, Any, Any]] = []
        self.prices: dict[tuple[Any, Any], float] = {}
        self._tables = Tables(
            self.funnel,
            self.checks,
            self.signals,
            options.max_reasons,
            self.entered,
            self.fired,
            options.max_checks,
        )
        self.ungrouped = 0
        self.bytes_done = 0
        self._open: dict[GroupKey, list[Any]] = {}  # key -> [state, creation index in the whole input]
        self._created = 0

    def add(self, result: ChunkResult) -> None:
        index = result.file_index
        stats = self.file_stats[index]
        offset = stats.lines
        stats.lines += result.lines
        stats.events += result.events
        stats.filtered += result.filtered
        stats.skipped += sum(result.skipped.values())
        if result.error is not None and stats.error is None:
            stats.error = result.error
        if result.error is None or result.lines:
            stats.read_any = True
        self.bytes_done += result.size
        self.events += result.events
        self.filtered += result.filtered
        self.ts_min = min(self.ts_min, result.ts_min)
        self.ts_max = max(self.ts_max, result.ts_max)
        self.ungrouped += result.ungrouped
        self.untracked_checks += result.untracked_checks
        self.reasons_folded += result.reasons_folded
        self._add_shapes(result)
        for check, line in result.first_seen.items():
            position = (index, offset + line)
            if check not in self.first_seen or position < self.first_seen[check]:
                self.first_seen[check] = position
        for cause, count in result.skipped.items():
            self.skipped[cause] = self.skipped.get(cause, 0) + count
            examples = self.skip_examples.setdefault(cause, [])
            for line in result.skip_examples.get(cause, ()):
                if len(examples) < 3:
                    examples.append((index, offset + line))
        self._add_evidence(result, index, offset)
        for ckey, acc in result.checks.items():
            mine = self.checks.get(ckey)
            if mine is None:
                if len(self.checks) >= self.options.max_checks:
                    self.untracked_checks += acc.failures
                    continue
                mine = self.checks[ckey] = CheckAcc()
            mine.merge(acc)
        for table, rows in ((self.funnel, result.funnel), (self.entered, result.entered)):
            for stage, (seen, left, removed) in rows.items():
                row = table.setdefault(stage, [0, 0, {}])
                row[0] += seen
                row[1] += left
                for check, count in removed.items():
                    row[2][check] = row[2].get(check, 0) + count
        self._add_signals(result)
        self.fired.extend(result.fired)
        for point, close in result.prices.items():
            self.prices.setdefault(point, close)  # the first one in journal order, as a single pass keeps
        self._add_partials(result)

    def _add_signals(self, result: ChunkResult) -> None:
        signals = self.signals
        for strategy, (candidates, fired, one, several, alone) in result.signals.items():
            if strategy not in signals and len(signals) >= self.options.max_reasons:
                strategy = OTHER
            row = signals.setdefault(strategy, [0, 0, 0, 0, {}])
            row[0] += candidates
            row[1] += fired
            row[2] += one
            row[3] += several
            for check, count in alone.items():
                row[4][check] = row[4].get(check, 0) + count

    def _add_shapes(self, result: ChunkResult) -> None:
        shapes, limit = self.shapes, self.options.max_shapes
        self.shape_folded += result.shape_folded
        for key, count in result.shapes.items():
            if key not in shapes and len(shapes) >= limit:
                self.shape_folded += count
                key = (OTHER, key[1], key[2], OTHER, key[4], key[5], key[6])
                if key not in shapes and len(shapes) >= limit + limit // 8:
                    key = (OTHER, OTHER, OTHER, OTHER, key[4], OTHER, OTHER)
            shapes[key] = shapes.get(key, 0) + count

    def _add_evidence(self, result: ChunkResult, index: int, offset: int) -> None:
        keep = self.options.evidence_per_reason
        for reason, (traced, untraced) in result.evidence.items():
            mine = self.evidence.get(reason)
            if mine is None:
                if len(self.evidence) >= self.options.max_reasons:
                    self.reasons_folded += 1
                    continue
                mine = self.evidence[reason] = ([], [])
            for source, target in ((traced, mine[0]), (untraced, mine[1])):
                for line, *rest in source:
                    if len(target) >= keep:
                        break
                    target.append((index, offset + line, *rest))

    def _add_partials(self, result: ChunkResult) -> None:
        """Join the chunk's unfinished groups with the open ones and finish those that can no longer change.

        Creation indices are counted over new groups only: a group that continues one the parent holds open
        is the same group, so the groups created after it in the chunk move up by one.
        """
        base = self._created
        opened = self._open
        continued = 0
        for key, state, index in result.partials:  # in creation order
            entry = opened.get(key)
            if entry is None:
                opened[key] = [state, base + index - continued]
            else:
                entry[0] = merge_state(key, entry[0], state)
                continued += 1
        self._created += result.created - continued
        # A group with `group_window` newer groups can receive no more evaluations: finish it.
        limit = self._created - 1 - self.options.group_window
        done = 0
        for entry in opened.values():
            if entry[1] > limit:
                break
            done += 1
        if done:
            for key, entry in islice(opened.items(), done):
                finalize(key, entry[0], self._tables)
            self._open = dict(islice(opened.items(), done, None))

    def finish(self) -> None:
        for key, entry in self._open.items():
            finalize(key, entry[0], self._tables)
        self._open = {}
