"""timezone across the slice: a column whose zone was dropped meets another clock.

`enc["start"] = enc["start"].dt.tz_localize(None)` in a loading cell makes UTC times
naive; a feature cell that `merge_asof`-joins them with naive local readings matches
rows hours apart, and no single cell shows both. This follows frames through the slice
a view runs (assignments, copies, merges) and reports the join where a column that lost
its zone is the key of one side only (NB2F503, an error: the values matched are hours
apart), pointing back at where the zone was dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, PositionProvider

from nb2feast.model import CellRef, FeatureCell, Hazard

if TYPE_CHECKING:
    from nb2feast.notebook.analyze import Statement

DESCRIPTION = "As-of joins on a column whose time zone an earlier statement dropped."

_DROP = m.Call(
    func=m.Attribute(attr=m.Name("tz_localize") | m.Name("tz_convert")),
    args=[m.Arg(value=m.Name("None"), keyword=m.DoNotCare()), m.ZeroOrMore()],
)
_JOINS = {"merge_asof", "merge"}


@dataclass(frozen=True)
class _Unit:
    """One top-level statement with the cell and cell line of its first line."""

    ref: CellRef
    line: int
    node: cst.BaseStatement


@dataclass(frozen=True)
class _Dropped:
    ref: CellRef
    line: int
    column: str


def _units(feature_cell: FeatureCell, slice_statements: Sequence[Statement]) -> Iterator[_Unit]:
    for stmt in sorted(slice_statements, key=lambda s: s.order):
        yield _Unit(stmt.cell, stmt.line, stmt.node)
    try:
        body = cst.parse_module(feature_cell.body)
    except cst.ParserSyntaxError:
        return
    wrapper = MetadataWrapper(body, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    for stmt in body.body:
        yield _Unit(feature_cell.ref, positions[stmt].start.line + 1, stmt)


def _root(expr: cst.BaseExpression) -> str | None:
    while isinstance(expr, (cst.Attribute, cst.Subscript, cst.Call)):
        expr = expr.func if isinstance(expr, cst.Call) else expr.value
    return expr.value if isinstance(expr, cst.Name) else None


def _roots(expr: cst.CSTNode) -> set[str]:
    return {n.value for n in m.findall(expr, m.Name())}


def _strings(node: cst.CSTNode | None) -> set[str]:
    if node is None:
        return set()
    return {
        s.evaluated_value
        for s in m.findall(node, m.SimpleString())
        if isinstance(s.evaluated_value, str)
    }


def _dropped_columns(expr: cst.CSTNode) -> set[str]:
    """Columns `expr` strips of their zone: `df["c"].dt.tz_localize(None)` -> {"c"}."""
    found = set()
    for call in m.findall(expr, _DROP):
        for sub in m.findall(call.func, m.Subscript()):
            found |= _strings(sub.slice[0]) if sub.slice else set()
    return found


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    return next((a.value for a in call.args if a.keyword and a.keyword.value == name), None)


def clock_flow_hazards(
    feature_cell: FeatureCell, slice_statements: Sequence[Statement]
) -> list[Hazard]:
    """NB2F503 for each join in the view's slice or cell on a column that lost its zone."""
    if "tz_" not in feature_cell.body and not any("tz_" in s.code for s in slice_statements):
        return []
    units = list(_units(feature_cell, slice_statements))
    dropped: dict[str, dict[str, _Dropped]] = {}  # frame variable -> column -> where
    found: list[Hazard] = []
    for unit in units:
        for call in m.findall(unit.node, m.Call()):
            found += _join(unit, call, dropped, feature_cell)
        for assign in m.findall(unit.node, m.Assign()):
            _track(unit, assign, dropped)
    return found


def _track(unit: _Unit, assign: cst.Assign, dropped: dict[str, dict[str, _Dropped]]) -> None:
    inherited: dict[str, _Dropped] = {}
    for name in _roots(assign.value):
        inherited.update(dropped.get(name, {}))
    made = {c: _Dropped(unit.ref, unit.line, c) for c in _dropped_columns(assign.value)}
    for arg in m.findall(assign.value, m.Arg(keyword=m.Name())):
        if m.findall(arg.value, _DROP):
            made[arg.keyword.value] = _Dropped(unit.ref, unit.line, arg.keyword.value)
    for target in assign.targets:
        expr = target.target
        if isinstance(expr, cst.Name):
            dropped[expr.value] = {**inherited, **made}
        elif isinstance(expr, cst.Subscript) and (root := _root(expr)) is not None:
            columns = _strings(expr.slice[0]) if expr.slice else set()
            if m.findall(assign.value, _DROP):
                dropped.setdefault(root, {}).update(
                    {c: _Dropped(unit.ref, unit.line, c) for c in columns}
                )
            else:
                for column in columns:
                    dropped.get(root, {}).pop(column, None)


def _join(
    unit: _Unit, call: cst.Call, dropped: dict[str, dict[str, _Dropped]], cell: FeatureCell
) -> list[Hazard]:
    name = call.func.attr.value if isinstance(call.func, cst.Attribute) else None
    name = call.func.value if isinstance(call.func, cst.Name) else name
    if name not in _JOINS:
        return []
    args = [a.value for a in call.args if a.keyword is None]
    sides = (
        args[:2]
        if isinstance(call.func, cst.Name) or _root(call.func) in {"pd", "pandas"}
        else [call.func.value, *args[:1]]
    )
    sides = [*sides, _keyword(call, "left"), _keyword(call, "right")]
    keys = set()
    for keyword in ("on", "left_on", "right_on"):
        keys |= _strings(_keyword(call, keyword))
    per_side = [
        [d for root in _roots(side) for c, d in dropped.get(root, {}).items() if c in keys]
        for side in sides
        if side is not None
    ]
    if not any(per_side) or all(per_side):
        return []  # nothing dropped, or both sides made naive the same way
    where = next(hit for hits in per_side for hit in hits)
    position = _position(unit, call)
    return [
        Hazard(
            code="NB2F503",
            category="timezone",
            severity="error",
            cell_index=unit.ref.index,
            cell_id=unit.ref.id,
            line=position[0],
            col=position[1],
            message=(
                f"`{name}` joins on {where.column!r}, whose time zone was dropped in cell "
                f"{where.ref.index} (id {where.ref.id}), line {where.line}: its naive times "
                "are matched with times of another clock (if those are local times, every "
                "match is off by the UTC offset: values from hours after the event)"
            ),
            fix=(
                'join aware times: keep the column in UTC (.dt.tz_convert("UTC")) and make '
                'the other side aware too (.dt.tz_localize("America/New_York")'
                '.dt.tz_convert("UTC") for local readings)'
            ),
            view=cell.flags.name,
        )
    ]


def _position(unit: _Unit, node: cst.CSTNode) -> tuple[int, int]:
    module = cst.Module(body=[unit.node.with_changes(leading_lines=())])
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    start = wrapper.resolve(PositionProvider)[node].start
    return unit.line + start.line - 1, start.column
