"""The constructs `compile_python` translates: one small handler per construct, in tables.

A handler gets the compiler and the parts of the construct and returns a `Value`: the
per-row expression (a call of a helper in `pyudf_runtime`) and its kind, where pandas'
rules depend on it. To translate a new construct, add a handler and a row; anything
without a row is refused with its reason and line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import libcst as cst
import libcst.matchers as m


class NotCompilable(Exception):
    """The cell cannot be translated row-wise; `line` is 1-based within the body."""

    def __init__(self, reason: str, line: int) -> None:
        super().__init__(f"line {line}: {reason}")
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class Value:
    """A per-row value: the generated expression and its kind.

    Kinds: `bool` (a boolean that is never missing), `boolean` (pandas' nullable boolean),
    `int`, `float`, `str`, `object` (strings or bools that may be None), `datetime`,
    `timedelta`; None when unknown."""

    node: cst.BaseExpression
    kind: str | None = None

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"


@dataclass(frozen=True)
class Call:
    """A call to translate: `subject.name(args, keywords)` (subject None for functions)."""

    node: cst.Call
    subject: Value | None
    args: tuple[cst.BaseExpression, ...]
    keywords: Mapping[str, cst.BaseExpression]
    name: str

    def bind(self, c: Any, *params: str, required: int = 0) -> dict[str, cst.BaseExpression]:
        """Arguments by parameter name, as Python would bind them; refuses the others."""
        if len(self.args) > len(params):
            raise c.fail(f"`{self.name}` with {len(self.args)} positional arguments", self.node)
        bound = dict(zip(params, self.args, strict=False))  # args may be fewer than params
        for key, value in self.keywords.items():
            if key not in params or key in bound:
                raise c.fail(f"`{self.name}` with the argument `{key}`", self.node)
            bound[key] = value
        missing = [p for p in params[:required] if p not in bound]
        if missing:
            raise c.fail(f"`{self.name}` without `{missing[0]}`", self.node)
        return bound


Handler = Callable[[Any, Call], Value]
_NAN = cst.parse_expression('np.float64("nan")')


def kind_of_dtype(dtype: str | None) -> str | None:
    """The kind of an input column from its pandas dtype name."""
    text = (dtype or "").lower()
    if text.startswith(("float", "int", "uint")):
        return "float" if text.startswith("float") else "int"
    if text.startswith("datetime64"):
        return "datetime"
    if text.startswith("timedelta64"):
        return "timedelta"
    kinds = {"bool": "bool", "boolean": "boolean", "object": "object", "string": "object"}
    return kinds.get(text, "object" if text in ("str", "category") else None)


def _numeric(*values: Value) -> str | None:
    kinds = {v.kind for v in values}
    if kinds <= {"int", "bool"}:
        return "int"
    return "float" if kinds <= {"int", "float", "bool"} else None


def _string(text: str) -> cst.SimpleString:
    return cst.SimpleString(json.dumps(text))


def _literal(c: Any, node: cst.BaseExpression, what: str) -> Any:
    """The Python value of a literal argument (strings, numbers, booleans, None)."""
    if m.matches(node, m.SimpleString()):
        return node.evaluated_value
    if m.matches(node, m.Name("True") | m.Name("False") | m.Name("None")):
        return {"True": True, "False": False, "None": None}[node.value]
    if m.matches(node, m.Integer() | m.Float()):
        return node.evaluated_value
    raise c.fail(f"{what} must be a literal", node)


# -- operators ------------------------------------------------------------------------------


def _arithmetic(ufunc: str) -> Callable:
    def handler(c: Any, node: cst.BinaryOperation, left: Value, right: Value) -> Value:
        if "datetime" in (left.kind, right.kind):
            if ufunc != "subtract" or left.kind != right.kind:
                raise c.fail("only the difference of two timestamps is translated", node)
            return Value(c.helper("_time_sub", left.node, right.node), "timedelta")
        function = cst.parse_expression(f"np.{ufunc}")
        kind = "float" if ufunc == "true_divide" else _numeric(left, right)
        if ufunc in ("add", "multiply") and "str" in (left.kind, right.kind):
            kind = "str"
        return Value(c.helper("_arith", function, left.node, right.node), kind)

    return handler


def _floor_divide(c: Any, node: cst.BinaryOperation, left: Value, right: Value) -> Value:
    return Value(c.helper("_floordiv", left.node, right.node), _numeric(left, right))


def _modulo(c: Any, node: cst.BinaryOperation, left: Value, right: Value) -> Value:
    if left.kind in ("str", "object"):
        raise c.fail("`%` string formatting is not translated", node)
    return Value(c.helper("_mod", left.node, right.node), _numeric(left, right))


def _logic(c: Any, node: cst.BinaryOperation, left: Value, right: Value) -> Value:
    """`&`/`|` follow pandas' rules by dtype: bool, object (None is False; a missing left
    side makes the row False) and nullable `boolean` (Kleene logic)."""
    both = isinstance(node.operator, cst.BitAnd)
    kinds = {left.kind, right.kind}
    if kinds == {"bool"}:
        operator = cst.And() if both else cst.Or()
        return Value(cst.BooleanOperation(_paren(left.node), operator, _paren(right.node)), "bool")
    if "boolean" in kinds and kinds <= {"bool", "boolean"}:
        helper = "_and_kleene" if both else "_or_kleene"
        return Value(c.helper(helper, left.node, right.node), "boolean")
    if kinds <= {"bool", "object"}:
        helper = "_and_object" if both else "_or_object"
        return Value(c.helper(helper, left.node, right.node), "bool")
    raise c.fail(
        "`&`/`|` on values that are not booleans (bitwise on numbers, or an unknown dtype)",
        node,
    )


def _paren(node: cst.BaseExpression) -> cst.BaseExpression:
    if m.matches(node, m.BooleanOperation() | m.UnaryOperation() | m.IfExp()):
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node


BINARY: dict[type, Callable] = {
    cst.Add: _arithmetic("add"),
    cst.Subtract: _arithmetic("subtract"),
    cst.Multiply: _arithmetic("multiply"),
    cst.Divide: _arithmetic("true_divide"),
    cst.Power: _arithmetic("power"),
    cst.FloorDivide: _floor_divide,
    cst.Modulo: _modulo,
    cst.BitAnd: _logic,
    cst.BitOr: _logic,
}

# -- numpy, pandas, math and builtin functions ------------------------------------------------


def _ufunc(name: str, arity: int, keeps_kind: bool = False, scalar_only: bool = False) -> Handler:
    def handler(c: Any, call: Call) -> Value:
        if scalar_only and not c.scalar:
            raise c.fail(f"`{call.name}` on a Series (it works on one number)", call.node)
        if call.keywords or len(call.args) != arity:
            raise c.fail(f"`{call.name}` with {len(call.args)} arguments or keywords", call.node)
        values = [c.expr(a) for a in call.args]
        kind = values[0].kind if keeps_kind and len(values) == 1 else "float"
        function = cst.parse_expression(f"np.{name}")
        return Value(c.helper("_np", function, *(v.node for v in values)), kind)

    return handler


def _np_round(c: Any, call: Call) -> Value:
    args = call.bind(c, "a", "decimals", required=1)
    values = [c.expr(args[k]).node for k in ("a", "decimals") if k in args]
    subject = c.expr(args["a"])
    return Value(c.helper("_np", cst.parse_expression("np.round"), *values), subject.kind)


def _np_clip(c: Any, call: Call) -> Value:
    args = call.bind(c, "a", "a_min", "a_max", required=3)
    values = [c.expr(args[k]) for k in ("a", "a_min", "a_max")]
    return Value(c.helper("_clip", *(v.node for v in values)), _numeric(*values))


def _condition(c: Any, node: cst.BaseExpression, what: str) -> Value:
    condition = c.expr(node)
    if not condition.is_bool:
        raise c.fail(f"`{what}` on a condition that is not a comparison", node)
    return condition


def _branches(a: Value, b: Value) -> str | None:
    if a.kind == b.kind:
        return a.kind
    return _numeric(a, b)


def _np_where(c: Any, call: Call) -> Value:
    args = call.bind(c, "condition", "x", "y", required=3)
    condition = _condition(c, args["condition"], "np.where")
    a, b = c.expr(args["x"]), c.expr(args["y"])
    return Value(c.helper("_where", condition.node, a.node, b.node), _branches(a, b))


def _np_select(c: Any, call: Call) -> Value:
    """`np.select([c1, c2], [v1, v2], default)` -> nested per-row `np.where`s."""
    args = call.bind(c, "condlist", "choicelist", "default", required=2)
    conditions, choices = args["condlist"], args["choicelist"]
    if not (
        m.matches(conditions, m.List() | m.Tuple())
        and m.matches(choices, m.List() | m.Tuple())
        and len(conditions.elements) == len(choices.elements)
    ):
        raise c.fail("`np.select` needs two literal lists of the same length", call.node)
    result = c.expr(args.get("default", cst.Integer("0")))
    pairs = list(zip(conditions.elements, choices.elements, strict=True))
    tested = [(_condition(c, a.value, "np.select"), c.expr(b.value)) for a, b in pairs]
    for condition, choice in reversed(tested):
        node = c.helper("_where", condition.node, choice.node, result.node)
        result = Value(node, _branches(choice, result))
    return result


def _isna_function(negate: bool) -> Handler:
    def handler(c: Any, call: Call) -> Value:
        args = call.bind(c, "obj", required=1)
        return c.isna(c.expr(args["obj"]), negate)

    return handler


def _pd_cut(c: Any, call: Call) -> Value:
    args = call.bind(
        c, "x", "bins", "right", "labels", "retbins", "precision", "include_lowest", required=2
    )
    if not m.matches(args["bins"], m.List() | m.Tuple() | m.Name()):
        raise c.fail(
            "`pd.cut` with a number of bins reads other rows (use explicit edges)", call.node
        )
    bins = c.constant(args["bins"])
    labels = args.get("labels", cst.Name("None"))
    if m.matches(labels, m.Name("None")):
        raise c.fail("`pd.cut` without labels makes Interval values (give labels=)", call.node)
    if set(args) & {"retbins", "precision"}:
        raise c.fail("`pd.cut` with retbins/precision", call.node)
    subject = c.expr(args["x"])
    right = c.constant(args.get("right", cst.Name("True")))
    lowest = c.constant(args.get("include_lowest", cst.Name("False")))
    kind = "float" if m.matches(labels, m.Name("False")) else "object"
    node = c.helper("_cut", subject.node, bins, c.constant(labels), right, lowest)
    return Value(node, kind)


def _builtin_abs(c: Any, call: Call) -> Value:
    args = call.bind(c, "x", required=1)
    subject = c.expr(args["x"])
    return Value(c.helper("_np", cst.parse_expression("np.abs"), subject.node), subject.kind)


def _scalar_builtin(helper: str) -> Handler:
    def handler(c: Any, call: Call) -> Value:
        if not c.scalar:
            raise c.fail(f"`{call.name}(...)` of a Series (it compares whole Series)", call.node)
        if call.keywords or not call.args or (helper == "_scalar_round" and len(call.args) > 2):
            raise c.fail(f"`{call.name}` with these arguments", call.node)
        values = [c.expr(a) for a in call.args]
        kind = _numeric(*values) if helper != "_scalar_round" else None
        return Value(c.helper(helper, *(v.node for v in values)), kind)

    return handler


_UNARY = [
    "log",
    "log1p",
    "log2",
    "log10",
    "exp",
    "expm1",
    "sqrt",
    "floor",
    "ceil",
    "trunc",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "radians",
    "degrees",
    "deg2rad",
    "rad2deg",
    "fabs",
    "reciprocal",
]
_MATH = {
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "radians": "radians",
    "degrees": "degrees",
    "exp": "exp",
    "log1p": "log1p",
    "log10": "log10",
    "log2": "log2",
    "fabs": "fabs",
    "tanh": "tanh",
}
FUNCTIONS: dict[tuple[str, str], Handler] = {
    **{("numpy", name): _ufunc(name, 1) for name in _UNARY},
    **{
        ("numpy", name): _ufunc(name, 1, keeps_kind=True)
        for name in ("abs", "absolute", "sign", "square", "negative")
    },
    **{
        ("numpy", name): _ufunc(name, 2)
        for name in ("minimum", "maximum", "fmin", "fmax", "arctan2", "hypot", "power")
    },
    ("numpy", "round"): _np_round,
    ("numpy", "around"): _np_round,
    ("numpy", "clip"): _np_clip,
    ("numpy", "where"): _np_where,
    ("numpy", "select"): _np_select,
    ("numpy", "isnan"): _isna_function(False),
    ("pandas", "isna"): _isna_function(False),
    ("pandas", "isnull"): _isna_function(False),
    ("pandas", "notna"): _isna_function(True),
    ("pandas", "notnull"): _isna_function(True),
    ("pandas", "cut"): _pd_cut,
    **{("math", name): _ufunc(ufunc, 1, scalar_only=True) for name, ufunc in _MATH.items()},
    ("math", "atan2"): _ufunc("arctan2", 2, scalar_only=True),
    ("math", "hypot"): _ufunc("hypot", 2, scalar_only=True),
}
BUILTINS: dict[str, Handler] = {
    "abs": _builtin_abs,
    "min": _scalar_builtin("_scalar_min"),
    "max": _scalar_builtin("_scalar_max"),
    "round": _scalar_builtin("_scalar_round"),
}

# -- Series methods ---------------------------------------------------------------------------


def _is_missing(negate: bool) -> Handler:
    def handler(c: Any, call: Call) -> Value:
        call.bind(c)
        return c.isna(call.subject, negate)

    return handler


def _abs(c: Any, call: Call) -> Value:
    call.bind(c)
    node = c.helper("_np", cst.parse_expression("np.abs"), call.subject.node)
    return Value(node, call.subject.kind)


def _round(c: Any, call: Call) -> Value:
    args = call.bind(c, "decimals")
    digits = [c.expr(args["decimals"]).node] if "decimals" in args else []
    node = c.helper("_np", cst.parse_expression("np.round"), call.subject.node, *digits)
    return Value(node, call.subject.kind)


def _clip(c: Any, call: Call) -> Value:
    args = call.bind(c, "lower", "upper")
    bounds = [c.expr(args.get(k, cst.Name("None"))) for k in ("lower", "upper")]
    node = c.helper("_clip", call.subject.node, *(b.node for b in bounds))
    return Value(node, _numeric(call.subject, *[b for b in bounds if b.kind]))


def _fillna(c: Any, call: Call) -> Value:
    args = call.bind(c, "value", required=1)
    value = c.expr(args["value"])
    subject = call.subject
    if subject.is_bool:
        return subject
    helper = "_fillna_object" if subject.kind in ("object", "str", "boolean") else "_fillna"
    kind = subject.kind if subject.kind == value.kind else None
    if subject.kind == "boolean" and value.is_bool:
        kind = "bool"
    return Value(c.helper(helper, subject.node, value.node), kind)


_DTYPES = {
    "float64": "float64",
    "float": "float64",
    "int64": "int64",
    "int": "int64",
    "bool": "bool",
    "str": "str",
}


def _astype(c: Any, call: Call) -> Value:
    args = call.bind(c, "dtype", required=1)
    node = args["dtype"]
    if m.matches(node, m.SimpleString()):
        name = node.evaluated_value
    elif m.matches(node, m.Name("float") | m.Name("int") | m.Name("bool") | m.Name("str")):
        name = node.value
    elif m.matches(node, m.Attribute(value=m.Name(), attr=m.Name())) and (
        c.modules.get(node.value.value) == "numpy"
    ):
        name = node.attr.value
    else:
        name = None
    if name not in _DTYPES:
        raise c.fail(f"`.astype({c.code(node)})` is not translated row-wise", node)
    dtype = _DTYPES[name]
    helper = "_astype_object" if call.subject.kind in ("object", "str") else "_astype"
    node = c.helper(helper, call.subject.node, cst.SimpleString(f'"{dtype}"'))
    return Value(node, {"float64": "float", "int64": "int", "bool": "bool", "str": "str"}[dtype])


def _isin(c: Any, call: Call) -> Value:
    args = call.bind(c, "values", required=1)
    return Value(c.helper("_isin", call.subject.node, c.constant(args["values"])), "bool")


def _map(c: Any, call: Call) -> Value:
    args = call.bind(c, "arg", required=1)
    mapping = args["arg"]
    if m.matches(mapping, m.Dict()) or (
        m.matches(mapping, m.Name()) and mapping.value in c.constants
    ):
        return Value(c.helper("_map", call.subject.node, c.constant(mapping)))
    return c.element_function(mapping, call.subject)


def _apply(c: Any, call: Call) -> Value:
    args = call.bind(c, "func", required=1)
    return c.element_function(args["func"], call.subject)


def _replace(c: Any, call: Call) -> Value:
    args = call.bind(c, "to_replace", "value", required=1)
    if "value" in args:
        mapping = cst.Dict(
            [cst.DictElement(c.constant(args["to_replace"]), c.constant(args["value"]))]
        )
        if m.matches(args["to_replace"], m.List() | m.Tuple() | m.Dict() | m.Set()):
            raise c.fail("`.replace(list, value)` is not translated", call.node)
    elif m.matches(args["to_replace"], m.Dict() | m.Name()):
        mapping = c.constant(args["to_replace"])
    else:
        raise c.fail("`.replace` needs a dict or a value and its replacement", call.node)
    return Value(c.helper("_replace", call.subject.node, mapping))


def _between(c: Any, call: Call) -> Value:
    args = call.bind(c, "left", "right", "inclusive", required=2)
    inclusive = _literal(c, args.get("inclusive", cst.SimpleString('"both"')), "`inclusive`")
    if inclusive not in ("both", "neither", "left", "right"):
        raise c.fail(f"`.between(inclusive={inclusive!r})`", call.node)
    bounds = [c.expr(args[k]).node for k in ("left", "right")]
    node = c.helper("_between", call.subject.node, *bounds, _string(inclusive))
    return Value(node, "bool")


def _where_method(keep_when: bool) -> Handler:
    """`s.where(cond, other)` keeps s where cond holds; `s.mask` where it does not."""

    def handler(c: Any, call: Call) -> Value:
        args = call.bind(c, "cond", "other", required=1)
        condition = _condition(c, args["cond"], f".{call.name}")
        other = c.expr(args["other"]) if "other" in args else Value(_NAN, "float")
        test = (
            condition.node if keep_when else cst.UnaryOperation(cst.Not(), _paren(condition.node))
        )
        node = c.helper("_pick", test, call.subject.node, other.node)
        return Value(node, _branches(call.subject, other))

    return handler


def _operator_method(operator: type) -> Handler:
    """`s.add(o, fill_value=v)` and friends: the operator; with `fill_value`, a value missing
    on one side only is replaced by it first (both missing stays missing)."""

    def handler(c: Any, call: Call) -> Value:
        args = call.bind(c, "other", "axis", "level", "fill_value", required=1)
        if set(args) & {"axis", "level"}:
            raise c.fail(f"`.{call.name}` with axis/level", call.node)
        left, right = call.subject, c.expr(args["other"])
        if "fill_value" in args:
            if operator not in (cst.Add, cst.Subtract, cst.Multiply, cst.Divide):
                raise c.fail(f"`.{call.name}(fill_value=...)` is not translated", call.node)
            fill = c.expr(args["fill_value"]).node
            left = Value(c.helper("_fill_left", left.node, right.node, fill), left.kind)
            right = Value(c.helper("_fill_left", right.node, call.subject.node, fill), right.kind)
        return BINARY[operator](c, call.node, left, right)

    return handler


def _comparison_method(operator: str) -> Handler:
    def handler(c: Any, call: Call) -> Value:
        args = call.bind(c, "other", required=1)
        other = c.expr(args["other"]).node
        return Value(c.helper("_compare", _string(operator), call.subject.node, other), "bool")

    return handler


_OPERATOR_METHODS = {
    "add": cst.Add,
    "sub": cst.Subtract,
    "subtract": cst.Subtract,
    "mul": cst.Multiply,
    "multiply": cst.Multiply,
    "div": cst.Divide,
    "truediv": cst.Divide,
    "divide": cst.Divide,
    "floordiv": cst.FloorDivide,
    "mod": cst.Modulo,
    "pow": cst.Power,
}
_COMPARISON_METHODS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!="}


METHODS: dict[str, Handler] = {
    "isna": _is_missing(False),
    "isnull": _is_missing(False),
    "notna": _is_missing(True),
    "notnull": _is_missing(True),
    "abs": _abs,
    "round": _round,
    "clip": _clip,
    "fillna": _fillna,
    "astype": _astype,
    "isin": _isin,
    "map": _map,
    "apply": _apply,
    "replace": _replace,
    "between": _between,
    "where": _where_method(True),
    "mask": _where_method(False),
    **{name: _operator_method(op) for name, op in _OPERATOR_METHODS.items()},
    **{name: _comparison_method(op) for name, op in _COMPARISON_METHODS.items()},
}

# -- reductions along a row: F[["a", "b"]].max(axis=1) ---------------------------------------


def _row_reduction(how: str) -> Handler:
    def handler(c: Any, call: Call) -> Value:
        args = call.bind(c, "axis", "skipna")
        axis = _literal(c, args.get("axis", cst.Integer("0")), "`axis`")
        skipna = _literal(c, args.get("skipna", cst.Name("True")), "`skipna`")
        if axis not in (1, "columns") or skipna is not True:
            raise c.fail(
                f"`.{how}()` of a frame reads other rows (only axis=1 is row-wise)", call.node
            )
        kind = call.subject.kind.split(":", 1)[1]
        node = c.helper("_row_reduce", _string(how), call.subject.node)
        return Value(node, "float" if how == "mean" else (None if kind == "None" else kind))

    return handler


ROW_REDUCTIONS: dict[str, Handler] = {
    how: _row_reduction(how) for how in ("max", "min", "sum", "mean")
}

# -- the .str accessor (and string methods of elements inside a lambda) ------------------------


def _str_method(c: Any, call: Call) -> Value:
    """`.str.lower()` and friends: Python's str method on strings; missing stays missing."""
    if call.keywords:
        raise c.fail(f"`.str.{call.name}` with keyword arguments", call.node)
    takes = {"strip": 1, "lstrip": 1, "rstrip": 1, "startswith": 1, "endswith": 1}
    arity = takes.get(call.name, 0)
    if len(call.args) > arity or (call.name in ("startswith", "endswith") and not call.args):
        raise c.fail(f"`.str.{call.name}` with these arguments", call.node)
    args = [c.constant(a) for a in call.args]
    node = c.helper("_str", call.subject.node, _string(call.name), *args)
    kind = "float" if call.name == "len" else "object"
    return Value(node, kind)


