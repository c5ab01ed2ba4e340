"""Time `verify`'s phases at 10k and 100k sampled rows, and the bare Feast calls it makes.

A synthetic repository (tests/fixtures/verify_repo's definitions, 150k feature rows) and a
fake capture dir, so the numbers measure verify, not the notebook. Targets (SPEC section 6):
verify at 100k <= 2x verify at 10k; verify <= 2x the bare Feast calls.

    .venv/bin/python benchmarks/bench_verify.py [--customers 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "verify_repo"
T0 = pd.Timestamp("2024-01-01", tz="UTC")
SIZES = (10_000, 100_000)


def synthetic(customers: int, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Feature tables for the fixture's views: 30 rows per customer over 90 days."""
    ids = np.repeat(np.arange(1, customers + 1), 30).astype("int64")
    stats = pd.DataFrame({"customer_id": ids})
    stats["event_timestamp"] = T0 + pd.to_timedelta(
        rng.integers(0, 90 * 24 * 3600, ids.size), unit="s"
    )
    stats["created"] = stats["event_timestamp"] + pd.to_timedelta(
        rng.integers(0, 3600, ids.size), unit="s"
    )
    stats["amount_sum"] = rng.gamma(2, 50, ids.size).round(2)
    stats["n_tx"] = rng.integers(0, 30, ids.size).astype("int64")
    stats["segment"] = rng.choice(["gold", "silver", "bronze"], ids.size).astype(object)
    stats["active"] = rng.random(ids.size) > 0.3
    profile = pd.DataFrame({"customer_id": np.arange(1, customers + 1, dtype="int64")})
    profile["event_timestamp"] = T0 + pd.to_timedelta(rng.integers(0, 60, customers), unit="D")
    profile["age"] = rng.integers(18, 80, customers).astype("int64")
    profile["score32"] = rng.random(customers).astype("float32")
    return {"customer_stats": stats, "customer_profile": profile}


def prepare(root: Path, customers: int) -> tuple[Path, Path]:
    """An applied copy of the fixture repository and a capture dir like the magic's."""
    from nb2feast.proof.sample import point_in_time

    rng = np.random.default_rng(0)
    tables = synthetic(customers, rng)
    repo = root / "repo"
    shutil.copytree(FIXTURE, repo)
    (repo / "data").mkdir()
    capture = root / "capture"
    capture.mkdir()
    for name, table in tables.items():
        table.to_parquet(repo / "data" / f"{name}.parquet")
        table.to_parquet(capture / f"{name}.output.parquet")
    labels = pd.DataFrame(
        {
            "customer_id": rng.integers(1, customers + 1, 50_000).astype("int64"),
            "event_timestamp": T0
            + pd.to_timedelta(rng.integers(0, 95 * 24 * 3600, 50_000), unit="s"),
            "discount": rng.random(50_000).round(2),
            "nb2feast_row_id": np.arange(50_000),
        }
    )
    training = point_in_time(
        labels,
        tables["customer_stats"],
        ["customer_id"],
        "event_timestamp",
        ["amount_sum", "n_tx", "segment", "active"],
        created="created",
        ttl_seconds=7 * 86400,
    ).reset_index(drop=True)
    training.to_parquet(capture / "spend_ratio.input.parquet")
    training.assign(
        ratio=training["amount_sum"] / (training["n_tx"] + 1) * (1 - training["discount"])
    ).to_parquet(capture / "spend_ratio.output.parquet")
    subprocess.run(
        [str(Path(sys.executable).parent / "feast"), "-c", str(repo), "apply"],
        check=True,
        capture_output=True,
    )
    return repo, capture


def bare_feast(repo: Path, capture: Path, n: int) -> float:
    """The Feast calls verify makes for `n` rows, made directly: seconds."""
    from nb2feast.proof.sample import sample_entity_rows, sample_input_rows
    from nb2feast.proof.verify import ONLINE_ROWS, FeastSession

    session = FeastSession(repo)
    rng = np.random.default_rng(0)
    stats = pd.read_parquet(capture / "customer_stats.output.parquet")
    profile = pd.read_parquet(capture / "customer_profile.output.parquet")
    training = pd.read_parquet(capture / "spend_ratio.input.parquet")
    stats_rows = sample_entity_rows(stats, ["customer_id"], "event_timestamp", n, rng, 7 * 86400)
    profile_rows = sample_entity_rows(profile, ["customer_id"], "event_timestamp", n, rng, 0)
    odfv_rows = sample_input_rows(training[["customer_id", "event_timestamp", "discount"]], n, rng)
    stats_refs = [f"customer_stats:{f}" for f in ("amount_sum", "n_tx", "segment", "active")]
    profile_refs = ["customer_profile:age", "customer_profile:score32"]
    keys = stats_rows[["customer_id"]].drop_duplicates().head(ONLINE_ROWS).to_dict("records")
    requests = odfv_rows.head(ONLINE_ROWS)[["customer_id", "discount"]].to_dict("records")
    start = time.perf_counter()
    session.historical(stats_rows, stats_refs)
    session.historical(profile_rows, profile_refs)
    for view in ("spend_ratio", "spend_ratio_pandas"):
        session.historical(odfv_rows, [*stats_refs, f"{view}:ratio"])
    session.materialize(
        T0 - pd.Timedelta(days=1),
        T0 + pd.Timedelta(days=100),
        ["customer_stats", "customer_profile"],
    )
    session.online(stats_refs, keys)
    session.online(profile_refs, keys)
    for view in ("spend_ratio", "spend_ratio_pandas"):
        session.online([*stats_refs, f"{view}:ratio"], requests)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()

    from nb2feast.proof.verify import FeastSession, verify_captures

    with tempfile.TemporaryDirectory(prefix="nb2feast-bench-") as tmp:
        repo, capture = prepare(Path(tmp), args.customers)
        FeastSession(repo)  # pay `import feast` once, outside the timings
        rows = []
        for n in SIZES:
            best_verify, best_bare, phases = float("inf"), float("inf"), {}
            for _ in range(args.repeat):
                start = time.perf_counter()
                report = verify_captures(repo, capture, sample=n, seed=0)
                elapsed = time.perf_counter() - start
                assert report.ok, "the synthetic repository must verify ok"
                if elapsed < best_verify:
                    best_verify, phases = elapsed, report.timings
                best_bare = min(best_bare, bare_feast(repo, capture, n))
            rows.append((n, best_verify, best_bare, phases))

    phase_names = ("sample", "offline", "materialize", "online", "compare", "open_store")
    print(
        f"{'rows':>8} {'verify s':>9} {'bare feast s':>12} {'ratio':>6}  "
        + " ".join(f"{p:>11}" for p in phase_names)
    )
    for n, verify_s, bare_s, phases in rows:
        print(
            f"{n:>8} {verify_s:>9.3f} {bare_s:>12.3f} {verify_s / bare_s:>6.2f}  "
            + " ".join(f"{phases.get(p, 0.0):>11.3f}" for p in phase_names)
        )
    (_, small, _, _), (_, large, _, _) = rows
    print(f"\nverify 100k / 10k = {large / small:.2f} (target <= 2)")
    print(
        "verify / bare Feast calls = "
        + ", ".join(f"{v / b:.2f}" for _, v, b, _ in rows)
        + " (target <= 2)"
    )


if __name__ == "__main__":
    main()
