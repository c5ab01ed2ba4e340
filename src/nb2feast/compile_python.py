"""compile_python: an on-demand cell's pandas body -> a row-wise `mode="python"` udf.

Feast serves python-mode views several times faster online than pandas-mode ones, but
hands them lists whose missing values are `None`. This stage translates the column
expressions of a cell, node by node, into per-row calls of small null-safe helpers
that follow pandas' semantics (a missing value behaves like NaN, comparisons with it
are False, numpy's IEEE rules for division), and refuses - with `NotCompilable`, a
reason and a line - everything it cannot prove row-wise: cross-row statistics,
arbitrary functions, unknown methods. A refusal is cheap (the view stays in pandas
mode); a wrong translation is not, so the accepted language is a small whitelist.
"""

from __future__ import annotations

import builtins
import json
import keyword
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m
from libcst.helpers import parse_template_statement
from libcst.metadata import MetadataWrapper, PositionProvider

DESCRIPTION = "Compile a pandas on-demand cell into a row-wise Feast python-mode udf."


class NotCompilable(Exception):
    """The cell cannot be translated row-wise; `line` is 1-based within the body."""

    def __init__(self, reason: str, line: int) -> None:
        super().__init__(f"line {line}: {reason}")
        self.reason = reason
        self.line = line


# Null-safe scalar helpers, inlined into the udf (only those it uses): Feast re-creates
# a udf from its source text alone.
_HELPERS = {
    "_isna": """
def _isna(x):
    return x is None or (isinstance(x, (float, np.floating)) and x != x)
""",
    "_in": """
def _in(x):
    if isinstance(x, (bool, np.bool_)):
        return np.bool_(x)
    if isinstance(x, (int, np.integer)):
        return np.int64(x)
    if isinstance(x, (float, np.floating)):
        return np.float64(x)
    return x
""",
    "_out": """
def _out(x):
    return x.item() if isinstance(x, np.generic) else x
""",
    "_arith": """
def _arith(ufunc, a, b):
    if _isna(a) or _isna(b):
        return np.float64("nan")
    if isinstance(a, str) or isinstance(b, str):
        return a + b if ufunc is np.add else a * b
    return ufunc(a, b)
""",
    "_neg": """
def _neg(x):
    return np.float64("nan") if _isna(x) else np.negative(x)
""",
    "_compare": """
def _compare(op, a, b):
    if _isna(a) or _isna(b):
        return op == "!="
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    return bool(a == b) if op == "==" else bool(a != b)
""",
    "_np": """
def _np(ufunc, *args):
    return ufunc(*[np.float64("nan") if a is None else a for a in args])
""",
    "_clip": """
def _clip(x, lower, upper):
    lower = None if _isna(lower) else lower
    upper = None if _isna(upper) else upper
    if _isna(x) or (lower is None and upper is None):
        return np.float64("nan") if _isna(x) else x
    return np.clip(x, lower, upper)
""",
    "_where": """
def _where(condition, a, b):
    return np.where(condition, np.float64("nan") if a is None else a, np.float64("nan") if b is None else b)[()]
""",
    "_fillna": """
def _fillna(x, value):
    if not _isna(x):
        return x
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return np.float64(value)
    return value
""",
    "_astype": """
def _astype(x, dtype):
    if dtype == "float64":
        return np.float64("nan") if x is None else np.float64(x)
    if dtype == "int64":
        return np.float64("nan") if _isna(x) or not np.isfinite(x) else np.int64(x)
    if dtype == "bool":
        return True if x is None else bool(x)
    return "nan" if x is None else str(x)
""",
    "_str": """
def _str(x, method, *args):
    if isinstance(x, str):
        return len(x) if method == "len" else getattr(x, method)(*args)
    return x if _isna(x) else np.float64("nan")
""",
}
_USES = {name: {"_isna"} for name in _HELPERS} | {
    "_isna": set(),
    "_in": set(),
    "_out": set(),
    "_np": set(),
}

