"""Data for fraud_handbook: simulated card transactions as in the fraud-detection handbook."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(2021)
Path("data").mkdir(exist_ok=True)
n = 1500
start = pd.Timestamp("2024-04-01", tz="UTC")
tx = pd.DataFrame(
    {
        "TRANSACTION_ID": np.arange(n),
        "TX_DATETIME": start
        + pd.to_timedelta(np.sort(rng.choice(60 * 86400, n, replace=False)), unit="s"),
        "CUSTOMER_ID": rng.integers(0, 40, n),
        "TERMINAL_ID": rng.integers(0, 25, n),
        "TX_AMOUNT": rng.gamma(2.0, 30.0, n).round(2),
    }
)
tx["TX_FRAUD"] = (rng.uniform(0, 1, n) < 0.05 + 0.2 * (tx["TERMINAL_ID"] < 3)).astype("int64")
tx.to_csv("data/transactions.csv", index=False)

m = 300
requests = pd.DataFrame(
    {
        "CUSTOMER_ID": rng.integers(0, 40, m),
        "TX_DATETIME": start + pd.to_timedelta(rng.integers(5 * 86400, 60 * 86400, m), unit="s"),
        "TX_AMOUNT_NOW": rng.gamma(2.0, 30.0, m).round(2),
    }
)
requests.to_csv("data/requests.csv", index=False)
