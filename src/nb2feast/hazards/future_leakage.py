"""future_leakage (static part): a row's value is computed from rows after its event time.

In training the frame holds the future too, so `shift(-1)`, centered windows and back
fills quietly read it; at serving time the future does not exist yet. The time-travel
check of `verify` catches the cases no pattern can see.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from nb2feast.hazards._base import HazardVisitor

DESCRIPTION = "Negative shifts, centered windows, back fills, interpolation, forward as-of joins."

_NEGATIVE = m.UnaryOperation(operator=m.Minus()) | m.Integer(
    value=m.MatchIfTrue(lambda v: v.startswith("-"))
)
_TRUE = m.Name("True")
_BFILL = m.SimpleString(value=m.MatchIfTrue(lambda s: s.strip("'\"") in {"bfill", "backfill"}))
_LOOK_AHEAD = m.SimpleString(
    value=m.MatchIfTrue(lambda s: s.strip("'\"") in {"forward", "nearest"})
)
_FORWARD_FILL = m.SimpleString(value=m.MatchIfTrue(lambda s: s.strip("'\"") in {"pad", "ffill"}))
_PERIOD_METHODS = {"shift", "diff", "pct_change"}


class FutureLeakageVisitor(HazardVisitor):
    """NB2F301 negative shift, NB2F302 centered window, NB2F303 back fill,
    NB2F304 interpolation (warning), NB2F305 forward-looking as-of join."""

    CATEGORY = "future_leakage"
    TRIGGERS = frozenset(
        _PERIOD_METHODS | {"rolling", "bfill", "backfill", "fillna", "interpolate", "merge_asof"}
    )

    def visit_Call(self, call: cst.Call) -> None:
        if m.matches(call, m.Call(func=m.Attribute(attr=m.Name()))):
            self._method_call(call)
        self._as_of_join(call)

    def _method_call(self, call: cst.Call) -> None:
        method = call.func.attr.value
        if self.frame_root(call.func.value) is None:
            return
        periods = self.keyword(call, "periods") or self.positional(call, 0)
        if (
            method in _PERIOD_METHODS
            and periods is not None
            and m.matches(periods.value, _NEGATIVE)
        ):
            self.report(
                call.func.attr,
                "NB2F301",
                "error",
                f"`{self.code(call)}` looks {self.code(periods.value).lstrip('-')} row(s) ahead: "
                "each row "
                "reads a value from its future, which does not exist at prediction time",
                f"use a positive period (`.{method}(1)` reads the past), or make the future value "
                "the "
                "label, not a feature",
            )
        elif method == "rolling" and m.matches(
            getattr(self.keyword(call, "center"), "value", None), _TRUE
        ):
            self.report(
                call.func.attr,
                "NB2F302",
                "error",
                "a centered rolling window averages rows after the current one",
                "drop center=True: a trailing window (the default) only reads the past",
            )
        elif method in {"bfill", "backfill"} or (
            method == "fillna"
            and m.matches(getattr(self.keyword(call, "method"), "value", None), _BFILL)
        ):
            self.report(
                call.func.attr,
                "NB2F303",
                "error",
                f"`.{method}()` fills a missing value with a later row's value",
                "fill forward (`.ffill()`) or with a constant; never with later rows",
            )
        elif method == "interpolate" and not m.matches(
            getattr(self.keyword(call, "method"), "value", None), _FORWARD_FILL
        ):
            self.report(
                call.func.attr,
                "NB2F304",
                "warning",
                "`.interpolate()` fills a gap using the next known value, which lies in the row's "
                "future",
                "fill forward (`.ffill()` or interpolate(method='ffill')) or with a constant",
            )

    def _as_of_join(self, call: cst.Call) -> None:
        direction = self.keyword(call, "direction")
        if direction is None or not m.matches(direction.value, _LOOK_AHEAD):
            return
        if self.has_qualified(call.func, {"pandas.merge_asof"}):
            self.report(
                call,
                "NB2F305",
                "error",
                f"merge_asof(direction={self.code(direction.value)}) joins rows stamped after the "
                "event time",
                "use direction='backward' (the default): only values known at the event time",
            )