_NUMPY_UNARY = frozenset(
    [
        "log",
        "log1p",
        "log2",
        "log10",
        "exp",
        "expm1",
        "sqrt",
        "abs",
        "absolute",
        "fabs",
        "floor",
        "ceil",
        "trunc",
        "sign",
        "square",
        "sin",
        "cos",
        "tan",
        "tanh",
    ]
)
_NUMPY_BINARY = frozenset({"minimum", "maximum", "fmin", "fmax"})
_NUMPY_CONSTANTS = frozenset({"nan", "inf", "pi", "e", "NaN"})
_CROSS_ROW = frozenset(
    [
        "mean",
        "std",
        "var",
        "sum",
        "min",
        "max",
        "median",
        "quantile",
        "rank",
        "shift",
        "diff",
        "cumsum",
        "cumprod",
        "cummax",
        "cummin",
        "pct_change",
        "rolling",
        "expanding",
        "ewm",
        "groupby",
        "transform",
        "agg",
        "aggregate",
        "count",
        "nunique",
        "value_counts",
        "mode",
        "idxmax",
        "idxmin",
        "sort_values",
        "head",
        "tail",
        "sample",
        "drop_duplicates",
        "merge",
        "join",
        "interpolate",
        "ffill",
        "bfill",
    ]
)
_ARBITRARY = frozenset({"apply", "map", "applymap", "pipe", "agg", "transform"})
_DTYPES = {
    "float64": "float64",
    "float": "float64",
    "int64": "int64",
    "int": "int64",
    "bool": "bool",
    "str": "str",
}
_COMPARE = {
    m.LessThan: "<",
    m.LessThanEqual: "<=",
    m.GreaterThan: ">",
    m.GreaterThanEqual: ">=",
    m.Equal: "==",
    m.NotEqual: "!=",
}
_ARITH = {
    m.Add: "add",
    m.Subtract: "subtract",
    m.Multiply: "multiply",
    m.Divide: "true_divide",
    m.Power: "power",
}
_AUG = {
    m.AddAssign: m.Add,
    m.SubtractAssign: m.Subtract,
    m.MultiplyAssign: m.Multiply,
    m.DivideAssign: m.Divide,
}
_RESERVED = (
    frozenset({"inputs", "outputs", "row", "np"}) | frozenset(_HELPERS) | frozenset(dir(builtins))
)


@dataclass(frozen=True)
class _Value:
    """A per-row value: the generated expression and whether it is a never-missing bool."""

    node: cst.BaseExpression
    is_bool: bool = False


@dataclass
class _Frame:
    """A DataFrame of the cell: its columns as per-row values; input frames read Feast's inputs."""

    columns: dict[str, _Value] = field(default_factory=dict)
    reads_inputs: bool = False

    def copy(self) -> _Frame:
        return _Frame(dict(self.columns), self.reads_inputs)


