# %% [markdown]
# # Telco churn (in the style of the Kaggle Telco customer churn notebooks)
# Categoricals, tenure bins with labels, and pandas' nullable dtypes.

# %%
%load_ext nb2feast

# %%
import numpy as np
import pandas as pd

# %%
telco = pd.read_csv("data/telco_customer_churn.csv", parse_dates=["snapshot_date"])
telco["TotalCharges"] = pd.to_numeric(telco["TotalCharges"], errors="coerce").astype("Float64")
telco["SeniorCitizen"] = telco["SeniorCitizen"].astype("boolean")
telco["gender"] = telco["gender"].astype("string")
telco["Contract"] = telco["Contract"].astype("category")
yes_no = ["Partner", "Dependents", "PhoneService", "PaperlessBilling"]
telco[yes_no] = telco[yes_no].eq("Yes")

# %%
%%feature customer_account --entity customerID --timestamp snapshot_date
customer_account = telco[["customerID", "snapshot_date", "gender", "SeniorCitizen", "Partner", "Dependents", "Contract", "MonthlyCharges", "TotalCharges"]].copy()
customer_account["tenure_group"] = pd.cut(
    telco["tenure"], bins=[-1, 12, 24, 48, 72], labels=["0-1 year", "1-2 years", "2-4 years", "4-6 years"]
)
customer_account["tenure_months"] = telco["tenure"].astype("Int64")
customer_account["avg_monthly_spend"] = customer_account["TotalCharges"] / telco["tenure"].replace(0, np.nan)
customer_account["fiber"] = telco["InternetService"].eq("Fiber optic")
customer_account["payment"] = telco["PaymentMethod"].astype("string[pyarrow]")

# %%
requests = pd.read_parquet("data/requests.parquet")
training = pd.merge_asof(
    requests.sort_values("event_timestamp"),
    customer_account.sort_values("snapshot_date"),
    left_on="event_timestamp",
    right_on="snapshot_date",
    by="customerID",
)

# %%
%%feature offer_signals --on-demand --request monthly_charges_now:float64 --request plan_offered:string
signals = training.copy()
signals["charge_increase"] = signals["monthly_charges_now"] - signals["MonthlyCharges"]
signals["offer_is_longer"] = signals["plan_offered"].isin(["One year", "Two year"]) & (signals["Contract"] == "Month-to-month")
signals["new_customer"] = signals["tenure_group"] == "0-1 year"
offer_signals = signals

# %%
signals.groupby("Contract", observed=True)["charge_increase"].mean()
