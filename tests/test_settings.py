from __future__ import annotations

import pytest

from otel_breakout import ConfigError, ConfigWarning, DiagnosticsSettings, Settings
from otel_breakout._settings import environment_variables


def test_defaults_are_the_embedded_default() -> None:
    settings = Settings.from_env({})
    assert settings.service_name == "breakout-bot"
    assert settings.traces_exporters == ()
    assert settings.metrics_exporters == ("prometheus",)
    assert settings.logs_exporters == ()
    assert settings.sdk_disabled is False
    assert settings.otlp_traces.endpoint == "http://localhost:4317"
    assert settings.sampler == "parentbased_always_on"


def test_an_otlp_endpoint_turns_on_push_for_every_signal() -> None:
    settings = Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"})
    assert settings.traces_exporters == ("otlp",)
    assert settings.metrics_exporters == ("prometheus", "otlp")
    assert settings.logs_exporters == ("otlp",)
    assert settings.otlp_logs.endpoint == "http://collector:4317"


def test_http_appends_signal_paths_to_the_generic_endpoint_only() -> None:
    settings = Settings.from_env(
        {
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://logs:9999/custom",
        }
    )
    assert settings.otlp_traces.endpoint == "http://collector:4318/v1/traces"
    assert settings.otlp_metrics.endpoint == "http://collector:4318/v1/metrics"
    assert settings.otlp_logs.endpoint == "http://logs:9999/custom"
    assert settings.otlp_traces.protocol == "http/protobuf"


def test_http_default_endpoint_is_4318() -> None:
    settings = Settings.from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_TRACES_EXPORTER": "otlp"})
    assert settings.otlp_traces.endpoint == "http://localhost:4318/v1/traces"
    assert settings.traces_exporters == ("otlp",)


def test_per_signal_variables_override_the_generic_ones() -> None:
    settings = Settings.from_env(
        {
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_HEADERS": "a=1",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "b=2,c=x%20y",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "5000",
            "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "2500",
            "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "none",
        }
    )
    assert settings.otlp_metrics.protocol == "http/protobuf"
    assert settings.otlp_traces.protocol == "grpc"
    assert settings.otlp_metrics.headers == (("a", "1"),)
    assert settings.otlp_traces.headers == (("b", "2"), ("c", "x y"))
    assert settings.otlp_logs.timeout_ms == 2500
    assert settings.otlp_traces.timeout_ms == 5000
    assert settings.otlp_traces.compression == "none"
    assert settings.otlp_logs.compression == "gzip"


def test_exporter_lists() -> None:
    settings = Settings.from_env(
        {"OTEL_TRACES_EXPORTER": "console, otlp", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "console"}
    )
    assert settings.traces_exporters == ("console", "otlp")
    assert settings.metrics_exporters == ()
    assert settings.logs_exporters == ("console",)


