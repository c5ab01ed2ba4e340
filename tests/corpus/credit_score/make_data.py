"""Data for credit_score: Feast's credit-score tutorial tables, small (seeded)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(8)
Path("data").mkdir(exist_ok=True)
start = pd.Timestamp("2024-01-01", tz="UTC")

zips = np.arange(10001, 10031)
snapshots = [start, start + pd.Timedelta(days=182)]
zipcode = pd.DataFrame(
    [
        {
            "zipcode": int(z),
            "city": f"CITY{z % 7}",
            "state": ["NY", "CA", "TX"][z % 3],
            "location_type": ["PRIMARY", "ACCEPTABLE"][z % 2],
            "tax_returns_filed": int(rng.integers(500, 9000)),
            "population": int(rng.integers(1000, 90000)),
            "total_wages": int(rng.integers(10**6, 10**8)),
            "event_timestamp": ts,
            "created_timestamp": ts + pd.Timedelta(hours=2),
        }
        for z in zips
        for ts in snapshots
    ]
)
zipcode.to_parquet("data/zipcode_table.parquet", index=False)

people = [
    f"19{rng.integers(50, 99)}0{rng.integers(1, 9)}1{rng.integers(0, 9)}_{rng.integers(1000, 9999)}"
    for _ in range(60)
]
people = sorted(set(people))
rows = []
for person in people:
    for month in range(6):
        ts = start + pd.DateOffset(months=month)
        rows.append(
            {
                "dob_ssn": person,
                "credit_card_due": int(rng.integers(0, 5000)),
                "mortgage_due": int(rng.integers(0, 500000)),
                "student_loan_due": int(rng.integers(0, 50000)),
                "vehicle_loan_due": int(rng.integers(0, 30000)),
                "hard_pulls": int(rng.integers(0, 10)),
                "missed_payments_2y": int(rng.integers(0, 7)),
                "missed_payments_1y": int(rng.integers(0, 4)),
                "missed_payments_6m": int(rng.integers(0, 2)),
                "bankruptcies": int(rng.integers(0, 2)),
                "event_timestamp": ts,
                "created_timestamp": ts + pd.Timedelta(days=1),
            }
        )
pd.DataFrame(rows).to_parquet("data/credit_history.parquet", index=False)

n = 400
loans = pd.DataFrame(
    {
        "loan_id": np.arange(n),
        "dob_ssn": rng.choice(people, n),
        "zipcode": rng.choice(zips, n).astype("int64"),
        "person_age": rng.integers(21, 70, n),
        "person_income": rng.integers(12000, 200000, n),
        "person_home_ownership": rng.choice(["RENT", "OWN", "MORTGAGE"], n),
        "person_emp_length": rng.integers(0, 30, n).astype("float64"),
        "loan_intent": rng.choice(["EDUCATION", "MEDICAL", "VENTURE", "PERSONAL"], n),
        "loan_amnt": rng.integers(1000, 35000, n),
        "loan_int_rate": rng.uniform(5, 22, n).round(2),
        "loan_status": rng.integers(0, 2, n),
        "event_timestamp": start + pd.to_timedelta(rng.integers(2, 360 * 24, n), unit="h"),
    }
)
loans.to_parquet("data/loan_table.parquet", index=False)
