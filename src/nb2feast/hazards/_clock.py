"""Trace a view's timestamp column back to the input columns it is computed from.

Time travel cuts each input frame by its own clock. When the cell makes the view's
timestamp (`booking_date = pd.to_datetime(df["booked_on"])`, `.rename(columns={"day":
"event_timestamp"})`, `.agg(last=("ts", "max"))`), the clock of the input is the column
it was made from, not whatever datetime column the input happens to hold. This is a
small dataflow over the cell's code: columns and variables are symbols, each assignment
of one is an edge to the symbols its expression reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

_STRING = m.SimpleString()


@dataclass(frozen=True)
class ClockTrace:
    """The input columns a timestamp is computed from, or why it could not be traced."""

    columns: frozenset[str]
    reason: str = ""  # set when the trace failed

    @property
    def ok(self) -> bool:
        return not self.reason


def _strings(node: cst.CSTNode) -> set[str]:
    return {
        s.evaluated_value for s in m.findall(node, _STRING) if isinstance(s.evaluated_value, str)
    }


def _column_keys(expr: cst.CSTNode) -> set[str]:
    """Column names an expression reads: string keys of subscripts (`df["a"]`, `df[["a"]]`)."""
    keys: set[str] = set()
    for sub in m.findall(expr, m.Subscript()):
        for element in sub.slice:
            keys |= _strings(element)
    return keys


def _names(expr: cst.CSTNode) -> set[str]:
    """Variables an expression reads, except frames it only takes columns of (`df` of
    `df["a"]`): the column is the symbol that matters there."""
    bases = {
        id(sub.value) for sub in m.findall(expr, m.Subscript(value=m.Name())) if _column_keys(sub)
    }
    return {n.value for n in m.findall(expr, m.Name()) if id(n) not in bases}


class _Edges(cst.CSTVisitor):
    """symbol -> the symbols each of its definitions reads (columns as `"c`, variables bare)."""

    def __init__(self) -> None:
        self.edges: dict[str, list[set[str]]] = {}

    def _add(self, symbol: str, reads: set[str]) -> None:
        self.edges.setdefault(symbol, []).append(reads)

    def _reads(self, expr: cst.CSTNode) -> set[str]:
        return {f'"{k}' for k in _column_keys(expr)} | _names(expr)

    def visit_Assign(self, node: cst.Assign) -> None:
        reads = self._reads(node.value)
        for target in node.targets:
            self._target(target.target, reads)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target, self._reads(node.value))

    def _target(self, target: cst.BaseExpression, reads: set[str]) -> None:
        if isinstance(target, cst.Name):
            self._add(target.value, reads)
        elif isinstance(target, cst.Subscript):
            for key in _column_keys(target):
                self._add(f'"{key}', reads)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value, reads)

    def visit_Call(self, node: cst.Call) -> None:
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else None
        for arg in node.args:
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            if method == "assign":
                self._add(f'"{key}', self._reads(arg.value))
            elif m.matches(arg.value, m.Tuple(elements=[m.Element(_STRING), m.ZeroOrMore()])):
                # named aggregation: .agg(last_seen=("event_timestamp", "max"))
                self._add(f'"{key}', {f'"{arg.value.elements[0].value.evaluated_value}'})
        if method == "rename":
            mapping = next(
                (a.value for a in node.args if a.keyword is None or a.keyword.value == "columns"),
                None,
            )
            if isinstance(mapping, cst.Dict):
                for element in mapping.elements:
                    if isinstance(element, cst.DictElement) and m.matches(element.key, _STRING):
                        for new in _strings(element.value):
                            self._add(f'"{new}', {f'"{element.key.evaluated_value}'})


def trace_clock(
    source: str, timestamp: str, input_columns: Mapping[str, Iterable[str]]
) -> ClockTrace:
    """The columns of the input frames (`input_columns`: frame -> its columns) from which
    the column `timestamp` of the view is computed, following the cell's assignments."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        return ClockTrace(frozenset(), f"the cell does not parse ({exc.message})")
    visitor = _Edges()
    module.visit(visitor)
    known = {column for columns in input_columns.values() for column in columns}
    frames = set(input_columns)
    leaves: set[str] = set()
    seen: set[str] = set()
    todo = [f'"{timestamp}']
    while todo:
        symbol = todo.pop()
        if symbol in seen:
            continue
        seen.add(symbol)
        column = symbol[1:] if symbol.startswith('"') else None
        definitions = visitor.edges.get(symbol, [])
        if column is not None and column in known and not definitions:
            leaves.add(column)  # an input column the cell does not redefine
            continue
        for reads in definitions:
            if column is not None and column in known and symbol in reads:
                leaves.add(column)  # `df["ts"] = pd.to_datetime(df["ts"])`: still the input's
            todo.extend(r for r in reads if r not in frames and r != symbol)
    if not leaves:
        return ClockTrace(
            frozenset(),
            f"no assignment in the cell makes {timestamp!r} from a column of its inputs",
        )
    return ClockTrace(frozenset(leaves))
