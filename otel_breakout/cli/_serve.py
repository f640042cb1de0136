"""``otel-breakout serve``: the metrics API under uvicorn, in the foreground, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    from otel_breakout._setting import variable_of
    from otel_breakout._settings import ApiSettings
    from otel_breakout.cli._options import setting_help, setting_type

    host, port, token = (variable_of(ApiSettings, name) for name in ("host", "port", "token"))
    parser = subparsers.add_parser(
        "serve",
        help="serve the metrics API (/api/metrics, /api/metrics/health, ...) under uvicorn",
        description="Serve the metrics API of this process. Binds 127.0.0.1 unless told otherwise; "
        f"set {token.name} to require a bearer token on every route but /api/metrics and /api/metrics/health.",
    )
    parser.add_argument("--host", default=None, help=setting_help("address to bind", host))
    parser.add_argument("--port", type=setting_type(port), default=None, help=setting_help("port", port))
    parser.add_argument(
        "--engine-check",
        action="store_true",
        help="count a missing engine cycle against health (off: this process runs no engine of its own)",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from otel_breakout._telemetry import STOP_SHUTDOWN_MILLIS, configure
    from otel_breakout.api import ApiServer, create_app
    from otel_breakout.metrics import get_metrics_logger, get_resource_monitor

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    telemetry = configure()
    monitor = get_resource_monitor()
    monitor.start()
    try:
        app = create_app(
            telemetry, metrics_logger=get_metrics_logger(), resource_monitor=monitor, engine_check=args.engine_check
        )
        server = ApiServer(
            app,
            host=args.host,
            port=args.port,
            settings=telemetry.settings.api,
            log_level="info",
            access_log=args.access_log,
        )
        # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal at the handler it found. With the
        # default handler that kills the process before atexit could flush telemetry, so it finds a harmless one.
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
        try:
            server.serve_forever()
        except OSError as exc:
            print(f"otel-breakout serve: cannot listen on {server.url}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        monitor.stop()
        telemetry.shutdown(timeout_millis=STOP_SHUTDOWN_MILLIS)  # bounded whatever the collector does
    return 0
