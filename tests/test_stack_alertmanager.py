"""alertmanager/: amtool's checks, routing by severity, and the inhibition on a real Alertmanager."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.binaries import require_binary
from tests.support.prometheus import running_alertmanager
from tests.support.stack import ALERTMANAGER_CONFIG, COLLECTOR_CONFIG, alert_rules, load_yaml
from tests.support.waits import wait_for

CONFIG: dict[str, Any] = load_yaml(ALERTMANAGER_CONFIG)


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_binary("amtool"), *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.integration
def test_amtool_accepts_the_config() -> None:
    result = _amtool("check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.integration
@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=TargetDown", "severity=critical"], "critical"),
        (["alertname=SignalStarvation", "severity=warning"], "warning"),
        (["alertname=Unlabelled"], "warning"),
    ],
)
def test_alerts_route_by_severity(labels: list[str], receiver: str) -> None:
    result = _amtool("config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_every_severity_the_rules_use_has_a_route() -> None:
    routed = {matcher for route in CONFIG["route"]["routes"] for matcher in route["matchers"]}
    for severity in {rule["labels"]["severity"] for rule in alert_rules()}:
        assert f'severity="{severity}"' in routed


def test_groups_are_per_alert_and_bot() -> None:
    # A bot is its service_name in its environment, whichever copy of its metrics an alert came from;
    # `job` keeps the scrape-target alerts of different jobs apart.
    assert CONFIG["route"]["group_by"] == ["alertname", "deployment_environment_name", "service_name", "job"]
    (inhibit,) = CONFIG["inhibit_rules"]
    assert {"deployment_environment_name", "service_name", "service_instance_id"} <= set(inhibit["equal"])


def test_every_receiver_posts_to_the_collectors_webhook_receiver() -> None:
    collector = load_yaml(COLLECTOR_CONFIG)["receivers"]["webhook_event/alertmanager"]
    port = collector["endpoint"].rsplit(":", 1)[1]
    expected = f"http://otel-collector:{port}{collector['path']}"
    for receiver in CONFIG["receivers"]:
        assert [hook["url"] for hook in receiver["webhook_configs"]] == [expected], receiver["name"]
        assert all(hook["send_resolved"] for hook in receiver["webhook_configs"])


def _alert(severity: str, bot: str = "bot-a") -> dict[str, Any]:
    labels = {"alertname": "HighMemoryUsage", "severity": severity, "service_name": bot, "service_instance_id": "i1"}
    return {"labels": labels, "annotations": {"summary": f"{severity} test alert"}}


@pytest.mark.integration
@pytest.mark.slow
def test_critical_inhibits_the_warning_of_the_same_alert_on_a_real_alertmanager(tmp_path: Path) -> None:
    with running_alertmanager(tmp_path, yaml.safe_dump(CONFIG)) as alertmanager:
        alertmanager.post(_alert("warning"), _alert("warning", bot="bot-b"), _alert("critical"))

        def settled() -> list[dict[str, Any]] | None:
            alerts = alertmanager.alerts(alertname="HighMemoryUsage")
            inhibited = [a for a in alerts if a["status"]["inhibitedBy"]]
            return alerts if len(alerts) == 3 and inhibited else None

        alerts = wait_for(settled, timeout=15, what="Alertmanager to apply the inhibition")
        states = {(a["labels"]["severity"], a["labels"]["service_name"]): a["status"] for a in alerts}
        assert states[("warning", "bot-a")]["state"] == "suppressed"
        assert states[("warning", "bot-a")]["inhibitedBy"]
        # The critical alert itself, and the warning of another bot, stay active.
        assert states[("critical", "bot-a")]["state"] == "active"
        assert states[("warning", "bot-b")]["state"] == "active"
