"""compile_python: pandas on-demand cells -> row-wise python udfs that compute the same thing.

Given a cell body, when it is compiled, then the udf (exec'd with only `pd` and `np`, as
Feast re-creates it) returns, row by row and dtype by dtype, what the pandas cell returns
on the same rows - with None where Feast has no value.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import libcst as cst
import numpy as np
import pandas as pd
import pytest

from nb2feast.compile_python import NotCompilable, compile_python_udf

# -- harness ---------------------------------------------------------------------------


def _compile(
    body: str, frame: str, features: list[str], support: str = "", name: str = "udf", **kw
) -> str:
    function = compile_python_udf(
        cst.parse_module(textwrap.dedent(body)).body,
        frame,
        features,
        cst.parse_module(textwrap.dedent(support)).body,
        name,
        **kw,
    )
    return cst.Module(body=[function]).code


def _as_feast_does(code: str, name: str = "udf"):
    namespace = {"pd": pd, "np": np}
    exec(code, namespace)  # noqa: S102 - what Feast 0.67 does with a stored udf
    return namespace[name]


def _run_pandas(
    body: str, support: str, frame: str, rows: dict[str, list], features, result=None
) -> pd.DataFrame:
    namespace = {"pd": pd, "np": np}
    exec(textwrap.dedent(support), namespace)  # noqa: S102
    namespace[frame] = _frame(rows)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        exec(textwrap.dedent(body), namespace)  # noqa: S102
    return namespace[result or frame][list(features)].reset_index(drop=True)


def _frame(rows: dict[str, list]) -> pd.DataFrame:
    """The rows as the notebook holds them (`nb` is pandas' nullable boolean)."""
    frame = pd.DataFrame(rows)
    if "nb" in frame:
        frame["nb"] = frame["nb"].astype("boolean")
    return frame


def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


# Feast casts a python-mode udf's lists to the schema's type: these dtypes reach the same
# Feast type (Int32/Int64, String, Bool) as the lists' own.
_SAME_FEAST_TYPE = {"int32": {"int64"}, "category": {"object"}, "boolean": {"object", "bool"}}


def _assert_same(expected: pd.DataFrame, got: pd.DataFrame, loose: bool = False) -> None:
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for column in expected.columns:
        want_dtype = str(expected[column].dtype)
        allowed = _SAME_FEAST_TYPE.get(want_dtype, {want_dtype}) if loose else {want_dtype}
        assert str(got[column].dtype) in allowed, (column, want_dtype)
        for row, (want, have) in enumerate(zip(expected[column].tolist(), got[column].tolist())):
            if _missing(want) or _missing(have):
                assert _missing(want) and _missing(have), (column, row, want, have)
            elif isinstance(want, float) and not math.isinf(want):
                assert abs(want - have) <= 1e-12 * max(1.0, abs(want)), (column, row, want, have)
            else:
                assert want == have and type(want) is type(have), (column, row, want, have)


def _random_rows(seed: int, n: int = 300) -> dict[str, list]:
    """Floats with None, zeros and negatives; ints (one with None); strings and bools."""
    rng = np.random.default_rng(seed)

    def maybe_none(values, p=0.15):
        return [None if rng.random() < p else v for v in values]

    floats = lambda: maybe_none(
        rng.choice([0.0, -1.0, 1.0, 2.5], n).tolist()
        if rng.random() < 0.3
        else np.round(rng.normal(0, 100, n), 3).tolist()
    )
    return {
        "x": maybe_none([0.0 if rng.random() < 0.1 else v for v in rng.normal(50, 80, n).tolist()]),
        "y": maybe_none([0.0 if rng.random() < 0.1 else v for v in rng.normal(0, 3, n).tolist()]),
        "z": floats(),
        "i": rng.integers(-3, 4, n).tolist(),
        "j": rng.integers(0, 3, n).tolist(),
        "k": maybe_none(rng.integers(0, 5, n).tolist()),
        "s": maybe_none(rng.choice(["Alpha", "beta", "GAMMA", "al", ""], n).tolist()),
        "b": rng.random(n).round().astype(bool).tolist(),
        "o": maybe_none(rng.random(n).round().astype(bool).tolist(), 0.3),
        "nb": maybe_none(rng.random(n).round().astype(bool).tolist(), 0.3),
        "c": maybe_none(rng.choice(["ab-12", "x", "", "Q-7-z", "id_3-b"], n).tolist()),
        "t1": maybe_none(
            list(
                pd.Timestamp("2024-01-01", tz="UTC")
                + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s")
            )
        ),
        "t2": maybe_none(
            list(
                pd.Timestamp("2024-01-05", tz="UTC")
                + pd.to_timedelta(rng.integers(0, 10**5, n), unit="s")
            )
        ),
    }


def _check(
    body: str,
    features: list[str],
    support: str = "",
    frame: str = "df",
    result=None,
    seeds=(0, 1, 2),
    infer_result: bool = False,
    loose: bool = False,
    columns: tuple[str, ...] | None = None,
):
    name = result if infer_result else "udf"
    for seed in seeds:
        rows = {c: v for c, v in _random_rows(seed).items() if columns is None or c in columns}
        dtypes = {c: str(t) for c, t in _frame(rows).dtypes.items()}
        code = _compile(
            body, frame, features, support, name=name,
            result=None if infer_result else result, dtypes=dtypes,
        )  # fmt: skip
        udf = _as_feast_does(code, name)
        expected = _run_pandas(body, support, frame, rows, features, result)
        got = pd.DataFrame(udf({k: list(v) for k, v in rows.items()}))
        _assert_same(expected, got, loose)
    return code


# -- before/after ------------------------------------------------------------------------


def _loop(code: str) -> str:
    """The generated code from `outputs = ...` on (the helpers above it are fixed text)."""
    return textwrap.dedent(code[code.index("    outputs = ") :])


def test_column_assignments_become_per_row_variables():
    code = _compile(
        """
        training["ratio"] = training["cart_value"] / (training["amount"] + 1.0)
        training["big"] = training["cart_value"] > HIGH_VALUE
        """,
        "training",
        ["ratio", "big"],
        "import numpy as np\nHIGH_VALUE = 100.0\n",
    )
    assert code.startswith(
        "def udf(inputs: dict[str, list]) -> dict[str, list]:\n    import numpy as np\n"
        "    HIGH_VALUE = 100.0\n"
    )
    assert _loop(code) == textwrap.dedent("""\
        outputs = {"ratio": [], "big": []}
        with np.errstate(all="ignore"):
            for row in range(len(inputs["cart_value"])):
                cart_value = _in(inputs["cart_value"][row])
                amount = _in(inputs["amount"][row])
                ratio = _arith(np.true_divide, cart_value, _arith(np.add, amount, 1.0))
                big = _compare(">", cart_value, HIGH_VALUE)
                outputs["ratio"].append(_out(ratio))
                outputs["big"].append(_out(big))
        return outputs
        """)


def test_assign_with_lambda_and_new_frame():
    code = _compile(
        """
        t = df["a"].fillna(0)
        out = df.assign(a2=t * 2, flag=lambda d: (d["a2"] > 1) & ~d["b"].isna())
        """,
        "df",
        ["a2", "flag"],
        result="out",
    )
    assert _loop(code) == textwrap.dedent("""\
        outputs = {"a2": [], "flag": []}
        with np.errstate(all="ignore"):
            for row in range(len(inputs["a"])):
                a = _in(inputs["a"][row])
                b = _in(inputs["b"][row])
                t = _fillna(a, 0)
                a2 = _arith(np.multiply, t, 2)
                flag = _compare(">", a2, 1) and (not _isna(b))
                outputs["a2"].append(_out(a2))
                outputs["flag"].append(_out(flag))
        return outputs
        """)


def test_where_and_string_methods():
    code = _compile(
        """
        df["risky"] = np.where((df["rating"] < 3.0) & (df["basket"] > LARGE), 1.0, 0.0)
        df["name_len"] = df["name"].str.lower().str.len()
        """,
        "df",
        ["risky", "name_len"],
        "import numpy as np\nLARGE = 150.0\n",
    )
    assert (
        'risky = _where(_compare("<", rating, 3.0) and _compare(">", basket, LARGE), 1.0, 0.0)'
        in code
    )
    assert 'name_len = _str(_str(name, "lower"), "len")' in code


def test_the_udf_carries_only_the_helpers_it_calls_and_their_callees():
    # Given a cell using `+` and `.str.lower().isin(...)`, when compiled
    code = _compile(
        'df["a"] = df["x"] + 1\ndf["m"] = df["s"].str.lower().isin(["a"])\n', "df", ["a", "m"]
    )
    defined = {line.split("(")[0][len("    def ") :] for line in code.splitlines()
               if line.startswith("    def _")}  # fmt: skip
    # Then it defines those helpers, `_isna` (which they call) and the in/out converters only
    assert defined == {"_in", "_out", "_isna", "_arith", "_str", "_isin"}


# -- equivalence -------------------------------------------------------------------------

CONSTRUCTS = {
    "arithmetic": (
        """
        df["r"] = df["x"] / (df["y"] + 1.0)
        df["p"] = df["x"] * df["y"] - 2
        df["q"] = df["z"] ** 2 + -df["x"]
        df["d"] = df["x"] / df["y"]
        df["h"] = 1.5 / df["z"]
        """,
        ["r", "p", "q", "d", "h"],
    ),
    "integers": (
        """
        df["i2"] = df["i"] * 2 + df["j"]
        df["ij"] = df["i"] / df["j"]
        df["neg"] = -df["i"]
        df["kk"] = df["k"] + 1
        df["ik"] = df["i"] > df["k"]
        """,
        ["i2", "ij", "neg", "kk", "ik"],
    ),
    "comparisons": (
        """
        df["gt"] = df["x"] > 10
        df["lt"] = df["x"] < df["y"]
        df["ge"] = df["z"] >= 0.0
        df["le"] = df["z"] <= -1.0
        df["eq"] = df["z"] == 0
        df["ne"] = df["z"] != 0
        df["seq"] = df["s"] == "al"
        """,
        ["gt", "lt", "ge", "le", "eq", "ne", "seq"],
    ),
    "boolean_logic": (
        """
        df["both"] = (df["x"] > 0) & (df["y"] < 1)
        df["either"] = (df["x"] > 0) | df["z"].isna()
        df["neither"] = ~((df["x"] > 0) | (df["y"] > 0))
        df["present"] = df["y"].notna() & pd.notna(df["z"])
        df["missing"] = pd.isna(df["x"])
        """,
        ["both", "either", "neither", "present", "missing"],
    ),
    "fillna_and_where": (
        """
        df["xf"] = df["x"].fillna(0)
        df["yf"] = df["y"].fillna(-1.5)
        df["w"] = np.where(df["x"] > df["y"], df["x"], df["y"])
        df["w2"] = np.where(df["z"].isna(), 0, df["i"])
        df["w3"] = np.where(df["x"] > 0, 1, 0)
        df["sf"] = df["s"].fillna("none")
        """,
        ["xf", "yf", "w", "w2", "w3", "sf"],
    ),
    "numpy_functions": (
        """
        df["l1"] = np.log1p(df["x"])
        df["l"] = np.log(df["z"])
        df["sq"] = np.sqrt(df["y"])
        df["e"] = np.exp(df["y"])
        df["a"] = np.abs(df["z"]) + abs(df["i"])
        df["mn"] = np.minimum(df["x"], df["y"])
        df["mx"] = np.maximum(df["x"], 0.0)
        df["rd"] = np.round(df["x"], 2)
        df["cl"] = np.clip(df["x"], -10, 10)
        df["ai"] = np.abs(df["i"])
        """,
        ["l1", "l", "sq", "e", "a", "mn", "mx", "rd", "cl", "ai"],
    ),
    "series_methods": (
        """
        df["c1"] = df["x"].clip(lower=0)
        df["c2"] = df["z"].clip(-1, upper=1)
        df["c3"] = df["i"].clip(upper=1.5)
        df["ab"] = df["z"].abs()
        df["ro"] = (df["x"] / 3).round(2)
        df["ri"] = df["i"].round()
        """,
        ["c1", "c2", "c3", "ab", "ro", "ri"],
    ),
    "astype": (
        """
        df["f"] = df["i"].astype("float64")
        df["n"] = (df["j"] * 2).astype("int64")
        df["t"] = df["x"].astype(bool)
        df["u"] = df["y"].astype(str)
        df["v"] = df["i"].astype(str)
        df["g"] = (df["x"] > 3).astype(int)
        df["h"] = df["b"].astype(float)
        """,
        ["f", "n", "t", "u", "v", "g", "h"],
    ),
    "strings": (
        """
        df["lo"] = df["s"].str.lower()
        df["up"] = df["s"].str.upper()
        df["ln"] = df["s"].str.len()
        df["st"] = df["s"].str.startswith("al")
        df["en"] = df["s"].str.lower().str.endswith("a")
        """,
        ["lo", "up", "ln", "st", "en"],
    ),
    "locals_and_reuse": (
        """
        t = df["x"] + 1
        scale = 2.0
        df["a"] = t * scale
        df["b2"] = df["a"] - df["y"]
        df["a"] = df["a"] / 2
        df.loc[:, "c"] = df["b2"] > 0
        df["a"] += 1
        """,
        ["a", "b2", "c"],
    ),
    "assign_lambdas": (
        """
        df = df.assign(p=df["x"] * 2, q=lambda d: d["p"] + d["y"], r=lambda frame: frame["q"] > 0)
        """,
        ["p", "q", "r"],
    ),
    "constant_column": (
        """
        df["one"] = 1
        df["half"] = HALF
        df["yes"] = True
        """,
        ["one", "half", "yes"],
    ),
}


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_compiled_udf_matches_pandas(construct):
    body, features = CONSTRUCTS[construct]
    _check(
        body,
        features,
        "import numpy as np\nimport pandas as pd\nHALF = 0.5\n",
        columns=("x", "y", "z", "i", "j", "k", "s", "b"),
    )


def test_new_frames_from_dataframe_and_assign():
    _check(
        'out = pd.DataFrame({"s": df["x"] + df["y"], "t": df["z"].fillna(0) > 0})\n',
        ["s", "t"],
        "import pandas as pd\n",
        result="out",
    )
    _check(
        'feats = df.assign(s=df["x"] - 1, t=lambda d: d["s"] * d["i"])\n',
        ["s", "t"],
        result="feats",
    )
    # without `result`, a frame named like the view is the result (render's rule), else the input frame
    _check(
        'feats = df.assign(s=df["x"] - 1)\nfeats["u"] = feats["s"] > 0\n',
        ["s", "u"],
        result="feats",
        infer_result=True,
    )
    # an alias shares the frame, as in pandas; a copy does not
    _check('alias = df\nalias["a"] = df["x"] * 2\ncp = df.copy()\ncp["a"] = 0.0\n', ["a"])


# Issue 12's row-wise subset: each construct with pandas' null rules per dtype (x, y, z
# float with NaN; i, j int; k int with None (float64); s, c strings with None; b bool;
# o bools with None (object); nb nullable `boolean`; t1, t2 timestamps with NaT).
COVERAGE = {
    "isin": (
        """
        df["a"] = df["s"].isin(["al", "beta", ""])
        df["b2"] = df["i"].isin([0, 1])
        df["c2"] = df["x"].isin([0.0, np.nan])
        df["d"] = df["s"].str.lower().isin(["alpha", "gamma"])
        df["e2"] = df["k"].isin(CODES)
        """,
        ["a", "b2", "c2", "d", "e2"],
    ),
    "str_chains": (
        r"""
        df["lo"] = df["s"].str.lower().str.strip()
        df["up"] = df["s"].str.upper().str.len()
        df["ct"] = df["s"].str.contains("a")
        df["ci"] = df["s"].str.contains("A", case=False, na=False)
        df["cr"] = df["c"].str.contains(r"\d", regex=True, na=False)
        df["cl"] = df["c"].str.contains("-", regex=False)
        df["sw"] = df["s"].str.startswith("al")
        df["ew"] = df["s"].str.endswith("a")
        df["rp"] = df["c"].str.replace("-", "_")
        df["rr"] = df["c"].str.replace(r"\d+", "N", regex=True)
        df["sl"] = df["s"].str.slice(0, 2)
        df["sb"] = df["s"].str[1:3]
        df["s0"] = df["s"].str[0]
        df["ex"] = df["c"].str.extract(r"(\d+)", expand=False)
        df["sp"] = df["c"].str.split("-").str[1]
        df["sg"] = df["c"].str.split("-").str.get(0)
        """,
        [
            "lo",
            "up",
            "ct",
            "ci",
            "cr",
            "cl",
            "sw",
            "ew",
            "rp",
            "rr",
            "sl",
            "sb",
            "s0",
            "ex",
            "sp",
            "sg",
        ],
    ),
    "map_replace": (
        """
        df["m1"] = df["s"].map({"al": 1, "beta": 2})
        df["m2"] = df["i"].map(LABELS)
        df["m3"] = df["x"].round(0).map({0.0: "zero", 1.0: "one"})
        df["r1"] = df["s"].replace({"al": "AL", "": "empty"})
        df["r2"] = df["i"].replace({0: 10})
        df["r3"] = df["z"].replace(0.0, -9.0)
        """,
        ["m1", "m2", "m3", "r1", "r2", "r3"],
    ),
    "cut_between": (
        """
        df["cut"] = pd.cut(df["x"], bins=[-100, 0, 50, 100], labels=["neg", "low", "high"])
        df["cun"] = pd.cut(df["z"], [-1000, -1, 1, 1000], labels=False)
        df["cul"] = pd.cut(df["i"], [-3, 0, 3], labels=["a", "b"], include_lowest=True)
        df["cur"] = pd.cut(df["y"], [-10, 0, 10], labels=["a", "b"], right=False)
        df["bt"] = df["x"].between(0, 50)
        df["bn"] = df["i"].between(-1, 1, inclusive="neither")
        df["bl"] = df["z"].between(-1.0, 1.0, inclusive="left")
        """,
        ["cut", "cun", "cul", "cur", "bt", "bn", "bl"],
    ),
    "select_where_mask": (
        """
        df["sel"] = np.select([df["x"] > 50, df["x"] > 0], ["high", "low"], default="none")
        df["sen"] = np.select([df["y"] < -1, df["y"].isna()], [df["y"], 0.0], df["z"])
        df["wh"] = df["x"].where(df["x"] > 0)
        df["wo"] = df["i"].where(df["i"] != 0, 100)
        df["ma"] = df["z"].mask(df["z"] < 0, 0.0)
        df["ms"] = df["s"].mask(df["s"] == "al", "other")
        df["nw"] = np.where(df["x"] > 50, "a", np.where(df["x"] > 0, "b", "c"))
        df["nn"] = np.where(df["y"].isna(), -1.0, np.where(df["y"] > 0, df["y"], 0))
        """,
        ["sel", "sen", "wh", "wo", "ma", "ms", "nw", "nn"],
    ),
    "fillna_every_dtype": (
        """
        df["f1"] = df["x"].fillna(0)
        df["f2"] = df["k"].fillna(-1)
        df["f3"] = df["s"].fillna("missing")
        df["f4"] = df["s"].fillna(0)
        df["f5"] = df["o"].fillna(False)
        df["f6"] = df["i"].fillna(0)
        df["f7"] = df["b"].fillna(False)
        df["f8"] = df["nb"].fillna(True)
        df["f9"] = df["y"].fillna(df["z"])
        """,
        ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"],
    ),
    "boolean_logic_by_dtype": (
        """
        df["oa"] = df["o"] & df["b"]
        df["ob"] = df["b"] | df["o"]
        df["oo"] = df["o"] | (df["x"] > 0)
        df["ka"] = df["nb"] & df["b"]
        df["ko"] = df["nb"] | (df["y"] > 0)
        df["kn"] = ~df["nb"]
        df["bb"] = ~df["b"] & (df["z"] < 0)
        """,
        ["oa", "ob", "oo", "ka", "ko", "kn", "bb"],
    ),
    "attribute_columns": (
        """
        df["xa"] = df.x * 2 + df.i
        df["xb"] = df.xa.fillna(0)
        """,
        ["xa", "xb"],
    ),
    "operator_methods": (
        """
        df["ad"] = df["x"].add(df["y"], fill_value=0)
        df["sb"] = df["k"].sub(1)
        df["ml"] = df["z"].mul(df["y"], fill_value=1.0)
        df["dv"] = df["x"].div(df["j"])
        df["gt"] = df["x"].gt(0)
        df["eq"] = df["s"].eq("al")
        df["ne"] = df["i"].ne(df["j"])
        """,
        ["ad", "sb", "ml", "dv", "gt", "eq", "ne"],
    ),
    "apply_along_rows": (
        """
        df["ra"] = df.apply(lambda r: r["x"] * 2 if r["y"] > 0 else r["z"], axis=1)
        df["rb"] = df.apply(lambda row: row.x + max(row.y, 0.0), axis="columns")
        df["rc"] = df.apply(lambda row: row["s"].upper() if pd.notna(row["s"]) else "", axis=1)
        """,
        ["ra", "rb", "rc"],
    ),
    "integer_operators": (
        """
        df["fd"] = df["i"] // df["j"]
        df["md"] = df["i"] % df["j"]
        df["fx"] = df["x"] // 7
        df["mx"] = df["x"] % 7
        df["mk"] = df["k"] % 2
        df["m0"] = df["z"] % df["y"]
        """,
        ["fd", "md", "fx", "mx", "mk", "m0"],
    ),
    "astype_round": (
        """
        df["rs"] = df["s"].astype(str)
        df["rb"] = df["s"].astype(bool)
        df["ri"] = df["i"].astype(float).round(1)
        df["rx"] = (df["x"] / 7).round(3)
        df["rn"] = np.round(df["y"], 1)
        """,
        ["rs", "rb", "ri", "rx", "rn"],
    ),
    "apply_and_map_functions": (
        """
        df["ap"] = df["x"].apply(lambda v: v * 2 if v > 0 else 0.0)
        df["am"] = df["x"].apply(lambda v: min(v, 10.0))
        df["ax"] = df["z"].apply(lambda v: max(abs(v), 1))
        df["mf"] = df["y"].map(lambda v: round(v, 2))
        df["sq"] = df["x"].map(capped)
        df["sl"] = df["s"].apply(lambda v: v.upper() if pd.notna(v) else "none")
        """,
        ["ap", "am", "ax", "mf", "sq", "sl"],
    ),
    "notebook_helper_inlined": (
        """
        df["km"] = haversine(df["x"], df["y"], df["z"], 0.0)
        df["km2"] = haversine_mapped(df["x"], df["y"], df["z"], df["i"])
        df["cap"] = capped(df["x"] + 1)
        """,
        ["km", "km2", "cap"],
    ),
    "reductions_along_the_row": (
        """
        df["mx"] = df[["x", "y", "z"]].max(axis=1)
        df["mn"] = df[["x", "k"]].min(axis="columns")
        df["sm"] = df[["y", "z"]].sum(axis=1)
        df["me"] = df[["x", "y", "i"]].mean(axis=1)
        df["ratio"] = df["x"] / df[["y", "z"]].max(axis=1)
        """,
        ["mx", "mn", "sm", "me", "ratio"],
    ),
}
COVERAGE_SUPPORT = """
import math

import numpy as np
import pandas as pd

CODES = [1, 3]
LABELS = {0: "zero", 1: "one", -1: "minus one"}


def haversine(lat1, lon1, lat2, lon2):
    \"\"\"Great-circle distance in km.\"\"\"
    lat1, lon1, lat2, lon2 = np.radians(lat1), np.radians(lon1), np.radians(lat2), np.radians(lon2)
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


def haversine_mapped(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(np.radians, [lat1, lon1, lat2, lon2])
    a = np.sin((lat2 - lat1) / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2.0) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


def capped(value, limit=100.0):
    scaled = np.log1p(np.abs(value))
    return np.minimum(scaled, limit)
"""


@pytest.mark.parametrize("construct", sorted(COVERAGE))
def test_issue_constructs_compile_and_match_pandas(construct):
    body, features = COVERAGE[construct]
    _check(body, features, COVERAGE_SUPPORT, loose=True)


def test_timestamp_fields_and_differences():
    _check(
        """
        df["hour"] = df["t1"].dt.hour
        df["dow"] = df["t1"].dt.dayofweek
        df["month"] = df["t2"].dt.month
        df["gap_days"] = (df["t2"] - df["t1"]).dt.days
        df["gap_s"] = (df["t2"] - df["t1"]).dt.total_seconds()
        df["late"] = (df["t2"] - df["t1"]).dt.total_seconds() > 86400
        """,
        ["hour", "dow", "month", "gap_days", "gap_s", "late"],
        loose=True,
    )


def test_frame_shapes_found_by_dataflow():
    """`df = X.copy()`, a frame built column by column and bound to NAME, `.assign` chains."""
    _check(
        'df = training.copy()\ndf["a"] = df["x"] * 2\ndf["b2"] = df["a"] > 0\n',
        ["a", "b2"], frame="training", result="df", infer_result=True,
    )  # fmt: skip
    _check(
        'out = pd.DataFrame()\nout["a"] = training["x"] + 1\nout["b2"] = training["s"].isna()\n'
        "feats = out\n",
        ["a", "b2"], "import pandas as pd\n", frame="training", result="feats",
        infer_result=True,
    )  # fmt: skip
    _check(
        'out = pd.DataFrame(index=training.index)\nout["a"] = training["x"] + 1\n',
        ["a"], "import pandas as pd\n", frame="training", result="out", infer_result=True,
    )  # fmt: skip
    _check(
        'enriched = training.assign(a=training["x"] - 1).assign(b2=lambda d: d["a"] * 2)\n',
        ["a", "b2"], frame="training", result="enriched", infer_result=True,
    )  # fmt: skip


# The example notebooks' on-demand cells (bodies and support copied from their export).
EXAMPLES = {
    "churn_signals": (
        "training",
        """
        training["cart_to_30d_ratio"] = training["cart_value"] / (training["amount_30d_sum"] + 1.0)
        training["big_cart"] = training["cart_value"] > HIGH_VALUE
        training["log_cart"] = np.log1p(training["cart_value"])
        """,
        "import numpy as np\nHIGH_VALUE = 100.0\n",
        ["cart_to_30d_ratio", "big_cart", "log_cart"],
        None,
        {"cart_value": "x", "amount_30d_sum": "y"},
    ),
    "checkout_risk": (
        "training",
        """
        training["basket_vs_7d_avg"] = training["basket_value"] / (training["avg_order_7d"] + 1.0)
        training["large_basket"] = training["basket_value"] > LARGE_BASKET
        training["value_per_item"] = training["basket_value"] / training["items"]
        training["risky_merchant_basket"] = np.where(
            (training["rating"] < 3.0) & (training["basket_value"] > LARGE_BASKET), 1.0, 0.0
        )
        """,
        "import numpy as np\nLARGE_BASKET = 150.0\n",
        ["basket_vs_7d_avg", "large_basket", "value_per_item", "risky_merchant_basket"],
        None,
        {"basket_value": "x", "avg_order_7d": "z", "items": "j", "rating": "y"},
    ),
    "transformed_conv_rate": (
        "inputs",
        """
        transformed_conv_rate = pd.DataFrame(
            {
                "conv_rate_plus_val1": inputs["conv_rate"] + inputs["val_to_add"],
                "conv_rate_plus_val2": inputs["conv_rate"] + inputs["val_to_add_2"],
            }
        )
        """,
        "import pandas as pd\n",
        ["conv_rate_plus_val1", "conv_rate_plus_val2"],
        "transformed_conv_rate",
        {"conv_rate": "y", "val_to_add": "i", "val_to_add_2": "k"},
    ),
}


@pytest.mark.parametrize("view", sorted(EXAMPLES))
def test_example_notebook_cells_compile_and_match(view):
    frame, body, support, features, result, columns = EXAMPLES[view]
    udf = _as_feast_does(_compile(body, frame, features, support, name=view), view)
    for seed in (3, 4):
        rows = {name: _random_rows(seed)[source] for name, source in columns.items()}
        expected = _run_pandas(body, support, frame, rows, features, result if result else None)
        _assert_same(expected, pd.DataFrame(udf(rows)))


def test_examples_in_the_exported_notebooks_are_the_ones_tested():
    """The copies above stay in step with the example notebooks."""
    sources = "".join(
        p.read_text() for p in (Path(__file__).parent.parent / "example_notebooks").glob("*.ipynb")
    )
    for needle in (
        'training[\\"cart_value\\"] > HIGH_VALUE',
        "LARGE_BASKET), 1.0, 0.0",
        'inputs[\\"conv_rate\\"] + inputs[\\"val_to_add_2\\"]',
    ):
        assert needle in sources, needle


def test_udf_never_raises_on_none_and_returns_plain_python_values():
    udf = _as_feast_does(
        _compile(
            CONSTRUCTS["numpy_functions"][0],
            "df",
            CONSTRUCTS["numpy_functions"][1],
            "import numpy as np\n",
        )
    )
    out = udf({"x": [None], "y": [None], "z": [None], "i": [1]})
    assert all(type(v[0]) in (float, int) for v in out.values())
    assert math.isnan(out["l1"][0]) and out["ai"] == [1]


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        (
            'frame["y"] = frame["x"] + 1\nframe["z"] = frame["x"] - frame["x"].mean()\n',
            2,
            "other rows",
        ),
        ('frame["s"] = frame["x"].shift(1)\n', 1, "other rows"),
        (
            'frame["y"] = 1\n\n# a comment\nframe["a"] = frame["x"].apply(f)\n',
            4,
            "arbitrary function",
        ),
        ('frame["a"] = f(frame["x"])\n', 1, "may do anything"),
        ('for c in ["x"]:\n    frame[c] = 1\n', 1, "compound"),
        ('frame["a"] = frame["x"] << 2\n', 1, "not translated"),
        ('frame["a"] = np.where(frame["flag"], 1, 0)\n', 1, "not a comparison"),
        ('frame["a"] = frame["x"] * weights\n', 1, "not a column, a local or a scalar constant"),
        ('frame["a"] = frame["x"].rolling(3).sum()\n', 1, "other rows"),
        ('frame["a"] = frame["x"].str.findall("a")\n', 1, ".str.findall"),
    ],
)
def test_what_cannot_be_translated_row_wise_is_refused_with_a_line(body, line, words):
    with pytest.raises(NotCompilable) as caught:
        _compile(body, "frame", ["a"], "import numpy as np\nweights = np.array([1.0])\n")
    assert caught.value.line == line
    assert words in caught.value.reason


