"""``take_memory_snapshot()``: what is using memory, safe to call on a live bot.

Safety rules, because this runs inside the bot's process: it never calls ``repr``, ``len`` or any other
method that user code could override (only type names, ``len``/``sys.getsizeof`` of exact built-in
containers, and code-object attributes of frames and functions), so it cannot run user code, take a
user lock or deadlock; every section is guarded, so a failure becomes an ``"error"`` entry instead of an
exception; and the work is bounded by ``top`` and a time budget (sections cut short say ``"truncated"``).
Cost: a few C-speed passes over ``gc.get_objects()`` (about 0.5 s per million tracked objects on the
shared benchmark machine) plus one heap scan per level of each referrer search; with tracemalloc on,
``tracemalloc.take_snapshot()`` as well, and every allocation is traced, which slows the passes ~10x.
"""

from __future__ import annotations

import gc
import heapq
import os
import platform
import sys
import threading
import time
import tracemalloc
import types
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sized
from datetime import datetime
from itertools import compress
from pathlib import Path
from typing import Any, cast

import orjson
import psutil

__all__ = ["SNAPSHOT_VERSION", "take_memory_snapshot"]

SNAPSHOT_VERSION = 1
_HOW_TO_ENABLE = (
    "tracemalloc is off. Start the bot with PYTHONTRACEMALLOC=1 (or python -X tracemalloc=1; use 10 or 25 for "
    "deeper tracebacks), or call tracemalloc.start() early in the bot, to see the top allocations by line. "
    "Tracing slows allocation-heavy code (often 10-30%) and adds memory per traced block; "
    "tracemalloc.stop() turns it off again."
)
# Exact built-in containers: their len() and __sizeof__ are C code that cannot run user code.
# Compared by id: `cls in (dict, ...)` would call a metaclass's __eq__, which is user code.
_CONTAINERS = frozenset(id(cls) for cls in (dict, list, set, frozenset, tuple, deque, bytearray))
# Interpreter machinery: numerous in every process, never the leak; referrer chains skip these types.
_MACHINERY = ("builtins", "weakref", "_weakref", "_frozen_importlib", "importlib", "typing", "abc", "_abc")
_MAX_TOP = 1000
_MAX_TEXT = 200
_lock = threading.Lock()


def _text(value: str) -> str:
    return value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 1] + "…"


def _module_of(cls: type) -> str:
    try:
        return str(type.__getattribute__(cls, "__module__"))
    except Exception:
        return "?"


def _type_name(cls: type) -> str:
    try:
        name = str(type.__getattribute__(cls, "__qualname__"))
    except Exception:
        return "<unnamed type>"
    module = _module_of(cls)
    return _text(name if module == "builtins" else f"{module}.{name}")


