from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections import OrderedDict
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

import orjson
import pytest

from otel_breakout.diagnostics import REDACTED
from otel_breakout.diagnostics._coerce import Sanitizer, coerce_passed, field_text


class Side(enum.Enum):
    BUY = "buy"


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __str__(self) -> str:
        raise RuntimeError("no str")


class Hostile:
    def __repr__(self) -> str:
        return "<Hostile>"


def clean(data: dict[Any, Any], **kwargs: Any) -> dict[str, Any]:
    result = Sanitizer(**kwargs).payload(data)
    orjson.dumps(result)  # always serialisable, never raises
    return result


def test_a_clean_payload_is_returned_as_is() -> None:
    sanitizer = Sanitizer()
    data = {"filter": "min_volume", "value": 1.5, "threshold": 2, "direction": "min", "ok": True, "none": None}
    sanitizer.payload(data)  # learns the keys
    assert sanitizer.payload(data) is data


def test_non_finite_numbers_become_null_with_a_marker() -> None:
    out = clean({"a": float("nan"), "b": float("inf"), "c": float("-inf"), "d": Decimal("NaN"), "e": Decimal("-Inf")})
    assert out == {
        "a": None,
        "a__coerced": "nan",
        "b": None,
        "b__coerced": "inf",
        "c": None,
        "c__coerced": "-inf",
        "d": None,
        "d__coerced": "nan",
        "e": None,
        "e__coerced": "-inf",
    }
    assert clean({"xs": [1.0, float("nan"), float("inf")]}) == {"xs": [1.0, "nan", "inf"]}


def test_lossless_conversions_are_silent() -> None:
    when = dt.datetime(2025, 8, 19, 21, 40, tzinfo=dt.timezone.utc)
    ident = uuid.UUID(int=1)
    out = clean(
        {
            "price": Decimal("101.25"),
            "when": when,
            "day": dt.date(2025, 8, 19),
            "wait": dt.timedelta(seconds=90),
            "side": Side.BUY,
            "pair": ("BTC", "USDT"),
            "tags": {"b", "a"},
            "frozen": frozenset({2, 1}),
            "path": PurePosixPath("/tmp/x"),
            "id": ident,
            "ordered": OrderedDict(k=1),
        }
    )
    assert out == {
        "price": 101.25,
        "when": "2025-08-19T21:40:00+00:00",
        "day": "2025-08-19",
        "wait": 90.0,
        "side": "buy",
        "pair": ["BTC", "USDT"],
        "tags": ["a", "b"],
        "frozen": [1, 2],
        "path": "/tmp/x",
        "id": str(ident),
        "ordered": {"k": 1},
    }


def test_lossy_conversions_are_marked() -> None:
    cycle: list[Any] = [1]
    cycle.append(cycle)
    looped: dict[str, Any] = {}
    looped["self"] = looped
    deep: Any = "bottom"
    for _ in range(12):
        deep = [deep]
    out = clean(
        {
            "raw": b"\xffab",
            "obj": Hostile(),
            "bad": Unprintable(),
            "big": 10**30,
            "cycle": cycle,
            "looped": looped,
            "deep": deep,
            "long": "x" * 5000,
            "many": list(range(300)),
        }
    )
    assert out["raw"] == "\\xffab" and out["raw__coerced"] == "bytes"
    assert out["obj"] == "<Hostile>" and out["obj__coerced"] == "object"
    assert out["bad"] == "<unreprable Unprintable>" and out["bad__coerced"] == "object"
    assert out["big"] == str(10**30) and out["big__coerced"] == "bigint"
    assert out["cycle"] == [1, "<cycle>"]
    assert out["looped"] == {"self": "<cycle>", "self__coerced": "cycle"}
    assert "<depth>" in orjson.dumps(out["deep"]).decode()
    assert out["long"] == "x" * 4096 + "…[truncated 904 chars]" and out["long__coerced"] == "truncated"
    assert out["many"] == list(range(256)) and out["many__coerced"] == "truncated"


def test_non_string_keys_are_stringified_and_huge_mappings_cut() -> None:
    out = clean({1: "a", ("x", 2): "b", Unprintable(): "c"})
    assert out == {"1": "a", "('x', 2)": "b", "<unprintable Unprintable>": "c"}
    wide = clean({f"k{i}": i for i in range(300)})
    assert len(wide) == 257 and wide["__truncated_keys"] == 44


@pytest.mark.parametrize(
    "key", ["api_key", "API-KEY", "apiKey", "secret", "client_secret", "password", "passwd", "passphrase",
            "access_token", "Authorization", "private_key", "cookie", "session", "credentials", "signature"],
)  # fmt: skip
def test_secret_keys_are_redacted_at_any_depth(key: str) -> None:
    out = clean({key: "s3cr3t", "nested": {key: "s3cr3t"}, "list": [{key: "s3cr3t"}]})
    assert out == {key: REDACTED, "nested": {key: REDACTED}, "list": [{key: REDACTED}]}


def test_credentials_are_redacted_whatever_their_key() -> None:
    out = clean({"note": "Bearer abc.def.ghi", "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIE", "fine": "Bearer"})
    assert out == {"note": REDACTED, "pem": REDACTED, "fine": "Bearer"}


def test_extra_secret_patterns_come_from_settings() -> None:
    assert clean({"account_pin": "1234"}, extra_secret_keys=["_pin$"]) == {"account_pin": REDACTED}
    assert clean({"account_pin": "1234"}) == {"account_pin": "1234"}


def test_numpy_scalars_and_arrays() -> None:
    np = pytest.importorskip("numpy")
    out = clean({"f": np.float64(1.5), "i": np.int64(3), "b": np.bool_(True), "nan": np.float32("nan"),
                 "arr": np.arange(3)})  # fmt: skip
    assert out == {"f": 1.5, "i": 3, "b": True, "nan": None, "nan__coerced": "nan", "arr": [0, 1, 2]}


def test_flatten_gives_otel_primitives() -> None:
    sanitizer = Sanitizer()
    payload = sanitizer.payload({"a": 1, "n": {"b": "x", "c": None}, "xs": [1, 2], "mixed": [1, "a"], "e": []})
    attributes: dict[str, Any] = {}
    sanitizer.flatten(payload, "p.", attributes)
    assert attributes == {"p.a": 1, "p.n.b": "x", "p.xs": (1, 2), "p.mixed": '[1,"a"]', "p.e": "[]"}


def test_fields_and_passed() -> None:
    assert field_text("BTCUSDT") == "BTCUSDT"
    assert field_text(None) is None
    assert field_text(42) == "42"
    assert field_text(Unprintable()) == "<unprintable Unprintable>"
    assert field_text("s" * 300) == "s" * 256 + "…"
    assert coerce_passed(True) is True
    assert coerce_passed(0) is False
    assert coerce_passed("yes") is None
