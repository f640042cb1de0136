"""The metrics API: Prometheus exposition, JSON summaries and a health verdict for a running bot.

``create_app()`` builds the Starlette app; ``ApiServer`` runs it under uvicorn in a background thread
(or the foreground, for ``otel-breakout serve``).
"""

from otel_breakout.api._app import create_app
from otel_breakout.api._server import ApiServer
from otel_breakout.api._sources import MetricsSource, ResourceSource, SnapshotTaker

__all__ = ["ApiServer", "MetricsSource", "ResourceSource", "SnapshotTaker", "create_app"]
