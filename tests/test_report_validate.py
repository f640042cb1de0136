from __future__ import annotations

from otel_breakout.report._validate import classify_bad_line, fields_slow, is_trace_id, strings_ok


def test_classify_bad_line() -> None:
    assert classify_bad_line(b"  ", "unexpected end", False) is None
    assert classify_bad_line(b'{"a": 1', "unexpected end of data", True) == "truncated"
    assert classify_bad_line(b"[[[", "depth limit exceeded", False) == "too_deep"
    assert classify_bad_line(b'{"a": 1e999}', "number is infinity when parsed as double", False) == "nan_or_infinity"
    assert classify_bad_line(b'{"a": NaN}', "unexpected character", False) == "nan_or_infinity"
    assert classify_bad_line(b'{"a": "NaN", }', "trailing comma", False) == "not_json"


def test_fields_slow_applies_the_full_rules() -> None:
    base = {"v": 1, "ts": 1.0, "session_id": "S", "component": "scanner", "stage": "liquidity"}
    assert fields_slow(base) == (1, 1.0, "S", "scanner", "liquidity", None, None, None, None, None)
    assert fields_slow({**base, "v": 1.2})[0] == 1.2
    assert fields_slow({**base, "v": 3}) == "unknown_version"
    assert fields_slow({**base, "v": False}) == "wrong_type"
    assert fields_slow({**base, "passed": 1}) == "wrong_type"  # 1 == True, but it is not a bool
    assert fields_slow({**base, "payload": "x"}) == "wrong_type"
    assert fields_slow({"v": 1}) == "missing_field"
    assert fields_slow([base]) == "not_an_object"


def test_strings_ok_and_trace_ids() -> None:
    assert strings_ok(("S", "scanner", "liquidity", None, True, None, "f"))
    assert not strings_ok(("S", "scanner", 3, None, True, None, "f"))
    assert not strings_ok(("S", "scanner", "liquidity", 5, True, None, "f"))
    assert is_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
    assert not is_trace_id("0" * 32)
    assert not is_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736")
    assert not is_trace_id("4bf92f35")
