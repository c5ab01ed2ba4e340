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
    namespace[frame] = pd.DataFrame(rows)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        exec(textwrap.dedent(body), namespace)  # noqa: S102
    return namespace[result or frame][list(features)].reset_index(drop=True)


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _assert_same(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for column in expected.columns:
        assert got[column].dtype == expected[column].dtype, column
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
    }


def _check(
    body: str,
    features: list[str],
    support: str = "",
    frame: str = "df",
    result=None,
    seeds=(0, 1, 2),
    infer_result: bool = False,
):
    name = result if infer_result else "udf"
    code = _compile(
        body, frame, features, support, name=name, result=None if infer_result else result
    )
    udf = _as_feast_does(code, name)
    for seed in seeds:
        rows = _random_rows(seed)
        expected = _run_pandas(body, support, frame, rows, features, result)
        got = pd.DataFrame(udf({k: list(v) for k, v in rows.items()}))
        _assert_same(expected, got)
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
    _check(body, features, "import numpy as np\nimport pandas as pd\nHALF = 0.5\n")


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