REFUSAL_SUPPORT = """
import numpy as np
import pandas as pd


def looped(values):
    for v in values:
        pass
    return values


def recursive(x):
    return recursive(x)
"""


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('frame["a"] = frame["x"].map(f)\n', "arbitrary function"),
        ('frame["a"] = np.where(frame["x"] > 0, frame["x"].mean(), 0)\n', "other rows"),
        ('frame["a"] = pd.cut(frame["x"], 4, labels=False)\n', "number of bins"),
        ('frame["a"] = pd.cut(frame["x"], [0, 1])\n', "Interval"),
        ('frame["a"] = frame["s"].str.extract(r"(a)(b)", expand=False)\n', "exactly one group"),
        ('frame["a"] = frame["s"].str.extract(r"(a)")\n', "expand=False"),
        ('frame["a"] = frame["s"].str.split(r"\\s+").str[0]\n', "regular expression"),
        ('frame["a"] = frame["x"] if FLAG else 0\n', "np.where"),
        ('frame["a"] = frame["x"].apply(lambda v: v.hex())\n', ".hex(...)"),
        ('frame["a"] = looped(frame["x"])\n', "compound statements"),
        ('frame["a"] = recursive(frame["x"])\n', "calls itself"),
        ('frame["a"] = frame["t"].dt.hour\n', "not known to be a timestamp"),
        ('frame["a"] = frame["f"] & frame["g"]\n', "not booleans"),
        ('frame["a"] = min(frame["x"], 1)\n', "of a Series"),
        ('frame["a"] = frame["x"].isin(allowed_values())\n', "not a literal"),
        ('frame["a"] = frame["x"].replace([1, 2], 0)\n', "replace(list"),
        ('frame["a"] = frame["x"].fillna(method="ffill")\n', "argument `method`"),
        ('frame["a"] = frame["x"].astype("category")\n', ".astype("),
        ('frame["a"] = frame["s"].str.split("-").str.len()\n', "lists"),
        ('frame["a"] = frame[["x", "y"]].max()\n', "only axis=1"),
        ('frame["a"] = frame.apply(lambda r: r["x"])\n', "axis=1"),
        ('frame["a"] = frame.pipe(f)\n', "whole frame"),
        ('frame["a"] = frame[["x", "y"]].median(axis=1)\n', "not translated"),
        ('frame["a"] = frame["s"].str.split("-")\n', "holds lists"),
    ],
)
def test_constructs_outside_the_subset_are_refused_with_their_reason(body, words):
    # Given a construct no table row translates (or one whose meaning depends on what
    # the compiler cannot see), when compiled, then it is refused, saying why
    with pytest.raises(NotCompilable) as caught:
        _compile(body, "frame", ["a"], REFUSAL_SUPPORT + "FLAG = True\n")
    assert words in caught.value.reason
    assert caught.value.line == 1


