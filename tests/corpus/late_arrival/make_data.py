"""Data for late_arrival: loan installments that land in the warehouse days after they are due."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(404)
Path("data").mkdir(exist_ok=True)
start = pd.Timestamp("2024-01-01", tz="UTC")
rows = []
for borrower in range(1, 61):
    first = start + pd.Timedelta(days=int(rng.integers(0, 30)), hours=int(rng.integers(0, 24)))
    for k in range(8):
        due = first + pd.Timedelta(days=30 * k)
        days_late = int(rng.choice([0, 0, 0, 1, 3, 12, 25]))
        paid = due + pd.Timedelta(days=days_late, hours=int(rng.integers(0, 20)))
        rows.append(
            {
                "installment_id": f"{borrower}-{k}",
                "borrower_id": borrower,
                "due_date": due,
                "paid_date": paid,
                "amount_due": float(rng.choice([250.0, 400.0, 650.0])),
                "ingested_at": paid + pd.Timedelta(hours=int(rng.integers(6, 72))),
            }
        )
repayments = pd.DataFrame(rows)
repayments["amount_paid"] = repayments["amount_due"] * rng.choice([1.0, 1.0, 0.5], len(repayments))
repayments.to_parquet("data/repayments.parquet", index=False)