def _str_contains(c: Any, call: Call) -> Value:
    args = call.bind(c, "pat", "case", "flags", "na", "regex", required=1)
    if "flags" in args:
        raise c.fail("`.str.contains(flags=...)` is not translated", call.node)
    na = c.constant(args.get("na", cst.Name("None")))
    parts = [
        c.constant(args["pat"]),
        c.constant(args.get("case", cst.Name("True"))),
        c.constant(args.get("regex", cst.Name("True"))),
        na,
    ]
    kind = "bool" if m.matches(na, m.Name("True") | m.Name("False")) else "object"
    return Value(c.helper("_str_contains", call.subject.node, *parts), kind)


def _str_replace(c: Any, call: Call) -> Value:
    args = call.bind(c, "pat", "repl", "n", "case", "flags", "regex", required=2)
    if set(args) & {"n", "case", "flags"}:
        raise c.fail("`.str.replace` with n/case/flags", call.node)
    parts = [c.constant(args[k]) for k in ("pat", "repl")]
    regex = c.constant(args.get("regex", cst.Name("False")))
    return Value(c.helper("_str_replace", call.subject.node, *parts, regex), "object")


def _str_slice(c: Any, call: Call) -> Value:
    args = call.bind(c, "start", "stop", "step")
    bounds = [c.constant(args.get(k, cst.Name("None"))) for k in ("start", "stop", "step")]
    return Value(c.helper("_str_slice", call.subject.node, *bounds), "object")