# -- Feast -----------------------------------------------------------------------------------

FEAST_REPO = """
from datetime import timedelta
from pathlib import Path

import pandas as pd
from feast import Entity, FeatureView, Field, FileSource, RequestSource, ValueType
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Bool, Float64, Int64

REPO_DIR = Path(__file__).resolve().parent
customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)
stats_source = FileSource(path=str(REPO_DIR / "data" / "stats.parquet"), timestamp_field="event_timestamp")
stats = FeatureView(
    name="stats", entities=[customer], ttl=timedelta(days=3650), source=stats_source,
    schema=[Field(name="amount", dtype=Float64), Field(name="rating", dtype=Float64)],
)
request = RequestSource(name="request", schema=[Field(name="cart_value", dtype=Float64)])
SCHEMA = [Field(name="ratio", dtype=Float64), Field(name="big", dtype=Bool), Field(name="risky", dtype=Float64)]


@on_demand_feature_view(name="signals_pandas", sources=[stats, request], schema=SCHEMA, mode="pandas")
def signals_pandas(df: pd.DataFrame) -> pd.DataFrame:
{pandas_body}


@on_demand_feature_view(name="signals", sources=[stats, request], schema=SCHEMA, mode="python")
{python_udf}
"""
FEAST_BODY = """\
df["ratio"] = df["cart_value"] / (df["amount"] + 1.0)
df["big"] = df["cart_value"] > HIGH
df["risky"] = np.where((df["rating"] < 3.0) & (df["cart_value"] > HIGH), 1.0, 0.0)
"""
FEAST_SUPPORT = "import numpy as np\nHIGH = 100.0\n"


