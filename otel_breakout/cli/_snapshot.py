"""``otel-breakout snapshot``: ask a running bot's API for a memory snapshot and save it as JSON."""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["register"]

_ROUTE = "/api/metrics/snapshot"
_MAX_BODY = 64 * 1024 * 1024


def register(subparsers: Any) -> None:
    from otel_breakout._setting import variable_of
    from otel_breakout._settings import ApiSettings

    token = variable_of(ApiSettings, "token").name
    parser = subparsers.add_parser(
        "snapshot",
        help="ask a running bot for a memory snapshot and save it",
        description="POST /api/metrics/snapshot on a running bot and write the JSON it returns. The API refuses "
        f"snapshots unless it has a token; pass the same one with --token or {token}.",
    )
    parser.add_argument("--url", required=True, help="the bot's API, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", default=None, help=f"API token (default: {token})")
    parser.add_argument(
        "-o", "--output", default=None, help="file to write (default: memory_snapshot_<YYYYmmdd_HHMMSS>.json)"
    )
    parser.add_argument("--top", type=int, default=None, help="how many top allocation sites to include")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the bot (default 60)")
    parser.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    parser.set_defaults(func=run)


def _endpoint(url: str, top: int | None) -> str:
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"--url must start with http:// or https://, not {url!r}")
    if not base.endswith(_ROUTE):
        base += _ROUTE
    return base if top is None else f"{base}?top={top}"


def _fail(message: str) -> int:
    print(f"otel-breakout snapshot: {message}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    from otel_breakout._settings import Settings

    token = args.token if args.token is not None else Settings.from_env().api.token
    try:
        endpoint = _endpoint(args.url, args.top)
    except ValueError as exc:
        return _fail(str(exc))
    output = Path(args.output or time.strftime("memory_snapshot_%Y%m%d_%H%M%S.json"))
    if output.exists() and not args.force:
        return _fail(f"{output} exists; choose another -o or pass --force")
    request = urllib.request.Request(endpoint, method="POST", data=b"", headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            body = response.read(_MAX_BODY + 1)
    except urllib.error.HTTPError as exc:
        detail = _detail(exc.read(4096))
        return _fail(f"{endpoint} answered {exc.code}: {detail}")
    except (urllib.error.URLError, OSError) as exc:
        return _fail(f"cannot reach {endpoint}: {getattr(exc, 'reason', exc)}")
    if len(body) > _MAX_BODY:
        return _fail(f"the snapshot is larger than {_MAX_BODY} bytes; refusing to save it")
    try:
        snapshot = json.loads(body)
    except ValueError:
        return _fail("the bot's answer is not JSON")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(snapshot, indent=2) + "\n")
    print(output)
    return 0


def _detail(body: bytes) -> str:
    try:
        return str(json.loads(body).get("detail", "")) or body.decode(errors="replace")
    except (ValueError, AttributeError):
        return body.decode(errors="replace")[:200]
