"""One set of secret rules, and every sink it guards (docs/hostile-conditions.md).

Each shape of secret from the issue is planted with the marker ``PLANTED`` and looked for in the raw output
of every sink: the journal, OTLP log records and span events (the SDK's in-memory exporters), counters and
the Prometheus exposition, the report, the capture listeners, ``otel-breakout env``, ``target_info`` and the
resource, the exporters' warnings, and stdlib log records through the handlers ``configure()`` installs.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from otel_breakout import DiagnosticsCollector, Settings, Telemetry
from otel_breakout._logs import install_export_error_dedupe, install_logging
from otel_breakout._scrub import REDACTED, Scrubber, needs_scrub, printable
from otel_breakout.diagnostics import rotated_paths
from otel_breakout.metrics import MetricsLogger
from otel_breakout.report import DiagnosticsReportBuilder
from otel_breakout.testing import TelemetryCapture, capture_telemetry
from tests.support.binaries import venv_bin

# --- the rules -----------------------------------------------------------------------------------------

SECRET_KEYS = [
    # generic
    "api_key", "API-KEY", "apiKey", "apikey", "secret", "client_secret", "secretKey", "password", "passwd", "pwd",
    "pass", "passphrase", "token", "access_token", "X-Auth-Token", "auth", "Authorization", "proxy_authorization",
    "cookie", "Set-Cookie", "session", "credentials", "signature", "sig", "sign", "key", "KEY", "access_key",
    "privateKey", "private_key", "privkey", "mnemonic", "seed_phrase", "wallet_seed", "jwt", "otp", "totp", "2fa",
    "csrf_token", "bearer",
    # exchange headers and parameters (Binance, Bybit, OKX, Coinbase, Kraken, KuCoin, Bitget, Gate, Bitfinex, HTX)
    "X-MBX-APIKEY", "X-BAPI-API-KEY", "X-BAPI-SIGN", "OK-ACCESS-KEY", "OK-ACCESS-SIGN", "OK-ACCESS-PASSPHRASE",
    "CB-ACCESS-KEY", "CB-ACCESS-SIGN", "CB-ACCESS-PASSPHRASE", "API-Key", "API-Sign", "KC-API-KEY", "KC-API-SIGN",
    "KC-API-PASSPHRASE", "ACCESS-SIGN", "bfx-apikey", "bfx-signature", "AccessKeyId", "SecretKey",
]  # fmt: skip
PLAIN_KEYS = [
    # diagnostics' own vocabulary and words that merely contain a secret word
    "filter", "value", "threshold", "direction", "candle_ts", "symbol", "stage", "strategy", "condition",
    "signal", "signals", "sort_key", "keyboard", "monkey", "pass_rate", "passed", "bypass", "author", "authority",
    "design", "seed", "timestamp", "recvWindow", "OK-ACCESS-TIMESTAMP", "X-BAPI-TIMESTAMP", "nonce", "reason",
]  # fmt: skip


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_keys(key: str) -> None:
    assert Scrubber().is_secret_key(key)


@pytest.mark.parametrize("key", PLAIN_KEYS)
def test_plain_keys(key: str) -> None:
    assert not Scrubber().is_secret_key(key)


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("Bearer abc.def.ghi", REDACTED),  # a credential on its own
        ("Basic dXNlcjpwYXNz", REDACTED),
        ("-----BEGIN EC PRIVATE KEY-----\nMHcC", REDACTED),
        ("Authorization: Bearer abc123def", "Authorization: [REDACTED]"),
        ("retried with Bearer abc123def and failed", "retried with Bearer [REDACTED] and failed"),
        ("https://bot:hunter2@api.exchange.com/v3", "https://[REDACTED]@api.exchange.com/v3"),
        ("to bot:hunter2@127.0.0.1:4317, code 14", "to [REDACTED]@127.0.0.1:4317, code 14"),
        (
            "GET /api/v3/order?symbol=BTCUSDT&timestamp=1&signature=deadbeef&recvWindow=5",
            "GET /api/v3/order?symbol=BTCUSDT&timestamp=1&signature=[REDACTED]&recvWindow=5",
        ),
        ("url=https://x.io/?sign=ab12&ok=1", "url=https://x.io/?sign=[REDACTED]&ok=1"),
        (
            "Client(api_key='abc', secret=\"xyz\", name='bot')",
            "Client(api_key='[REDACTED]', secret=\"[REDACTED]\", name='bot')",
        ),
        ("{'apiKey': 'abc', 'n': 1}", "{'apiKey': '[REDACTED]', 'n': 1}"),
        ('{"X-BAPI-SIGN": "abc", "n": 1}', '{"X-BAPI-SIGN": "[REDACTED]", "n": 1}'),
        ("[('X-MBX-APIKEY', 'abc'), ('Accept', 'json')]", "[('X-MBX-APIKEY', '[REDACTED]'), ('Accept', 'json')]"),
        ("OK-ACCESS-PASSPHRASE: correct horse", "OK-ACCESS-PASSPHRASE: [REDACTED] horse"),
        ("pwd=hunter2 mnemonic=abandon", "pwd=[REDACTED] mnemonic=[REDACTED]"),
        # nothing to scrub: the same text back
        ("filter:min_volume", "filter:min_volume"),
        ("signal:breakout:close_above_high", "signal:breakout:close_above_high"),
        ("BTC/USDT:USDT", "BTC/USDT:USDT"),
        ("basic breakout filter", "basic breakout filter"),
        ("wss://stream.binance.com:9443/ws", "wss://stream.binance.com:9443/ws"),
        ("bob@example.com", "bob@example.com"),
    ],
)  # fmt: skip
def test_text_rules(text: str, scrubbed: str) -> None:
    assert Scrubber().text(text) == scrubbed


def test_clean_text_comes_back_as_is_and_the_trigger_is_cheap() -> None:
    text = "liquidity"
    assert Scrubber().text(text) is text and not needs_scrub(text)
    assert needs_scrub("a=b") and needs_scrub("Bearer x") and needs_scrub('["k", "v"]')


def test_extra_keys_match_the_key_as_written() -> None:
    scrubber = Scrubber(["account_pin", "^otp_code$"])
    assert scrubber.is_secret_key("account_pin") and scrubber.is_secret_key("OTP_CODE")
    assert scrubber.text("account_pin=1234") == "account_pin=[REDACTED]"
    assert not Scrubber().is_secret_key("account_pin")


def test_printable_escapes_bounds_and_scrubs() -> None:
    text = "/x\n2025 CRITICAL forged\x1b[2J\u2028api_key=abc " + "A" * 500
    shown = printable(text, 80)
    assert "\n" not in shown and "\x1b" not in shown and "\u2028" not in shown
    assert shown.startswith("/x\\x0a2025 CRITICAL forged\\x1b[2J\\u2028api_key=[REDACTED] AAA")
    assert shown.endswith(" more]") and len(shown) < 100


# --- every diagnostics sink ------------------------------------------------------------------------------


class Client:
    """A bot's exchange client, whose repr shows its key (as many do)."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def __repr__(self) -> str:
        return f"Client(api_key={self.api_key!r}, venue='binance')"