def write_feast_repo(repo: Path) -> None:
    """A tiny repo: one batch view, a request source, the cell in pandas and python mode."""
    (repo / "data").mkdir(parents=True, exist_ok=True)
    when = pd.Timestamp("2024-01-01", tz="UTC")
    pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "event_timestamp": [when] * 3,
            "amount": [10.0, -1.0, 0.0],
            "rating": [2.0, 4.5, 1.0],
        }
    ).to_parquet(repo / "data" / "stats.parquet")
    (repo / "feature_store.yaml").write_text(
        "project: compiled\nregistry: data/registry.db\nprovider: local\n"
        "offline_store:\n  type: duckdb\nonline_store:\n  type: sqlite\n  path: data/online.db\n"
        "entity_key_serialization_version: 3\n"
    )
    pandas_body = textwrap.indent(
        FEAST_SUPPORT + FEAST_BODY + 'return df[["ratio", "big", "risky"]]\n', "    "
    )
    python_udf = _compile(
        FEAST_BODY, "df", ["ratio", "big", "risky"], FEAST_SUPPORT, name="signals"
    )
    (repo / "definitions.py").write_text(
        FEAST_REPO.format(pandas_body=pandas_body, python_udf=python_udf)
    )


@pytest.mark.feast
def test_feast_serves_the_compiled_udf_like_the_pandas_one(tmp_path):
    from feast import FeatureStore

    repo = tmp_path / "repo"
    write_feast_repo(repo)
    subprocess.run(
        [str(Path(sys.executable).parent / "feast"), "apply"],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    store = FeatureStore(str(repo))
    store.materialize(
        pd.Timestamp("2023-12-01", tz="UTC").to_pydatetime(),
        pd.Timestamp("2024-02-01", tz="UTC").to_pydatetime(),
    )
    # customer 9 has no stats: its inputs are missing (None)
    entities = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 9, 1],
            "event_timestamp": [pd.Timestamp("2024-01-02", tz="UTC")] * 5,
            "cart_value": [150.0, 99.0, 0.0, 500.0, -5.0],
        }
    )
    features = ["ratio", "big", "risky"]
    expected = _run_pandas(
        FEAST_BODY,
        FEAST_SUPPORT,
        "df",
        {
            "cart_value": entities["cart_value"].tolist(),
            "amount": [10.0, -1.0, 0.0, None, 10.0],
            "rating": [2.0, 4.5, 1.0, None, 2.0],
        },
        features,
    )

    for view in ("signals", "signals_pandas"):
        offline = store.get_historical_features(
            entity_df=entities, features=[f"{view}:{f}" for f in features]
        ).to_df()
        offline = entities.merge(
            offline, on=["customer_id", "event_timestamp", "cart_value"], how="left"
        )
        _assert_values(expected, offline[features], view)
        online = store.get_online_features(
            features=[f"{view}:{f}" for f in features],
            entity_rows=[
                {"customer_id": c, "cart_value": v}
                for c, v in zip(entities["customer_id"], entities["cart_value"])
            ],
        ).to_df()
        _assert_values(expected, online[features], view)


