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
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "example_notebooks"
WARM_UP = 30

# The cell of issue 12, as people write it.
CHECKOUT_CELL = """\
%%feature checkout_signals --on-demand --request cart_amount:float64 --request device:string
training["cart_to_avg"] = training["cart_amount"] / (training["avg_ticket_7d"].fillna(0.0) + 1.0)
training["is_mobile"] = training["device"].str.lower().isin(["ios", "android"])
training["big_cart"] = np.where(training["cart_amount"] > 100, 1, 0)
training["log_cart"] = np.log1p(training["cart_amount"].clip(lower=0))
training["ticket_capped"] = training["avg_ticket_7d"].clip(upper=500).fillna(0)
training["txn_ratio"] = training["txn_7d"].fillna(0) / (training["txn_30d"].fillna(0) + 1)
"""
REQUEST_VALUES = {
    "Float64": 150.0,
    "Float32": 1.5,
    "Int64": 3,
    "Int32": 3,
    "String": "iOS",
    "Bool": True,
}


def write_checkout_notebook(folder: Path, rows: int = 300) -> Path:
    """A notebook with a batch view of customer stats (20% missing) and the cell above."""
    rng = np.random.default_rng(0)
    (folder / "data").mkdir(parents=True)
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
    cells = [
        "%load_ext nb2feast",
        "import numpy as np\nimport pandas as pd",
        'stats = pd.read_parquet("data/stats.parquet")\n'
        'checkouts = pd.read_parquet("data/checkouts.parquet")',
        "%%feature customer_stats --entity customer_id\n"
        'customer_stats = stats[["customer_id", "event_timestamp", "avg_ticket_7d", "txn_7d", '
        '"txn_30d"]]',
        "training = pd.merge_asof(\n"
        '    checkouts.sort_values("event_timestamp"),\n'
        '    customer_stats.sort_values("event_timestamp"),\n'
        '    on="event_timestamp",\n    by="customer_id",\n)',
        CHECKOUT_CELL,
    ]
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


def prepare(notebook: Path) -> Path:
    """export -> tables + feast apply -> materialize: the repository Feast serves."""
    from nb2feast.cli import main
    from nb2feast.materialize import apply_repo, materialize_online

    repo = notebook.parent / f"{notebook.stem}_repo"
    with redirect_stdout(io.StringIO()):
        code = main(["export", str(notebook), "--out", str(repo)])
    if code != 0:
        raise SystemExit(f"export of {notebook.name} failed ({code})")
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    from feast import FeatureStore

    from nb2feast.feast_compat import feast_sqlite_converters

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        notebooks = [write_checkout_notebook(root / "checkout")]
        notebooks += copy_examples(root / "examples")
        print(f"get_online_features, one entity, p50/p99 of {args.calls} interleaved calls "
              f"after {WARM_UP} warm-up, SQLite online store")  # fmt: skip
        header = f"{'view':<24} {'served':<7} {'plain p50/p99':>14} {'served p50/p99':>15} "
        print(header + f"{'twin p50/p99':>14} {'served/plain':>12} {'twin/plain':>10}")
        served_python = total = 0
        profiled = None
        for notebook in notebooks:
            repo = prepare(notebook)
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
        if profiled:
            print(f"\nprofile of get_online_features for {profiled[0]} (cumulative):")
            print(profiled[1])


if __name__ == "__main__":
    sys.exit(main())
