"""Benchmark online serving of on-demand views exported by nb2feast (SQLite online store).

For a realistic 6-feature on-demand cell (strings, `isin`, `np.where`, `fillna`, `clip`,
`log1p`) and for every on-demand view of the example notebooks: each notebook is exported
by `nb2feast export`, its tables built, `feast apply`-ed and materialized; then, in one
process, `get_online_features` for one entity is timed for
  - the plain feature view(s) the on-demand view reads (a plain lookup),
  - the served view NAME (python mode where the cell compiles),
  - its pandas twin NAME_pandas,
interleaved call by call (so a busy machine slows every case alike) after a warm-up.
It prints p50/p99 and each view's ratio to the plain lookup, the share of on-demand views
served in python mode, and (--profile) where a python-mode call spends its time.

Run: python benchmarks/bench_online.py [--calls 300] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "example_notebooks"
WARM_UP = 30

# The cell of issue 12, as people write it; and the same cell assigning on `training`
# (used when this nb2feast's extractor does not take the `df = training.copy()` shape).
CHECKOUT_CELL = """\
%%feature checkout_signals --on-demand --request cart_amount:float64 --request device:string
df = training.copy()
df["cart_to_avg"] = df["cart_amount"] / (df["avg_ticket_7d"].fillna(0.0) + 1.0)
df["is_mobile"] = df["device"].str.lower().isin(["ios", "android"])
df["big_cart"] = np.where(df["cart_amount"] > 100, 1, 0)
df["log_cart"] = np.log1p(df["cart_amount"].clip(lower=0))
df["ticket_capped"] = df["avg_ticket_7d"].clip(upper=500).fillna(0)
df["txn_ratio"] = df["txn_7d"].fillna(0) / (df["txn_30d"].fillna(0) + 1)
"""
CHECKOUT_CELL_IN_PLACE = CHECKOUT_CELL.replace("df = training.copy()\n", "").replace(
    'df["', 'training["'
)
CHECKOUT_SETUP = [
    "%load_ext nb2feast",
    "import numpy as np\nimport pandas as pd",
    """\
stats = pd.read_parquet("data/stats.parquet")
checkouts = pd.read_parquet("data/checkouts.parquet")
""",
    """\
%%feature customer_stats --entity customer_id
customer_stats = stats[["customer_id", "event_timestamp", "avg_ticket_7d", "txn_7d", "txn_30d"]]
""",
    """\
training = pd.merge_asof(
    checkouts.sort_values("event_timestamp"),
    customer_stats.sort_values("event_timestamp"),
    on="event_timestamp",
    by="customer_id",
)
""",
]
REQUEST_VALUES = {
    "Float64": 150.0,
    "Float32": 1.5,
    "Int64": 3,
    "Int32": 3,
    "String": "iOS",
    "Bool": True,
}


def write_checkout_notebook(folder: Path, cell: str = CHECKOUT_CELL, rows: int = 300) -> Path:
    """A notebook with a batch view of customer stats (20% missing) and the cell above."""
    rng = np.random.default_rng(0)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "customer_id": np.arange(1, rows + 1, dtype="int64"),
            "event_timestamp": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 86400 * 20, rows), unit="s"),
            "avg_ticket_7d": np.where(rng.random(rows) < 0.2, np.nan, rng.gamma(2, 60, rows)),
            "txn_7d": np.where(rng.random(rows) < 0.2, np.nan, rng.integers(0, 20, rows)),
            "txn_30d": rng.integers(0, 60, rows).astype("float64"),
        }
    ).to_parquet(folder / "data" / "stats.parquet")
    pd.DataFrame(
        {
            "customer_id": rng.integers(1, rows + 40, 2 * rows),
            "event_timestamp": pd.Timestamp("2024-01-25", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 86400, 2 * rows), unit="s"),
            "cart_amount": np.where(rng.random(2 * rows) < 0.05, 0.0, rng.normal(90, 80, 2 * rows)),
            "device": rng.choice(["iOS", "Android", "web", "ANDROID", ""], 2 * rows),
        }
    ).to_parquet(folder / "data" / "checkouts.parquet")
    cells = [*CHECKOUT_SETUP, cell]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = folder / "checkout.ipynb"
    nbformat.write(notebook, path)
    return path


def copy_examples(folder: Path) -> list[Path]:
    shutil.copytree(EXAMPLES / "data", folder / "data")
    paths = []
    for notebook in sorted(EXAMPLES.glob("*.ipynb")):
        shutil.copy(notebook, folder / notebook.name)
        sidecar = notebook.with_suffix(".nb2feast.json")
        if sidecar.exists():
            shutil.copy(sidecar, folder / sidecar.name)
        paths.append(folder / notebook.name)
    return paths


def export(notebook: Path) -> Path | None:
    from nb2feast.cli import main

    repo = notebook.parent / f"{notebook.stem}_repo"
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        code = main(["export", str(notebook), "--out", str(repo)])
    return repo if code == 0 else None


def prepare(repo: Path) -> Path:
    """tables + feast apply -> materialize: the repository Feast serves."""
    from nb2feast.repo.materialize import apply_repo, materialize_online

    with redirect_stdout(io.StringIO()):
        apply_repo(repo)
        materialize_online(repo)
    return repo


def cases(repo: Path) -> list[dict]:
    """Per on-demand view: the feature refs of each case and one entity row."""
    manifest = json.loads((repo / "nb2feast.json").read_text())
    views = {v["name"]: v for v in manifest["views"]}
    found = []
    for view in manifest["views"]:
        if view["kind"] != "on_demand":
            continue
        row: dict = {}
        plain = []
        for source in view["sources"]:
            batch = views[source]
            table = pd.read_parquet(repo / batch["table"])
            latest = table.sort_values(batch["timestamp"]).iloc[-1]
            row |= {key: latest[key].item() for key in batch["entities"]}
            plain += [f"{source}:{f['name']}" for f in batch["features"]]
        row |= {r["name"]: REQUEST_VALUES[r["feast_type"]] for r in view["requests"]}
        features = [f["name"] for f in view["features"]]
        modes = {v["name"]: v["mode"] for v in view["views"]}
        found.append(
            {
                "view": view["name"],
                "served_mode": modes[view["name"]],
                "row": row,
                "plain": plain,
                "served": [f"{view['name']}:{f}" for f in features],
                "twin": [f"{view['name']}_pandas:{f}" for f in features],
            }
        )
    return found


def time_interleaved(store, case: dict, calls: int) -> dict[str, list[float]]:
    kinds = ("plain", "served", "twin")
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for i in range(WARM_UP + calls):
        for kind in kinds:
            start = time.perf_counter()
            store.get_online_features(features=case[kind], entity_rows=[case["row"]]).to_dict()
            if i >= WARM_UP:
                times[kind].append((time.perf_counter() - start) * 1000)
    return times


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def profile(store, case: dict, calls: int = 300) -> str:
    """Where a served-view call spends its time (cumulative, top entries)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        store.get_online_features(features=case["served"], entity_rows=[case["row"]]).to_dict()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return out.getvalue()


