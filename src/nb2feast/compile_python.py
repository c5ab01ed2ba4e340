"""compile_python: an on-demand cell's pandas body -> a row-wise `mode="python"` udf.

Feast serves python-mode views several times faster online than pandas-mode ones, but
hands them lists whose missing values are `None`. This stage walks the cell's statements
(frames, columns, locals) and translates each column expression through the dispatch
tables of `pyudf_rules` (one small handler per construct) into per-row calls of the
null-safe helpers in `pyudf_runtime`, whose source it inlines. What no table row accepts
is refused with `NotCompilable`, a reason and a line: a refusal is cheap (the view stays
in pandas mode), a wrong translation is not.
"""

from __future__ import annotations

import builtins
import inspect
import json
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import libcst as cst
import libcst.matchers as m
from libcst.helpers import parse_template_statement
from libcst.metadata import MetadataWrapper, PositionProvider

from nb2feast import pyudf_runtime
from nb2feast.pyudf_rules import (
    ATTRIBUTES,
    BINARY,
    BUILTINS,
    CROSS_ROW,
    FUNCTIONS,
    METHODS,
    ROW_REDUCTIONS,
    SCALAR_METHODS,
    STR_METHODS,
    Call,
    NotCompilable,
    Value,
    kind_of_dtype,
)

__all__ = ["DESCRIPTION", "NotCompilable", "compile_python_udf", "helper_closure"]

DESCRIPTION = "Compile a pandas on-demand cell into a row-wise Feast python-mode udf."

HELPERS = {
    name: function
    for name, function in vars(pyudf_runtime).items()
    if name.startswith("_")
    and inspect.isfunction(function)
    and function.__module__ == pyudf_runtime.__name__
}
_NUMPY_CONSTANTS = frozenset({"nan", "inf", "pi", "e", "NaN"})
_RESERVED = (
    frozenset({"inputs", "outputs", "row", "np", "pd"})
    | frozenset(HELPERS)
    | frozenset(dir(builtins))
)
_COMPARE = {
    m.LessThan: "<",
    m.LessThanEqual: "<=",
    m.GreaterThan: ">",
    m.GreaterThanEqual: ">=",
    m.Equal: "==",
    m.NotEqual: "!=",
}
_AUGMENTED = {
    cst.AddAssign: cst.Add,
    cst.SubtractAssign: cst.Subtract,
    cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide,
    cst.FloorDivideAssign: cst.FloorDivide,
    cst.ModuloAssign: cst.Modulo,
}


@cache
def _helper_source(name: str) -> str:
    """A helper's source as the udf carries it (lint pragmas dropped)."""
    return re.sub(r"  # noqa[^\n]*", "", inspect.getsource(HELPERS[name]))


def helper_closure(names: set[str]) -> list[str]:
    """The helpers `names` use, with every helper they call (found in their source), in
    the runtime module's order."""
    needed, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        body = _helper_source(name).split(":", 1)[1]
        todo += [n for n in re.findall(r"\b(_[a-z_]+)\(", body) if n in HELPERS]
    return [name for name in HELPERS if name in needed]


@dataclass
class _Frame:
    """A DataFrame of the cell: its columns as per-row values; input frames read Feast's inputs."""

    columns: dict[str, Value] = field(default_factory=dict)
    reads_inputs: bool = False
    assigned: set[str] = field(default_factory=set)

    def copy(self) -> _Frame:
        return _Frame(dict(self.columns), self.reads_inputs, set(self.assigned))

    def set(self, column: str, value: Value) -> None:
        self.columns[column] = value
        self.assigned.add(column)