def _describe(obj: object) -> dict[str, Any]:
    """A safe description of one object: its type, and for a few kinds a harmless detail."""
    # type(obj) and issubclass, never isinstance: isinstance may read a user-defined __class__ property.
    cls = type(obj)
    node: dict[str, Any] = {"type": _type_name(cls)}
    if id(cls) in _CONTAINERS:
        node["length"] = len(obj)  # type: ignore[arg-type]  # exact built-in containers only
    elif cls is types.ModuleType:
        node["module"] = _text(str(types.ModuleType.__getattribute__(obj, "__dict__").get("__name__", "?")))
    elif cls is types.FrameType:
        frame: types.FrameType = obj  # type: ignore[assignment]  # checked just above
        node["function"] = _text(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
    elif cls is types.FunctionType:
        code: types.CodeType = obj.__code__  # type: ignore[attr-defined]  # a plain function
        name = getattr(code, "co_qualname", code.co_name)  # co_qualname arrived in Python 3.11
        node["function"] = _text(f"{code.co_filename}:{code.co_firstlineno} {name}")
    elif issubclass(cls, type):
        node["class"] = _type_name(obj)  # type: ignore[arg-type]  # a class
    return node


class _Budget:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.truncated: list[str] = []

    def over(self, section: str) -> bool:
        if time.monotonic() > self.deadline:
            if section not in self.truncated:
                self.truncated.append(section)
            return True
        return False


def _tracemalloc_section(top: int) -> dict[str, Any]:
    if not tracemalloc.is_tracing():
        return {"tracing": False, "how_to_enable": _HOW_TO_ENABLE, "top": []}
    snapshot = tracemalloc.take_snapshot().filter_traces(
        (
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, __file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
        )
    )
    current, peak = tracemalloc.get_traced_memory()
    stats = snapshot.statistics("lineno")
    return {
        "tracing": True,
        "traceback_limit": tracemalloc.get_traceback_limit(),
        "traced_current_bytes": current,
        "traced_peak_bytes": peak,
        "top": [
            {
                "file": _text(stat.traceback[0].filename),
                "line": stat.traceback[0].lineno,
                "size_bytes": stat.size,
                "count": stat.count,
            }
            for stat in stats[:top]
        ],
    }


def _type_ids(objects: Iterable[object]) -> Iterator[int]:
    # id(type(o)) for each object, at C speed: no Python frame per object, and no hashing of classes
    # (a metaclass's __hash__ would be user code).
    return map(id, map(type, objects))


def _heap_sections(top: int, depth: int, chains_for: int, budget: _Budget) -> dict[str, Any]:
    objects = gc.get_objects()
    total = len(objects)
    counts = Counter(_type_ids(objects))
    classes: dict[int, type] = dict(zip(_type_ids(objects), map(type, objects), strict=True))
    by_type = [{"type": _type_name(classes[key]), "count": count} for key, count in counts.most_common(top)]
    largest: list[Sized] = []
    if not budget.over("largest_containers"):
        containers = cast(list[Sized], list(compress(objects, map(_CONTAINERS.__contains__, _type_ids(objects)))))
        largest = heapq.nlargest(top, containers, key=len)  # exact built-in containers: C-level len
        del containers
    # One instance of each type to trace. gc.get_objects() lists the youngest generation first, so the
    # first instance found is a recent one: the likeliest to be part of a leak.
    candidates = [key for key, _ in counts.most_common() if not _module_of(classes[key]).startswith(_MACHINERY)]
    samples: dict[int, object] = {}
    for key in candidates[:chains_for]:
        if budget.over("referrers"):
            break
        samples[key] = next(compress(objects, map(key.__eq__, _type_ids(objects))))
    # Drop the big list before any referrer search, or it would be every object's first referrer.
    del objects
    largest_out = [{**_describe(obj), "size_bytes": sys.getsizeof(obj)} for obj in largest]
    ignore = {id(samples), id(largest), id(counts), id(classes)}
    chains: list[dict[str, Any]] = []
    for key, sample in samples.items():
        if budget.over("referrers"):
            break
        chains.append({"type": _type_name(classes[key]), "count": counts[key],
                       "chain": _chain(sample, depth, ignore, budget)})  # fmt: skip
    return {
        "objects": {"tracked": total, "by_type": by_type},
        "largest_containers": largest_out,
        "referrers": chains,
    }


_FRONTIER = 64  # objects searched per level of the referrer search


def _chain(start: object, depth: int, ignore: set[int], budget: _Budget) -> list[dict[str, Any]]:
    """Who keeps ``start`` alive: a breadth-first search up the referrers for a module (a global), at most
    ``depth`` levels; without one, the longest chain found. One heap scan per level (``get_referrers``
    takes the whole frontier at once), at most ``_FRONTIER`` objects per level.
    """
    own_code = {_heap_sections.__code__, _chain.__code__, take_memory_snapshot.__code__}
    # Only `nodes` and the frontier hold references (parents hold indices), and both are ignored.
    nodes: list[object] = [start]
    parents: list[int] = [-1]
    seen = {id(start)}
    frontier = [0]
    found = fallback = -1
    for _ in range(depth):
        if not frontier or budget.over("referrers"):
            break
        targets = tuple(nodes[i] for i in frontier)
        by_id = {id(nodes[i]): i for i in frontier}
        skip = ignore | {id(nodes), id(targets), id(frontier), id(by_id)}
        following: list[int] = []
        for ref in gc.get_referrers(*targets):
            if id(ref) in skip or id(ref) in seen:
                continue
            if type(ref) is types.FrameType and ref.f_code in own_code:
                continue
            parent = next((by_id[id(o)] for o in gc.get_referents(ref) if id(o) in by_id), None)
            if parent is None:
                continue
            seen.add(id(ref))
            nodes.append(ref)
            parents.append(parent)
            child = len(nodes) - 1
            if type(ref) is types.ModuleType:
                found = child
                break
            fallback = child
            if len(following) < _FRONTIER:
                following.append(child)
        del targets
        if found >= 0:
            break
        frontier = following
    end = found if found >= 0 else fallback
    chain: list[dict[str, Any]] = []
    while end > 0:
        chain.append(_describe(nodes[end]))
        end = parents[end]
    chain.reverse()
    del nodes[:]
    return chain


def _guarded(section: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # MemoryError included: a snapshot must never take the bot down
        return {"error": f"{type(exc).__name__}: {_text(str(exc))}", "section": section}


def _target(path: str | os.PathLike[str], now: datetime) -> Path:
    target = Path(path)
    if target.is_dir() or str(path).endswith(("/", os.sep)):
        if not target.is_dir():
            raise FileNotFoundError(f"snapshot directory {str(target)!r} does not exist")
        return target / f"memory_snapshot_{now:%Y%m%d_%H%M%S}.json"
    if not target.parent.is_dir():
        raise FileNotFoundError(f"snapshot directory {str(target.parent)!r} does not exist")
    return target


def _write(target: Path, data: bytes) -> Path:
    # Never overwrite: a second snapshot in the same second gets _1, _2, ...
    stem, suffix = target.stem, target.suffix
    for attempt in range(1000):
        candidate = target if attempt == 0 else target.with_name(f"{stem}_{attempt}{suffix}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return candidate
    raise FileExistsError(f"too many snapshots named like {str(target)!r}")


def take_memory_snapshot(
    path: str | os.PathLike[str] | None = None,
    *,
    top: int = 25,
    time_budget_s: float = 5.0,
    referrer_depth: int = 3,
    referrer_types: int = 3,
) -> dict[str, Any]:
    """A JSON-ready picture of the heap; also written to ``path`` when given (a directory gets
    ``memory_snapshot_<YYYYmmdd_HHMMSS>.json``). The dict's ``"path"`` is the file written, or None.
    """
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= _MAX_TOP:
        raise ValueError(f"top must be an integer from 1 to {_MAX_TOP}, got {top!r}")
    if not 0 < time_budget_s <= 600:
        raise ValueError(f"time_budget_s must be in (0, 600], got {time_budget_s!r}")
    if not 0 <= referrer_depth <= 10 or not 0 <= referrer_types <= 20:
        raise ValueError("referrer_depth must be 0..10 and referrer_types 0..20")
    now = datetime.now()
    target = _target(path, now) if path is not None else None
    if not _lock.acquire(timeout=time_budget_s):
        raise RuntimeError("another memory snapshot is still running")
    started = time.monotonic()
    try:
        budget = _Budget(time_budget_s)
        process = _guarded("process", _process_section)
        traced = _guarded("tracemalloc", _tracemalloc_section, top)
        heap = _guarded("objects", _heap_sections, top, referrer_depth, referrer_types, budget)
    finally:
        _lock.release()
    heap_ok = isinstance(heap, dict) and "error" not in heap
    snapshot: dict[str, Any] = {
        "version": SNAPSHOT_VERSION,
        "timestamp": now.timestamp(),
        "created": now.isoformat(timespec="seconds"),
        "pid": os.getpid(),
        "python": platform.python_version(),
        "duration_s": round(time.monotonic() - started, 4),
        "time_budget_s": time_budget_s,
        "truncated": budget.truncated,
        "process": process,
        "gc": _guarded("gc", _gc_section),
        "tracemalloc": traced,
        "objects": heap["objects"] if heap_ok else heap,
        "largest_containers": heap["largest_containers"] if heap_ok else [],
        "referrers": heap["referrers"] if heap_ok else [],
        "path": None,
    }
    if target is not None:
        # The path is only known once the file exists; write, then record it in the returned dict.
        written = _write(target, orjson.dumps({**snapshot, "path": str(target)}, option=orjson.OPT_INDENT_2))
        snapshot["path"] = str(written)
        if written != target:
            written.write_bytes(orjson.dumps(snapshot, option=orjson.OPT_INDENT_2))
    return snapshot


def _process_section() -> dict[str, Any]:
    info = psutil.Process().memory_info()
    return {"rss_bytes": info.rss, "vms_bytes": info.vms}


def _gc_section() -> dict[str, Any]:
    return {
        "enabled": gc.isenabled(),
        "counts": list(gc.get_count()),
        "thresholds": list(gc.get_threshold()),
        "collections": [stats.get("collections", 0) for stats in gc.get_stats()],
        "uncollectable": len(gc.garbage),
    }
