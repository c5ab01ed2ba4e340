"""Data for near_misses: subscription payments and plan changes (seeded)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(5)
Path("data").mkdir(exist_ok=True)
start = pd.Timestamp("2023-12-01", tz="UTC")
n = 900
payments = pd.DataFrame(
    {
        "account_id": rng.integers(1, 60, n),
        "paid_at": start + pd.to_timedelta(rng.choice(120 * 86400, n, replace=False), unit="s"),
        "amount": np.where(rng.uniform(0, 1, n) < 0.05, np.nan, rng.gamma(3, 15, n).round(2)),
        "method": rng.choice(["card", "paypal", "sepa"], n),
    }
)
payments.to_parquet("data/payments.parquet", index=False)
m = 200
plans = pd.DataFrame(
    {
        "account_id": rng.integers(1, 60, m),
        "changed_at": start
        - pd.Timedelta(days=30)
        + pd.to_timedelta(rng.choice(140 * 86400, m, replace=False), unit="s"),
        "plan": rng.choice(["free", "basic", "pro"], m),
        "seats": rng.integers(1, 20, m),
    }
)
plans.to_parquet("data/plans.parquet", index=False)
k = 250
checkouts = pd.DataFrame(
    {
        "account_id": rng.integers(1, 60, k),
        "paid_at": start + pd.to_timedelta(rng.integers(10 * 86400, 120 * 86400, k), unit="s"),
        "cart_total": np.where(rng.uniform(0, 1, k) < 0.1, np.nan, rng.gamma(3, 20, k).round(2)),
        "coupon": rng.choice(["", "WELCOME10", "BLACKFRIDAY", "welcome10"], k),
    }
)
checkouts.to_parquet("data/checkouts.parquet", index=False)
