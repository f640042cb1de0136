"""Just enough PromQL scanning for cross-checks: which metrics an expression selects, with which matchers.

Prometheus itself decides whether an expression is valid (the integration test sends every one to it);
this scanner only has to find selectors reliably in expressions that are valid, so the cross-checks can
compare metric and label names with the catalogue. It fails loudly on anything it cannot read rather
than skipping it, so a check built on it cannot pass by reading nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Matcher", "Selector", "grouping_labels", "selectors", "substitute"]

_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
# A number, or a duration such as 5m or 1h30m.
_NUMBER = re.compile(
    r"(?:0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?:ms|[smhdwy])?(?:[0-9]+(?:ms|[smhdwy]))*"
)
_QUOTED = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`"
_MATCHER = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(" + _QUOTED + r")\s*,?")
_GROUPING_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_KEYWORDS = frozenset({"bool", "offset", "and", "or", "unless", "atan2", "inf", "nan", "Inf", "NaN", "start", "end"})
_GRAFANA_VARIABLE = re.compile(r"\$(?:\{([a-zA-Z0-9_]+)(?::[a-z]+)?\}|([a-zA-Z0-9_]+))")


@dataclass(frozen=True, slots=True)
class Matcher:
    label: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class Selector:
    """One vector selector: ``metric{matchers}``; ``metric`` is None for a bare ``{__name__=~...}``."""

    metric: str | None
    matchers: tuple[Matcher, ...]

    def value_of(self, label: str) -> str | None:
        """The value of an equality matcher on ``label``, if there is one."""
        return next((m.value for m in self.matchers if m.label == label and m.op == "="), None)


def _unquote(text: str) -> str:
    if text[0] == "`":
        return text[1:-1]
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _skip_string(expr: str, i: int) -> int:
    quote = expr[i]
    i += 1
    while i < len(expr) and expr[i] != quote:
        i += 2 if expr[i] == "\\" and quote != "`" else 1
    if i >= len(expr):
        raise ValueError(f"unterminated string in {expr!r}")
    return i + 1


def _matchers(expr: str, start: int) -> tuple[tuple[Matcher, ...], int]:
    """Parse ``{...}`` starting at ``start`` (the brace); returns the matchers and the index after ``}``."""
    i = start + 1
    found: list[Matcher] = []
    while True:
        while i < len(expr) and expr[i].isspace():
            i += 1
        if i < len(expr) and expr[i] == "}":
            return tuple(found), i + 1
        match = _MATCHER.match(expr, i)
        if match is None:
            raise ValueError(f"cannot read the label matchers at {expr[i : i + 40]!r} in {expr!r}")
        found.append(Matcher(match.group(1), match.group(2), _unquote(match.group(3))))
        i = match.end()


def _scan(expr: str) -> tuple[list[Selector], set[str]]:
    if "$" in expr:
        raise ValueError(f"substitute the Grafana variables first: {expr!r}")
    selectors: list[Selector] = []
    grouping: set[str] = set()
    i = 0
    while i < len(expr):
        char = expr[i]
        if char.isspace() or char in "(),+-*/%^=!<>":
            i += 1
        elif char in "\"'`":
            i = _skip_string(expr, i)
        elif char == "#":  # a comment runs to the end of the line
            newline = expr.find("\n", i)
            i = len(expr) if newline < 0 else newline
        elif char == "[":
            close = expr.find("]", i)
            if close < 0:
                raise ValueError(f"unterminated range in {expr!r}")
            i = close + 1
        elif char == "{":
            matchers, i = _matchers(expr, i)
            selectors.append(Selector(None, matchers))
        elif char.isdigit() or (char == "." and i + 1 < len(expr) and expr[i + 1].isdigit()):
            number = _NUMBER.match(expr, i)
            assert number is not None
            i = number.end()
        elif ident := _IDENT.match(expr, i):
            name, i = ident.group(0), ident.end()
            j = i
            while j < len(expr) and expr[j].isspace():
                j += 1
            following = expr[j] if j < len(expr) else ""
            if name in _GROUPING_KEYWORDS:
                if following == "(":
                    close = expr.index(")", j)
                    grouping.update(label.strip() for label in expr[j + 1 : close].split(",") if label.strip())
                    i = close + 1
            elif name in _KEYWORDS or following == "(":
                continue  # a keyword, or a function or aggregation name
            elif name in _AGGREGATIONS and _next_word(expr, j) in ("by", "without"):
                continue  # sum by (...) (...)
            elif following == "{":
                matchers, i = _matchers(expr, j)
                selectors.append(Selector(name, matchers))
            else:
                selectors.append(Selector(name, ()))
        else:
            raise ValueError(f"unexpected {char!r} at {i} in {expr!r}")
    return selectors, grouping


def _next_word(expr: str, i: int) -> str:
    word = _IDENT.match(expr, i)
    return word.group(0) if word else ""


_AGGREGATIONS = frozenset(
    {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile"}
)


def selectors(expr: str) -> list[Selector]:
    """Every vector selector in ``expr``, in order."""
    return _scan(expr)[0]


def grouping_labels(expr: str) -> set[str]:
    """Label names in ``by``/``without``/``on``/``ignoring``/``group_left``/``group_right`` clauses."""
    return _scan(expr)[1]


def substitute(expr: str, values: dict[str, str]) -> str:
    """Replace Grafana variables (``$name``, ``${name}``, ``$__range``...) with concrete text.

    An unknown variable raises, so a dashboard that starts using a new one cannot slip past the checks.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no test value for the Grafana variable ${name} in {expr!r}")
        return values[name]

    return _GRAFANA_VARIABLE.sub(replace, expr)
