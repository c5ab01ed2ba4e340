"""pyudf_runtime: each null-safe helper, applied to one value at a time, does what pandas
does to the whole column; and the source a udf inlines is self-contained."""

from __future__ import annotations

import ast
import builtins
import math

import numpy as np
import pandas as pd
import pytest

from nb2feast.repo import pyudf_runtime as rt
from nb2feast.repo.compile_python import HELPERS, _helper_source, helper_closure

FLOATS = [1.5, None, 0.0, -2.0, float("nan"), 7.0]
STRINGS = ["Ab", None, "", "x-y", "  pad "]


def _same(want: list, got: list) -> None:
    assert len(want) == len(got)
    for w, g in zip(want, got, strict=True):
        w_missing = w is None or w is pd.NA or (isinstance(w, float) and math.isnan(w))
        g_missing = g is None or (isinstance(g, float) and math.isnan(g))
        assert w_missing == g_missing, (want, got)
        if not w_missing:
            assert w == g, (want, got)


def _rowwise(helper, values, *args) -> list:
    return [rt._out(helper(rt._in(v), *args)) for v in values]


@pytest.mark.parametrize(
    ("pandas_op", "helper", "args"),
    [
        (lambda s: s.isna(), rt._isna, ()),
        (lambda s: s.fillna(0), rt._fillna, (0,)),
        (lambda s: s.clip(lower=0), rt._clip, (0, None)),
        (lambda s: s.isin([0.0, 7.0]), rt._isin, ([0.0, 7.0],)),
        (lambda s: s.between(0, 2), rt._between, (0, 2, "both")),
        (lambda s: s.map({1.5: "a"}), rt._map, ({1.5: "a"},)),
        (lambda s: s.replace({0.0: 9.0}), rt._replace, ({0.0: 9.0},)),
        (lambda s: pd.cut(s, [-5, 0, 5], labels=False), rt._cut, ([-5, 0, 5], False, True, False)),
        (lambda s: s.astype(str), rt._astype, ("str",)),
    ],
)
def test_float_helpers_match_pandas(pandas_op, helper, args):
    # Given a float column with None and NaN, when each value goes through the helper,
    # then the values are pandas' (None arrives from Feast where pandas holds NaN)
    want = pandas_op(pd.Series(FLOATS, dtype="float64")).tolist()
    _same(want, _rowwise(helper, FLOATS, *args))


@pytest.mark.parametrize(
    ("pandas_op", "helper", "args"),
    [
        (lambda s: s.str.lower(), rt._str, ("lower",)),
        (lambda s: s.str.len(), rt._str, ("len",)),
        (lambda s: s.str.strip(), rt._str, ("strip",)),
        (lambda s: s.str.contains("b", case=False), rt._str_contains, ("b", False, True, None)),
        (lambda s: s.str.replace("-", "+"), rt._str_replace, ("-", "+", False)),
        (lambda s: s.str.slice(1, 3), rt._str_slice, (1, 3, None)),
        (lambda s: s.str[0], rt._str_get, (0,)),
        (lambda s: s.str.extract(r"(\w)-", expand=False), rt._str_extract, (r"(\w)-", None)),
        (lambda s: s.fillna(0), rt._fillna_object, (0,)),
        (lambda s: s.astype(str), rt._astype_object, ("str",)),
        (lambda s: s.astype(bool), rt._astype_object, ("bool",)),
    ],
)
def test_string_helpers_match_pandas(pandas_op, helper, args):
    want = pandas_op(pd.Series(STRINGS, dtype="object")).tolist()
    _same(want, _rowwise(helper, STRINGS, *args))


def test_object_and_kleene_logic_match_pandas():
    # Given every pair of True/False/missing, when combined with & and |, then the object
    # rules (missing left side is False) and the nullable-boolean (Kleene) rules hold
    left = [True, True, True, False, False, False, None, None, None]
    right = [True, False, None] * 3
    objects = pd.Series(left, dtype=object), pd.Series(right, dtype=object)
    _same(
        (objects[0] & objects[1]).tolist(),
        [rt._and_object(a, b) for a, b in zip(left, right, strict=True)],
    )
    _same(
        (objects[0] | objects[1]).tolist(),
        [rt._or_object(a, b) for a, b in zip(left, right, strict=True)],
    )
    nullable = pd.Series(left, dtype="boolean"), pd.Series(right, dtype="boolean")
    _same(
        (nullable[0] & nullable[1]).tolist(),
        [rt._and_kleene(a, b) for a, b in zip(left, right, strict=True)],
    )
    _same(
        (nullable[0] | nullable[1]).tolist(),
        [rt._or_kleene(a, b) for a, b in zip(left, right, strict=True)],
    )
    _same((~nullable[0]).tolist(), [rt._not_kleene(a) for a in left])


def test_integer_division_and_modulo_by_zero_match_pandas():
    a, b = [5, -5, 0, 7, -7], [3, 0, 0, -2, 2]
    ints = pd.Series(a), pd.Series(b)
    _same((ints[0] // ints[1]).tolist(), _rowwise_pairs(rt._floordiv, a, b))
    _same((ints[0] % ints[1]).tolist(), _rowwise_pairs(rt._mod, a, b))


def _rowwise_pairs(helper, a, b) -> list:
    return [rt._out(helper(rt._in(x), rt._in(y))) for x, y in zip(a, b, strict=True)]


def test_timestamp_fields_and_differences_match_pandas():
    stamps = [pd.Timestamp("2024-03-01 10:30", tz="UTC"), None]
    later = [pd.Timestamp("2024-03-03 12:00", tz="UTC"), pd.Timestamp("2024-03-03", tz="UTC")]
    series = pd.Series(stamps, dtype="datetime64[ns, UTC]"), pd.Series(later)
    _same(series[0].dt.hour.tolist(), [rt._dt(x, "hour") for x in stamps])
    gaps = [rt._time_sub(b, a) for a, b in zip(stamps, later, strict=True)]
    _same((series[1] - series[0]).dt.days.tolist(), [rt._td(g, "days") for g in gaps])
    seconds = (series[1] - series[0]).dt.total_seconds().tolist()
    _same(seconds, [rt._td(g, "total_seconds") for g in gaps])


def test_the_helper_closure_is_found_from_the_source():
    # Given helpers that call others, when their closure is taken, then the callees come too
    assert helper_closure({"_arith"}) == ["_isna", "_arith"]
    assert set(helper_closure({"_or_object"})) == {"_isna", "_truth", "_or_object"}
    assert helper_closure({"_in", "_out"}) == ["_in", "_out"]


@pytest.mark.parametrize("name", sorted(HELPERS))
def test_each_helper_is_self_contained_with_np_and_pd(name):
    """What Feast 0.67 does: exec the udf's source with only pd/np in scope."""
    allowed = set(dir(builtins)) | {"np", "pd"} | set(HELPERS)
    for helper in helper_closure({name}):
        tree = ast.parse(_helper_source(helper))
        bound = {
            n.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
        }
        bound |= {
            a.arg
            for n in ast.walk(tree)
            if isinstance(n, ast.arguments)
            for a in [*n.args, *n.kwonlyargs, *filter(None, [n.vararg, n.kwarg])]
        }
        bound |= {
            a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        }
        loads = {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        assert loads <= allowed | bound, (helper, loads - allowed - bound)
    namespace = {"np": np, "pd": pd}
    exec("\n".join(_helper_source(h) for h in helper_closure({name})), namespace)
    assert callable(namespace[name])
