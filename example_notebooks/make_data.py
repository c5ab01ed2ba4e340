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
            "email": [
                f"user{i}@{d}"
                for i, d in zip(
                    ids,
                    rng.choice(["mail.com", "corp.io", "shop.net"], size=customers),
                    strict=True,
                )
            ],
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


MERCHANT_CATEGORIES = ["Grocery ", "electronics", " Fashion", "home & garden"]


def marketplace(
    rng: np.random.Generator, customers: int = 80, merchants: int = 12, rows: int = 1500
) -> dict[str, pd.DataFrame]:
    """Orders (late-arriving rows and corrections, with an ingestion `created`), merchants,
    checkouts."""
    seconds = np.sort(rng.choice(60 * 86_400, size=rows, replace=False))
    event = START + pd.to_timedelta(seconds, unit="s")
    # Most rows land within minutes; one in six arrives hours to days late.
    delay_minutes = np.where(
        rng.random(rows) < 1 / 6,
        rng.integers(120, 4 * 24 * 60, size=rows),
        rng.integers(1, 15, size=rows),
    )
    orders = pd.DataFrame(
        {
            "order_id": np.arange(rows, dtype="int64"),
            "customer_id": rng.integers(5000, 5000 + customers, size=rows).astype("int64"),
            "merchant_id": rng.integers(1, 1 + merchants, size=rows).astype("int64"),
            "event_timestamp": event,
            "created": event + pd.to_timedelta(delay_minutes, unit="m"),
            "amount": rng.gamma(2.0, 25.0, size=rows).round(2),
            "status": rng.choice(
                ["Delivered", " delivered", "REFUNDED", "cancelled ", "Delivered"], size=rows
            ),
            "channel": rng.choice(["web", "ios", "android"], size=rows),
        }
    )
    # Corrections: the same order (same key and event time) re-sent later with another amount
    # and status.
    fixed = orders.sample(n=40, random_state=11).copy()
    fixed["created"] = fixed["created"] + pd.to_timedelta(
        rng.integers(1, 10, size=len(fixed)), unit="D"
    )
    fixed["amount"] = (fixed["amount"] * rng.uniform(0.2, 0.9, size=len(fixed))).round(2)
    fixed["status"] = "REFUNDED"
    orders = (
        pd.concat([orders, fixed])
        .sort_values(["event_timestamp", "created"], kind="stable")
        .reset_index(drop=True)
    )

    ids = np.arange(1, 1 + merchants, dtype="int64")
    merchant_table = pd.DataFrame(
        {
            "merchant_id": ids,
            "updated_at": START - pd.to_timedelta(rng.integers(1, 20, size=merchants), unit="D"),
            "category": rng.choice(MERCHANT_CATEGORIES, size=merchants),
            "rating": rng.uniform(2.0, 5.0, size=merchants).round(2),
            "country": rng.choice(["DE", "fr", "Es "], size=merchants),
        }
    )

    checks = 500
    check_seconds = np.sort(
        rng.choice(np.arange(10 * 86_400, 70 * 86_400), size=checks, replace=False)
    )
    checkouts = pd.DataFrame(
        {
            "customer_id": rng.integers(5000, 5000 + customers, size=checks).astype("int64"),
            "merchant_id": rng.integers(1, 1 + merchants, size=checks).astype("int64"),
            "event_timestamp": START + pd.to_timedelta(check_seconds, unit="s"),
            "basket_value": rng.gamma(2.0, 40.0, size=checks).round(2),
            "items": rng.integers(1, 12, size=checks).astype("int64"),
            "fraud": rng.random(checks) < 0.05,
        }
    )
    return {"orders": orders, "merchants": merchant_table, "checkouts": checkouts}


def driver_stats(rng: np.random.Generator, drivers: int = 5, hours: int = 24 * 7) -> pd.DataFrame:
    """Hourly driver statistics shaped like Feast's quickstart `driver_stats.parquet`."""
    stamps = pd.date_range(START, periods=hours, freq="h")
    frame = pd.DataFrame(
        [(d, t) for d in range(1001, 1001 + drivers) for t in stamps],
        columns=["driver_id", "event_timestamp"],
    )
    rows = len(frame)
    return frame.assign(
        driver_id=lambda d: d["driver_id"].astype("int64"),
        conv_rate=rng.random(rows).astype("float32"),
        acc_rate=rng.random(rows).astype("float32"),
        avg_daily_trips=rng.integers(0, 1000, size=rows).astype("int64"),
        created=lambda d: d["event_timestamp"] + pd.Timedelta(minutes=5),
    )


def write_marketplace() -> None:
    """The orders and quickstart examples' data (new files; the churn data above is untouched)."""
    DATA.mkdir(exist_ok=True)
    rng = np.random.default_rng(23)
    for name, frame in marketplace(rng).items():
        frame.to_parquet(DATA / f"{name}.parquet", index=False)
    driver_stats(rng).to_parquet(DATA / "driver_stats.parquet", index=False)


def main() -> None:
    DATA.mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    transactions(rng).to_parquet(DATA / "transactions.parquet", index=False)
    customer_table(rng).to_parquet(DATA / "customers.parquet", index=False)
    labels(rng).to_parquet(DATA / "labels.parquet", index=False)
    write_marketplace()


if __name__ == "__main__":
    main()
