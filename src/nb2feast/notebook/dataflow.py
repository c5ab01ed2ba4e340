"""dataflow: which frame of an on-demand cell holds its new columns, and what it derives from.

Found from the cell's bindings, not from names: `df = training.copy()`, `req = requests.copy()`,
`out = pd.DataFrame(); out["a"] = X["b"] + 1; NAME = out`, `y = X.assign(...).assign(...)`,
`pd.concat([X, extra], axis=1)`. The magic (as the cell runs) and export share this function,
so they agree on the result.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

# DataFrame methods that return a frame with the rows of the frame they are called on.
_FRAME_METHODS = frozenset(
    {
        "copy",
        "assign",
        "fillna",
        "astype",
        "rename",
        "drop",
        "join",
        "merge",
        "reset_index",
        "replace",
        "round",
        "abs",
        "clip",
        "where",
        "mask",
        "pipe",
        "set_axis",
        "reindex",
        "infer_objects",
        "convert_dtypes",
        "add_prefix",
        "add_suffix",
        "filter",
        "ffill",
    }
)
_WIDENING_METHODS = frozenset({"assign", "join", "merge"})
_INDEXERS = frozenset({"loc", "iloc"})


@dataclass(frozen=True)
class ResultFrame:
    """The frame holding an on-demand cell's features."""

    name: str  # the local name bound to it when the cell ends
    derived_from: str | None  # the input frame its rows come from
    fresh: bool  # built from scratch (`pd.DataFrame()`): every column is a feature


@dataclass(frozen=True)
class _Origin:
    source: str
    fresh: bool


class _Flow(cst.CSTVisitor):
    """Frames bound in the cell, in order: which input each comes from, which gained columns."""

    def __init__(self, inputs: Collection[str]) -> None:
        self.origin: dict[str, _Origin] = {name: _Origin(name, False) for name in inputs}
        self.inputs = tuple(inputs)
        self.widened: list[str] = []
        self.bound: set[str] = set()

    def _widen(self, name: str) -> None:
        if name in self.widened:
            self.widened.remove(name)
        self.widened.append(name)

    def derive(self, expr: cst.BaseExpression) -> tuple[_Origin | None, bool]:
        """(origin of the frame `expr` evaluates to, whether it adds columns)."""
        if isinstance(expr, cst.Name):
            return self.origin.get(expr.value), False
        if m.matches(
            expr, m.Call(func=m.Attribute(attr=m.Name("DataFrame")) | m.Name("DataFrame"))
        ):
            return _Origin(self._input_read(expr) or "", True), True
        if m.matches(expr, m.Call(func=m.Attribute(attr=m.Name("concat")) | m.Name("concat"))):
            return self._concat(expr)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
            method = expr.func.attr.value
            if method in _FRAME_METHODS:
                found, widens = self.derive(expr.func.value)
                return found, widens or (found is not None and method in _WIDENING_METHODS)
            return None, False
        if isinstance(expr, cst.Subscript):
            base = expr.value
            if isinstance(base, cst.Attribute) and base.attr.value in _INDEXERS:
                return self.derive(base.value)
            if len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
                key = expr.slice[0].slice.value
                if isinstance(key, cst.List) or not isinstance(
                    key, (cst.SimpleString, cst.ConcatenatedString)
                ):
                    return self.derive(base)  # a column list or a row mask keeps a frame
        return None, False

    def _concat(self, call: cst.Call) -> tuple[_Origin | None, bool]:
        if not call.args or not isinstance(call.args[0].value, (cst.List, cst.Tuple)):
            return None, False
        parts = [self.derive(e.value)[0] for e in call.args[0].value.elements]
        found = next((p for p in parts if p is not None), None)
        return found, found is not None and len(call.args[0].value.elements) > 1

    def _input_read(self, node: cst.CSTNode) -> str | None:
        for name in m.findall(node, m.Name()):
            if name.value in self.origin:
                return self.origin[name.value].source
        return None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a helper's locals are not the cell's frames

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        found, widens = self.derive(node.value)
        if found is not None and not found.source and len(self.inputs) == 1:
            found = _Origin(self.inputs[0], found.fresh)
        for target in node.targets:
            self._assigned(target.target, found, widens)

    def visit_Call(self, node: cst.Call) -> None:
        """`X.insert(0, "c", ...)` and `X.eval("c = ...", inplace=True)` add a column to X."""
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
        frame = node.func.value if isinstance(node.func, cst.Attribute) else None
        if not (isinstance(frame, cst.Name) and frame.value in self.origin):
            return
        inplace = any(
            m.matches(a, m.Arg(keyword=m.Name("inplace"), value=m.Name("True"))) for a in node.args
        )
        if method == "insert" or (method == "eval" and inplace):
            self._widen(frame.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._assigned(node.target, None, False, augmented=True)

    def _assigned(
        self,
        target: cst.BaseExpression,
        found: _Origin | None,
        widens: bool,
        augmented: bool = False,
    ) -> None:
        if isinstance(target, cst.Name):
            if augmented:
                return
            self.bound.add(target.value)
            if found is None:
                self.origin.pop(target.value, None)
                return
            self.origin[target.value] = found
            if widens:
                self._widen(target.value)
            return
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._assigned(element.value, None, False)
            return
        frame = target
        while isinstance(frame, (cst.Subscript, cst.Attribute)):
            frame = frame.value
        is_frame = isinstance(frame, cst.Name) and frame.value in self.origin
        if isinstance(target, cst.Subscript) and is_frame and not augmented:
            self._widen(frame.value)


def find_result_frame(
    body: Sequence[cst.BaseStatement], name: str, inputs: Collection[str]
) -> ResultFrame | None:
    """The frame an on-demand cell's features live in: `name` when the cell binds it to a
    frame, else the frame that last gained columns; None when no frame gained any."""
    flow = _Flow(inputs)
    for statement in body:
        statement.visit(flow)
    if name in flow.bound and name not in flow.inputs:
        origin = flow.origin.get(name)
        return ResultFrame(name, origin.source if origin else None, bool(origin and origin.fresh))
    for frame in reversed(flow.widened):
        if frame in flow.origin:
            origin = flow.origin[frame]
            return ResultFrame(frame, origin.source or None, origin.fresh)
    return None
