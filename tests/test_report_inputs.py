"""Finding journals, and reading them as byte ranges that cover every line exactly once."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_breakout.report._inputs import Chunk, LineBlocks, SourceFile, expand_inputs, plan_chunks


def _touch(path: Path, data: bytes = b"{}\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_globs_directories_and_rotation_order(tmp_path: Path) -> None:
    for name in ("diag_S_100.jsonl", "diag_S_100.2.jsonl", "diag_S_100.10.jsonl", "diag_S_100.1.jsonl"):
        _touch(tmp_path / "logs" / name)
    _touch(tmp_path / "logs" / "diag_T_100.jsonl.gz", gzip.compress(b"{}\n"))
    _touch(tmp_path / "logs" / "notes.txt")
    files, unmatched = expand_inputs([tmp_path / "logs"])
    names = [Path(f.path).name for f in files]
    # Rotated files follow their base file in number order; other files by name.
    assert names == [
        "diag_S_100.jsonl",
        "diag_S_100.1.jsonl",
        "diag_S_100.2.jsonl",
        "diag_S_100.10.jsonl",
        "diag_T_100.jsonl.gz",
    ]
    assert [f.compressed for f in files] == [False, False, False, False, True]
    assert unmatched == []


def test_each_file_once_and_unmatched_patterns(tmp_path: Path) -> None:
    one = _touch(tmp_path / "diag_S_1.jsonl")
    files, unmatched = expand_inputs([str(one), str(tmp_path / "*.jsonl"), str(tmp_path / "missing-*.jsonl")])
    assert [f.path for f in files] == [str(one)]
    assert unmatched == [str(tmp_path / "missing-*.jsonl")]
    files, _ = expand_inputs([str(tmp_path / "absent.jsonl")])
    assert files[0].error is not None and files[0].size == 0


def test_plan_chunks_splits_plain_files_only(tmp_path: Path) -> None:
    files = [SourceFile("a", 10_000, False), SourceFile("b.gz", 10_000, True), SourceFile("c", 0, False, "gone")]
    chunks = plan_chunks(files, 4096)
    assert [(c.file_index, c.chunk_index, c.start, c.end) for c in chunks] == [
        (0, 0, 0, 4096),
        (0, 1, 4096, 8192),
        (0, 2, 8192, None),
        (1, 0, 0, None),
    ]
    assert sum(c.size for c in chunks if c.file_index == 0) == 10_000


_LINE = st.binary(max_size=3000).map(lambda b: b.replace(b"\n", b"."))


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(_LINE, max_size=40),
    terminated=st.booleans(),
    chunk_bytes=st.integers(min_value=1, max_value=20_000),
    max_line=st.integers(min_value=64, max_value=4000),
)
def test_byte_ranges_cover_every_line_exactly_once(
    tmp_path_factory: object, lines: list[bytes], terminated: bool, chunk_bytes: int, max_line: int
) -> None:
    path = Path(os.path.join(str(tmp_path_factory.mktemp("ranges")), "diag_S_1.jsonl"))  # type: ignore[attr-defined]
    data = b"\n".join(lines) + (b"\n" if terminated and lines else b"")
    path.write_bytes(data)
    source = SourceFile(str(path), len(data), False)
    seen: list[bytes | None] = []
    tails = 0
    for chunk in plan_chunks([source], chunk_bytes):
        blocks = LineBlocks(chunk, max_line, block_bytes=1024)
        for block in blocks:
            # A run of blank lines may come as its length, and a whitespace-only line as b"": both are blank.
            seen.extend([b""] * block if isinstance(block, int) else block)
        tails += blocks.unterminated_tail
        assert blocks.error is None
    seen = [b"" if line is not None and line.isspace() else line for line in seen]
    expected: list[bytes | None] = [None if len(line) > max_line else b"" if line.isspace() else line for line in lines]
    if lines and not terminated and lines[-1] == b"":
        expected.pop()  # "a\n" with an empty last element is just a terminated file
    assert seen == expected
    last_is_partial = bool(lines) and not terminated and len(lines[-1]) > 0
    assert tails == int(last_is_partial and len(lines[-1]) <= max_line)


def test_a_line_straddling_a_range_boundary_belongs_to_the_first_range(tmp_path: Path) -> None:
    path = _touch(tmp_path / "diag_S_1.jsonl", b"aaaa\nbbbbbbbb\ncc\n")
    first = list(LineBlocks(Chunk(0, 0, str(path), 0, 7, False, 7), 100))
    second = list(LineBlocks(Chunk(0, 1, str(path), 7, None, False, 10), 100))
    assert [line for block in first if not isinstance(block, int) for line in block] == [b"aaaa", b"bbbbbbbb"]
    assert second == [[b"cc"]]


def test_non_regular_files_are_listed_with_their_problem_never_read(tmp_path: Path) -> None:
    good = _touch(tmp_path / "diag_S_1.jsonl")
    fifo = tmp_path / "diag_S_2.jsonl"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    zero = tmp_path / "diag_S_3.jsonl"
    zero.symlink_to("/dev/zero")  # endless
    (tmp_path / "diag_S_4.jsonl").mkdir()  # a directory among the files of a directory: not a file at all
    for inputs in ([tmp_path], [str(tmp_path / "*.jsonl")], [fifo, zero, good]):
        files, unmatched = expand_inputs(inputs)
        problems = {Path(f.path).name: f.error for f in files}
        assert problems == {
            "diag_S_1.jsonl": None,
            "diag_S_2.jsonl": "not a regular file (a FIFO); skipped",
            "diag_S_3.jsonl": "not a regular file (a character device); skipped",
        }
        assert unmatched == []
    # Swapped in after the listing: the reader checks again, on the descriptor, without blocking.
    chunk = Chunk(0, 0, str(fifo), 0, None, False, 0)
    blocks = LineBlocks(chunk, 1000)
    assert list(blocks) == [] and blocks.error == "not a regular file (a FIFO); skipped"


def test_blank_runs_are_skipped_in_bulk_and_counted_as_lines(tmp_path: Path) -> None:
    data = b"a\n" + b"\n" * 5000 + b"b\n" + b" \t\r\n" * 3000 + b"c\n" + b"\n \n" * 10 + b"d"
    path = _touch(tmp_path / "diag_S_1.jsonl", data)
    blocks = LineBlocks(Chunk(0, 0, str(path), 0, None, False, len(data)), 100, block_bytes=1024)
    items = list(blocks)
    # Whole blocks of whitespace come as a count, whitespace-only lines in short-line blocks as b"".
    assert any(isinstance(item, int) and item >= 1000 for item in items)
    lines: list[bytes | None] = []
    for item in items:
        lines.extend([b""] * item if isinstance(item, int) else item)
    assert [line for line in lines if line] == [b"a", b"b", b"c", b"d"]
    assert len(lines) == data.count(b"\n") + 1  # every line counted, so line numbers stay exact
    assert all(not line or not line.isspace() for line in lines)
    assert blocks.unterminated_tail


def test_a_gzip_input_stops_at_its_decompression_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_breakout.report import _inputs

    monkeypatch.setattr(_inputs, "GZIP_MIN_LIMIT", 1 << 20)
    bomb = _touch(tmp_path / "diag_S_1.jsonl.gz", gzip.compress(b'{"x": 1}\n' + b"\n" * (8 << 20)))
    size = bomb.stat().st_size
    blocks = LineBlocks(Chunk(0, 0, str(bomb), 0, None, True, size), 1000)
    lines = 0
    for item in blocks:
        lines += item if isinstance(item, int) else len(item)
    assert blocks.error is not None and "decompressed" in blocks.error and "gzip bomb" in blocks.error
    assert lines <= max(1 << 20, _inputs.GZIP_MAX_RATIO * size)  # one byte per blank line
    # A real journal far below the bound reads to its end.
    fine = _touch(tmp_path / "diag_S_2.jsonl.gz", gzip.compress(b'{"x": 1}\n' * 10_000))
    blocks = LineBlocks(Chunk(0, 0, str(fine), 0, None, True, fine.stat().st_size), 1000)
    assert sum(len(item) for item in blocks if not isinstance(item, int)) == 10_000 and blocks.error is None