def _planted() -> dict[str, Any]:
    return {
        "note": "Authorization: Bearer PLANTED01x",
        "retry": "second try with Bearer PLANTED02x failed",
        "headers": [["X-MBX-APIKEY", "PLANTED03"], ["Accept", "application/json"]],
        "har": [{"name": "X-BAPI-SIGN", "value": "PLANTED04"}],
        "pwd": "PLANTED05",
        "auth": "PLANTED06",
        "key": "PLANTED07",
        "access_key": "PLANTED08",
        "X-BAPI-SIGN": "PLANTED09",
        "mnemonic": "PLANTED10 abandon abandon",
        "jwt": "PLANTED11",
        "OK-ACCESS-PASSPHRASE": "PLANTED12",
        "CB-ACCESS-SIGN": "PLANTED13",
        "API-Sign": "PLANTED14",
        "endpoint": "https://bot:PLANTED15@api.exchange.com/v3",
        "request": "https://api.binance.com/api/v3/order?symbol=BTCUSDT&timestamp=1&signature=PLANTED16",
        "client": Client("PLANTED17"),
        "visible": "kept",
    }


def _sinks_text(capture: TelemetryCapture, diag: DiagnosticsCollector, directory: Path) -> dict[str, str]:
    assert diag.flush()
    paths = [*rotated_paths(diag.output_path), diag.output_path]
    journal = b"".join(p.read_bytes() for p in paths).decode()
    report = DiagnosticsReportBuilder([str(p) for p in paths], settings=Settings.from_env({})).build()
    return {
        "journal": journal,
        "log records": repr([(r.log_record.body, dict(r.log_record.attributes or {})) for r in capture.logs()]),
        "span events": repr([(e.name, dict(e.attributes or {})) for s in capture.spans() for e in s.events]),
        "counters": repr(capture.metrics()),
        "exposition": capture.telemetry.prometheus_text().decode(),
        "report": report.to_markdown() + orjson.dumps(report.to_dict()).decode(),
        "listeners": repr(capture.diagnostics()),
        "snapshot": repr(diag.snapshot()),
    }


