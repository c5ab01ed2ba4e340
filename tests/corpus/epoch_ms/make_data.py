"""Data for epoch_ms: app events stamped in epoch milliseconds, as event trackers export them."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(1700)
Path("data").mkdir(exist_ok=True)
n = 500
start_ms = 1_714_521_600_000  # 2024-05-01 UTC
events = pd.DataFrame(
    {
        "user_id": rng.integers(1, 40, n),
        "event_ms": start_ms + rng.choice(20 * 86_400_000, n, replace=False),
        "session_seconds": rng.gamma(2, 60, n).round(1),
        "purchases": rng.poisson(0.2, n),
    }
).sort_values("event_ms")
events.to_csv("data/events.csv", index=False)
