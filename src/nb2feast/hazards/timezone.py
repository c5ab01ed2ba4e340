"""timezone: naive timestamps meet time-zone-aware ones.

Feast stores event timestamps in UTC (aware). A naive literal compared with such a
column raises, or is read as local time in one place and UTC in another; dropping a
column's zone shifts every value by the offset of wherever the code runs.
"""

from __future__ import annotations

import re

import libcst as cst
import libcst.matchers as m

from nb2feast.hazards._base import HazardVisitor

DESCRIPTION = "Naive timestamp literals compared with columns; time zones dropped."

_ORDERING = (
    m.LessThan()
    | m.GreaterThan()
    | m.LessThanEqual()
    | m.GreaterThanEqual()
    | m.Equal()
    | m.NotEqual()
)
_AWARE_TEXT = re.compile(r"(?:Z|[+-]\d\d:?\d\d|\b[A-Za-z]+/[A-Za-z_]+|\bUTC)\s*$", re.IGNORECASE)
_PARSERS = frozenset({"pandas.Timestamp", "pandas.to_datetime"})
_TZ_KEYWORDS = m.Arg(keyword=m.Name("tz") | m.Name("tzinfo")) | m.Arg(
    keyword=m.Name("utc"), value=m.Name("True")
)
_NONE = m.Name("None")


class TimezoneVisitor(HazardVisitor):
    """NB2F501 naive literal compared with a column, NB2F502 time zone dropped."""

    CATEGORY = "timezone"
    # A naive literal is one of the parsers below, checked only inside a comparison or `.between`.
    TRIGGERS = frozenset(
        {"between", "tz_localize", "tz_convert", "datetime", "datetime64"}
        | {name.rpartition(".")[2] for name in _PARSERS}
    )

    def _naive_literal(self, expr: cst.BaseExpression) -> bool:
        if not isinstance(expr, cst.Call) or any(m.matches(a, _TZ_KEYWORDS) for a in expr.args):
            return False
        first = self.positional(expr, 0)
        if first is None:
            return False
        names = self.qualified(expr.func)
        if names & _PARSERS or "numpy.datetime64" in names:
            text = (
                first.value.evaluated_value if isinstance(first.value, cst.SimpleString) else None
            )
            if isinstance(text, str):
                return text.strip().lower() not in {"now", "today"} and not _AWARE_TEXT.search(
                    text.strip()
                )
            return bool(names & _PARSERS) and m.matches(first.value, m.Integer())
        if "datetime.datetime" in names:
            positional = [a for a in expr.args if a.keyword is None]
            return len(positional) < 8 and all(m.matches(a.value, m.Integer()) for a in positional)
        return False

    def _column(self, expr: cst.BaseExpression) -> bool:
        return not self._naive_literal(expr) and self.frame_root(expr) is not None

    def _report_naive(self, literal: cst.Call) -> None:
        self.report(
            literal,
            "NB2F501",
            "warning",
            f"naive timestamp `{self.code(literal)}` is compared with a column; Feast's event "
            "timestamps "
            "are UTC-aware, so the comparison raises or shifts by the local offset",
            'give the literal a zone: pd.Timestamp("2024-01-01", tz="UTC") or '
            "datetime(2024, 1, 1, tzinfo=timezone.utc)",
        )

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        for target in node.comparisons:
            right = target.comparator
            if m.matches(target.operator, _ORDERING):
                for literal, other in ((left, right), (right, left)):
                    if self._naive_literal(literal) and self._column(other):
                        self._report_naive(literal)
            left = right

    def visit_Call(self, call: cst.Call) -> None:
        if m.matches(call.func, m.Attribute(attr=m.Name("between"))):
            self._between(call)
        elif m.matches(call.func, m.Attribute(attr=m.Name("tz_localize") | m.Name("tz_convert"))):
            self._drop_zone(call)

    def _between(self, call: cst.Call) -> None:
        if self.frame_root(call.func.value) is None:
            return
        for arg in call.args[:2]:
            if self._naive_literal(arg.value):
                self._report_naive(arg.value)

    def _drop_zone(self, call: cst.Call) -> None:
        tz = self.keyword(call, "tz") or self.positional(call, 0)
        if (
            tz is not None
            and m.matches(tz.value, _NONE)
            and self.frame_root(call.func.value) is not None
        ):
            self.report(
                call.func.attr,
                "NB2F502",
                "warning",
                f"`.{call.func.attr.value}(None)` drops the time zone; the naive values no longer "
                "say "
                "which instant they are, and Feast reads them as UTC",
                'keep timestamps aware (UTC) end to end: use .tz_convert("UTC") instead',
            )
