"""Data for helper_pkg: motor insurance policies and their claims (seeded)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(99)
Path("data").mkdir(exist_ok=True)
n = 200
start = pd.Timestamp("2023-01-01", tz="UTC")
policies = pd.DataFrame(
    {
        "policy_id": np.arange(5000, 5000 + n),
        "start_date": start + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "driver_age": rng.integers(18, 85, n),
        "annual_premium": rng.gamma(5, 120, n).round(2),
        "deductible": rng.choice([250, 500, 1000, 2000], n),
    }
)
policies.to_parquet("data/policies.parquet", index=False)
m = 600
claims = pd.DataFrame(
    {
        "claim_id": np.arange(m),
        "policy_id": rng.choice(policies["policy_id"], m),
        "claim_date": start
        + pd.to_timedelta(rng.choice(700 * 24 * 60, m, replace=False), unit="min"),
        "claim_amount": rng.gamma(2, 800, m).round(2),
    }
)
claims.to_parquet("data/claims.parquet", index=False)