class _Compiler:
    def __init__(
        self,
        body: Sequence[cst.BaseStatement],
        frame: str,
        support: Sequence[cst.BaseStatement],
        dtypes: Mapping[str, str],
    ):
        self.module = cst.Module(body=list(body))
        self.positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(
            PositionProvider
        )
        self.frames: dict[str, _Frame] = {frame: _Frame(reads_inputs=True)}
        self.input_frame = self.last_frame = frame
        self.dtypes = dtypes
        self.locals: dict[str, Value] = {}
        self.modules, self.constants, self.functions, support_names = _support_names(support)
        if self.modules.get("np", "numpy") != "numpy":
            raise NotCompilable(
                "the cell's support code binds `np` to something other than numpy", 1
            )
        if self.modules.get("pd", "pandas") != "pandas":
            raise NotCompilable(
                "the cell's support code binds `pd` to something other than pandas", 1
            )
        self.taken = set(_RESERVED) | support_names | set(keyword.kwlist)
        self.loads: list[cst.BaseStatement] = []
        self.steps: list[cst.BaseStatement] = []
        self.helpers: set[str] = {"_in", "_out"}
        self.statement: cst.CSTNode | None = None
        self.scalar = False  # inside `apply`/`map(func)`: values are elements, not Series
        self.inlining: list[str] = []

    # -- errors, names, helpers ----------------------------------------------------------
    def fail(self, reason: str, node: cst.CSTNode | None = None) -> NotCompilable:
        for candidate in (node, self.statement):
            position = self.positions.get(candidate) if candidate is not None else None
            if position is not None:
                return NotCompilable(reason, position.start.line)
        return NotCompilable(reason, 1)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node).strip()

    def fresh(self, hint: str) -> cst.Name:
        base = "".join(c if c.isalnum() or c == "_" else "_" for c in hint) or "value"
        base = f"c_{base}" if base[0].isdigit() else base
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return cst.Name(name)

    def helper(self, name: str, *args: cst.BaseExpression) -> cst.Call:
        """A call of a runtime helper; the udf will carry its source."""
        self.helpers.add(name)
        return cst.Call(cst.Name(name), [cst.Arg(a) for a in args])

    def constant(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """A literal (or a module-level constant) the udf can embed as is."""
        if _is_constant(node, self.constants, containers=True):
            return node.with_changes(lpar=[], rpar=[]) if node.lpar else node
        raise self.fail(f"`{self.code(node)[:40]}` is not a literal or a module constant", node)

    # -- frames --------------------------------------------------------------------------
    def column(self, frame_name: str, column: str, node: cst.CSTNode) -> Value:
        frame = self.frames[frame_name]
        if column not in frame.columns:
            if not frame.reads_inputs:
                raise self.fail(f"`{frame_name}` has no column {column!r} here", node)
            var = self.fresh(column)
            self.loads.append(
                parse_template_statement(
                    "{var} = _in(inputs[{key}][row])\n",
                    var=var,
                    key=cst.SimpleString(json.dumps(column)),
                )
            )
            kind = kind_of_dtype(self.dtypes.get(column))
            frame.columns[column] = Value(var, kind)
        return frame.columns[column]

    def column_key(self, node: cst.CSTNode) -> tuple[str, str] | None:
        """`F["c"]` or `F.loc[:, "c"]` on a known frame F -> (F, "c")."""
        if m.matches(
            node, m.Subscript(value=m.Name(), slice=[m.SubscriptElement(m.Index(m.SimpleString()))])
        ):
            frame = node.value.value
            key = node.slice[0].slice.value
        elif m.matches(
            node,
            m.Subscript(
                value=m.Attribute(value=m.Name(), attr=m.Name("loc")),
                slice=[
                    m.SubscriptElement(m.Slice(lower=None, upper=None, step=None)),
                    m.SubscriptElement(m.Index(m.SimpleString())),
                ],
            ),
        ):
            frame = node.value.value.value
            key = node.slice[1].slice.value
        else:
            return None
        if frame not in self.frames:
            return None
        value = key.evaluated_value
        return (frame, value) if isinstance(value, str) else None

    def frame_value(self, node: cst.BaseExpression) -> _Frame | None:
        """A frame-valued expression -> the frame it builds (None when it is not one)."""
        if m.matches(node, m.Name()) and node.value in self.frames:
            return self.frames[node.value]  # an alias: pandas shares the object
        if not m.matches(node, m.Call(func=m.Attribute(attr=m.Name()))):
            return None
        owner, method = node.func.value, node.func.attr.value
        if m.matches(owner, m.Name()) and self.modules.get(owner.value) == "pandas":
            return self.data_frame(node) if method == "DataFrame" else None
        if method not in ("copy", "assign"):
            return None
        base = self.frame_value(owner)  # a frame, or a chain that makes one
        if base is None:
            return None
        if method == "copy":
            if node.args:
                raise self.fail("`.copy(...)` with arguments", node)
            return base.copy()
        return self.assign(base, node)

    def assign(self, base: _Frame, node: cst.Call) -> _Frame:
        """`F.assign(a=expr, b=lambda d: expr)`: values see F; lambdas see earlier keywords."""
        result = base.copy()
        pending = []
        for arg in node.args:
            if arg.keyword is None or arg.star:
                raise self.fail("`assign` with positional or ** arguments", arg)
            if not m.matches(arg.value, m.Lambda()):
                pending.append((arg.keyword.value, self.expr(arg.value)))
        for arg in node.args:
            name = arg.keyword.value
            if m.matches(arg.value, m.Lambda()):
                result.set(name, self.bind(name, self.frame_lambda(arg.value, result)))
            else:
                result.set(name, self.bind(name, dict(pending)[name]))
        return result

    def frame_lambda(self, node: cst.Lambda, frame: _Frame) -> Value:
        name = _single_parameter(node)
        if name is None:
            raise self.fail("`assign` lambdas must take exactly the frame", node)
        saved, saved_local = self.frames.get(name), self.locals.pop(name, None)
        self.frames[name] = frame
        try:
            return self.expr(node.body)
        finally:
            del self.frames[name]
            if saved is not None:
                self.frames[name] = saved
            if saved_local is not None:
                self.locals[name] = saved_local

    def data_frame(self, node: cst.Call) -> _Frame:
        """`pd.DataFrame({...})`, `pd.DataFrame()` or `pd.DataFrame(index=F.index)`."""
        columns = None
        for arg in node.args:
            if arg.keyword is None and columns is None and m.matches(arg.value, m.Dict()):
                columns = arg.value
            elif not (
                arg.keyword
                and arg.keyword.value == "index"
                and m.matches(arg.value, m.Attribute(value=m.Name(), attr=m.Name("index")))
                and arg.value.value.value in self.frames
            ):
                raise self.fail(
                    "`pd.DataFrame` with arguments other than a dict of columns and "
                    "`index=frame.index`",
                    arg,
                )
        frame = _Frame()
        for element in columns.elements if columns is not None else ():
            if not m.matches(element, m.DictElement(key=m.SimpleString())) or not isinstance(
                element.key.evaluated_value, str
            ):
                raise self.fail("`pd.DataFrame` dict keys must be string literals", element)
            name = element.key.evaluated_value
            frame.set(name, self.bind(name, self.expr(element.value)))
        return frame

    def bind(self, hint: str, value: Value) -> Value:
        """Evaluate `value` once per row into a fresh variable."""
        if m.matches(value.node, m.Name()) and value.node.value in self.taken:
            return value
        var = self.fresh(hint)
        self.steps.append(
            cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(var)], value.node)])
        )
        return Value(var, value.kind)

    # -- statements ------------------------------------------------------------------------
    def statement_(self, node: cst.BaseSmallStatement) -> None:
        if m.matches(node, m.Expr(m.SimpleString()) | m.Pass()):
            return
        if m.matches(
            node,
            m.Expr(
                m.Name()
                | m.Call(
                    func=m.Attribute(
                        value=m.Name(),
                        attr=m.Name("head") | m.Name("tail") | m.Name("info") | m.Name("describe"),
                    )
                )
            ),
        ):
            shown = node.value if m.matches(node.value, m.Name()) else node.value.func.value
            if shown.value in self.frames:
                return  # the cell displays a frame: no effect on the features
        if m.matches(node, m.AugAssign()) and type(node.operator) in _AUGMENTED:
            operator = _AUGMENTED[type(node.operator)]()
            node = cst.Assign(
                [cst.AssignTarget(node.target)],
                cst.BinaryOperation(node.target, operator, node.value),
            )
        if not m.matches(node, m.Assign(targets=[m.AssignTarget()])):
            raise self.fail("only assignments of columns, frames and scalars are translated", node)
        target = node.targets[0].target
        key = self.column_key(target)
        if key is not None:
            frame, column = key
            self.frames[frame].set(column, self.bind(column, self.expr(node.value)))
            self.last_frame = frame
            return
        if not m.matches(target, m.Name()):
            raise self.fail("assignment target is not a column or a name", target)
        name = target.value
        frame = self.frame_value(node.value)
        if frame is not None:
            self.frames[name] = frame
            self.locals.pop(name, None)
            self.last_frame = name
            return
        if name in self.frames:
            raise self.fail(f"`{name}` is rebound to something that is not a frame", node)
        self.locals[name] = self.bind(name, self.expr(node.value))

    # -- expressions -----------------------------------------------------------------------
    def expr(self, node: cst.BaseExpression) -> Value:
        if node.lpar and not m.matches(node, m.Tuple()):
            node = node.with_changes(lpar=[], rpar=[])
        key = self.column_key(node)
        if key is not None:
            return self.column(*key, node)
        for node_type, method in _EXPRESSIONS:
            if isinstance(node, node_type):
                return method(self, node)
        raise self.fail(f"`{self.code(node)[:40]}` is not a row-wise expression", node)

    def literal(self, node: cst.BaseExpression) -> Value:
        kinds = {cst.Integer: "int", cst.Float: "float", cst.SimpleString: "str"}
        if isinstance(node, cst.SimpleString) and not isinstance(node.evaluated_value, str):
            raise self.fail("bytes literals are not translated", node)
        return Value(node, kinds.get(type(node)))

    def name(self, node: cst.Name) -> Value:
        if node.value in ("True", "False"):
            return Value(node, "bool")
        if node.value == "None":
            return Value(node)
        if node.value in self.locals:
            return self.locals[node.value]
        if node.value in self.constants:
            return Value(node)
        if node.value in self.frames:
            raise self.fail(f"the frame `{node.value}` is used as a value", node)
        raise self.fail(f"`{node.value}` is not a column, a local or a scalar constant", node)

    def attribute(self, node: cst.Attribute) -> Value:
        owner = node.value
        if m.matches(owner, m.Name()) and owner.value in self.frames:
            frame, column = self.frames[owner.value], node.attr.value
            # `df.amount`: only a column known to exist (else it may be `df.shape`, ...)
            if column in frame.columns or (frame.reads_inputs and column in self.dtypes):
                return self.column(owner.value, column, node)
            raise self.fail(f"`{self.code(node)}` is not a known column of `{owner.value}`", node)
        if m.matches(owner, m.Name()) and owner.value in self.modules:
            module = self.modules[owner.value]
            if module in ("numpy", "math") and node.attr.value in _NUMPY_CONSTANTS:
                return Value(cst.parse_expression(f"np.{node.attr.value.lower()}"), "float")
            raise self.fail(f"`{self.code(node)}` is not translated row-wise", node)
        if m.matches(owner, m.Attribute(attr=m.Name("dt"))) and node.attr.value in ATTRIBUTES:
            return ATTRIBUTES[node.attr.value](self, self.expr(owner.value), node)
        raise self.fail(f"`{self.code(node)[:40]}` is not translated row-wise", node)

    def subscript(self, node: cst.Subscript) -> Value:
        """`.str[i]` and `.str[a:b]` (strings, or the lists `.str.split` makes); `F[["a", "b"]]`
        (the row's values of those columns, for a reduction along the row)."""
        if (
            m.matches(
                node, m.Subscript(value=m.Name(), slice=[m.SubscriptElement(m.Index(m.List()))])
            )
            and node.value.value in self.frames
        ):
            columns = []
            for element in node.slice[0].slice.value.elements:
                key = element.value
                if not m.matches(key, m.SimpleString()) or not isinstance(key.evaluated_value, str):
                    raise self.fail("a list of columns that are not string literals", node)
                columns.append(self.column(node.value.value, key.evaluated_value, node))
            kind = "float" if {v.kind for v in columns} <= {"float", "int"} else None
            return Value(cst.List([cst.Element(v.node) for v in columns]), f"columns:{kind}")
        if not (m.matches(node.value, m.Attribute(attr=m.Name("str"))) and len(node.slice) == 1):
            raise self.fail(f"`{self.code(node)[:40]}` is not a column of a known frame", node)
        subject = self.expr(node.value.value)
        index = node.slice[0].slice
        if isinstance(index, cst.Index):
            position = self.constant(index.value)
            return Value(self.helper("_str_get", subject.node, position), "object")
        bounds = [
            self.constant(b) if b is not None else cst.Name("None")
            for b in (index.lower, index.upper, index.step)
        ]
        return Value(self.helper("_str_slice", subject.node, *bounds), "object")

    def unary(self, node: cst.UnaryOperation) -> Value:
        operand = self.expr(node.expression)
        if m.matches(node.operator, m.Plus()):
            return operand
        if m.matches(node.operator, m.Minus()):
            return Value(self.helper("_neg", operand.node), operand.kind)
        if operand.kind == "boolean":
            return Value(self.helper("_not_kleene", operand.node), "boolean")
        if not operand.is_bool:
            raise self.fail(
                "`~`/`not` on a value that is not a never-missing boolean "
                "(bitwise on numbers, or None in an object column)",
                node,
            )
        return Value(cst.UnaryOperation(cst.Not(), _paren(operand.node)), "bool")

    def binary(self, node: cst.BinaryOperation) -> Value:
        handler = BINARY.get(type(node.operator))
        if handler is None:
            raise self.fail(f"operator `{self.code(node.operator)}` is not translated", node)
        return handler(self, node, self.expr(node.left), self.expr(node.right))

    def boolean(self, node: cst.BooleanOperation) -> Value:
        """`a and b` on element values inside a lambda (python truthiness)."""
        left, right = self.expr(node.left), self.expr(node.right)
        if not (self.scalar and left.is_bool and right.is_bool):
            raise self.fail("`and`/`or` outside a lambda, or on values that may be missing", node)
        return Value(node.with_changes(left=_paren(left.node), right=_paren(right.node)), "bool")

    def if_expression(self, node: cst.IfExp) -> Value:
        if not self.scalar:
            raise self.fail("`x if c else y` on a Series (use np.where)", node)
        test = self.expr(node.test)
        if not test.is_bool:
            raise self.fail("`x if c else y` on a condition that is not a comparison", node)
        body, orelse = self.expr(node.body), self.expr(node.orelse)
        kind = body.kind if body.kind == orelse.kind else None
        return Value(cst.IfExp(test=test.node, body=body.node, orelse=orelse.node), kind)

    def comparison(self, node: cst.Comparison) -> Value:
        if len(node.comparisons) != 1:
            raise self.fail("chained comparisons on a column", node)
        target = node.comparisons[0]
        operator = next(
            (op for matcher, op in _COMPARE.items() if m.matches(target.operator, matcher())),
            None,
        )
        if operator is None:
            raise self.fail("only <, <=, >, >=, ==, != comparisons are translated", node)
        left, right = self.expr(node.left), self.expr(target.comparator)
        return Value(
            self.helper("_compare", cst.SimpleString(f'"{operator}"'), left.node, right.node),
            "bool",
        )

    def call(self, node: cst.Call) -> Value:
        if any(a.star for a in node.args):
            raise self.fail("calls with * or ** arguments", node)
        func = node.func
        positional = tuple(a.value for a in node.args if a.keyword is None)
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        if m.matches(func, m.Attribute(value=m.Name(), attr=m.Name())) and (
            func.value.value in self.modules
        ):
            module, name = self.modules[func.value.value], func.attr.value
            handler = FUNCTIONS.get((module, name))
            if handler is None:
                raise self.fail(f"`{func.value.value}.{name}` is not translated row-wise", node)
            return handler(self, Call(node, None, positional, keywords, name))
        if m.matches(func, m.Name()):
            return self.function(node, func.value, positional, keywords)
        if not m.matches(func, m.Attribute(attr=m.Name())):
            raise self.fail(f"calls `{self.code(func)}`, which may do anything", node)
        method = func.attr.value
        if m.matches(func.value, m.Attribute(attr=m.Name("str"))):
            handler = STR_METHODS.get(method)
            if handler is None:
                raise self.fail(f"`.str.{method}(...)` is not translated row-wise", node)
            subject = self.expr(func.value.value)
            if subject.kind == "list" and method != "get":
                raise self.fail(f"`.str.{method}` on the lists `.str.split` makes", node)
            return handler(self, Call(node, subject, positional, keywords, method))
        if m.matches(func.value, m.Attribute(attr=m.Name("dt"))) and method in ATTRIBUTES:
            if node.args:
                raise self.fail(f"`.dt.{method}()` with arguments", node)
            return ATTRIBUTES[method](self, self.expr(func.value.value), node)
        if m.matches(func.value, m.Subscript(slice=[m.SubscriptElement(m.Index(m.List()))])):
            subject = self.expr(func.value)  # several columns of one row
            if method not in ROW_REDUCTIONS:
                raise self.fail(f"`.{method}(...)` of several columns is not translated", node)
            return ROW_REDUCTIONS[method](self, Call(node, subject, positional, keywords, method))
        if method in CROSS_ROW:
            raise self.fail(
                f"`.{method}()` reads other rows; at serving time the frame is one request", node
            )
        if m.matches(func.value, m.Name()) and func.value.value in self.frames:
            if method == "apply":
                return self.row_apply(node, self.frames[func.value.value], positional, keywords)
            raise self.fail(f"`{self.code(func)}(...)` on a whole frame is not translated", node)
        table = SCALAR_METHODS if self.scalar else METHODS
        handler = table.get(method)
        if handler is None:
            raise self.fail(f"`.{method}(...)` is not translated row-wise", node)
        subject = self.expr(func.value)
        return handler(self, Call(node, subject, positional, keywords, method))

    def row_apply(self, node: cst.Call, frame: _Frame, positional, keywords) -> Value:
        """`F.apply(lambda row: ..., axis=1)`: the lambda on each row, `row["c"]` its values."""
        axis = keywords.get("axis")
        if not (
            len(positional) == 1
            and set(keywords) == {"axis"}
            and m.matches(
                axis, m.Integer("1") | m.SimpleString('"columns"') | m.SimpleString("'columns'")
            )
            and m.matches(positional[0], m.Lambda())
        ):
            raise self.fail(
                "`.apply` on a frame is translated as `apply(lambda row: ..., axis=1)`", node
            )
        saved, self.scalar = self.scalar, True
        try:
            return self.frame_lambda(positional[0], frame)
        finally:
            self.scalar = saved

    def function(self, node, name, positional, keywords) -> Value:
        if name in self.functions:
            return self.inline(self.functions[name], [self.expr(a) for a in positional], keywords)
        if name in BUILTINS and name not in self.taken - _RESERVED:
            return BUILTINS[name](self, Call(node, None, positional, keywords, name))
        raise self.fail(f"calls `{name}`, which may do anything", node)

    def inline(
        self,
        function: cst.FunctionDef,
        args: Sequence[Value],
        keywords: Mapping[str, cst.BaseExpression] | None = None,
    ) -> Value:
        """A notebook helper called on values: its body (assignments, then `return`) is
        compiled in place, its parameters bound to the arguments."""
        name = function.name.value
        if name in self.inlining:
            raise self.fail(f"`{name}` calls itself", function)
        bound = self.parameters(function, args, dict(keywords or {}))
        body = _simple_body(function)
        if body is None:
            raise self.fail(f"`{name}` has compound statements (if/for/with)")
        saved_locals, self.locals = self.locals, dict(bound)
        saved_frames = self.frames
        self.frames = {k: v for k, v in self.frames.items() if k not in bound}
        self.inlining.append(name)
        try:
            for statement in body:
                if m.matches(statement, m.Expr(m.SimpleString())):
                    continue
                if m.matches(statement, m.Return()) and statement.value is not None:
                    if statement is not body[-1]:
                        raise self.fail(f"`{name}` returns before its last statement")
                    return self.expr(statement.value)
                for target, value in self.unpack(statement, name):
                    self.locals[target] = value
            raise self.fail(f"`{name}` does not end with `return`")
        finally:
            self.locals, self.frames = saved_locals, saved_frames
            self.inlining.pop()

    def parameters(
        self, function: cst.FunctionDef, args: Sequence[Value], keywords: dict
    ) -> dict[str, Value]:
        """The helper's parameters bound as Python binds them (positional, keyword, default)."""
        name, params = function.name.value, function.params
        if (
            params.star_arg != cst.MaybeSentinel.DEFAULT
            or params.star_kwarg
            or (params.kwonly_params or params.posonly_params or function.decorators)
        ):
            raise self.fail(f"`{name}` takes *args, **kwargs or keyword-only parameters")
        bound: dict[str, Value] = {}
        for i, param in enumerate(params.params):
            pname = param.name.value
            if i < len(args):
                bound[pname] = args[i]
            elif pname in keywords:
                bound[pname] = self.expr(keywords.pop(pname))
            elif param.default is not None:
                bound[pname] = Value(self.constant(param.default))
            else:
                raise self.fail(f"`{name}` is called without its parameter `{pname}`")
        if len(args) > len(params.params) or keywords:
            raise self.fail(f"`{name}` is called with arguments it does not take")
        return bound

    def unpack(self, statement: cst.CSTNode, function: str) -> list[tuple[str, Value]]:
        """`a = x` or `a, b = x, y` in a helper's body: the values, computed before binding."""
        names = m.Name() | m.Tuple(elements=[m.ZeroOrMore(m.Element(m.Name()))])
        if not m.matches(statement, m.Assign(targets=[m.AssignTarget(names)])):
            raise self.fail(
                f"`{function}`: only assignments to names and a final return are inlined"
            )
        target = statement.targets[0].target
        if isinstance(target, cst.Name):
            return [(target.value, self.bind(target.value, self.expr(statement.value)))]
        values = self.mapped(statement.value)
        if not (
            m.matches(values, m.Tuple()) and len(values.elements) == len(target.elements)
        ) or any(isinstance(e, cst.StarredElement) for e in values.elements):
            raise self.fail(f"`{function}`: tuple assignment from something that is not a tuple")
        computed = [
            self.bind(t.value.value, self.expr(v.value))
            for t, v in zip(target.elements, values.elements)
        ]
        return [(t.value.value, v) for t, v in zip(target.elements, computed)]

    def mapped(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """`map(f, [a, b])` -> `(f(a), f(b))`, so a tuple assignment can unpack it."""
        if not m.matches(
            node,
            m.Call(func=m.Name("map"), args=[m.Arg(keyword=None), m.Arg(m.List() | m.Tuple())]),
        ):
            return node
        function, items = node.args[0].value, node.args[1].value.elements
        return cst.Tuple([cst.Element(cst.Call(function, [cst.Arg(item.value)])) for item in items])

    def element_function(self, func: cst.BaseExpression, subject: Value) -> Value:
        """`f` in `.apply(f)`/`.map(f)`: a lambda or a notebook helper, run on one element."""
        saved, self.scalar = self.scalar, True
        try:
            if m.matches(func, m.Lambda()):
                name = _single_parameter(func)
                if name is None:
                    raise self.fail("the lambda must take exactly one value", func)
                lambda_def = cst.FunctionDef(
                    name=cst.Name("lambda"),
                    params=func.params,
                    body=cst.SimpleStatementSuite([cst.Return(func.body)]),
                )
                return self.inline(lambda_def, [subject])
            if m.matches(func, m.Name()) and func.value in self.functions:
                return self.inline(self.functions[func.value], [subject])
            raise self.fail(f"`{self.code(func)[:40]}` runs an arbitrary function", func)
        finally:
            self.scalar = saved

    def isna(self, value: Value, negate: bool) -> Value:
        test = self.helper("_isna", value.node)
        return Value(cst.UnaryOperation(cst.Not(), test) if negate else test, "bool")


_EXPRESSIONS: tuple[tuple[type, object], ...] = (
    (cst.Integer, _Compiler.literal),
    (cst.Float, _Compiler.literal),
    (cst.SimpleString, _Compiler.literal),
    (cst.Name, _Compiler.name),
    (cst.Attribute, _Compiler.attribute),
    (cst.Subscript, _Compiler.subscript),
    (cst.UnaryOperation, _Compiler.unary),
    (cst.BinaryOperation, _Compiler.binary),
    (cst.BooleanOperation, _Compiler.boolean),
    (cst.IfExp, _Compiler.if_expression),
    (cst.Comparison, _Compiler.comparison),
    (cst.Call, _Compiler.call),
)


def _simple_body(function: cst.FunctionDef) -> list[cst.BaseSmallStatement] | None:
    """The small statements of a function without compound statements (else None)."""
    block = function.body
    lines = block.body if isinstance(block, cst.IndentedBlock) else [block]
    if not all(isinstance(s, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) for s in lines):
        return None
    return [small for line in lines for small in line.body]


def _single_parameter(node: cst.Lambda) -> str | None:
    params = node.params
    if (
        len(params.params) != 1
        or params.star_arg != cst.MaybeSentinel.DEFAULT
        or params.kwonly_params
        or params.star_kwarg
        or params.posonly_params
        or params.params[0].default
    ):
        return None
    return params.params[0].name.value


def _paren(node: cst.BaseExpression) -> cst.BaseExpression:
    if m.matches(node, m.BooleanOperation() | m.UnaryOperation() | m.IfExp()):
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node


def _support_names(
    support: Sequence[cst.BaseStatement],
) -> tuple[dict[str, str], set[str], dict[str, cst.FunctionDef], set[str]]:
    """Module aliases (`np` -> numpy), constants (scalars, and lists/dicts of them), the
    notebook's functions, and every name the support binds."""
    modules: dict[str, str] = {"np": "numpy", "pd": "pandas"}
    constants: set[str] = set()
    functions: dict[str, cst.FunctionDef] = {}
    names: set[str] = set()
    for statement in support:
        for node in m.findall(statement, m.Import() | m.ImportFrom()):
            if m.matches(node, m.Import()):
                for alias in node.names:
                    bound = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
                    modules[bound] = alias.evaluated_name
                    names.add(bound)
            elif not isinstance(node.names, cst.ImportStar):
                names |= {a.evaluated_alias or a.evaluated_name for a in node.names}
        if m.matches(statement, m.FunctionDef()):
            functions[statement.name.value] = statement
        for node in m.findall(statement, m.Assign(targets=[m.AssignTarget(m.Name())])):
            name = node.targets[0].target.value
            names.add(name)
            if _is_constant(node.value, constants, containers=True):
                constants.add(name)
            else:
                constants.discard(name)
        for node in m.findall(statement, m.FunctionDef() | m.ClassDef()):
            names.add(node.name.value)
    return modules, constants - set(modules), functions, names


def _is_constant(node: cst.BaseExpression, constants: set[str], containers: bool = False) -> bool:
    """A literal (or arithmetic of them, or with `containers` a list/tuple/set/dict of
    them): safe to embed in every row."""
    if m.matches(
        node,
        m.Integer()
        | m.Float()
        | m.SimpleString()
        | m.Name("True")
        | m.Name("False")
        | m.Name("None"),
    ):
        return True
    if m.matches(node, m.Name()):
        return node.value in constants
    if m.matches(node, m.UnaryOperation(operator=m.Minus() | m.Plus())):
        return _is_constant(node.expression, constants)
    if m.matches(
        node, m.BinaryOperation(operator=m.Add() | m.Subtract() | m.Multiply() | m.Divide())
    ):
        return _is_constant(node.left, constants) and _is_constant(node.right, constants)
    if m.matches(
        node,
        m.Call(
            func=m.Name("float")
            | m.Name("int")
            | m.Attribute(value=m.Name("np"), attr=m.Name("float64") | m.Name("int64")),
            args=[m.Arg(keyword=None)],
        ),
    ):
        return _is_constant(node.args[0].value, constants)
    if m.matches(node, m.Attribute(value=m.Name("np"), attr=m.Name("nan") | m.Name("inf"))):
        return True
    if containers and m.matches(node, m.List() | m.Tuple() | m.Set()):
        return all(
            isinstance(e, cst.Element) and _is_constant(e.value, constants, True)
            for e in node.elements
        )
    if containers and m.matches(node, m.Dict()):
        return all(
            isinstance(e, cst.DictElement)
            and _is_constant(e.key, constants)
            and _is_constant(e.value, constants, True)
            for e in node.elements
        )
    return False


def _result_frame(compiler: _Compiler, function_name: str, features: Sequence[str]) -> str:
    """The frame holding the features, by dataflow: the frame the cell binds to the view's
    name, else the input frame if it received them all (as the pandas twin reads it), else
    the frame that received them (the last one assigned to first)."""
    if function_name in compiler.frames:
        return function_name
    holders = [name for name, frame in compiler.frames.items() if set(features) <= frame.assigned]
    for name in (compiler.input_frame, compiler.last_frame, *reversed(holders)):
        if name in holders:
            return name
    return compiler.input_frame


def compile_python_udf(
    body: Sequence[cst.BaseStatement],
    frame: str,
    features: Sequence[str],
    support: Sequence[cst.BaseStatement],
    function_name: str,
    result: str | None = None,
    dtypes: Mapping[str, str] | None = None,
    feast_types: Mapping[str, str] | None = None,
) -> cst.FunctionDef:
    """The cell as `def NAME(inputs: dict[str, list]) -> dict[str, list]`, computing `features`
    row by row. `result` names the frame holding the features (default: found by dataflow);
    `dtypes` maps input columns to their pandas dtype, where pandas' rules depend on it;
    `feast_types` maps features to their Feast type (Float32/Int32 values are emitted as
    numpy's 32-bit scalars, since Feast infers the served schema from the values' types).
    Raises `NotCompilable`."""
    compiler = _Compiler(body, frame, support, dtypes or {})
    for statement in compiler.module.body:
        compiler.statement = statement
        if not m.matches(statement, m.SimpleStatementLine()):
            raise compiler.fail(
                "compound statements (if/for/with/def) are not translated", statement
            )
        for small in statement.body:
            compiler.statement_(small)
    compiler.statement = None
    if result is None:
        result = _result_frame(compiler, function_name, features)
    if result not in compiler.frames:
        raise NotCompilable(f"the result frame `{result}` is not built by the cell", 1)
    values = [compiler.column(result, feature, compiler.module) for feature in features]
    for feature, value in zip(features, values):
        if value.kind == "list":
            raise NotCompilable(f"the feature {feature!r} holds lists (`.str.split`)", 1)
    outs = [_OUT_BY_FEAST_TYPE.get((feast_types or {}).get(f, ""), "_out") for f in features]
    compiler.helpers.update(outs)
    return _render(compiler, support, features, values, function_name, outs)


# How a feature's value leaves the udf, by its Feast type (default `_out`).
_OUT_BY_FEAST_TYPE = {"Float32": "_out_single_float", "Int32": "_out_small_int"}


def _render(compiler, support, features, values, function_name, outs) -> cst.FunctionDef:
    appends = [
        parse_template_statement(
            "outputs[{key}].append({out}({value}))\n",
            key=cst.SimpleString(json.dumps(f)),
            out=cst.Name(out),
            value=v.node,
        )
        for f, v, out in zip(features, values, outs, strict=True)
    ]
    first = next((s for s in compiler.loads), None)
    rows = (
        first.body[0].value.args[0].value.value
        if first is not None  # inputs["col"]
        else cst.parse_expression("next(iter(inputs.values()))")
    )
    loop = parse_template_statement("for row in range(len({rows})): pass\n", rows=rows)
    loop = loop.with_changes(body=cst.IndentedBlock([*compiler.loads, *compiler.steps, *appends]))
    outputs = cst.Dict(
        [cst.DictElement(cst.SimpleString(json.dumps(f)), cst.List([])) for f in features]
    )
    helpers = [
        cst.parse_statement(_helper_source(h)).with_changes(
            leading_lines=[cst.EmptyLine(indent=False)]
        )
        for h in helper_closure(compiler.helpers)
    ]
    imports = [] if _binds(support, "np") else [cst.parse_statement("import numpy as np\n")]
    if any("pd." in _helper_source(h) for h in helper_closure(compiler.helpers)):
        imports.append(cst.parse_statement("import pandas as pd\n"))
    guard = cst.parse_statement('with np.errstate(all="ignore"): pass\n')
    tail = [
        parse_template_statement("outputs = {outputs}\n", outputs=outputs).with_changes(
            leading_lines=[cst.EmptyLine(indent=False)]
        ),
        guard.with_changes(body=cst.IndentedBlock([loop])),
        cst.parse_statement("return outputs\n"),
    ]
    function = parse_template_statement(
        "def {name}(inputs: dict[str, list]) -> dict[str, list]: pass\n",
        name=cst.Name(function_name),
    )
    return function.with_changes(body=cst.IndentedBlock([*imports, *support, *helpers, *tail]))


def _binds(support: Sequence[cst.BaseStatement], name: str) -> bool:
    return any(
        (a.evaluated_alias or a.evaluated_name) == name and a.evaluated_name == "numpy"
        for statement in support
        for node in m.findall(statement, m.Import())
        for a in node.names
    )
