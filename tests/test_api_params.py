from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from otel_breakout.api._params import ParameterError, float_param, int_param


def test_int_param() -> None:
    assert int_param(QueryParams(""), "limit", 10, 1, 100) == 10
    assert int_param(QueryParams("limit=+7"), "limit", 10, 1, 100) == 7
    assert int_param(QueryParams("limit= 100 "), "limit", 10, 1, 100) == 100
    for bad in ("limit=0", "limit=101", "limit=", "limit=1e2", "limit=0x10", "limit=٣", "limit=1&limit=1"):
        with pytest.raises(ParameterError) as caught:
            int_param(QueryParams(bad), "limit", 10, 1, 100)
        assert caught.value.parameter == "limit"


def test_float_param() -> None:
    assert float_param(QueryParams(""), "since", 0, 10) is None
    assert float_param(QueryParams("since=2.5"), "since", 0, 10) == 2.5
    assert float_param(QueryParams("since=1e1"), "since", 0, 10) == 10.0
    for bad in ("since=nan", "since=inf", "since=-0.1", "since=abc", "since=" + "1" * 33):
        with pytest.raises(ParameterError, match="since"):
            float_param(QueryParams(bad), "since", 0, 10)