class _Compiler:
    def __init__(
        self, body: Sequence[cst.BaseStatement], frame: str, support: Sequence[cst.BaseStatement]
    ):
        self.module = cst.Module(body=list(body))
        self.positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(
            PositionProvider
        )
        self.frames: dict[str, _Frame] = {frame: _Frame(reads_inputs=True)}
        self.input_frame = frame
        self.locals: dict[str, _Value] = {}
        self.modules, self.constants, support_names = _support_names(support)
        if self.modules.get("np", "numpy") != "numpy":
            raise NotCompilable(
                "the cell's support code binds `np` to something other than numpy", 1
            )
        self.taken = set(_RESERVED) | support_names | set(keyword.kwlist)
        self.loads: list[cst.BaseStatement] = []
        self.steps: list[cst.BaseStatement] = []
        self.helpers: set[str] = {"_in", "_out", "_isna"}
        self.statement: cst.CSTNode | None = None

    # -- errors and names ------------------------------------------------------------
    def fail(self, reason: str, node: cst.CSTNode | None = None) -> NotCompilable:
        for candidate in (node, self.statement):
            position = self.positions.get(candidate) if candidate is not None else None
            if position is not None:
                return NotCompilable(reason, position.start.line)
        return NotCompilable(reason, 1)

    def fresh(self, hint: str) -> cst.Name:
        base = "".join(c if c.isalnum() or c == "_" else "_" for c in hint) or "value"
        base = f"c_{base}" if base[0].isdigit() else base
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return cst.Name(name)

    def call(self, helper: str, *args: cst.BaseExpression) -> cst.Call:
        self.helpers.add(helper)
        self.helpers |= _USES[helper]
        return cst.Call(cst.Name(helper), [cst.Arg(a) for a in args])

    # -- frames ------------------------------------------------------------------------
    def column(self, frame_name: str, column: str, node: cst.CSTNode) -> _Value:
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
            frame.columns[column] = _Value(var)
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
        if (
            m.matches(node, m.Call(func=m.Attribute(value=m.Name(), attr=m.Name("copy")), args=[]))
            and node.func.value.value in self.frames
        ):
            return self.frames[node.func.value.value].copy()
        if (
            m.matches(node, m.Call(func=m.Attribute(value=m.Name(), attr=m.Name("assign"))))
            and node.func.value.value in self.frames
        ):
            return self.assign(self.frames[node.func.value.value], node)
        if (
            m.matches(node, m.Call(func=m.Attribute(value=m.Name(), attr=m.Name("DataFrame"))))
            and self.modules.get(node.func.value.value) == "pandas"
        ):
            return self.data_frame(node)
        return None

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
                result.columns[name] = self.bind(name, self.lambda_(arg.value, result))
            else:
                result.columns[name] = self.bind(name, dict(pending)[name])
        return result

    def lambda_(self, node: cst.Lambda, frame: _Frame) -> _Value:
        params = node.params
        if (
            len(params.params) != 1
            or params.star_arg != cst.MaybeSentinel.DEFAULT
            or params.kwonly_params
            or params.star_kwarg
            or params.posonly_params
            or params.params[0].default
        ):
            raise self.fail("`assign` lambdas must take exactly the frame", node)
        name = params.params[0].name.value
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
        if not node.args or node.args[0].keyword or not m.matches(node.args[0].value, m.Dict()):
            raise self.fail("`pd.DataFrame` needs a literal dict of columns", node)
        for extra in node.args[1:]:
            if not (
                extra.keyword
                and extra.keyword.value == "index"
                and m.matches(extra.value, m.Attribute(value=m.Name(), attr=m.Name("index")))
                and extra.value.value.value in self.frames
            ):
                raise self.fail(
                    "`pd.DataFrame` with arguments other than `index=frame.index`", extra
                )
        frame = _Frame()
        for element in node.args[0].value.elements:
            if not m.matches(element, m.DictElement(key=m.SimpleString())) or not isinstance(
                element.key.evaluated_value, str
            ):
                raise self.fail("`pd.DataFrame` dict keys must be string literals", element)
            name = element.key.evaluated_value
            frame.columns[name] = self.bind(name, self.expr(element.value))
        return frame

    def bind(self, hint: str, value: _Value) -> _Value:
        """Evaluate `value` once per row into a fresh variable."""
        if m.matches(value.node, m.Name()) and value.node.value in self.taken:
            return value
        var = self.fresh(hint)
        self.steps.append(
            cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(var)], value.node)])
        )
        return _Value(var, value.is_bool)

    # -- statements --------------------------------------------------------------------
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
        if m.matches(node, m.AugAssign()) and type(node.operator) in {
            type(cst.AddAssign()),
            type(cst.SubtractAssign()),
            type(cst.MultiplyAssign()),
            type(cst.DivideAssign()),
        }:
            operator = {
                cst.AddAssign: cst.Add(),
                cst.SubtractAssign: cst.Subtract(),
                cst.MultiplyAssign: cst.Multiply(),
                cst.DivideAssign: cst.Divide(),
            }[type(node.operator)]
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
            self.frames[frame].columns[column] = self.bind(column, self.expr(node.value))
            return
        if not m.matches(target, m.Name()):
            raise self.fail("assignment target is not a column or a name", target)
        name = target.value
        frame = self.frame_value(node.value)
        if frame is not None:
            self.frames[name] = frame
            self.locals.pop(name, None)
            return
        if name in self.frames:
            raise self.fail(f"`{name}` is rebound to something that is not a frame", node)
        self.locals[name] = self.bind(name, self.expr(node.value))

    # -- expressions -------------------------------------------------------------------
    def expr(self, node: cst.BaseExpression) -> _Value:
        if node.lpar and not m.matches(node, m.Tuple()):
            node = node.with_changes(lpar=[], rpar=[])
        key = self.column_key(node)
        if key is not None:
            return self.column(*key, node)
        if m.matches(node, m.Integer() | m.Float() | m.SimpleString()):
            return _Value(node)
        if m.matches(node, m.Name("True") | m.Name("False")):
            return _Value(node, is_bool=True)
        if m.matches(node, m.Name("None")):
            return _Value(node)
        if m.matches(node, m.Name()):
            if node.value in self.locals:
                return self.locals[node.value]
            if node.value in self.constants:
                return _Value(node)
            if node.value in self.frames:
                raise self.fail(f"the frame `{node.value}` is used as a value", node)
            raise self.fail(f"`{node.value}` is not a column, a local or a scalar constant", node)
        if (
            m.matches(node, m.Attribute(value=m.Name(), attr=m.Name()))
            and self.modules.get(node.value.value) == "numpy"
            and node.attr.value in _NUMPY_CONSTANTS
        ):
            return _Value(cst.parse_expression(f"np.{node.attr.value}"))
        if m.matches(node, m.UnaryOperation()):
            operand = self.expr(node.expression)
            if m.matches(node.operator, m.Plus()):
                return operand
            if m.matches(node.operator, m.Minus()):
                return _Value(self.call("_neg", operand.node))
            if not operand.is_bool:
                raise self.fail(
                    "`~`/`not` on a value that is not a comparison (bitwise on numbers)", node
                )
            return _Value(cst.UnaryOperation(cst.Not(), _paren(operand.node)), is_bool=True)
        if m.matches(node, m.BinaryOperation()):
            left, right = self.expr(node.left), self.expr(node.right)
            for matcher, ufunc in _ARITH.items():
                if m.matches(node.operator, matcher()):
                    return _Value(
                        self.call(
                            "_arith", cst.parse_expression(f"np.{ufunc}"), left.node, right.node
                        )
                    )
            if m.matches(node.operator, m.BitAnd() | m.BitOr()):
                if not (left.is_bool and right.is_bool):
                    raise self.fail("`&`/`|` on values that are not comparisons", node)
                operator = cst.And() if m.matches(node.operator, m.BitAnd()) else cst.Or()
                return _Value(
                    cst.BooleanOperation(_paren(left.node), operator, _paren(right.node)),
                    is_bool=True,
                )
            raise self.fail(
                f"operator `{self.module.code_for_node(node.operator).strip()}` is not translated",
                node,
            )
        if m.matches(node, m.Comparison()):
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
            return _Value(
                self.call("_compare", cst.SimpleString(f'"{operator}"'), left.node, right.node),
                is_bool=True,
            )
        if m.matches(node, m.Call()):
            return self.call_(node)
        raise self.fail(
            f"`{self.module.code_for_node(node).strip()[:40]}` is not a row-wise expression", node
        )

    def call_(self, node: cst.Call) -> _Value:
        func = node.func
        if any(a.star for a in node.args):
            raise self.fail("calls with * or ** arguments", node)
        positional = [a.value for a in node.args if a.keyword is None]
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        # numpy and pandas functions: np.log1p(x), np.where(c, a, b), pd.isna(x)
        if (
            m.matches(func, m.Attribute(value=m.Name(), attr=m.Name()))
            and func.value.value in self.modules
        ):
            module, name = self.modules[func.value.value], func.attr.value
            if (
                module == "numpy"
                and name in _NUMPY_UNARY | _NUMPY_BINARY
                and not keywords
                and len(positional) == (1 if name in _NUMPY_UNARY else 2)
            ):
                args = [self.expr(a).node for a in positional]
                return _Value(self.call("_np", cst.parse_expression(f"np.{name}"), *args))
            if (
                module == "numpy"
                and name in {"round", "around"}
                and not keywords
                and len(positional) in (1, 2)
            ):
                args = [self.expr(a).node for a in positional]
                return _Value(self.call("_np", cst.parse_expression("np.round"), *args))
            if module == "numpy" and name == "clip" and not keywords and len(positional) == 3:
                return _Value(self.call("_clip", *(self.expr(a).node for a in positional)))
            if module == "numpy" and name == "where" and not keywords and len(positional) == 3:
                condition = self.expr(positional[0])
                if not condition.is_bool:
                    raise self.fail(
                        "`np.where` on a condition that is not a comparison", positional[0]
                    )
                a, b = self.expr(positional[1]), self.expr(positional[2])
                return _Value(
                    self.call("_where", condition.node, a.node, b.node),
                    is_bool=a.is_bool and b.is_bool,
                )
            if (module, name) in {
                ("numpy", "isnan"),
                ("pandas", "isna"),
                ("pandas", "isnull"),
                ("pandas", "notna"),
                ("pandas", "notnull"),
            } and len(positional) == 1:
                return self.isna(self.expr(positional[0]), negate=name.startswith("not"))
            raise self.fail(f"`{func.value.value}.{name}` is not translated row-wise", node)
        if m.matches(func, m.Name("abs")) and len(positional) == 1 and not keywords:
            return _Value(
                self.call("_np", cst.parse_expression("np.abs"), self.expr(positional[0]).node)
            )
        if not m.matches(func, m.Attribute(attr=m.Name())):
            raise self.fail(
                f"calls `{self.module.code_for_node(func)}`, which may do anything", node
            )
        method = func.attr.value
        # string methods: x.str.lower()
        if m.matches(func.value, m.Attribute(attr=m.Name("str"))):
            if (
                method
                not in {
                    "lower",
                    "upper",
                    "strip",
                    "lstrip",
                    "rstrip",
                    "len",
                    "startswith",
                    "endswith",
                }
                or keywords
                or (method in {"startswith", "endswith"}) != (len(positional) == 1)
                or (method not in {"startswith", "endswith"} and positional)
            ):
                raise self.fail(f"`.str.{method}(...)` is not translated row-wise", node)
            if positional and not m.matches(positional[0], m.SimpleString()):
                raise self.fail(f"`.str.{method}` with a non-literal argument", node)
            subject = self.expr(func.value.value)
            return _Value(
                self.call("_str", subject.node, cst.SimpleString(f'"{method}"'), *positional)
            )
        if method in _CROSS_ROW:
            raise self.fail(
                f"`.{method}()` reads other rows; at serving time the frame is one request", node
            )
        if method in _ARBITRARY:
            raise self.fail(f"`.{method}()` runs an arbitrary function", node)
        subject = self.expr(func.value)
        if method in {"isna", "isnull", "notna", "notnull"} and not node.args:
            return self.isna(subject, negate=method.startswith("not"))
        if method == "abs" and not node.args:
            return _Value(self.call("_np", cst.parse_expression("np.abs"), subject.node))
        if method == "round" and len(node.args) <= 1 and set(keywords) <= {"decimals"}:
            digits = [self.expr(a.value).node for a in node.args]
            return _Value(self.call("_np", cst.parse_expression("np.round"), subject.node, *digits))
        if method == "clip" and len(node.args) <= 2 and set(keywords) <= {"lower", "upper"}:
            bounds = dict(zip(("lower", "upper"), positional)) | keywords
            lower, upper = (
                self.expr(bounds.get(k, cst.Name("None"))).node for k in ("lower", "upper")
            )
            return _Value(self.call("_clip", subject.node, lower, upper))
        if method == "fillna" and len(positional) == 1 and not keywords:
            value = self.expr(positional[0])
            return _Value(
                self.call("_fillna", subject.node, value.node),
                is_bool=subject.is_bool and value.is_bool,
            )
        if method == "astype" and len(positional) == 1 and not keywords:
            dtype = self.dtype(positional[0])
            return _Value(
                self.call("_astype", subject.node, cst.SimpleString(f'"{dtype}"')),
                is_bool=dtype == "bool",
            )
        raise self.fail(f"`.{method}(...)` is not translated row-wise", node)

    def isna(self, value: _Value, negate: bool) -> _Value:
        test = self.call("_isna", value.node)
        return _Value(cst.UnaryOperation(cst.Not(), test) if negate else test, is_bool=True)

    def dtype(self, node: cst.BaseExpression) -> str:
        if m.matches(node, m.SimpleString()):
            name = node.evaluated_value
        elif m.matches(node, m.Name("float") | m.Name("int") | m.Name("bool") | m.Name("str")):
            name = node.value
        elif (
            m.matches(node, m.Attribute(value=m.Name(), attr=m.Name()))
            and self.modules.get(node.value.value) == "numpy"
        ):
            name = node.attr.value
        else:
            name = None
        if name not in _DTYPES:
            raise self.fail(
                f"`.astype({self.module.code_for_node(node)})` is not translated row-wise", node
            )
        return _DTYPES[name]


