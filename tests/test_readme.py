"""The README is a front door that tells the truth: two Quickstart commands, install commands, a working example."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from otel_breakout import __version__
from tests.support.binaries import venv_bin

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _section(heading: str) -> str:
    return README.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_quickstart_is_two_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quickstart, re.S)
    assert block is not None
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_the_readme_stays_a_front_door() -> None:
    # About 300 lines (issue 13): reference material belongs in docs/, which the README links to.
    assert len(README.splitlines()) <= 330
    headings = re.findall(r"^## (.+)$", README, re.M)
    for heading in ("Quickstart", "Install it in your bot", "Wire it into your bot", "The stack in brief"):
        assert heading in headings
    assert headings[-1] == "Dependencies"


def test_the_install_commands_name_this_version() -> None:
    [block] = _blocks(_section("## Install it in your bot"), "sh")
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]
    assert commands[0] == "pip install /path/to/otel-breakout"
    assert commands[1] == "pip wheel --no-deps -w dist /path/to/otel-breakout"
    # The wheel's name carries the version: a release bump must update the README with it.
    assert commands[2] == f"pip install dist/otel_breakout-{__version__}-py3-none-any.whl"


_CHECK = """
import json, urllib.request
diagnostics.flush()
with urllib.request.urlopen(server.url + "/api/metrics", timeout=30) as response:
    print(json.dumps({"url": server.url, "exposition": response.read().decode()}))
"""


def test_the_wiring_example_runs(tmp_path: Path) -> None:
    [example] = _blocks(_section("## Wire it into your bot"), "python")
    script = tmp_path / "bot.py"
    script.write_text(example + _CHECK)
    # A clean environment, as a user's bot starts with; port 0 because 8000 may be taken on this machine.
    env = {"PATH": "/usr/bin:/bin", "OTEL_BREAKOUT_API_PORT": "0"}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["url"].startswith("http://127.0.0.1:")
    samples = {line.split("{", 1)[0]: line for line in served["exposition"].splitlines() if line.startswith("breakout")}
    assert 'service_name="my-bot"' in samples["breakout_engine_cycles_total"]
    assert samples["breakout_engine_cycles_total"].endswith(" 3.0")
    assert 'reason="filter:min_volume"' in samples["breakout_diag_reasons_total"]

    [journal] = (tmp_path / "logs" / "diag").glob("diag_my-bot-live_*.jsonl")
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert len(events) == 9  # three symbols, three cycles
    failed = [event for event in events if not event["passed"]]
    assert [event["symbol"] for event in failed] == ["DOGEUSDT"] * 3
    assert all(event["near_miss"] and event["trace_id"] for event in failed)

    # "otel-breakout report logs/diag then turns the journal into reports/diag_summary.md"
    report = subprocess.run(
        [venv_bin("otel-breakout"), "report", "logs/diag"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    assert "filter:min_volume" in (tmp_path / "reports" / "diag_summary.md").read_text()
