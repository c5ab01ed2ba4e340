"""cross_row: an on-demand transform computes a statistic over the whole input frame.

In the notebook the frame holds every training row; at serving time it holds one
request, so `df["x"].mean()`, `rank()`, `shift()`, `groupby()`... return other values.
Batch cells are not checked: whole-frame operations are how batch features are built.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import libcst as cst
import libcst.matchers as m

from nb2feast.hazards._base import ROW_WISE_AXIS, CellContext, HazardVisitor
from nb2feast.hazards._notebook import NotebookView
from nb2feast.hazards.freeze import as_reduction, base_const_name
from nb2feast.model import FeatureCell

DESCRIPTION = "Whole-frame statistics, windows and groupings inside on-demand views."

REDUCTIONS = frozenset(
    {"mean", "std", "var", "median", "quantile", "min", "max", "sum", "count", "nunique"}
    | {"prod", "sem", "skew", "kurt", "mode", "idxmin", "idxmax"}
)
WINDOWS = frozenset(
    {"rank", "shift", "diff", "pct_change", "cumsum", "cumprod", "cummax", "cummin", "cumcount"}
    | {"rolling", "expanding", "ewm"}
)
REGROUPS = frozenset(
    {"groupby", "value_counts", "transform", "sort_values", "drop_duplicates", "resample"}
)
_AXIS_FIRST = (REDUCTIONS - {"quantile"}) | {"rank", "cumsum", "cumprod", "cummax", "cummin"}
_ACCESSORS = m.Attribute(
    attr=m.Name("str") | m.Name("dt") | m.Name("cat") | m.Name("list") | m.Name("struct")
)
_NUMPY_REDUCTIONS = frozenset(
    f"numpy.{f}"
    for f in (
        "mean",
        "std",
        "var",
        "median",
        "quantile",
        "percentile",
        "min",
        "max",
        "amin",
        "amax",
        "sum",
    )
    + (
        "nanmean",
        "nanstd",
        "nanvar",
        "nanmedian",
        "nanquantile",
        "nanpercentile",
        "nanmin",
        "nanmax",
        "nansum",
    )
)
_METHOD_CALL = m.Call(func=m.Attribute(attr=m.Name()))
_CUT = frozenset({"pandas.qcut", "pandas.cut"})
_GROUP_STATS = m.SimpleString() | m.Lambda()
_INPUT = "and read the result as an input of this view"
_NOT_FROZEN = f"compute it in a batch feature view (per entity, over its history) {_INPUT}"
_ONE_ROW = "at serving time the frame is one request row, so the value differs"


class CrossRowVisitor(HazardVisitor):
    """Reports the first whole-frame operation of each method chain (NB2F101-NB2F104)."""

    CATEGORY = "cross_row"

    def __init__(self, ctx: CellContext) -> None:
        super().__init__(ctx)
        self.flagged: set[int] = set()

    TRIGGERS = (
        REDUCTIONS
        | WINDOWS
        | REGROUPS
        | {name.rpartition(".")[2] for name in _CUT | _NUMPY_REDUCTIONS}
    )

    @classmethod
    def applies(
        cls, feature_cell: FeatureCell, notebook: NotebookView, names: AbstractSet[str]
    ) -> bool:
        return feature_cell.flags.on_demand and super().applies(feature_cell, notebook, names)

    def _row_wise(self, call: cst.Call, method: str) -> bool:
        axis = self.keyword(call, "axis") or (
            self.positional(call, 0) if method in _AXIS_FIRST else None
        )
        return axis is not None and m.matches(axis.value, ROW_WISE_AXIS)

    def _in_flagged_chain(self, expr: cst.BaseExpression) -> bool:
        while isinstance(expr, (cst.Attribute, cst.Subscript, cst.Call)):
            if id(expr) in self.flagged:
                return True
            expr = expr.func if isinstance(expr, cst.Call) else expr.value
        return False

    def leave_Call(self, original_node: cst.Call) -> None:
        if m.matches(original_node, _METHOD_CALL):
            self._method_call(original_node)
        self._function_call(original_node)

    def _method_call(self, call: cst.Call) -> None:
        method, receiver = call.func.attr.value, call.func.value
        if method not in REDUCTIONS | WINDOWS | REGROUPS or m.matches(receiver, _ACCESSORS):
            return
        if (
            self._in_flagged_chain(receiver)
            or self.frame_root(receiver) is None
            or self._row_wise(call, method)
        ):
            return
        if method == "count" and self.positional(call, 0) is not None:
            return  # str.count / list.count, not a pandas reduction
        if method == "transform" and not m.matches(
            getattr(self.positional(call, 0), "value", None), _GROUP_STATS
        ):
            return  # transform(np.log) is element-wise
        self.flagged.add(id(call))
        if method in REDUCTIONS:
            self._report_statistic(call, f"`.{method}()`")
        elif method in WINDOWS:
            what = "depends on the other rows of the frame and their order"
            fix = (
                f"compute `{method}` in a batch feature view keyed by entity and timestamp, "
                f"{_INPUT}"
            )
            self._error(call.func.attr, "NB2F102", f"`.{method}()`", what, fix)
        else:
            fix = f"move it into a batch feature view keyed by the group column, {_INPUT}"
            self._error(
                call.func.attr, "NB2F103", f"`.{method}()`", "groups, counts or reorders rows", fix
            )

    def _error(self, node: cst.CSTNode, code: str, subject: str, what: str, fix: str) -> None:
        message = f"{subject} in on-demand view '{self.flags.name}' {what}; {_ONE_ROW}"
        self.report(node, code, "error", message, fix)

    def _report_statistic(self, call: cst.Call, subject: str) -> None:
        what = "is a statistic over the whole input frame"
        reduction = as_reduction(call)
        fix = _NOT_FROZEN
        if reduction is not None:
            fix = (
                f"freeze with --freeze: `{self.code(call)}` is computed once on the notebook data "
                f"and inlined as the constant {base_const_name(reduction)}; or {_NOT_FROZEN}"
            )
        node = call.func.attr if m.matches(call, _METHOD_CALL) else call
        self._error(node, "NB2F101", subject, what, fix)

    def _function_call(self, call: cst.Call) -> None:
        first = self.positional(call, 0)
        if first is None or self.frame_root(first.value) is None:
            return
        subject = f"`{self.code(call.func)}`"
        if self.has_qualified(call.func, _CUT) and not (
            self.has_qualified(call.func, {"pandas.cut"}) and self._explicit_bins(call)
        ):
            what = "derives its bin edges from the whole frame"
            fix = "compute the edges on the notebook data and pass them: pd.cut(x, bins=[...])"
            self._error(call, "NB2F104", subject, what, fix)
        elif self.has_qualified(call.func, _NUMPY_REDUCTIONS):
            axis = self.keyword(call, "axis") or self.positional(call, 1)
            if axis is None or not m.matches(axis.value, ROW_WISE_AXIS):
                self._report_statistic(call, subject)

    def _explicit_bins(self, call: cst.Call) -> bool:
        bins = self.keyword(call, "bins") or self.positional(call, 1)
        return bins is not None and not m.matches(bins.value, m.Integer())
