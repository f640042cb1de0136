"""The JSONL journal: whole lines only, shared safely by many threads and processes, rotated by size.

Every write appends a batch of complete lines with one ``write()`` on an ``O_APPEND`` descriptor while
holding an exclusive ``flock`` on the file, so writers in other processes can neither interleave with it
nor rotate the file under it. Each batch is handed to the kernel before the writer sleeps again, so a
crash of the process (even SIGKILL) loses only what was still queued; a write cut short by a crash can
leave one partial last line, and the next writer of that file terminates it with a newline before
appending, so it never glues onto a whole line.

Rotation: when a batch would push the file past ``max_bytes``, the lock holder renames it to
``diag_<session>_<epoch>.<n>.jsonl`` (n = 1, 2, ...) and writes to a fresh file under the original name.
Writers holding the old file notice (the name no longer points at their inode) and reopen the name.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import stat
import time
from pathlib import Path

__all__ = ["Journal", "journal_path", "legacy_session", "rotated_paths", "safe_session_id"]

_logger = logging.getLogger("otel_breakout.diagnostics")
_RETRY_S = 30.0
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# diag_<session>_<epoch>[.<n>].jsonl[.gz], the name the seed's collector and ours give a journal.
_JOURNAL_NAME = re.compile(r"^diag_(?P<session>.+)_\d+(?:\.\d+)?\.jsonl(?:\.gz)?$")


def safe_session_id(session_id: str) -> str:
    """The session id as it appears in file names: ``[A-Za-z0-9._-]``, at most 64 characters."""
    return _UNSAFE.sub("_", session_id)[:64] or "session"


def journal_path(output_dir: Path, session_id: str, *, now: float | None = None) -> Path:
    """The journal of a session in ``output_dir``.

    The newest existing ``diag_<session>_<epoch>.jsonl`` when there is one, so that every process of one
    session (and a restarted bot) appends to the same file; otherwise a new name stamped with ``now``.
    """
    prefix = f"diag_{safe_session_id(session_id)}_"
    newest: int | None = None
    try:
        names = os.listdir(output_dir)
    except OSError:
        names = []
    for name in names:
        if name.startswith(prefix) and name.endswith(".jsonl"):
            middle = name[len(prefix) : -len(".jsonl")]
            if middle.isdigit() and (newest is None or int(middle) > newest):
                newest = int(middle)
    epoch = newest if newest is not None else int(time.time() if now is None else now)
    return output_dir / f"{prefix}{epoch}.jsonl"


def legacy_session(path: str) -> str | None:
    """The session a journal's file name carries (``diag_A_BTC_USDT_1755640800.jsonl`` -> ``A_BTC_USDT``): the
    session of the seed's lines in it, which carry none (see :func:`._schema.decode`)."""
    match = _JOURNAL_NAME.match(os.path.basename(path))
    return match.group("session") if match else None


def rotated_paths(path: Path) -> list[Path]:
    """The files rotated out of ``path``, oldest first."""
    stem = path.name[: -len(".jsonl")]
    pattern = re.compile(re.escape(stem) + r"\.(\d+)\.jsonl$")
    found: list[tuple[int, Path]] = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    for name in names:
        match = pattern.match(name)
        if match:
            found.append((int(match.group(1)), path.parent / name))
    return [p for _, p in sorted(found)]


