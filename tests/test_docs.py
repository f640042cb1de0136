"""The documentation stays true: generated tables match the code, every relative link resolves, budgets are named."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.markdown import anchors, broken_links, links, prose

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
    ROOT / "benchmarks" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]


def _tables() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "scripts" / "readme_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_tables_match_the_code() -> None:
    pages = _tables().rendered_pages()
    assert {path.relative_to(ROOT).as_posix() for path in pages} == {"docs/environment.md", "docs/metric-catalogue.md"}
    for path, (current, rendered) in pages.items():
        assert rendered == current, f"{path.relative_to(ROOT)} drifted: run `python scripts/readme_tables.py`"


def test_generated_blocks_live_only_in_their_homes() -> None:
    homes: dict[str, str] = _tables().HOMES
    for page in PAGES:
        for name in re.findall(r"<!-- BEGIN (\S+) -->", prose(page.read_text(encoding="utf-8"))):
            assert name in homes, f"{page.relative_to(ROOT)}: no generator for the block {name!r}"
            assert page == ROOT / homes[name], f"{page.relative_to(ROOT)} holds a stale copy of {name!r}"


def test_a_table_that_drifted_is_rewritten(tmp_path: Path) -> None:
    tables = _tables()
    stale = "# Metric catalogue\n\n<!-- BEGIN metrics -->\n| old table |\n<!-- END metrics -->\n"
    rendered = tables.render(stale, ["metrics"])
    assert "| old table |" not in rendered and "`breakout_engine_cycles_total`" in rendered
    with pytest.raises(SystemExit, match="BEGIN environment"):
        tables.render(stale, ["environment"])


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    assert broken_links(page, ROOT) == []


def test_every_page_is_linked_from_the_readme() -> None:
    readme = ROOT / "README.md"
    linked = {(readme.parent / target.partition("#")[0]).resolve() for target in links(readme.read_text())}
    for page in PAGES[1:]:
        assert page.resolve() in linked, f"the README does not link to {page.relative_to(ROOT)}"


def test_the_link_check_finds_what_is_broken(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Alpha: `one`\n\n## Repeated\n\n## Repeated\n\n## The bot's thread\n")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/a.md#alpha-one) [ok](docs/a.md#repeated-1) [ok](#top) [ok](docs/a.md#the-bots-thread)\n"
        "[external](https://example.com/missing.md) [dir](docs/) ![image](missing.png)\n"
        "`[in code](missing.md)`\n\n```md\n[in a fence](missing.md)\n```\n\n# Top\n\n"
        "[no file](docs/b.md) [no anchor](docs/a.md#repeated-2) [here](#nowhere) [up](../x.md)\n"
    )
    assert broken_links(page, tmp_path) == [
        "docs/b.md: no such file",
        "docs/a.md#repeated-2: no heading with that anchor",
        "#nowhere: no heading with that anchor",
        "../x.md: outside the repository",
    ]
    expected = {"alpha-one", "repeated", "repeated-1", "the-bots-thread"}
    assert anchors((tmp_path / "docs" / "a.md").read_text()) == expected


def test_every_benchmark_row_names_a_budget() -> None:
    table = (ROOT / "benchmarks" / "README.md").read_text().split("## Latest figures", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| name")]
    assert rows
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 5, row
        assert cells[4], f"no budget for {cells[0]}"
