"""Data for telco_churn: IBM Telco customer churn columns, with blanks in TotalCharges."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(7043)
Path("data").mkdir(exist_ok=True)
n = 500
ids = [
    f"{rng.integers(1000, 9999)}-{''.join(rng.choice(list('ABCDEFGHIJKLMNOPQRSTUVWXYZ'), 5))}"
    for _ in range(n)
]
tenure = rng.integers(0, 72, n)
monthly = rng.uniform(18, 118, n).round(2)
total = (monthly * tenure).round(2).astype(str)
total[tenure == 0] = " "
telco = pd.DataFrame(
    {
        "customerID": ids,
        "gender": rng.choice(["Female", "Male"], n),
        "SeniorCitizen": rng.integers(0, 2, n),
        "Partner": rng.choice(["Yes", "No"], n),
        "Dependents": rng.choice(["Yes", "No"], n),
        "tenure": tenure,
        "PhoneService": rng.choice(["Yes", "No"], n),
        "InternetService": rng.choice(["DSL", "Fiber optic", "No"], n),
        "Contract": rng.choice(["Month-to-month", "One year", "Two year"], n),
        "PaperlessBilling": rng.choice(["Yes", "No"], n),
        "PaymentMethod": rng.choice(
            ["Electronic check", "Mailed check", "Bank transfer (automatic)"], n
        ),
        "MonthlyCharges": monthly,
        "TotalCharges": total,
        "snapshot_date": pd.Timestamp("2024-06-01", tz="UTC")
        - pd.to_timedelta(rng.integers(0, 90, n), unit="D"),
        "Churn": rng.choice(["Yes", "No"], n, p=[0.27, 0.73]),
    }
)
telco.to_csv("data/telco_customer_churn.csv", index=False)
requests = (
    telco[["customerID"]]
    .sample(200, random_state=1)
    .assign(
        event_timestamp=pd.Series(pd.Timestamp("2024-06-15", tz="UTC"), index=range(200))
        .astype("datetime64[ns, UTC]")
        .to_numpy(),
        monthly_charges_now=lambda d: rng.uniform(18, 130, len(d)).round(2),
        plan_offered=lambda d: rng.choice(["Month-to-month", "One year", "Two year"], len(d)),
    )
)
requests.to_parquet("data/requests.parquet", index=False)