def _str_get(c: Any, call: Call) -> Value:
    args = call.bind(c, "i", required=1)
    return Value(c.helper("_str_get", call.subject.node, c.constant(args["i"])), "object")


def _str_split(c: Any, call: Call) -> Value:
    """`.str.split(sep)`: only as the subject of `.str[i]`/`.str.get(i)` (lists are no
    feature). A separator longer than one character is a regex in pandas: only plain ones."""
    args = call.bind(c, "pat", "n", "expand", "regex")
    if set(args) - {"pat"}:
        raise c.fail("`.str.split` with n/expand/regex", call.node)
    separator = _literal(c, args.get("pat", cst.Name("None")), "the separator")
    if separator is None or not isinstance(separator, str) or separator == "":
        raise c.fail("`.str.split` without a literal separator", call.node)
    if len(separator) > 1 and any(ch in separator for ch in ".^$*+?{}[]\\|()"):
        raise c.fail("`.str.split` on a regular expression", call.node)
    return Value(c.helper("_str_split", call.subject.node, c.constant(args["pat"])), "list")


def _str_extract(c: Any, call: Call) -> Value:
    import re

    args = call.bind(c, "pat", "flags", "expand", required=1)
    pattern = _literal(c, args["pat"], "the pattern")
    expand = _literal(c, args.get("expand", cst.Name("True")), "`expand`")
    if "flags" in args or expand is not False:
        raise c.fail("`.str.extract` is translated with `expand=False` (one column)", call.node)
    if not isinstance(pattern, str) or re.compile(pattern).groups != 1:
        raise c.fail("`.str.extract` with a pattern that has not exactly one group", call.node)
    node = c.helper("_str_extract", call.subject.node, c.constant(args["pat"]), cst.Name("None"))
    return Value(node, "object")


