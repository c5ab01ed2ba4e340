"""partition: can a batch transform run per entity key, as `groupBy(entity).applyInPandas`?

Decided statically over the cell (and the notebook helpers it calls) with LibCST: row-wise
maps, filters, and windows, cumulative ops and statistics under `groupby(<entity keys>)`
are partitionable; a statistic over the whole frame, a merge not keyed on the entity,
positional or global-order operations are not. Conservative: a refusal names the line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, PositionProvider

from nb2feast.errors import UserError
from nb2feast.model import CellRef

if TYPE_CHECKING:
    from nb2feast.notebook.extract import ViewSpec

# Methods whose value depends on other rows: fine per entity, wrong over the whole frame.
CROSS_ROW = frozenset(
    """mean std var sem sum prod min max median quantile mode rank count size nunique unique
    value_counts describe corr cov skew kurt idxmin idxmax agg aggregate transform cumsum
    cumprod cummin cummax cumcount shift diff pct_change rolling expanding ewm resample ffill
    bfill pad backfill interpolate head tail nlargest nsmallest first last nth sample""".split()
)
# Window objects stay grouped: `groupby(k)[c].rolling(w).sum()` is per key.
STAYS_GROUPED = frozenset({"rolling", "expanding", "ewm", "resample"})
KEYED = frozenset({"merge", "join", "merge_asof", "drop_duplicates", "duplicated"})
WHOLE_FRAME_FUNCTIONS = frozenset(
    """qcut rank percentile nanpercentile quantile argsort sort mean std var median nanmean
    nanstd cumsum average histogram""".split()
)


@dataclass(frozen=True)
class Refusal:
    """Why a transform cannot run per entity partition, and where."""

    reason: str
    where: CellRef
    line: int
    col: int


def _strings(node: cst.BaseExpression | None) -> set[str] | None:
    """The string literals of `"k"` or `["a", "b"]`; None when not literal."""
    if isinstance(node, cst.SimpleString):
        return {node.evaluated_value}
    if isinstance(node, (cst.List, cst.Tuple)):
        values = [_strings(e.value) for e in node.elements]
        if all(v is not None and len(v) == 1 for v in values):
            return set().union(*values)
    return None


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    return next((a.value for a in call.args if a.keyword and a.keyword.value == name), None)


def _row_wise_axis(call: cst.Call) -> bool:
    axis = _keyword(call, "axis")
    return m.matches(
        axis, m.Integer("1") | m.SimpleString('"columns"') | m.SimpleString("'columns'")
    )


class _Finder(m.MatcherDecoratableVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, entities: Sequence[str], grouped: set[str]) -> None:
        super().__init__()
        self.entities = set(entities)
        self.grouped = grouped  # names bound to a groupby(entity) object
        self.found: list[tuple[str, cst.CSTNode]] = []

    def _grouping(self, receiver: cst.BaseExpression) -> cst.Call | str | None:
        """The `groupby(...)` call (or grouped name) `receiver` is a view of, if any."""
        node = receiver
        while True:
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                method = node.func.attr.value
                if method == "groupby":
                    return node
                if method not in STAYS_GROUPED:
                    return None
                node = node.func.value
            elif isinstance(node, (cst.Subscript, cst.Attribute)):
                node = node.value
            elif isinstance(node, cst.Name):
                return node.value if node.value in self.grouped else None
            else:
                return None

    def covers(self, groupby: cst.Call | str) -> bool:
        if isinstance(groupby, str):
            return True
        by = groupby.args[0].value if groupby.args and not groupby.args[0].keyword else None
        keys = _strings(by if by is not None else _keyword(groupby, "by"))
        return keys is not None and self.entities <= keys

    def visit_Assign(self, node: cst.Assign) -> None:
        grouping = self._grouping(node.value)
        if grouping is not None and self.covers(grouping):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.grouped.add(target.target.value)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        receiver = func.value
        if m.matches(receiver, m.Name("pd") | m.Name("np") | m.Name("numpy") | m.Name("pandas")):
            if method in WHOLE_FRAME_FUNCTIONS and not _row_wise_axis(node):
                self.found.append(
                    (f"`{receiver.value}.{method}(...)` is computed over every row", node)
                )
            elif method in KEYED:
                self._keyed(method, node)
            return
        if method in KEYED:
            self._keyed(method, node)
        elif method in CROSS_ROW and not _row_wise_axis(node):
            grouping = self._grouping(receiver)
            if grouping is None:
                self.found.append(
                    (f"`.{method}()` runs over the whole frame, not per {self._keys()}", node)
                )
            elif not self.covers(grouping):
                self.found.append(
                    (f"`.{method}()` is grouped by other keys than {self._keys()}", node)
                )
        elif (
            method == "apply"
            and not _row_wise_axis(node)
            and self._grouping(receiver) is None
            and not isinstance(receiver, cst.Subscript)
        ):
            self.found.append(("`.apply()` over whole columns (use axis=1 or a column)", node))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in {"iloc", "iat"} and self._grouping(node.value) is None:
            self.found.append(
                (f"`.{node.attr.value}[...]` selects by position in the whole frame", node)
            )

    def _keyed(self, method: str, call: cst.Call) -> None:
        if method in {"drop_duplicates", "duplicated"}:
            first = call.args[0].value if call.args and not call.args[0].keyword else None
            keys = _strings(first if first is not None else _keyword(call, "subset"))
            if keys is None or not self.entities <= keys:
                self.found.append((f"`.{method}()` is not keyed on {self._keys()}", call))
            return
        names = ("by",) if method == "merge_asof" else ("on", "left_on", "right_on")
        keyed = [_strings(_keyword(call, n)) for n in names if _keyword(call, n) is not None]
        if not keyed or not all(k is not None and self.entities <= k for k in keyed):
            self.found.append(
                (f"`{method}` with another frame is not keyed on {self._keys()}", call)
            )

    def _keys(self) -> str:
        return "the entity key " + ", ".join(sorted(self.entities))


def _refusals_in(
    statements: Sequence, entities: Sequence[str], grouped: set[str]
) -> Iterator[Refusal]:
    for statement in statements:
        wrapper = MetadataWrapper(cst.Module(body=[statement.node]))
        finder = _Finder(entities, grouped)
        wrapper.visit(finder)
        positions = wrapper.resolve(PositionProvider)
        for reason, node in finder.found:
            start = positions[node].start
            yield Refusal(reason, statement.cell, statement.line + start.line - 1, start.column + 1)


def partition_refusals(view: ViewSpec) -> list[Refusal]:
    """Every reason the batch view `view` cannot run as `groupBy(entity).applyInPandas`."""
    entities = view.flags.entities
    refusals: list[Refusal] = []
    if len(view.inputs) != 1:
        first = view.body[0] if view.body else None
        refusals.append(
            Refusal(
                f"the cell reads {len(view.inputs)} frames ({', '.join(view.inputs) or 'none'}); "
                "the spark engine partitions one input frame by the entity key",
                view.cell.ref,
                first.line if first else 1,
                1,
            )
        )
    grouped: set[str] = set()
    called = set().union(*(s.calls for s in view.body)) if view.body else set()
    helpers = [
        s
        for s in view.support
        if isinstance(s.node, cst.FunctionDef) and s.node.name.value in called
    ]
    refusals.extend(_refusals_in(helpers, entities, set()))
    refusals.extend(_refusals_in(view.body, entities, grouped))
    return refusals


def require_partitionable(view: ViewSpec) -> None:
    """Refuse (exit 2) a batch view the spark engine cannot run per entity, saying why."""
    refusals = partition_refusals(view)
    if refusals:
        first = refusals[0]
        raise UserError(
            f"view {view.name!r} cannot run on the spark target: {first.reason}",
            where=first.where,
            line=first.line,
            col=first.col,
            fix="make every step per entity (groupby the entity key, row-wise maps, filters),"
            " or export for another target",
        )
