"""Data for request_clash: applicants' stored income, and loan requests (seeded)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(6)
Path("data").mkdir(exist_ok=True)
n = 80
start = pd.Timestamp("2024-01-01", tz="UTC")
applicants = pd.DataFrame(
    {
        "applicant_id": np.arange(n),
        "person_income": rng.integers(15000, 150000, n),
        "person_emp_length": rng.integers(0, 25, n),
        "event_timestamp": pd.Series(start, index=range(n)).astype("datetime64[ns, UTC]"),
    }
)
applicants.to_parquet("data/applicants.parquet", index=False)
m = 200
requests = pd.DataFrame(
    {
        "applicant_id": rng.integers(0, n, m),
        "event_timestamp": (start + pd.to_timedelta(rng.integers(1, 90, m), unit="D")).astype(
            "datetime64[ns, UTC]"
        ),
        "loan_amnt": rng.integers(1000, 30000, m),
        "person_income_now": rng.integers(15000, 150000, m),
    }
)
requests.to_parquet("data/requests.parquet", index=False)
