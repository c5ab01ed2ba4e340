"""Freeze whole-frame statistics of an on-demand cell into named constants.

At serving time an on-demand transform sees one request row, so `df["x"].mean()` must be
computed once on the notebook's data and inlined. This module finds such scalar
reductions and rewrites the body; evaluating `expr_code` is the caller's job.
Lines are body lines (1-based), columns 0-based, as LibCST's PositionProvider gives them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from numbers import Integral, Real

import libcst as cst
import libcst.matchers as m
from libcst.helpers import parse_template_statement
from libcst.metadata import MetadataWrapper, PositionProvider

FREEZABLE = frozenset({"mean", "std", "var", "median", "quantile", "min", "max", "sum", "count"})
_COLUMN = m.Subscript(
    value=m.Name(), slice=[m.SubscriptElement(slice=m.Index(value=m.SimpleString()))]
) | m.Attribute(value=m.Name())
_REDUCTION = m.Call(func=m.Attribute(value=_COLUMN, attr=m.Name()))
_ROW_WISE = m.Integer("1") | m.SimpleString("'columns'") | m.SimpleString('"columns"')


@dataclass(frozen=True)
class FreezeTarget:
    """One freezable statistic: its source text, where it starts, and its constant's name."""

    expr_code: str
    line: int
    col: int
    const_name: str


@dataclass(frozen=True)
class Reduction:
    """A scalar reduction of one column: `frame[column].stat(...)`."""

    frame: str
    column: str
    stat: str
    quantile: float | None


def _quantile_q(call: cst.Call) -> float | None:
    q_args = [a for a in call.args if a.keyword is None or a.keyword.value == "q"]
    if not q_args:
        return 0.5
    if len(q_args) == 1 and m.matches(q_args[0].value, m.Float() | m.Integer()):
        return float(q_args[0].value.evaluated_value)
    return None  # a list of quantiles or a computed q: not a scalar we can name


def as_reduction(call: cst.Call, frame_name: str | None = None) -> Reduction | None:
    """The reduction `call` computes, if it is a scalar statistic of one column of a frame."""
    if not m.matches(call, _REDUCTION) or call.func.attr.value not in FREEZABLE:
        return None
    stat, receiver = call.func.attr.value, call.func.value
    frame = receiver.value.value
    if frame_name is not None and frame != frame_name:
        return None
    if any(m.matches(a, m.Arg(keyword=m.Name("axis"), value=_ROW_WISE)) for a in call.args):
        return None
    column = (
        receiver.attr.value
        if isinstance(receiver, cst.Attribute)
        else receiver.slice[0].slice.value.evaluated_value
    )
    if not isinstance(column, str):
        return None
    if stat == "quantile":
        q = _quantile_q(call)
        return None if q is None else Reduction(frame, column, stat, q)
    if any(a.keyword is None for a in call.args):
        return None
    return Reduction(frame, column, stat, None)


def base_const_name(reduction: Reduction) -> str:
    """`X_MEAN`, `AMOUNT_STD`, `X_Q90`: the constant a frozen statistic is inlined as."""
    column = re.sub(r"\W+", "_", reduction.column).strip("_").upper() or "COLUMN"
    if column[0].isdigit():
        column = "COL_" + column
    if reduction.quantile is None:
        return f"{column}_{reduction.stat.upper()}"
    return f"{column}_Q" + f"{reduction.quantile * 100:g}".replace(".", "_").replace("-", "M")


def _collect(
    wrapper: MetadataWrapper, frame_name: str | None
) -> list[tuple[cst.Call, FreezeTarget, Reduction]]:
    """Every freezable call in source order; equal expressions share a name, clashes get `_2`."""
    positions = wrapper.resolve(PositionProvider)
    names: dict[str, str] = {}
    taken: set[str] = set()
    found = []
    for call in m.findall(wrapper.module, m.Call()):
        reduction = as_reduction(call, frame_name)
        if reduction is None:
            continue
        code = wrapper.module.code_for_node(call)
        if code not in names:
            base, n = base_const_name(reduction), 1
            name = base
            while name in taken:
                n += 1
                name = f"{base}_{n}"
            names[code] = name
            taken.add(name)
        start = positions[call].start
        found.append((call, FreezeTarget(code, start.line, start.column, names[code]), reduction))
    return sorted(found, key=lambda item: (item[1].line, item[1].col))


def find_freezable(body: str, frame_name: str) -> list[FreezeTarget]:
    """Scalar statistics of one column of `frame_name` in `body`, in source order."""
    wrapper = MetadataWrapper(cst.parse_module(body))
    return [target for _, target, _ in _collect(wrapper, frame_name)]


def _literal(value: float) -> cst.BaseExpression:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"cannot freeze a non-numeric value: {value!r}")
    if isinstance(value, Integral):
        text = str(int(value))
    elif math.isfinite(value):
        text = repr(float(value))
    else:
        text = f'float("{float(value)!r}")'
    return cst.parse_expression(text)


class _Replace(cst.CSTTransformer):
    def __init__(self, names: dict[int, str]) -> None:
        super().__init__()
        self.names = names

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        name = self.names.get(id(original_node))
        return updated_node if name is None else cst.Name(name)


def apply_freeze(
    body: str, values: dict[str, float | int], provenance: str, frame_name: str | None = None
) -> str:
    """Replace each freezable statistic named in `values` by its constant, defined at the top.

    Pass `frame_name` when the cell reads more than one frame, so only the input frame's
    statistics are frozen (as `find_freezable` found them).
    """
    wrapper = MetadataWrapper(cst.parse_module(body))
    replace: dict[int, str] = {}
    constants: dict[str, cst.SimpleStatementLine] = {}
    where = " ".join(provenance.split())
    for call, target, red in _collect(wrapper, frame_name):
        if target.const_name not in values:
            continue
        replace[id(call)] = target.const_name
        if target.const_name in constants:
            continue
        what = red.stat if red.quantile is None else f"{red.quantile:g} quantile"
        receiver = wrapper.module.code_for_node(call.func.value)
        stmt = parse_template_statement(
            "{name} = {value}",
            name=cst.Name(target.const_name),
            value=_literal(values[target.const_name]),
        )
        comment = cst.Comment(f"# frozen: {what} of {receiver} on {where}")
        constants[target.const_name] = stmt.with_changes(
            trailing_whitespace=cst.TrailingWhitespace(
                whitespace=cst.SimpleWhitespace("  "), comment=comment
            )
        )
    if not constants:
        return body
    module = wrapper.module.visit(_Replace(replace))
    rest = list(module.body)
    if rest:
        rest[0] = rest[0].with_changes(leading_lines=[cst.EmptyLine(), *rest[0].leading_lines])
    return module.with_changes(body=[*constants.values(), *rest]).code
