"""The demo behind ``otel-breakout demo``: a breakout engine on a simulated market; no public API of its own."""

__all__: list[str] = []
