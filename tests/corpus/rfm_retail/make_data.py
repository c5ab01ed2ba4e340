"""Data for rfm_retail: invoice lines like the UCI Online Retail set, some without customer."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(2010)
Path("data").mkdir(exist_ok=True)
n = 1600
start = pd.Timestamp("2024-01-04 08:00")
customers = rng.choice(np.arange(12346, 12426), n).astype("float64")
customers[rng.uniform(0, 1, n) < 0.12] = np.nan
invoice_no = rng.integers(536365, 536365 + 500, n)
lines = pd.DataFrame(
    {
        "InvoiceNo": invoice_no.astype(str),
        "StockCode": rng.choice(["85123A", "71053", "84406B", "22752", "21730"], n),
        "Description": rng.choice(
            ["WHITE HANGING HEART", "METAL LANTERN", "CREAM CUPID", "GLASS STAR"], n
        ),
        "Quantity": rng.integers(-2, 24, n),
        "InvoiceDate": (
            start + pd.to_timedelta(rng.integers(0, 200 * 24 * 60, n), unit="min")
        ).strftime("%m/%d/%Y %H:%M"),
        "UnitPrice": rng.choice([0.85, 1.25, 2.55, 3.39, 7.65], n),
        "CustomerID": customers,
        "Country": rng.choice(["United Kingdom", "France", "Germany"], n, p=[0.8, 0.1, 0.1]),
    }
)
lines.to_csv("data/online_retail.csv", index=False)
