"""The resource monitor's log clean-up, which cannot leave its directory.

The clean-up works on directory file descriptors (``dir_fd``): every stat, open and unlink is relative to
a directory already opened with ``O_NOFOLLOW``, so a symlink, a ``..`` or a directory swapped for a link
mid-walk can never make it touch anything outside the configured directory. Symlinks are skipped, not
followed; patterns are file names only.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CleanupResult", "clean_log_dir", "validate_patterns"]

_MAX_DEPTH = 8
# Entries looked at per clean-up: a runaway directory must not keep the monitor thread busy for minutes.
_MAX_ENTRIES = 100_000
_FD_SUPPORT = (
    hasattr(os, "O_NOFOLLOW")
    and hasattr(os, "O_DIRECTORY")
    and {os.open, os.stat, os.unlink} <= os.supports_dir_fd
    and os.scandir in os.supports_fd
)


@dataclass(frozen=True, slots=True)
class CleanupResult:
    deleted: int = 0
    freed_bytes: int = 0
    skipped_links: int = 0
    errors: int = 0
    scanned: int = 0


def validate_patterns(patterns: Sequence[str]) -> tuple[str, ...]:
    """File-name patterns only: no separators, no ``..``, nothing absolute."""
    checked = tuple(patterns)
    for pattern in checked:
        if not pattern or "/" in pattern or "\\" in pattern or ".." in pattern or os.path.isabs(pattern):
            raise ValueError(f"log clean-up pattern {pattern!r} must be a file-name pattern such as '*.log'")
    return checked


def clean_log_dir(
    directory: str | os.PathLike[str],
    *,
    max_age_s: float,
    patterns: Sequence[str],
    now: float | None = None,
) -> CleanupResult:
    """Delete regular files matching ``patterns`` older than ``max_age_s`` under ``directory`` (and its subfolders).

    The directory itself is resolved once (a configured path may legitimately be a link); below it,
    nothing is followed.
    """
    checked = validate_patterns(patterns)
    root = os.path.realpath(directory)
    if os.path.dirname(root) == root:
        raise ValueError(f"refusing to clean up the filesystem root {root!r}")
    cutoff = (time.time() if now is None else now) - max_age_s
    counts = {"deleted": 0, "freed_bytes": 0, "skipped_links": 0, "errors": 0, "scanned": 0}
    if _FD_SUPPORT:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            _clean_fd(fd, checked, cutoff, counts, 0)
        finally:
            os.close(fd)
    else:  # pragma: no cover - platforms without dir_fd (Windows)
        _clean_paths(root, checked, cutoff, counts)
    return CleanupResult(**counts)


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _clean_fd(dir_fd: int, patterns: tuple[str, ...], cutoff: float, counts: dict[str, int], depth: int) -> None:
    with os.scandir(dir_fd) as entries:
        names = [entry.name for entry in entries]
    for name in names:
        counts["scanned"] += 1
        if counts["scanned"] > _MAX_ENTRIES:
            return
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                counts["skipped_links"] += 1
            elif stat.S_ISDIR(info.st_mode) and depth < _MAX_DEPTH:
                # O_NOFOLLOW: if the directory was swapped for a link since the stat, this fails instead.
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
                try:
                    _clean_fd(sub, patterns, cutoff, counts, depth + 1)
                finally:
                    os.close(sub)
            elif stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff and _matches(name, patterns):
                # unlink never follows a link: at worst it removes a link that appeared here since the stat.
                os.unlink(name, dir_fd=dir_fd)
                counts["deleted"] += 1
                counts["freed_bytes"] += info.st_size
        except OSError:
            counts["errors"] += 1


def _clean_paths(
    root: str, patterns: tuple[str, ...], cutoff: float, counts: dict[str, int]
) -> None:  # pragma: no cover - used where dir_fd is unavailable
    for current, dirs, files in os.walk(root, followlinks=False):
        if current[len(root) :].count(os.sep) >= _MAX_DEPTH:
            dirs[:] = []
        for name in files:
            counts["scanned"] += 1
            if counts["scanned"] > _MAX_ENTRIES:
                return
            path = os.path.join(current, name)
            try:
                info = os.lstat(path)
                real = os.path.realpath(path)
                if stat.S_ISLNK(info.st_mode) or os.path.commonpath([real, root]) != root:
                    counts["skipped_links"] += 1
                elif stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff and _matches(name, patterns):
                    os.unlink(path)
                    counts["deleted"] += 1
                    counts["freed_bytes"] += info.st_size
            except OSError:
                counts["errors"] += 1
