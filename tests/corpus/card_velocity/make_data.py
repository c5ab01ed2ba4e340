"""Data for card_velocity: card transactions with locations (Hopsworks course style)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(77)
Path("data").mkdir(exist_ok=True)
cards = [f"4{rng.integers(10**14, 10**15)}" for _ in range(30)]
homes = {c: (rng.uniform(40, 52), rng.uniform(-5, 15)) for c in cards}
n = 1200
start = pd.Timestamp("2024-05-01", tz="UTC")
card = rng.choice(cards, n)
tx = pd.DataFrame(
    {
        "tid": [f"t{i:05d}" for i in range(n)],
        "datetime": start + pd.to_timedelta(rng.choice(30 * 86400, n, replace=False), unit="s"),
        "cc_num": card,
        "category": rng.choice(["Grocery", "Restaurant", "Cash Withdrawal", "Health/Beauty"], n),
        "amount": rng.gamma(2.0, 25.0, n).round(2),
        "latitude": [homes[c][0] + rng.normal(0, 0.3) for c in card],
        "longitude": [homes[c][1] + rng.normal(0, 0.3) for c in card],
    }
)
tx.to_parquet("data/credit_card_transactions.parquet", index=False)
profiles = pd.DataFrame(
    {
        "cc_num": cards,
        "home_lat": [homes[c][0] for c in cards],
        "home_lon": [homes[c][1] for c in cards],
        "cc_expiration_date": ["0" + str(rng.integers(1, 9)) + "/27" for _ in cards],
        "updated_at": start - pd.Timedelta(days=1),
    }
)
profiles.to_parquet("data/card_profiles.parquet", index=False)
m = 250
pick = rng.choice(cards, m)
requests = pd.DataFrame(
    {
        "cc_num": pick,
        "datetime": start + pd.to_timedelta(rng.integers(86400, 30 * 86400, m), unit="s"),
        "lat_now": [homes[c][0] + rng.normal(0, 2) for c in pick],
        "lon_now": [homes[c][1] + rng.normal(0, 2) for c in pick],
    }
)
requests.to_parquet("data/requests.parquet", index=False)
