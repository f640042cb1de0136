"""Content negotiation for ``/api/metrics``: OpenMetrics when the client prefers it, gzip when accepted.

Prometheus 2.x sends ``Accept: application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5,
*/*;q=0.1``: it prefers OpenMetrics, so it gets OpenMetrics. A client naming neither gets the text format.
"""

from __future__ import annotations

__all__ = ["OPENMETRICS_CONTENT_TYPE", "TEXT_CONTENT_TYPE", "accepts_gzip", "wants_openmetrics"]

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
_OPENMETRICS_VERSIONS = (None, "1.0.0", "0.0.1")
_TEXT_VERSIONS = (None, "0.0.4")
# Headers longer than this are not worth parsing: answer with the default instead.
_MAX_HEADER = 4096


def _entries(header: str) -> list[tuple[str, dict[str, str], float]]:
    """(lower-cased value, parameters, q) for each comma-separated entry; malformed q drops the entry."""
    found: list[tuple[str, dict[str, str], float]] = []
    for item in header[:_MAX_HEADER].split(","):
        value, *raw_params = item.split(";")
        params: dict[str, str] = {}
        for raw in raw_params:
            key, _, val = raw.partition("=")
            params[key.strip().lower()] = val.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            continue
        if not 0.0 <= q <= 1.0:  # also rejects NaN
            continue
        found.append((value.strip().lower(), params, q))
    return found


def wants_openmetrics(accept: str | None) -> bool:
    if not accept or "openmetrics" not in accept.lower():
        return False
    openmetrics = text = 0.0
    for media, params, q in _entries(accept):
        version = params.get("version")
        if media == "application/openmetrics-text" and version in _OPENMETRICS_VERSIONS:
            openmetrics = max(openmetrics, q)
        elif (media == "text/plain" and version in _TEXT_VERSIONS) or media in ("text/*", "*/*"):
            text = max(text, q)
    # A tie goes to OpenMetrics: the client named it explicitly.
    return openmetrics > 0.0 and openmetrics >= text


def accepts_gzip(accept_encoding: str | None) -> bool:
    if not accept_encoding:
        return False
    gzip_q: float | None = None
    star_q: float | None = None
    for coding, _, q in _entries(accept_encoding):
        if coding == "gzip":
            gzip_q = q
        elif coding == "*":
            star_q = q
    if gzip_q is not None:
        return gzip_q > 0.0
    return star_q is not None and star_q > 0.0