# Issue point 3: an on-demand view with no request input can be computed when its sources
# are materialized (Feast's `write_to_online_store=True`); the online read is then a plain
# lookup. Measured on a hand-written repository: the same compiled udf, on read vs on write.
ON_WRITE_BODY = """\
stats["ticket_capped"] = stats["avg_ticket_7d"].clip(upper=500).fillna(0)
stats["txn_ratio"] = stats["txn_7d"].fillna(0) / (stats["txn_30d"].fillna(0) + 1)
stats["active"] = stats["txn_7d"].fillna(0) > 2
"""
ON_WRITE_FEATURES = {"ticket_capped": "Float64", "txn_ratio": "Float64", "active": "Bool"}
ON_WRITE_DEFINITIONS = """\
from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Bool, Float64

REPO_DIR = Path(__file__).resolve().parent
customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)
stats_source = FileSource(path=str(REPO_DIR / "stats.parquet"), timestamp_field="event_timestamp")
stats = FeatureView(
    name="stats", entities=[customer], ttl=timedelta(days=3650), source=stats_source,
    schema=[Field(name=n, dtype=Float64) for n in ("avg_ticket_7d", "txn_7d", "txn_30d")],
)
SCHEMA = [Field(name=n, dtype=t) for n, t in {{schema}}.items()]


@on_demand_feature_view(name="on_read", sources=[stats], schema=SCHEMA, mode="python")
{on_read}

@on_demand_feature_view(
    name="on_write", sources=[stats], schema=SCHEMA, mode="python", entities=[customer],
    write_to_online_store=True,
)
{on_write}
"""


