"""Counter aggregation: a batch's evaluations, reasons and near misses summed, bounded, then counted once each.

The pipeline adds to the per-batch sums (the fast path to ``passes``/``failures`` by ``(stage, filter)``);
:meth:`Counts.publish` folds them into the totals ``snapshot()`` reads and the ``breakout.diag.*`` counters,
one ``add()`` per distinct attribute set per batch instead of one per event.
"""

from __future__ import annotations

import threading
from collections import Counter

from otel_breakout.diagnostics._metrics import DropCounter, Instruments
from otel_breakout.diagnostics._schema import OTHER
from otel_breakout.diagnostics._spans import SpanEvents

__all__ = ["Counts"]

_MAX_ATTRIBUTE_SETS = 4096


class Counts:
    """Per-batch sums, written by the writer thread only; the totals, read by others under ``stats_lock``.

    The sum dicts are cleared, never replaced, so the pipeline may hold them as attributes of its own.
    """

    def __init__(
        self, *, instruments: Instruments | None, drops: DropCounter, spans: SpanEvents | None, max_reasons: int
    ) -> None:
        self.instruments = instruments
        self.drops = drops
        self.spans = spans
        # Totals for snapshot(), read from other threads under the lock (an RLock: a snapshot() taken in a
        # signal handler that interrupted another one only reads).
        self.stats_lock = threading.RLock()
        self.events = 0
        self.reasons: Counter[str] = Counter()
        self.near_misses = 0
        self.signals = 0
        # Per-batch sums.
        self.evaluations: Counter[tuple[str, str, str, str]] = Counter()
        self.reason_counts: Counter[str] = Counter()
        self.near: Counter[tuple[str, str, str]] = Counter()
        # Fast-path counts by (stage, filter), folded into the evaluation and reason counts per batch.
        self.passes: dict[tuple[str, str], int] = {}
        self.failures: dict[tuple[str, str], int] = {}
        # The reasons counted by name (at most max_reasons); the others count as OTHER.
        self._max_reasons = max_reasons
        self._known_reasons: set[str] = set()
        self._attributes: dict[tuple[str, ...], dict[str, str]] = {}
        self._span_left_out = 0

    def reinit_after_fork(self) -> None:
        self.stats_lock = threading.RLock()

    def add(
        self,
        component: str,
        stage: str,
        check: str,
        passed: bool | None,
        reason: str | None,
        near: bool,
        evaluation: bool,
    ) -> None:
        """Count one clean event of the general path (the fast path adds to ``passes``/``failures``/``near``)."""
        if evaluation and passed is not None:
            self.evaluations[(component, stage, check, "pass" if passed else "fail")] += 1
        if reason is not None and passed is False:
            self.reason_counts[reason] += 1
        if near:
            self.near[(component, stage, check)] += 1

    def publish(self, processed: int, signals: int, near: int) -> None:
        """Fold this batch's sums into the totals and the counters, and start the next batch from zero."""
        evaluations, reason_counts = self.evaluations, self.reason_counts
        for (stage, name), n in self.passes.items():
            evaluations[("scanner", stage, name, "pass")] += n
        for (stage, name), n in self.failures.items():
            evaluations[("scanner", stage, name, "fail")] += n
            reason_counts["filter:" + name] += n
        self.passes.clear()
        self.failures.clear()
        reasons = Counter(reason_counts)
        reason_counts.clear()
        if reasons and not self._known_reasons.issuperset(reasons):
            reasons = self._bound_reasons(reasons)
        batch = Counter(evaluations)
        evaluations.clear()
        near_keys = Counter(self.near)
        self.near.clear()
        with self.stats_lock:
            self.events += processed
            self.signals += signals
            self.near_misses += near
            self.reasons.update(reasons)
        if self.spans is not None and self.spans.left_out != self._span_left_out:
            self._span_left_out = self.spans.left_out
            self.drops.set_total("span_events", "budget", self._span_left_out)
        instruments = self.instruments
        if instruments is None:
            return
        key: tuple[str, ...]
        for (component, stage, check, outcome), n in batch.items():
            key = ("e", component, stage, check, outcome)
            attrs = self._attributes.get(key) or self._remember(
                key, {"component": component, "stage": stage, "check": check, "outcome": outcome}
            )
            instruments.evaluations.add(n, attrs)
        for reason, n in reasons.items():
            key = ("r", reason)
            instruments.reasons.add(n, self._attributes.get(key) or self._remember(key, {"reason": reason}))
        for (component, stage, check), n in near_keys.items():
            key = ("n", component, stage, check)
            attrs = self._attributes.get(key) or self._remember(
                key, {"component": component, "stage": stage, "check": check}
            )
            instruments.near_misses.add(n, attrs)
        for sink, cause, n in self.drops.take_new():
            instruments.dropped.add(n, {"sink": sink, "cause": cause})

    def _bound_reasons(self, reasons: Counter[str]) -> Counter[str]:
        """Count reasons past the first ``max_reasons`` as OTHER, and how many events that folded.

        A free-form reason (an error message, an id) would otherwise mint a series on ``/api/metrics`` and a
        ``snapshot()`` key per value, without bound. The journal and the log records keep the real reason.
        """
        known = self._known_reasons
        bounded: Counter[str] = Counter()
        folded = 0
        for reason, n in reasons.items():
            if reason not in known:
                if len(known) < self._max_reasons:
                    known.add(reason)
                else:
                    bounded[OTHER] += n
                    folded += n
                    continue
            bounded[reason] += n
        if folded:
            self.drops.add("reasons", "overflow", folded)
        return bounded

    def _remember(self, key: tuple[str, ...], attrs: dict[str, str]) -> dict[str, str]:
        if len(self._attributes) < _MAX_ATTRIBUTE_SETS:
            self._attributes[key] = attrs
        return attrs