STR_METHODS: dict[str, Handler] = {
    **{
        name: _str_method
        for name in (
            "lower",
            "upper",
            "strip",
            "lstrip",
            "rstrip",
            "title",
            "capitalize",
            "swapcase",
            "len",
            "startswith",
            "endswith",
        )
    },
    "contains": _str_contains,
    "replace": _str_replace,
    "slice": _str_slice,
    "get": _str_get,
    "split": _str_split,
    "extract": _str_extract,
}


def _element_str_method(c: Any, call: Call) -> Value:
    if call.keywords:
        raise c.fail(f"`.{call.name}` with keyword arguments", call.node)
    args = [c.expr(a).node for a in call.args]
    return Value(c.helper("_str", call.subject.node, _string(call.name), *args), "object")


SCALAR_METHODS: dict[str, Handler] = {
    name: _element_str_method
    for name in (
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "title",
        "capitalize",
        "startswith",
        "endswith",
        "replace",
    )
}

# -- the .dt accessor ------------------------------------------------------------------------

_DATETIME_FIELDS = (
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "microsecond",
    "dayofweek",
    "day_of_week",
    "dayofyear",
    "day_of_year",
    "quarter",
    "days_in_month",
    "is_month_start",
    "is_month_end",
)
_TIMEDELTA_FIELDS = ("days", "seconds", "microseconds", "total_seconds")


def _datetime_field(name: str) -> Callable:
    def handler(c: Any, subject: Value, node: cst.CSTNode) -> Value:
        if subject.kind == "timedelta" and name in _TIMEDELTA_FIELDS:
            return Value(c.helper("_td", subject.node, _string(name)), "float")
        if subject.kind == "datetime" and name in _DATETIME_FIELDS:
            return Value(c.helper("_dt", subject.node, _string(name)), "float")
        raise c.fail(
            f"`.dt.{name}` on a value whose dtype is not known to be a "
            f"{'time difference' if name in _TIMEDELTA_FIELDS else 'timestamp'}",
            node,
        )

    return handler


ATTRIBUTES: dict[str, Callable] = {
    name: _datetime_field(name) for name in (*_DATETIME_FIELDS, *_TIMEDELTA_FIELDS)
}

# Methods refused with a reason that says why: they read other rows.
CROSS_ROW = frozenset(
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