def _assert_values(expected: pd.DataFrame, got: pd.DataFrame, view: str) -> None:
    """Feast casts to the schema's types, so compare values (missing == missing), not dtypes."""
    assert len(got) == len(expected), view
    for column in expected.columns:
        for want, have in zip(expected[column].tolist(), got[column].tolist()):
            if _missing(want) or _missing(have):
                assert _missing(want) and _missing(have), (view, column, want, have)
            else:
                assert want == pytest.approx(have, rel=1e-12), (view, column, want, have)


@pytest.mark.feast
def test_the_issue_cell_is_served_in_python_mode_and_verify_proves_it(tmp_path, capsys):
    """Issue 12's 6-feature cell (strings, isin, np.where, fillna, clip, log1p), on stats
    with 20% missing values and checkouts of customers without stats."""
    import importlib.util
    import json

    from nb2feast.cli import main

    path = Path(__file__).parent.parent / "benchmarks" / "bench_online.py"
    spec = importlib.util.spec_from_file_location("bench_online", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    # Given the notebook, the cell as the issue wrote it (`df = training.copy()`)
    notebook = bench.write_checkout_notebook(tmp_path, bench.CHECKOUT_CELL)
    repo = tmp_path / "feature_repo"
    # When exported, then the view is served in python mode
    assert main(["export", str(notebook), "--out", str(repo)]) == 0
    manifest = json.loads((repo / "nb2feast.json").read_text())
    served = next(v for v in manifest["views"] if v["name"] == "checkout_signals")
    assert {"name": "checkout_signals", "mode": "python"} in served["views"]
    # When verified, then python and pandas modes match the notebook, offline and online
    capsys.readouterr()
    code = main(
        ["verify", str(notebook), "--repo", str(repo), "--format", "json", "--sample", "300"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"]
    view = next(v for v in report["views"] if v["name"] == "checkout_signals")
    checks = {(c["path"], c["mode"]): c for c in view["checks"]}
    assert set(checks) == {(p, m) for p in ("offline", "online") for m in ("python", "pandas")}
    for check in checks.values():
        assert check["rows_returned"] == check["rows_expected"] > 250  # online: one per key
        assert all(f["ok"] for f in check["features"])


def test_float32_and_int32_features_leave_the_udf_as_32_bit_scalars():
    # Feast infers a python-mode view's schema from the Python types of what the udf returns
    # at `feast apply`; a Python float reads as Float64 and fails a declared Float32.
    body = 'df["ratio"] = df["a"] * df["b"]\ndf["n"] = df["c"] + 1\n'
    rows = {"a": [1.5, None, 2.0], "b": [2.0, 3.0, float("nan")], "c": [1, 2, 3]}
    # Given the features declared Float32 and Int32
    typed = _as_feast_does(
        _compile(body, "df", ["ratio", "n"], feast_types={"ratio": "Float32", "n": "Int32"})
    )(rows)
    # Then the values are numpy's 32-bit scalars, missing values stay missing
    assert [type(v) for v in typed["ratio"]] == [np.float32] * 3
    assert typed["ratio"][0] == np.float32(3.0) and all(np.isnan(typed["ratio"][1:]))
    assert [type(v) for v in typed["n"]] == [np.int32] * 3
    # And without declared types they are plain Python values, as before
    plain = _as_feast_does(_compile(body, "df", ["ratio", "n"]))(rows)
    assert [type(v) for v in plain["ratio"]] == [float] * 3
    assert [type(v) for v in plain["n"]] == [int] * 3
