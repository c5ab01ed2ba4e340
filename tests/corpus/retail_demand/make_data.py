"""Data for retail_demand: point-of-sale lines of a few stores over two months (seeded)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(12)
Path("data").mkdir(exist_ok=True)
n = 2500
start = pd.Timestamp("2024-09-01", tz="UTC")
sales = pd.DataFrame(
    {
        "store_id": rng.integers(1, 6, n),
        "sold_at": start + pd.to_timedelta(rng.choice(60 * 86400, n, replace=False), unit="s"),
        "units": rng.integers(1, 6, n),
        "price": rng.choice([1.99, 4.5, 9.99, 24.0], n),
    }
).sort_values("sold_at")
sales.to_parquet("data/sales.parquet", index=False)
