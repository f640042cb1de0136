from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from otel_breakout import ConfigError, Settings
from otel_breakout.metrics import clean_log_dir
from otel_breakout.metrics._cleanup import validate_patterns

OLD = time.time() - 30 * 86400
PATTERNS = ("*.log", "*.log.*", "*.jsonl")


def _old_file(path: Path, text: str = "old") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (OLD, OLD), follow_symlinks=False)
    return path


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A log dir, and a precious directory beside it that must survive every clean-up."""
    logs = tmp_path / "logs"
    precious = tmp_path / "precious"
    _old_file(precious / "keep.log")
    _old_file(precious / "sub" / "keep.jsonl")
    logs.mkdir()
    return logs, precious


def _survivors(precious: Path) -> list[str]:
    return sorted(str(p.relative_to(precious)) for p in precious.rglob("*") if p.is_file())


def test_deletes_old_matching_files_including_subfolders(layout: tuple[Path, Path]) -> None:
    logs, _ = layout
    _old_file(logs / "app.log.1", "x" * 10)
    _old_file(logs / "diag" / "diag_S_1.jsonl", "y" * 20)
    _old_file(logs / "README.txt")
    (logs / "app.log").write_text("fresh")
    result = clean_log_dir(logs, max_age_s=86400, patterns=PATTERNS)
    assert (result.deleted, result.freed_bytes, result.errors) == (2, 30, 0)
    assert sorted(str(p.relative_to(logs)) for p in logs.rglob("*")) == ["README.txt", "app.log", "diag"]


def test_symlinks_are_never_followed(layout: tuple[Path, Path]) -> None:
    logs, precious = layout
    (logs / "escape.log").symlink_to(precious / "keep.log")
    (logs / "escape_dir").symlink_to(precious / "sub", target_is_directory=True)
    os.utime(logs / "escape.log", (OLD, OLD), follow_symlinks=False)
    result = clean_log_dir(logs, max_age_s=0, patterns=PATTERNS)
    assert result.deleted == 0 and result.skipped_links == 2
    assert _survivors(precious) == ["keep.log", "sub/keep.jsonl"]
    assert (logs / "escape.log").is_symlink()  # the link itself is left alone too


def test_dotdot_in_the_configured_path_resolves_and_stays_inside(layout: tuple[Path, Path]) -> None:
    logs, precious = layout
    _old_file(logs / "a.log")
    result = clean_log_dir(f"{precious}/../logs", max_age_s=0, patterns=PATTERNS)
    assert result.deleted == 1
    assert _survivors(precious) == ["keep.log", "sub/keep.jsonl"]


@pytest.mark.parametrize("pattern", ["../precious/*.log", "../*", "*/../*.log", "sub/*.log", "", "..log"])
def test_patterns_that_could_reach_elsewhere_are_refused(layout: tuple[Path, Path], pattern: str) -> None:
    logs, precious = layout
    with pytest.raises(ValueError, match="file-name pattern"):
        clean_log_dir(logs, max_age_s=0, patterns=[pattern])
    assert _survivors(precious) == ["keep.log", "sub/keep.jsonl"]


def test_absolute_patterns_are_refused(layout: tuple[Path, Path]) -> None:
    logs, precious = layout
    with pytest.raises(ValueError):
        clean_log_dir(logs, max_age_s=0, patterns=[str(precious / "keep.log")])
    with pytest.raises(ValueError):
        validate_patterns(["/etc/*"])
    assert _survivors(precious) == ["keep.log", "sub/keep.jsonl"]


def test_the_filesystem_root_is_refused() -> None:
    with pytest.raises(ValueError, match="root"):
        clean_log_dir("/", max_age_s=0, patterns=PATTERNS)


def test_a_log_dir_that_is_itself_a_link_is_resolved_once(layout: tuple[Path, Path], tmp_path: Path) -> None:
    logs, precious = layout
    _old_file(logs / "a.log")
    (tmp_path / "current").symlink_to(logs, target_is_directory=True)
    assert clean_log_dir(tmp_path / "current", max_age_s=0, patterns=PATTERNS).deleted == 1
    assert _survivors(precious) == ["keep.log", "sub/keep.jsonl"]


def test_a_missing_dir_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        clean_log_dir("/nonexistent/otel-breakout-logs", max_age_s=0, patterns=PATTERNS)


def test_settings_refuse_escaping_patterns() -> None:
    with pytest.raises(ConfigError, match="OTEL_BREAKOUT_RESOURCE_LOG_PATTERNS"):
        Settings.from_env({"OTEL_BREAKOUT_RESOURCE_LOG_PATTERNS": "*.log,../*.log"})
    with pytest.raises(ConfigError):
        Settings.from_env({"OTEL_BREAKOUT_RESOURCE_LOG_PATTERNS": "/var/log/*.log"})
    ok = Settings.from_env({"OTEL_BREAKOUT_RESOURCE_LOG_PATTERNS": " *.log , *.gz "})
    assert ok.resources.log_patterns == ("*.log", "*.gz")
