"""Finding journal files and reading them as bounded blocks of lines.

Plain files larger than a chunk are split into byte ranges that workers read independently: a range
starts at the first line that *begins* inside it and ends with the line that straddles its end, so every
line belongs to exactly one range. Gzip files cannot be split and are one range each. A line longer than
the limit is never held in memory: it is discarded as it streams past and reported as ``too_long``.

Hostile input costs bounded work per byte. Only regular files are read: a FIFO, a device (a symlink to
``/dev/zero``), a socket or a directory named as an input is listed with its problem and never opened for
reading (a FIFO is opened non-blocking, only to check what it is). Blank and whitespace-only lines are
skipped in bulk: a block that is all whitespace is counted with one C-level pass, and in a block of short
lines (a blank run) they are reduced to ``b""``, which the scan passes over without parsing. A gzip input
stops with an error once it has inflated to more than :data:`GZIP_MAX_RATIO` times its compressed size (at
least :data:`GZIP_MIN_LIMIT`): real journals compress about 10:1, a stream of newlines 1000:1.
"""

from __future__ import annotations

import glob
import gzip
import os
import re
import stat
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

__all__ = [
    "BLOCK_BYTES",
    "GZIP_MAX_RATIO",
    "GZIP_MIN_LIMIT",
    "Chunk",
    "LineBlocks",
    "NotRegularFile",
    "SourceFile",
    "expand_inputs",
    "is_gzip",
    "open_regular",
    "plan_chunks",
]

