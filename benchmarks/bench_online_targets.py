"""Online latency by target: the churn example exported for `local` (SQLite online store)
and for `redis` (a real redis-server on a free loopback port, started and stopped here),
materialized, then one entity looked up CALLS times: a plain feature view, and the same
lookup plus the served on-demand view (python mode). p50 and p99 in milliseconds.

Run: python benchmarks/bench_online_targets.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from redis_server import RedisServer  # noqa: E402 - tests/ is on sys.path only from here

from nb2feast.cli import main  # noqa: E402 - after the sys.path insert, like the import above

CALLS = 300
WARM_UP = 30
PLAIN = [
    "customer_30d:amount_30d_sum",
    "customer_30d:txn_30d_count",
    "customer_profile:segment_code",
]
ON_DEMAND = [*PLAIN, "churn_signals:cart_to_30d_ratio", "churn_signals:big_cart"]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))]


def time_lookups(repo: Path) -> dict[str, tuple[float, float]]:
    from feast import FeatureStore

    from nb2feast.feast_compat import feast_sqlite_converters

    store = FeatureStore(repo_path=str(repo))
    out = {}
    with feast_sqlite_converters():
        for case, refs, row in (
            ("plain view", PLAIN, {"customer_id": 1001}),
            ("+ on-demand (python)", ON_DEMAND, {"customer_id": 1001, "cart_value": 80.0}),
        ):
            samples = []
            for call in range(WARM_UP + CALLS):
                started = time.perf_counter()
                store.get_online_features(features=refs, entity_rows=[row]).to_dict()
                if call >= WARM_UP:
                    samples.append((time.perf_counter() - started) * 1000)
            out[case] = _percentiles(samples)
    return out


def prepare(folder: Path, target: str) -> Path:
    shutil.copytree(ROOT / "example_notebooks" / "data", folder / "data")
    for name in ("churn.ipynb", "churn.nb2feast.json"):
        shutil.copy(ROOT / "example_notebooks" / name, folder / name)
    repo = folder / "feature_repo"
    assert (
        main(
            [
                "export",
                str(folder / "churn.ipynb"),
                "--out",
                str(repo),
                "--target",
                target,
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert main(["materialize", str(repo), "--online"]) == 0
    return repo


def run() -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="nb2feast-online-") as tmp:
        tmp = Path(tmp)
        results["sqlite"] = time_lookups(prepare(tmp / "local", "local"))
        (tmp / "redis-data").mkdir()
        server = RedisServer(tmp / "redis-data").start()
        try:
            os.environ["NB2FEAST_REDIS_URL"] = server.url
            results["redis"] = time_lookups(prepare(tmp / "redis", "redis"))
        finally:
            server.stop()
    print(f"| online store | lookup | p50 ms | p99 ms |  ({CALLS} calls, one entity)")
    print("|---|---|---|---|")
    for store, cases in results.items():
        for case, (p50, p99) in cases.items():
            print(f"| {store} | {case} | {p50:.2f} | {p99:.2f} |")


if __name__ == "__main__":
    run()
