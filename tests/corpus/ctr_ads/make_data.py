"""Data for ctr_ads: ad impressions with search queries and click labels (seeded)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(31)
Path("data").mkdir(exist_ok=True)
titles = {
    1: "Acme Running Shoes - Free Shipping",
    2: "  cheap flights to Lisbon ",
    3: "ACME trail socks",
    4: "Best Pizza in Town",
    5: None,
    6: "Garden hoses | 20% off",
}
n = 1500
start = pd.Timestamp("2024-02-01", tz="UTC")
ad = rng.choice(list(titles), n)
imps = pd.DataFrame(
    {
        "impression_id": np.arange(n),
        "ad_id": ad,
        "ts": start + pd.to_timedelta(np.sort(rng.choice(14 * 86400, n, replace=False)), unit="s"),
        "position": rng.integers(1, 6, n),
        "clicked": (rng.uniform(0, 1, n) < 0.08 + 0.04 * (ad % 3 == 0)).astype("int64"),
    }
)
imps.to_parquet("data/impressions.parquet", index=False)
ads = pd.DataFrame(
    {
        "ad_id": list(titles),
        "title": list(titles.values()),
        "advertiser": ["acme", "skyways", "acme", "luigi", "unknown", "greenco"],
        "updated_at": start - pd.Timedelta(days=3),
    }
)
ads.to_parquet("data/ads.parquet", index=False)
queries = [
    "acme shoes",
    "Running shoes",
    "",
    "flights lisbon",
    "PIZZA near me",
    None,
    "garden hose 20m",
]
m = 300
reqs = pd.DataFrame(
    {
        "ad_id": rng.choice(list(titles), m),
        "ts": start + pd.to_timedelta(rng.integers(86400, 14 * 86400, m), unit="s"),
        "query": [queries[i] for i in rng.integers(0, len(queries), m)],
        "device": rng.choice(["iOS", "android", "Desktop", "tablet", None], m),
        "bid": np.where(rng.uniform(0, 1, m) < 0.1, np.nan, rng.uniform(0, 3, m).round(2)),
    }
)
reqs.to_parquet("data/requests.parquet", index=False)