BLOCK_BYTES = 1 << 20
# A gzip input may inflate to this many times its compressed size, or to GZIP_MIN_LIMIT when that is more.
GZIP_MAX_RATIO = 100
GZIP_MIN_LIMIT = 64 << 20
# Blocks whose lines average fewer bytes than this get their whitespace-only lines blanked in bulk (a real
# journal line is 200 bytes or more).
_SHORT_LINE = 24
_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)
_GZIP_MAGIC = b"\x1f\x8b"
_GLOB_CHARS = re.compile(r"[*?\[]")
# diag_<session>_<epoch>[.<n>].jsonl[.gz]: rotated files sort after their base file, by number.
_ROTATED = re.compile(r"^(?P<base>.*?)(?:\.(?P<n>\d+))?\.jsonl(?:\.gz)?$")
_DIGITS = re.compile(r"(\d+)")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One input file as the user named it (``path`` is shown in the report), its size and compression."""

    path: str
    size: int
    compressed: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """A byte range of one file; ``end`` None means to the end of the file (always so for gzip)."""

    file_index: int
    chunk_index: int
    path: str
    start: int
    end: int | None
    compressed: bool
    size: int  # bytes this chunk accounts for in progress reports


def _natural(text: str) -> tuple[object, ...]:
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(text))


def _sort_key(path: str) -> tuple[object, ...]:
    directory, name = os.path.split(path)
    match = _ROTATED.match(name)
    if match is None:
        return (_natural(directory), _natural(name), 0)
    return (_natural(directory), _natural(match.group("base")), int(match.group("n") or 0))


class NotRegularFile(OSError):
    """An input that is not a regular file; its ``strerror`` says what it is."""


def _kind(mode: int) -> str:
    return next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")


def _not_regular(mode: int) -> NotRegularFile:
    return NotRegularFile(0, f"not a regular file ({_kind(mode)}); skipped")


def open_regular(path: str) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file (``NotRegularFile`` otherwise).

    ``O_NONBLOCK`` so that opening a FIFO (even one swapped in after the file was listed) returns at once
    instead of waiting for a writer; it changes nothing for a regular file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def is_gzip(path: str) -> bool:
    with open_regular(path) as handle:
        return handle.read(2) == _GZIP_MAGIC


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def expand_inputs(patterns: Sequence[str | os.PathLike[str]]) -> tuple[list[SourceFile], list[str]]:
    """Files named by ``patterns`` (paths, globs, or directories meaning their ``*.jsonl*`` files), each once,
    in journal order; plus the patterns that matched nothing."""
    seen: set[str] = set()
    files: list[SourceFile] = []
    unmatched: list[str] = []
    for raw in patterns:
        pattern = os.fspath(raw)
        if _GLOB_CHARS.search(pattern):
            matches = [m for m in glob.glob(pattern, recursive=True) if not os.path.isdir(m)]
        elif os.path.isdir(pattern):
            # Journal-named entries other than directories: a FIFO or a device among them is listed (and
            # reported), not silently passed over.
            matches = [str(p) for p in Path(pattern).iterdir() if ".jsonl" in p.name and not p.is_dir()]
        else:
            matches = [pattern]
        if not matches:
            unmatched.append(pattern)
            continue
        for path in sorted(matches, key=_sort_key):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            try:
                info = os.stat(path)
                if not stat.S_ISREG(info.st_mode):
                    raise _not_regular(info.st_mode)
                size = info.st_size
                compressed = is_gzip(path)
            except OSError as exc:
                files.append(SourceFile(path, 0, False, _describe(exc)))
                continue
            files.append(SourceFile(path, size, compressed))
    return files, unmatched


def plan_chunks(files: Sequence[SourceFile], chunk_bytes: int) -> list[Chunk]:
    """Byte ranges covering every readable file, in journal order."""
    chunks: list[Chunk] = []
    for index, source in enumerate(files):
        if source.error is not None:
            continue
        if source.compressed or source.size <= chunk_bytes:
            chunks.append(Chunk(index, 0, source.path, 0, None, source.compressed, source.size))
            continue
        starts = list(range(0, source.size, chunk_bytes))
        for n, start in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else None
            size = (end if end is not None else source.size) - start
            chunks.append(Chunk(index, n, source.path, start, end, False, size))
    return chunks


class LineBlocks:
    """Iterate a chunk as lists of lines (without ``\\n``).

    A line over ``max_line_bytes`` appears as ``None``. The last line of the file, when it has no newline,
    comes alone in a final list and sets :attr:`unterminated_tail`. A read error (a corrupt or truncated gzip
    stream, an I/O error) ends the iteration and is kept in :attr:`error`; lines read before it count.
    """

    def __init__(self, chunk: Chunk, max_line_bytes: int, block_bytes: int = BLOCK_BYTES) -> None:
        self._chunk = chunk
        self._max = max_line_bytes
        self._block = max(block_bytes, 1024)
        self.error: str | None = None
        self.unterminated_tail = False
        # Decompressed bytes a gzip chunk may produce (chunk.size is the compressed file's size).
        self._inflate_limit = max(GZIP_MIN_LIMIT, GZIP_MAX_RATIO * chunk.size)
        self._inflated = 0

    def __iter__(self) -> Iterator[list[bytes | None] | int]:
        try:
            raw = open_regular(self._chunk.path)
        except OSError as exc:
            self.error = _describe(exc)
            return
        with raw:
            if not self._chunk.compressed:
                yield from self._blocks(raw)
                return
            with gzip.GzipFile(fileobj=raw, mode="rb") as inflating:
                yield from self._blocks(inflating)  # type: ignore[arg-type]  # a GzipFile is a BinaryIO

    def _read(self, handle: BinaryIO, size: int) -> bytes:
        if self.error is not None:
            return b""
        if not self._chunk.compressed:
            try:
                return handle.read(size)
            except OSError as exc:
                self.error = _describe(exc)
                return b""
        # gzip: gather decompressed pieces one at a time, so a cut-off or corrupt stream loses only its
        # damaged end (GzipFile.read would drop everything it had decompressed in that call).
        pieces: list[bytes] = []
        gathered = 0
        while gathered < size:
            if self._inflated >= self._inflate_limit:
                self.error = (
                    f"stopped after {self._inflated:,} decompressed bytes, {GZIP_MAX_RATIO} times the compressed "
                    "size: not a journal (a gzip bomb?)"
                )
                break
            try:
                wanted = min(size - gathered, self._inflate_limit - self._inflated)
                piece = handle.read1(wanted)  # type: ignore[attr-defined]  # GzipFile has read1
            except (OSError, EOFError, zlib.error) as exc:
                self.error = _describe(exc)
                break
            if not piece:
                break
            pieces.append(piece)
            gathered += len(piece)
            self._inflated += len(piece)
        return b"".join(pieces)

    def _skip_partial_line(self, handle: BinaryIO, start: int) -> int:
        """Position of the first line that begins at or after ``start``."""
        handle.seek(start - 1)
        if handle.read(1) == b"\n":
            return start
        position = start
        while True:
            data = self._read(handle, self._block)
            if not data:
                return position
            newline = data.find(b"\n")
            if newline >= 0:
                position += newline + 1
                handle.seek(position)
                return position
            position += len(data)

    def _blocks(self, handle: BinaryIO) -> Iterator[list[bytes | None] | int]:
        """Lists of lines, and for a run of blank lines skipped in bulk the number of lines it held."""
        chunk, limit = self._chunk, self._max
        position = self._skip_partial_line(handle, chunk.start) if chunk.start > 0 else 0
        remaining = None if chunk.end is None else chunk.end - position
        pending = b""
        discarding = False  # inside an over-long line: drop bytes until its newline
        while True:
            # Past the end of our range we only finish the line that started inside it.
            beyond = remaining is not None and remaining <= 0
            if beyond and not pending and not discarding:
                return
            data = self._read(handle, self._block if remaining is None or beyond else min(self._block, remaining))
            if not data:
                break
            if remaining is not None:
                remaining -= len(data)
            if discarding:
                newline = data.find(b"\n")
                if newline < 0:
                    continue
                discarding = False
                yield [None]
                if beyond:
                    return
                data = data[newline + 1 :]
                if not data:
                    continue
            if beyond:
                newline = data.find(b"\n")
                if newline >= 0:
                    data = data[: newline + 1]
            elif data.isspace() and (not pending or pending.isspace()):
                # A block of nothing but whitespace (a run of blank lines): counted, not split.
                blank = data.count(b"\n")
                if blank:
                    pending = data[data.rfind(b"\n") + 1 :]
                    yield blank
                else:
                    pending += data
                if len(pending) > limit:
                    pending = b""
                    discarding = True
                continue
            lines = (pending + data).split(b"\n") if pending else data.split(b"\n")
            pending = lines.pop()
            if len(pending) > limit:
                pending = b""
                discarding = True
            if lines:
                if len(lines) * _SHORT_LINE > len(data):
                    # Short lines: blank whitespace-only ones in bulk, so the scan skips them unparsed.
                    lines = [b"" if line.isspace() else line for line in lines]
                if max(map(len, lines)) > limit:
                    yield [None if len(line) > limit else line for line in lines]
                else:
                    yield cast("list[bytes | None]", lines)
        if discarding:
            # The over-long line ran to the end of the file without a newline.
            yield [None]
        elif pending:
            self.unterminated_tail = True
            yield [pending]