def test_every_shape_in_every_diagnostics_sink(capture: TelemetryCapture, tmp_path: Path) -> None:
    with capture.diagnostics_collector(tmp_path, session_id="S") as diag:
        with capture.telemetry.get_tracer().start_as_current_span("scan"):
            diag.record_filter("liquidity", "BTCUSDT", "min_volume", 1.0, 2.0, False, _planted(), direction="min")
            diag.record_signal_condition("breakout", "ETHUSDT", "retest", 1.0, 2.0, False, 60, _planted())
            diag.record_signal("breakout", "SOLUSDT", _planted())
            # The top-level fields: a free-form reason becomes a label on /api/metrics and a row in the report.
            diag.record(
                "exchange",
                "login Authorization: Bearer PLANTED18x",
                "https://bot:PLANTED19@api.exchange.com",
                _planted(),
                "order rejected: api_key=PLANTED20 invalid",
                False,
            )
            diag.record_filter("Bearer PLANTED21x", "ADAUSDT", "sig=PLANTED22", 1.0, 2.0, False)
            diag.increment_reason("login failed for https://u:PLANTED23@x.io")
        sinks = _sinks_text(capture, diag, tmp_path)
    for sink, text in sinks.items():
        assert "PLANTED" not in text, sink
    journal = sinks["journal"]
    for context in (
        '"note":"Authorization: [REDACTED]"',
        "second try with Bearer [REDACTED] failed",
        '"headers":[["X-MBX-APIKEY","[REDACTED]"],["Accept","application/json"]]',
        '"har":[{"name":"X-BAPI-SIGN","value":"[REDACTED]"}]',
        '"endpoint":"https://[REDACTED]@api.exchange.com/v3"',
        "symbol=BTCUSDT&timestamp=1&signature=[REDACTED]",
        "Client(api_key='[REDACTED]', venue='binance')",
        '"reason":"order rejected: api_key=[REDACTED] invalid"',
        '"stage":"login Authorization: [REDACTED]"',
        '"symbol":"https://[REDACTED]@api.exchange.com"',
        '"reason":"filter:sig=[REDACTED]"',
        '"visible":"kept"',
    ):
        assert context in journal
    assert 'reason="order rejected: api_key=[REDACTED] invalid"' in sinks["exposition"]
    assert "order rejected: api_key=[REDACTED] invalid" in sinks["report"]
    assert len(capture.spans()[0].events) >= 3  # the span events really were there to look into


def test_metric_attribute_values_are_scrubbed(capture: TelemetryCapture) -> None:
    metrics = MetricsLogger(capture.telemetry)
    metrics.signal("breakout?api_key=PLANTED")
    exposition = capture.telemetry.prometheus_text().decode()
    assert "PLANTED" not in exposition and 'strategy="breakout?api_key=[REDACTED]"' in exposition


# --- env, the resource, target_info ----------------------------------------------------------------------

_ENVIRONMENT = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "https://bot:PLANTED30@collector.example.com:4318/?token=PLANTED31",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_EXPORTER_OTLP_HEADERS": "X-MBX-APIKEY=PLANTED32",
    "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,exchange.api_key=PLANTED33,"
    "exchange.url=https%3A%2F%2Fu%3APLANTED34%40x.io,bot.owner=desk-7",
    "OTEL_BREAKOUT_TRACE_URL_TEMPLATE": "https://grafana.example.com/t/{trace_id}?auth_token=PLANTED35",
    "OTEL_BREAKOUT_API_TOKEN": "PLANTED36-0123456789",
}


