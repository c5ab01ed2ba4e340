"""Scale: one partitionable batch view built from 1, 10 and 50 million generated source rows,
on pandas (the generated `build()`, one process) and on Spark `local[2]` (the same generated
function, per customer, as `groupBy(customer_id).applyInPandas`).

Each (engine, size) runs in a child process watched from here: wall time and the peak
resident memory of the child's whole process tree (Spark's JVM and Python workers included),
sampled every 0.2 s. A child over MEMORY_CAP_GB is killed and recorded as out of memory, one
over TIMEOUT_S as out of time: recorded, never fatal. 1,000 source rows per customer.

Run: python benchmarks/bench_scale.py [--sizes 1,10,50] [--engines pandas,spark]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

MEMORY_CAP_GB = float(os.environ.get("BENCH_SCALE_MEMORY_CAP_GB", "8"))
TIMEOUT_S = float(os.environ.get("BENCH_SCALE_TIMEOUT_S", "1800"))
ROWS_PER_KEY = 1000
CHUNK = 1_000_000

CELL = """\
%%feature customer_30d --entity customer_id --ttl 30d
rolled = (
    transactions.sort_values(["customer_id", "event_timestamp"])
    .set_index("event_timestamp")
    .groupby("customer_id")["amount"]
    .rolling("30D")
    .agg(["sum", "count", "max"])
    .reset_index()
)
customer_30d = rolled.rename(
    columns={"sum": "amount_30d_sum", "count": "txn_30d_count", "max": "amount_30d_max"}
).assign(txn_30d_count=lambda d: d["txn_30d_count"].astype("int64"))
"""


def write_source(path: Path, rows: int, seed: int = 0) -> None:
    """`rows` transactions in row groups of a million, never all in memory at once."""
    rng = np.random.default_rng(seed)
    keys = max(1, rows // ROWS_PER_KEY)
    start = pd.Timestamp("2024-01-01", tz="UTC").value // 1000
    span = 730 * 86_400 * 1_000_000
    schema = pa.schema(
        [
            ("customer_id", pa.int64()),
            ("event_timestamp", pa.timestamp("us", tz="UTC")),
            ("amount", pa.float64()),
        ]
    )
    with pq.ParquetWriter(path, schema) as writer:
        for first in range(0, rows, CHUNK):
            n = min(CHUNK, rows - first)
            table = pa.table(
                {
                    "customer_id": rng.integers(0, keys, n),
                    "event_timestamp": pa.array(
                        start + rng.integers(0, span, n), pa.timestamp("us", tz="UTC")
                    ),
                    "amount": rng.gamma(2.0, 30.0, n).round(2),
                },
                schema=schema,
            )
            writer.write_table(table)


def export_repo(folder: Path) -> Path:
    """The generated repository of a one-cell notebook (exported on a tiny source)."""
    import nbformat

    from nb2feast.cli import main

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import pandas as pd"),
        nbformat.v4.new_code_cell('transactions = pd.read_parquet("data/transactions.parquet")'),
        nbformat.v4.new_code_cell(CELL),
    ]
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"c{index}"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "scale.ipynb")
    write_source(folder / "data" / "transactions.parquet", 20_000)
    repo = folder / "feature_repo"
    code = main(["export", str(folder / "scale.ipynb"), "--out", str(repo), "--target", "spark"])
    assert code == 0, "export failed"
    return repo


def child(engine: str, repo: Path) -> None:
    """Build the view's feature table once on `engine`; print rows and seconds."""
    from nb2feast.repo.materialize import load_repo_transforms

    module = load_repo_transforms(repo).customer_30d
    source = module.NOTEBOOK_DIR / "data" / "transactions.parquet"
    (repo / "data").mkdir(exist_ok=True)
    out = repo / "data" / f"customer_30d.{engine}.parquet"
    started = time.perf_counter()
    if engine == "pandas":
        table = module.build()
        table.to_parquet(out, index=False)
        rows = len(table)
    else:
        from pyspark import cloudpickle

        from nb2feast.repo.targets.spark_engine import (
            bucket_count,
            result_schema,
            run_partitioned,
            spark_conf,
            spark_session,
        )

        conf = spark_conf(repo) | {"spark.master": "local[2]", "spark.driver.memory": "3g"}
        session = spark_session(conf)
        sample = pq.ParquetFile(source).read_row_group(0).to_pandas()
        sample = sample[sample["customer_id"] < 20]
        fn = module.customer_30d
        schema = result_schema(
            fn(transactions=sample),
            ["customer_id", "event_timestamp", "amount_30d_sum", "txn_30d_count", "amount_30d_max"],
        )
        cloudpickle.register_pickle_by_value(module)
        started = time.perf_counter()
        frame = session.read.parquet(str(source))
        buckets = bucket_count(pq.ParquetFile(source).metadata.num_rows, 2)
        result = run_partitioned(
            frame, fn, "transactions", ["customer_id"], schema, {"event_timestamp": "UTC"}, buckets
        )
        result.write.mode("overwrite").parquet(str(out))
        rows = session.read.parquet(str(out)).count()
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))


def measure(engine: str, repo: Path) -> dict:
    """Run one child; its wall time and the peak RSS of its process tree."""
    command = [sys.executable, __file__, "--child", engine, "--repo", str(repo)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    watched = psutil.Process(process.pid)
    peak = 0
    status = "ok"
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in tree if p.is_running())
        except psutil.Error:
            rss = 0
        peak = max(peak, rss)
        elapsed = time.perf_counter() - started
        if rss > MEMORY_CAP_GB * 2**30 or elapsed > TIMEOUT_S:
            status = "out of memory" if rss > MEMORY_CAP_GB * 2**30 else "out of time"
            for p in [*watched.children(recursive=True), watched]:
                try:
                    p.kill()
                except psutil.Error:
                    pass
            break
        time.sleep(0.2)
    output, _ = process.communicate()
    wall = time.perf_counter() - started
    result = {
        "engine": engine,
        "status": status,
        "wall_s": round(wall, 1),
        "peak_rss_gb": round(peak / 2**30, 2),
    }
    if status == "ok" and process.returncode == 0 and output.strip():
        result |= json.loads(output.strip().splitlines()[-1])
        result["seconds"] = round(result["seconds"], 1)
    elif status == "ok":
        result["status"] = f"failed (exit {process.returncode})"
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,50", help="millions of source rows")
    parser.add_argument("--engines", default="pandas,spark")
    parser.add_argument("--child")
    parser.add_argument("--repo")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.repo))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="nb2feast-scale-") as tmp:
        repo = export_repo(Path(tmp))
        source = Path(tmp) / "data" / "transactions.parquet"
        print("| rows | engine | status | wall s | build s | peak RSS GB |")
        print("|---|---|---|---|---|---|")
        for millions in [int(s) for s in args.sizes.split(",")]:
            write_source(source, millions * 1_000_000)
            for engine in args.engines.split(","):
                result = {"rows_millions": millions} | measure(engine, repo)
                results.append(result)
                print(
                    f"| {millions}M | {engine} | {result['status']} | {result['wall_s']} |"
                    f" {result.get('seconds', '-')} | {result['peak_rss_gb']} |",
                    flush=True,
                )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