def _paren(node: cst.BaseExpression) -> cst.BaseExpression:
    if m.matches(node, m.BooleanOperation() | m.UnaryOperation()):
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node


def _support_names(
    support: Sequence[cst.BaseStatement],
) -> tuple[dict[str, str], set[str], set[str]]:
    """Module aliases (`np` -> numpy), scalar constants, and every name the support binds."""
    modules: dict[str, str] = {"np": "numpy", "pd": "pandas"}
    constants: set[str] = set()
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
        for node in m.findall(statement, m.Assign(targets=[m.AssignTarget(m.Name())])):
            name = node.targets[0].target.value
            names.add(name)
            if _is_constant(node.value, constants):
                constants.add(name)
            else:
                constants.discard(name)
        for node in m.findall(statement, m.FunctionDef() | m.ClassDef()):
            names.add(node.name.value)
    return modules, constants - set(modules), names


def _is_constant(node: cst.BaseExpression, constants: set[str]) -> bool:
    """A scalar literal (or arithmetic of them): safe to use in every row."""
    if m.matches(
        node, m.Integer() | m.Float() | m.SimpleString() | m.Name("True") | m.Name("False")
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
    return False


def compile_python_udf(
    body: Sequence[cst.BaseStatement],
    frame: str,
    features: Sequence[str],
    support: Sequence[cst.BaseStatement],
    function_name: str,
    result: str | None = None,
) -> cst.FunctionDef:
    """The cell as `def NAME(inputs: dict[str, list]) -> dict[str, list]`, computing `features`
    row by row. `result` names the frame holding the features (default: the frame the body
    binds to `function_name`, else `frame`). Raises `NotCompilable`."""
    compiler = _Compiler(body, frame, support)
    for statement in compiler.module.body:
        compiler.statement = statement
        if not m.matches(statement, m.SimpleStatementLine()):
            raise compiler.fail(
                "compound statements (if/for/with/def) are not translated", statement
            )
        for small in statement.body:
            compiler.statement_(small)
    compiler.statement = None
    if result is None:  # as render does: a cell binding the view's name returns that frame
        result = function_name if function_name in compiler.frames else frame
    if result not in compiler.frames:
        raise NotCompilable(f"the result frame `{result}` is not built by the cell", 1)
    values = [compiler.column(result, feature, compiler.module) for feature in features]

    appends = [
        parse_template_statement(
            "outputs[{key}].append(_out({value}))\n",
            key=cst.SimpleString(json.dumps(f)),
            value=v.node,
        )
        for f, v in zip(features, values)
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
        cst.parse_statement(_HELPERS[h].lstrip("\n")).with_changes(leading_lines=[cst.EmptyLine(indent=False)])
        for h in _HELPERS
        if h in compiler.helpers
    ]
    imports = [] if _binds(support, "np") else [cst.parse_statement("import numpy as np\n")]
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