def test_env_shows_no_secret(tmp_path: Path) -> None:
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **_ENVIRONMENT}
    for args in (["env", "--json"], ["env"]):
        done = subprocess.run(
            [venv_bin("otel-breakout"), *args], env=environment, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "PLANTED" not in done.stdout + done.stderr
    data = json.loads(
        subprocess.run(
            [venv_bin("otel-breakout"), "env", "--json"], env=environment, capture_output=True, text=True, timeout=60
        ).stdout
    )
    settings = data["settings"]
    assert settings["otlp_traces"]["endpoint"].startswith("https://[REDACTED]@collector.example.com:4318/")
    assert ["exchange.api_key", REDACTED] in settings["resource_attributes"]
    assert ["deployment.environment", "prod"] in settings["resource_attributes"]
    assert "exchange.api_key=***" in data["environment"]["OTEL_RESOURCE_ATTRIBUTES"]


def test_target_info_and_the_resource_carry_no_secret() -> None:
    pull_only = {"OTEL_TRACES_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "prometheus"}
    capture = capture_telemetry(settings=Settings.from_env({**_ENVIRONMENT, **pull_only}))
    try:
        with capture.telemetry.get_tracer().start_as_current_span("cycle"):
            MetricsLogger(capture.telemetry).end_cycle(0.1)
        exposition = capture.telemetry.prometheus_text().decode()
        [target_info] = [line for line in exposition.splitlines() if line.startswith("target_info{")]
        resource = dict(capture.spans()[0].resource.attributes)
    finally:
        capture.close()
    assert "PLANTED" not in target_info and "PLANTED" not in repr(resource)
    assert 'exchange_api_key="[REDACTED]"' in target_info and 'bot_owner="desk-7"' in target_info
    assert resource["exchange.url"] == "https://[REDACTED]@x.io"


def test_the_exporters_warnings_carry_no_endpoint_credentials(tmp_path: Path) -> None:
    # A real gRPC exporter against a closed port, with credentials in the endpoint: its error names the target.
    script = tmp_path / "bot.py"
    script.write_text(
        "import logging, sys\n"
        "logging.basicConfig(stream=sys.stdout, format='%(levelname)s %(name)s: %(message)s')\n"
        "import otel_breakout\n"
        "telemetry = otel_breakout.configure(environ={'OTEL_EXPORTER_OTLP_ENDPOINT': "
        "'http://bot:PLANTED40@127.0.0.1:1', 'OTEL_EXPORTER_OTLP_TIMEOUT': '300', 'OTEL_BSP_SCHEDULE_DELAY': '50'})\n"
        "with telemetry.get_tracer().start_as_current_span('cycle'):\n"
        "    pass\n"
        "telemetry.force_flush(2000)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert "opentelemetry.exporter" in output  # it did complain
    assert "PLANTED" not in output


def test_export_warnings_are_scrubbed_by_the_filter(caplog: pytest.LogCaptureFixture) -> None:
    from otel_breakout import _logs

    install_export_error_dedupe()
    assert _logs._dedupe is not None
    _logs._dedupe._last = None  # whatever an earlier test logged, this one gets through
    with caplog.at_level(logging.WARNING):
        logging.getLogger("opentelemetry.exporter.otlp.proto.grpc.exporter").error(
            "Failed to export traces to %s, error code: UNAVAILABLE", "bot:PLANTED41@127.0.0.1:4317"
        )
    [message] = [r.getMessage() for r in caplog.records if "Failed to export" in r.getMessage()]
    assert "PLANTED" not in message and "[REDACTED]@127.0.0.1:4317" in message


# --- stdlib log records ----------------------------------------------------------------------------------


class _Seen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_stdlib_records_through_our_handlers_are_scrubbed(
    capture: TelemetryCapture, tmp_path: Path, isolated_root: logging.Logger
) -> None:
    log_file = tmp_path / "app.log"
    install_logging(
        level="INFO",
        log_file=str(log_file),
        max_bytes=1 << 20,
        backups=1,
        logger_provider=capture.telemetry.logger_provider,
    )
    yours = _Seen()
    isolated_root.addHandler(yours)
    bot = logging.getLogger("bot.exchange")
    bot.warning("placing order via %s", "https://api.binance.com/api/v3/order?signature=PLANTED50")
    bot.warning("login", extra={"api_secret": "PLANTED51", "note": "Authorization: Bearer PLANTED52x"})
    try:
        raise ConnectionError("handshake failed for Client(api_key='PLANTED53')")
    except ConnectionError:
        bot.exception("exchange down")
    capture.telemetry.force_flush()
    exported = repr([(r.log_record.body, dict(r.log_record.attributes or {})) for r in capture.logs()])
    written = log_file.read_text()
    assert "PLANTED" not in exported and "PLANTED" not in written
    assert "signature=[REDACTED]" in exported and "signature=[REDACTED]" in written
    assert "api_key='[REDACTED]'" in written and "api_key='[REDACTED]'" in exported
    assert "'api_secret': '[REDACTED]'" in exported
    # Your own handlers get the record as it was logged: scrubbing is ours, not a change to your logging.
    assert yours.messages[0].endswith("signature=PLANTED50")


def test_a_telemetry_built_from_settings_scrubs_its_own_log_handlers(tmp_path: Path) -> None:
    telemetry = Telemetry.create(Settings.from_env({"OTEL_BREAKOUT_LOG_FILE": str(tmp_path / "bot.log")}))
    root = logging.getLogger()
    before = list(root.handlers)
    telemetry.install_logging()
    try:
        logging.getLogger("bot").error("cannot reach wss://u:PLANTED60@stream.example.com")
    finally:
        telemetry.shutdown()
    assert root.handlers == before
    written = (tmp_path / "bot.log").read_text()
    assert "PLANTED" not in written and "wss://[REDACTED]@stream.example.com" in written