@pytest.mark.parametrize("variable", ["OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"])
def test_unknown_exporter_is_an_error_naming_variable_and_choices(variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({variable: "otlp,jaegerr"})
    message = str(info.value)
    assert variable in message
    assert "jaegerr" in message
    assert "otlp" in message and "console" in message and "none" in message


def test_none_mixed_with_an_exporter_is_an_error() -> None:
    with pytest.raises(ConfigError, match="OTEL_TRACES_EXPORTER"):
        Settings.from_env({"OTEL_TRACES_EXPORTER": "none,otlp"})


def test_unknown_protocol_warns_and_uses_the_default() -> None:
    with pytest.warns(ConfigWarning, match=r"OTEL_EXPORTER_OTLP_PROTOCOL.*grpc, http/protobuf"):
        settings = Settings.from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
    assert settings.otlp_traces.protocol == "grpc"


def test_non_numeric_interval_warns_and_uses_the_default() -> None:
    with pytest.warns(ConfigWarning, match="OTEL_METRIC_EXPORT_INTERVAL='soon'"):
        settings = Settings.from_env({"OTEL_METRIC_EXPORT_INTERVAL": "soon"})
    assert settings.metric_export_interval_ms == 60_000


def test_malformed_resource_attributes_are_discarded_whole_with_a_warning() -> None:
    with pytest.warns(ConfigWarning, match="OTEL_RESOURCE_ATTRIBUTES"):
        settings = Settings.from_env({"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,oops"})
    assert settings.resource_attributes == ()


def test_resource_attributes_are_percent_decoded_and_feed_the_service_name() -> None:
    settings = Settings.from_env(
        {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,team=quant%20desk,service.version=2.1"}
    )
    assert settings.service_name == "from-attrs"
    assert settings.service_version == "2.1"
    assert ("team", "quant desk") in settings.resource_attributes
    named = Settings.from_env({"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs", "OTEL_SERVICE_NAME": "svc"})
    assert named.service_name == "svc"


def test_strict_mode_turns_warnings_into_errors() -> None:
    with pytest.raises(ConfigError, match="OTEL_METRIC_EXPORT_INTERVAL"):
        Settings.from_env({"OTEL_BREAKOUT_STRICT_CONFIG": "true", "OTEL_METRIC_EXPORT_INTERVAL": "soon"})


def test_our_own_variables_are_strict() -> None:
    with pytest.raises(ConfigError, match=r"OTEL_BREAKOUT_METRIC_CARDINALITY_LIMIT='lots'.*integer"):
        Settings.from_env({"OTEL_BREAKOUT_METRIC_CARDINALITY_LIMIT": "lots"})
    with pytest.raises(ConfigError, match="OTEL_BREAKOUT_LOG_LEVEL"):
        Settings.from_env({"OTEL_BREAKOUT_LOG_LEVEL": "chatty"})


def test_empty_values_mean_unset() -> None:
    settings = Settings.from_env({"OTEL_TRACES_EXPORTER": "", "OTEL_SERVICE_NAME": "  "})
    assert settings.traces_exporters == ()
    assert settings.service_name == "breakout-bot"


def test_boolean_parsing_follows_the_specification() -> None:
    assert Settings.from_env({"OTEL_SDK_DISABLED": "TRUE"}).sdk_disabled is True
    assert Settings.from_env({"OTEL_SDK_DISABLED": "false"}).sdk_disabled is False
    with pytest.warns(ConfigWarning, match="OTEL_SDK_DISABLED"):
        assert Settings.from_env({"OTEL_SDK_DISABLED": "yes"}).sdk_disabled is False


def test_arguments_beat_the_environment() -> None:
    env = {
        "OTEL_SERVICE_NAME": "env-name",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4317",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://env-traces:4317",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
    }
    settings = Settings.from_env(
        env, service_name="arg-name", otlp_endpoint="http://arg:4317", otlp_protocol="grpc", traces_exporter=["otlp"]
    )
    assert settings.service_name == "arg-name"
    assert settings.otlp_traces.endpoint == "http://arg:4317"
    assert settings.otlp_traces.protocol == "grpc"
    assert settings.sources["OTEL_SERVICE_NAME"] == "configure(service_name=...)"


def test_bad_arguments_raise_even_where_the_environment_would_warn() -> None:
    with pytest.raises(ConfigError, match=r"configure\(otlp_protocol=\.\.\.\)"):
        Settings.from_env({}, otlp_protocol="carrier-pigeon")
    with pytest.raises(ConfigError, match="sampler_arg"):
        Settings.from_env({}, sampler="traceidratio", sampler_arg=1.5)
    with pytest.raises(TypeError, match="unknown settings argument"):
        Settings.from_env({}, servce_name="typo")


def test_sampler_and_ratio() -> None:
    settings = Settings.from_env({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"})
    assert (settings.sampler, settings.sampler_arg) == ("parentbased_traceidratio", 0.25)
    with pytest.warns(ConfigWarning, match="OTEL_TRACES_SAMPLER_ARG"):
        assert (
            Settings.from_env({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}).sampler_arg == 1
        )
    with pytest.warns(ConfigWarning, match="OTEL_TRACES_SAMPLER"):
        assert Settings.from_env({"OTEL_TRACES_SAMPLER": "jaeger_remote"}).sampler == "parentbased_always_on"


def test_batch_processor_settings() -> None:
    settings = Settings.from_env(
        {
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_BSP_MAX_QUEUE_SIZE": "64",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "32",
            "OTEL_BLRP_EXPORT_TIMEOUT": "700",
        }
    )
    assert (settings.bsp.schedule_delay_ms, settings.bsp.max_queue_size, settings.bsp.max_export_batch_size) == (
        100, 64, 32,
    )  # fmt: skip
    assert settings.blrp.export_timeout_ms == 700
    with pytest.warns(ConfigWarning, match="OTEL_BSP_MAX_EXPORT_BATCH_SIZE"):
        clamped = Settings.from_env({"OTEL_BSP_MAX_QUEUE_SIZE": "10", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "20"})
    assert clamped.bsp.max_export_batch_size == 10


def test_timeouts_below_100_ms_warn_about_units() -> None:
    with pytest.warns(ConfigWarning, match="milliseconds"):
        settings = Settings.from_env({"OTEL_EXPORTER_OTLP_TIMEOUT": "10"})
    assert settings.otlp_traces.timeout_ms == 10


def test_http_endpoint_must_be_a_url() -> None:
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        Settings.from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector"})


def test_malformed_header_pairs_are_skipped_without_echoing_secrets() -> None:
    with pytest.warns(ConfigWarning) as record:
        settings = Settings.from_env({"OTEL_EXPORTER_OTLP_HEADERS": "api-key=s3cret,bearer-s3cret"})
    assert settings.otlp_traces.headers == (("api-key", "s3cret"),)
    assert all("s3cret" not in str(w.message) for w in record)


def test_header_names_are_lower_cased_for_both_protocols() -> None:
    # gRPC refuses capitals in metadata keys ("Illegal header key" on every export); HTTP names are
    # case-insensitive, and the stock parser lower-cases them for both.
    for protocol in ("grpc", "http/protobuf"):
        settings = Settings.from_env(
            {
                "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
                "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20abc,X-Api=1",
            }
        )
        assert settings.otlp_logs.headers == (("authorization", "Bearer abc"), ("x-api", "1"))


def test_headers_a_transport_would_refuse_are_reported_by_variable_without_their_values() -> None:
    with pytest.warns(ConfigWarning) as record:
        settings = Settings.from_env(
            {"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "my%20key=s3cret,ok=1,token=caf%C3%A9s3cret,sig-bin=s3cret"}
        )
    assert settings.otlp_traces.headers == (("ok", "1"),)
    messages = [str(w.message) for w in record]
    assert all(m.startswith("OTEL_EXPORTER_OTLP_TRACES_HEADERS=") for m in messages), messages
    assert any("'my key'" in m for m in messages) and any("'sig-bin'" in m for m in messages)
    assert all("s3cret" not in m for m in messages)
    # HTTP takes a wider set of names, and values beyond ASCII (latin-1 on the wire).
    http = Settings.from_env(
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_HEADERS": "X-Tenant~1=caf%C3%A9"}
    )
    assert http.otlp_traces.headers == (("x-tenant~1", "café"),)
    with pytest.raises(ConfigError, match="otlp_headers"):
        Settings.from_env({}, otlp_headers={"bad key": "x"})


def test_masking_for_display() -> None:
    settings = Settings.from_env({"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20abc"})
    shown = settings.as_dict()
    assert shown["otlp_traces"]["headers"] == [("authorization", "***")]
    env = environment_variables({"OTEL_EXPORTER_OTLP_HEADERS": "authorization=abc,x=y", "PATH": "/bin"})
    assert env == {"OTEL_EXPORTER_OTLP_HEADERS": "authorization=***,x=***"}


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.service_name = "x"  # type: ignore[misc]  # proving immutability


def test_report_section() -> None:
    settings = Settings.from_env({})
    assert settings.report.workers == 0
    assert settings.report.trace_url_template.startswith("http://127.0.0.1:3001/explore?")
    assert "{trace_id}" in settings.report.trace_url_template
    custom = Settings.from_env(
        {
            "OTEL_BREAKOUT_TRACE_URL_TEMPLATE": "https://grafana.example/t/{trace_id}",
            "OTEL_BREAKOUT_REPORT_WORKERS": "3",
        }
    )
    assert custom.report.trace_url_template == "https://grafana.example/t/{trace_id}"
    assert custom.report.workers == 3
    assert custom.sources["OTEL_BREAKOUT_REPORT_WORKERS"] == "OTEL_BREAKOUT_REPORT_WORKERS"


def test_diagnostics_settings_from_the_environment() -> None:
    diagnostics = Settings.from_env(
        {
            "OTEL_BREAKOUT_DIAG_ENABLED": "false",
            "OTEL_BREAKOUT_DIAG_DIR": "/var/log/bot/diag",
            "OTEL_BREAKOUT_DIAG_SINKS": "jsonl, metrics",
            "OTEL_BREAKOUT_DIAG_QUEUE_SIZE": "1024",
            "OTEL_BREAKOUT_DIAG_FLUSH_INTERVAL": "1000",
            "OTEL_BREAKOUT_DIAG_MAX_FILE_BYTES": "1048576",
            "OTEL_BREAKOUT_DIAG_FSYNC": "true",
            "OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN": "0.05",
            "OTEL_BREAKOUT_DIAG_LOG_PASSES": "true",
            "OTEL_BREAKOUT_DIAG_SPAN_EVENTS": "0",
            "OTEL_BREAKOUT_DIAG_SECRET_KEYS": "account_pin, ^otp$",
            "OTEL_BREAKOUT_DIAG_MAX_STRING": "256",
        }
    ).diagnostics
    assert diagnostics == DiagnosticsSettings(
        enabled=False,
        output_dir="/var/log/bot/diag",
        sinks=("jsonl", "metrics"),
        queue_size=1024,
        flush_interval_ms=1000,
        max_file_bytes=1048576,
        fsync=True,
        near_miss_margin=0.05,
        log_passes=True,
        span_events_per_span=0,
        secret_keys=("account_pin", "^otp$"),
        max_string=256,
    )
    assert Settings.from_env({"OTEL_BREAKOUT_DIAG_SINKS": "none"}).diagnostics.sinks == ()
    assert Settings.from_env({}).diagnostics == DiagnosticsSettings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_BREAKOUT_TRACE_URL_TEMPLATE", "https://grafana.example/t/"),  # no {trace_id}
        ("OTEL_BREAKOUT_TRACE_URL_TEMPLATE", "javascript:alert(1)//{trace_id}"),
        ("OTEL_BREAKOUT_TRACE_URL_TEMPLATE", "http://x/{trace_id} y"),
        ("OTEL_BREAKOUT_REPORT_WORKERS", "-1"),
        ("OTEL_BREAKOUT_REPORT_WORKERS", "two"),
    ],
)
def test_report_variables_are_strict(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: value})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_BREAKOUT_DIAG_SINKS", "jsonl,kafka"),
        ("OTEL_BREAKOUT_DIAG_SINKS", "none,jsonl"),
        ("OTEL_BREAKOUT_DIAG_FLUSH_INTERVAL", "1500"),
        ("OTEL_BREAKOUT_DIAG_FLUSH_INTERVAL", "5"),
        ("OTEL_BREAKOUT_DIAG_QUEUE_SIZE", "8"),
        ("OTEL_BREAKOUT_DIAG_NEAR_MISS_MARGIN", "nan"),
        ("OTEL_BREAKOUT_DIAG_SPAN_EVENTS", "129"),
        ("OTEL_BREAKOUT_DIAG_SECRET_KEYS", "ok,(unclosed"),
        ("OTEL_BREAKOUT_DIAG_ENABLED", "maybe"),
    ],
)
def test_bad_diagnostics_values_name_their_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: value})
