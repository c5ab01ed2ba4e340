"""Data for driver_stats: hourly driver statistics as in Feast's quickstart (seeded)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(1001)
Path("data").mkdir(exist_ok=True)
hours = pd.date_range("2024-03-01", periods=72, freq="h", tz="UTC")
drivers = np.arange(1001, 1011)
stats = pd.DataFrame(
    [(d, h) for d in drivers for h in hours], columns=["driver_id", "event_timestamp"]
)
n = len(stats)
stats["conv_rate"] = rng.uniform(0, 1, n).astype("float32")
stats["acc_rate"] = rng.uniform(0, 1, n).astype("float32")
stats["avg_daily_trips"] = rng.integers(0, 1000, n).astype("int32")
stats = stats.sample(frac=0.8, random_state=3).sort_values(["event_timestamp", "driver_id"])
stats.to_parquet("data/driver_stats.parquet", index=False)

orders = pd.DataFrame(
    {
        "driver_id": rng.choice(drivers, 300),
        "event_timestamp": hours[0] + pd.to_timedelta(rng.integers(60, 72 * 60, 300), unit="min"),
        "trip_completed": rng.integers(0, 2, 300),
    }
)
orders.to_parquet("data/orders.parquet", index=False)