def measure_transform_on_write(folder: Path, stats: Path, calls: int) -> None:
    import importlib.util

    import libcst as cst
    from feast import FeatureStore

    from nb2feast.feast_compat import feast_sqlite_converters
    from nb2feast.repo.compile_python import compile_python_udf

    folder.mkdir()
    shutil.copy(stats, folder / "stats.parquet")
    (folder / "feature_store.yaml").write_text(
        "project: on_write\nregistry: registry.db\nprovider: local\n"
        "offline_store:\n  type: duckdb\nonline_store:\n  type: sqlite\n  path: online.db\n"
        "entity_key_serialization_version: 3\n"
    )
    dtypes = {c: "float64" for c in ("avg_ticket_7d", "txn_7d", "txn_30d")}
    udfs = {
        name: cst.Module(
            body=[
                compile_python_udf(
                    cst.parse_module(ON_WRITE_BODY).body, "stats", list(ON_WRITE_FEATURES),
                    [], name, dtypes=dtypes,
                )
            ]
        ).code
        for name in ("on_read", "on_write")
    }  # fmt: skip
    (folder / "definitions.py").write_text(
        ON_WRITE_DEFINITIONS.format(**udfs).replace(
            "{schema}", "{" + ", ".join(f'"{n}": {t}' for n, t in ON_WRITE_FEATURES.items()) + "}"
        )
    )
    spec = importlib.util.spec_from_file_location("on_write_definitions", folder / "definitions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    store = FeatureStore(repo_path=str(folder))
    objects = [module.customer, module.stats_source, module.stats, module.on_read, module.on_write]
    with feast_sqlite_converters(), redirect_stdout(io.StringIO()):
        store.apply(objects)
        store.materialize(
            pd.Timestamp("2023-12-01", tz="UTC").to_pydatetime(),
            pd.Timestamp("2024-03-01", tz="UTC").to_pydatetime(),
        )
    customers = pd.read_parquet(stats)["customer_id"].tolist()
    with feast_sqlite_converters():
        rows = [{"customer_id": c} for c in customers]
        read = store.get_online_features([f"on_read:{f}" for f in ON_WRITE_FEATURES], rows)
        write = store.get_online_features([f"on_write:{f}" for f in ON_WRITE_FEATURES], rows)
        read, write = (r.to_df().drop(columns="customer_id") for r in (read, write))
        write.columns = read.columns
        if os.environ.get("BENCH_DEBUG"):
            print(read.dtypes, write.dtypes, read.compare(write), sep="\n")
        same = read.equals(write)
        case = {
            "row": {"customer_id": customers[0]},
            "plain": [f"stats:{f}" for f in dtypes],
            "served": [f"on_read:{f}" for f in ON_WRITE_FEATURES],
            "twin": [f"on_write:{f}" for f in ON_WRITE_FEATURES],
        }
        times = time_interleaved(store, case, calls)
    p = {k: percentiles(v) for k, v in times.items()}
    print("\nno request input, python mode: transform on read vs on write (materialize)")
    for label, kind in (("plain lookup", "plain"), ("on read", "served"), ("on write", "twin")):
        ratio = p[kind][0] / p["plain"][0]
        print(f"  {label:<13} p50 {p[kind][0]:.2f} ms  p99 {p[kind][1]:.2f} ms  {ratio:.1f}x")
    print(f"  on-read and on-write values equal for all {len(customers)} customers: {same}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--on-write", action="store_true", help="also measure transform-on-write")
    args = parser.parse_args(argv)

    from feast import FeatureStore

    from nb2feast.feast_compat import feast_sqlite_converters

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repos = [export(write_checkout_notebook(root / "checkout"))]
        if repos[0] is None:
            print("(this nb2feast does not export `df = training.copy()` cells: the checkout "
                  "cell assigns on `training` instead)")  # fmt: skip
            repos = [export(write_checkout_notebook(root / "checkout", CHECKOUT_CELL_IN_PLACE))]
        repos += [export(notebook) for notebook in copy_examples(root / "examples")]
        print(f"get_online_features, one entity, p50/p99 of {args.calls} interleaved calls "
              f"after {WARM_UP} warm-up, SQLite online store")  # fmt: skip
        header = f"{'view':<24} {'served':<7} {'plain p50/p99':>14} {'served p50/p99':>15} "
        print(header + f"{'twin p50/p99':>14} {'served/plain':>12} {'twin/plain':>10}")
        served_python = total = 0
        profiled = None
        for repo in repos:
            prepare(repo)
            store = FeatureStore(repo_path=str(repo))
            with feast_sqlite_converters():
                for case in cases(repo):
                    total += 1
                    served_python += case["served_mode"] == "python"
                    times = time_interleaved(store, case, args.calls)
                    p = {k: percentiles(v) for k, v in times.items()}
                    print(
                        f"{case['view']:<24} {case['served_mode']:<7} "
                        f"{p['plain'][0]:>6.2f}/{p['plain'][1]:<7.2f} "
                        f"{p['served'][0]:>6.2f}/{p['served'][1]:<8.2f} "
                        f"{p['twin'][0]:>6.2f}/{p['twin'][1]:<7.2f} "
                        f"{p['served'][0] / p['plain'][0]:>11.1f}x "
                        f"{p['twin'][0] / p['plain'][0]:>9.1f}x"
                    )
                    if args.profile and profiled is None and case["served_mode"] == "python":
                        profiled = (case["view"], profile(store, case))
        print(f"on-demand views served in python mode: {served_python}/{total}")
        if args.on_write:
            stats = root / "checkout" / "data" / "stats.parquet"
            measure_transform_on_write(root / "on_write", stats, args.calls)
        if profiled:
            print(f"\nprofile of get_online_features for {profiled[0]} (cumulative):")
            print(profiled[1])


if __name__ == "__main__":
    sys.exit(main())