class Journal:
    """Appends batches of lines to one journal file; disables itself (and says so once) when it cannot."""

    def __init__(self, *, max_bytes: int, fsync: bool = False) -> None:
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.path: Path | None = None
        self.error: str | None = None  # set while the sink is disabled
        # Whole lines of the last write() that reached the file: all of them when it returned None, those
        # before the failure (a full disk, a file-size limit) when it returned "write_error", else 0.
        self.landed_lines = 0
        self._fd: int | None = None
        self._retry_at = 0.0

    def target(self, path: Path) -> None:
        """Write to ``path`` from now on (a new session)."""
        if path != self.path:
            self.close()
            self.path = path

    def write(self, data: bytes) -> str | None:
        """Append ``data`` (complete lines). None when written, else why not: ``write_error`` or ``disabled``."""
        self.landed_lines = 0
        if self.path is None:
            return "disabled"
        if not data:
            return None
        if self.error is not None and time.monotonic() < self._retry_at:
            return "disabled"
        try:
            self._append(self.path, data)
        except OSError as exc:
            self.landed_lines = exc.landed if isinstance(exc, _PartialWrite) else 0
            self.close()
            self._retry_at = time.monotonic() + _RETRY_S
            if self.error is None:
                self.error = f"{exc.strerror or exc} ({errno.errorcode.get(exc.errno or 0, exc.errno)})"
                _logger.error(
                    "diagnostics journal disabled: cannot write %s: %s; the other diagnostics sinks keep "
                    "working and the journal retries every %.0f s",
                    self.path,
                    self.error,
                    _RETRY_S,
                )
            return "write_error"
        if self.error is not None:
            _logger.warning("diagnostics journal %s is writable again", self.path)
            self.error = None
        self.landed_lines = data.count(b"\n")
        return None

    def close(self) -> None:
        """Close the descriptor. Also right in a forked child: a flock belongs to the open file description the
        child shares with its parent, so the child must reopen the file instead of writing through it."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def _open(self, path: Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        return self._fd

    def _append(self, path: Path, data: bytes) -> None:
        for _ in range(16):
            fd = self._fd if self._fd is not None else self._open(path)
            fcntl.flock(fd, fcntl.LOCK_EX)
            locked = True
            try:
                mine = os.fstat(fd)
                try:
                    named = os.stat(path)
                except FileNotFoundError:
                    named = None
                if named is None or (named.st_ino, named.st_dev) != (mine.st_ino, mine.st_dev):
                    # Another process rotated (or someone removed) the file: follow the name.
                    locked = False
                    self.close()
                    continue
                regular = stat.S_ISREG(mine.st_mode)
                size = mine.st_size
                if regular and size and size + len(data) > self.max_bytes:
                    os.rename(path, self._next_rotated(path))
                    locked = False
                    self.close()
                    continue
                repair = regular and size and os.pread(fd, 1, size - 1) != b"\n"
                if repair:
                    # A writer died mid-line: end its torn line so that ours stay whole.
                    data = b"\n" + data
                try:
                    _write_all(fd, data)
                except _PartialWrite as exc:
                    # Disk full or a file-size limit mid-batch: the whole lines that landed count as written,
                    # and a torn last line of ours is cut off, so the file ends on a whole line and the next
                    # write (once there is room) starts a readable one.
                    whole = data.rfind(b"\n", 0, exc.written) + 1
                    if regular and whole < exc.written:
                        try:
                            os.ftruncate(fd, size + whole)
                        except OSError:
                            pass  # the next writer terminates the torn line instead
                    exc.landed = data.count(b"\n", 0, whole) - (1 if repair and whole else 0)
                    raise
                if self.fsync:
                    os.fsync(fd)
                return
            finally:
                if locked and self._fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        raise OSError(errno.EAGAIN, f"{path} kept being rotated away by other writers")

    def _next_rotated(self, path: Path) -> Path:
        existing = rotated_paths(path)
        last = int(existing[-1].name.rsplit(".", 2)[-2]) if existing else 0
        return path.with_name(f"{path.name[: -len('.jsonl')]}.{last + 1}.jsonl")


class _PartialWrite(OSError):
    """A write that failed after ``written`` bytes; ``landed`` is set to the whole lines among them."""

    def __init__(self, cause: OSError, written: int) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.written = written
        self.landed = 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    done = 0
    while view:
        try:
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(errno.ENOSPC, "short write")
        except OSError as exc:
            raise _PartialWrite(exc, done) from exc
        done += written
        view = view[written:]
