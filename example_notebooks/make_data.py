"""Write the small, seeded data sets the example notebooks read (run from this folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent / "data"
START = pd.Timestamp("2024-01-01", tz="UTC")


def transactions(rng: np.random.Generator, customers: int = 200, rows: int = 4000) -> pd.DataFrame:
    seconds = np.sort(rng.choice(90 * 86_400, size=rows, replace=False))
    return pd.DataFrame(
        {
            "transaction_id": np.arange(rows, dtype="int64"),
            "customer_id": rng.integers(1000, 1000 + customers, size=rows).astype("int64"),
            "event_timestamp": START + pd.to_timedelta(seconds, unit="s"),
            "amount": rng.gamma(2.0, 20.0, size=rows).round(2),
        }
    )


def customer_table(rng: np.random.Generator, customers: int = 200) -> pd.DataFrame:
    ids = np.arange(1000, 1000 + customers, dtype="int64")
    return pd.DataFrame(
        {
            "customer_id": ids,
            "updated_at": START - pd.to_timedelta(rng.integers(1, 30, size=customers), unit="D"),
            "segment": rng.choice(["basic", "plus", "premium"], size=customers),
            "tenure_days": rng.integers(1, 2000, size=customers).astype("int64"),
            "email": [f"user{i}@{d}" for i, d in zip(ids, rng.choice(["mail.com", "corp.io", "shop.net"], size=customers))],
            "credit_score": rng.normal(650, 80, size=customers).round(1),
        }
    )


def labels(rng: np.random.Generator, customers: int = 200, rows: int = 600) -> pd.DataFrame:
    seconds = rng.choice(np.arange(20 * 86_400, 100 * 86_400), size=rows, replace=False)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(1000, 1000 + customers, size=rows).astype("int64"),
            "event_timestamp": START + pd.to_timedelta(np.sort(seconds), unit="s"),
            "cart_value": rng.gamma(2.0, 30.0, size=rows).round(2),
            "churned": rng.random(rows) < 0.2,
        }
    )


def main() -> None:
    DATA.mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    transactions(rng).to_parquet(DATA / "transactions.parquet", index=False)
    customer_table(rng).to_parquet(DATA / "customers.parquet", index=False)
    labels(rng).to_parquet(DATA / "labels.parquet", index=False)


if __name__ == "__main__":
    main()
