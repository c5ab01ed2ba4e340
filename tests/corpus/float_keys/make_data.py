"""Data for float_keys: invoice lines whose CustomerID has blanks (so pandas reads float64)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(17850)
Path("data").mkdir(exist_ok=True)
n = 600
customer = rng.choice(np.arange(17850, 17900), n).astype("float64")
customer[rng.uniform(0, 1, n) < 0.15] = np.nan
lines = pd.DataFrame(
    {
        "InvoiceNo": rng.integers(536365, 537000, n).astype(str),
        "InvoiceDate": pd.Timestamp("2024-01-01", tz="UTC")
        + pd.to_timedelta(rng.choice(90 * 86400, n, replace=False), unit="s"),
        "Quantity": rng.integers(1, 12, n),
        "UnitPrice": rng.choice([0.85, 2.55, 4.95], n),
        "CustomerID": customer,
    }
)
lines.to_csv("data/invoices.csv", index=False)
