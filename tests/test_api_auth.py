from __future__ import annotations

from otel_breakout.api._auth import TokenCheck, route_path

TOKEN = "correct-horse-battery-staple"


def test_token_check() -> None:
    check = TokenCheck(TOKEN)
    assert check.configured
    assert check.accepts(f"Bearer {TOKEN}")
    assert check.accepts(f"bearer {TOKEN}  ")
    assert not check.accepts(None)
    assert not check.accepts("")
    assert not check.accepts(f"Bearer {TOKEN}x")
    assert not check.accepts(f"Bearer {TOKEN[:-1]}")
    assert not check.accepts(f"Token {TOKEN}")
    assert not check.accepts("Bearer ünïcødé")


def test_no_token_accepts_everything() -> None:
    check = TokenCheck(None)
    assert not check.configured and check.accepts(None)


def test_route_path_below_a_mount() -> None:
    assert route_path({"path": "/api/metrics"}) == "/api/metrics"
    assert route_path({"path": "/bot/api/metrics", "root_path": "/bot"}) == "/api/metrics"
    assert route_path({"path": "/bot", "root_path": "/bot"}) == "/"
    # A prefix that is not a whole segment is not the mount point.
    assert route_path({"path": "/botapi/metrics", "root_path": "/bot"}) == "/botapi/metrics"
