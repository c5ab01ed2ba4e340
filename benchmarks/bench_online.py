"""Benchmark online serving of one entity: a plain feature view, + the pandas on-demand
view, + the same cell compiled to a python-mode view by `compile_python`.

A tiny repository in a temp folder (SQLite online store), applied and materialized once;
each case is warmed up, then timed over CALLS calls of `get_online_features`.
FEAST_NOTES measured 0.2 / 2.7 / 0.4 ms p50. Run: python benchmarks/bench_online.py
"""

from __future__ import annotations

import statistics
import tempfile
import textwrap
import time
from pathlib import Path

import libcst as cst
import pandas as pd

from nb2feast.compile_python import compile_python_udf

CALLS = 200
WARM_UP = 20

BODY = """\
df["ratio"] = df["cart_value"] / (df["amount"] + 1.0)
df["big"] = df["cart_value"] > HIGH
df["risky"] = np.where((df["rating"] < 3.0) & (df["cart_value"] > HIGH), 1.0, 0.0)
df["log_cart"] = np.log1p(df["cart_value"])
"""
SUPPORT = "import numpy as np\nHIGH = 100.0\n"
FEATURES = ["ratio", "big", "risky", "log_cart"]

DEFINITIONS = """
from datetime import timedelta
from pathlib import Path

import pandas as pd
from feast import Entity, FeatureView, Field, FileSource, RequestSource, ValueType
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Bool, Float64

REPO_DIR = Path(__file__).resolve().parent
customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)
stats_source = FileSource(path=str(REPO_DIR / "data" / "stats.parquet"), timestamp_field="event_timestamp")
stats = FeatureView(
    name="stats", entities=[customer], ttl=timedelta(days=3650), source=stats_source,
    schema=[Field(name="amount", dtype=Float64), Field(name="rating", dtype=Float64)],
)
request = RequestSource(name="request", schema=[Field(name="cart_value", dtype=Float64)])
SCHEMA = [Field(name="ratio", dtype=Float64), Field(name="big", dtype=Bool),
          Field(name="risky", dtype=Float64), Field(name="log_cart", dtype=Float64)]


@on_demand_feature_view(name="signals_pandas", sources=[stats, request], schema=SCHEMA, mode="pandas")
def signals_pandas(df: pd.DataFrame) -> pd.DataFrame:
{pandas_body}


@on_demand_feature_view(name="signals", sources=[stats, request], schema=SCHEMA, mode="python")
{python_udf}
"""


def make_repo(repo: Path) -> None:
    (repo / "data").mkdir(parents=True)
    pd.DataFrame(
        {
            "customer_id": list(range(1, 101)),
            "event_timestamp": [pd.Timestamp("2024-01-01", tz="UTC")] * 100,
            "amount": [float(i) for i in range(100)],
            "rating": [1.0 + i % 5 for i in range(100)],
        }
    ).to_parquet(repo / "data" / "stats.parquet")
    (repo / "feature_store.yaml").write_text(
        "project: bench_online\nregistry: data/registry.db\nprovider: local\n"
        "offline_store:\n  type: duckdb\nonline_store:\n  type: sqlite\n  path: data/online.db\n"
        "entity_key_serialization_version: 3\n"
    )
    function = compile_python_udf(
        cst.parse_module(BODY).body, "df", FEATURES, cst.parse_module(SUPPORT).body, "signals"
    )
    pandas_body = textwrap.indent(SUPPORT + BODY + f"return df[{FEATURES!r}]\n", "    ")
    (repo / "definitions.py").write_text(
        DEFINITIONS.format(pandas_body=pandas_body, python_udf=cst.Module(body=[function]).code)
    )


def time_calls(store, features: list[str], row: dict) -> list[float]:
    for _ in range(WARM_UP):
        store.get_online_features(features=features, entity_rows=[row]).to_dict()
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        store.get_online_features(features=features, entity_rows=[row]).to_dict()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    import importlib.util
    import sys

    from feast import FeatureStore

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        make_repo(repo)
        spec = importlib.util.spec_from_file_location("bench_definitions", repo / "definitions.py")
        definitions = importlib.util.module_from_spec(spec)
        sys.modules["bench_definitions"] = definitions
        spec.loader.exec_module(definitions)
        store = FeatureStore(str(repo))
        store.apply(
            [
                definitions.customer,
                definitions.stats_source,
                definitions.stats,
                definitions.request,
                definitions.signals_pandas,
                definitions.signals,
            ]
        )
        store.materialize(
            pd.Timestamp("2023-12-01", tz="UTC").to_pydatetime(),
            pd.Timestamp("2024-02-01", tz="UTC").to_pydatetime(),
        )
        row = {"customer_id": 7, "cart_value": 150.0}
        plain = ["stats:amount", "stats:rating"]
        cases = {
            "plain feature view": plain,
            "+ on-demand, mode=pandas": plain + [f"signals_pandas:{f}" for f in FEATURES],
            "+ on-demand, mode=python (compiled)": plain + [f"signals:{f}" for f in FEATURES],
        }
        print(f"get_online_features, one entity, {CALLS} calls after {WARM_UP} warm-up (SQLite)")
        print(f"{'case':<38} {'p50 ms':>8} {'p99 ms':>8}")
        for name, features in cases.items():
            times = sorted(time_calls(store, features, row))
            p50 = statistics.median(times)
            p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
            print(f"{name:<38} {p50:>8.2f} {p99:>8.2f}")
        python_out = store.get_online_features([f"signals:{f}" for f in FEATURES], [row]).to_dict()
        pandas_out = store.get_online_features(
            [f"signals_pandas:{f}" for f in FEATURES], [row]
        ).to_dict()
        same = all(python_out[f] == pandas_out[f] for f in FEATURES)
        print(f"python and pandas views agree on the row: {same}")


if __name__ == "__main__":
    main()
