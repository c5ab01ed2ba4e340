# %% [markdown]
# # Credit scoring (in the style of Feast's credit-score tutorial)
# Zipcode and credit-history features, joined point in time to loan applications; the
# request-time ratios are built in a fresh frame column by column, as the tutorial does.

# %%
%load_ext nb2feast

# %%
import numpy as np
import pandas as pd

# %%
zipcode = pd.read_parquet("data/zipcode_table.parquet")
credit = pd.read_parquet("data/credit_history.parquet")
loans = pd.read_parquet("data/loan_table.parquet")

# %%
%%feature zipcode_features --entity zipcode --created created_timestamp --ttl 3650d
zipcode_features = zipcode[
    ["zipcode", "event_timestamp", "created_timestamp", "city", "state", "location_type",
     "tax_returns_filed", "population", "total_wages"]
]

# %%
%%feature credit_history --entity dob_ssn --created created_timestamp --ttl 90d
credit_history = credit.assign(
    total_debt_due=lambda d: d["credit_card_due"] + d["mortgage_due"] + d["student_loan_due"] + d["vehicle_loan_due"],
)

# %%
training = pd.merge_asof(
    loans.sort_values("event_timestamp"),
    zipcode_features.drop(columns="created_timestamp").sort_values("event_timestamp"),
    on="event_timestamp",
    by="zipcode",
)
training = pd.merge_asof(
    training,
    credit_history.drop(columns="created_timestamp").sort_values("event_timestamp"),
    on="event_timestamp",
    by="dob_ssn",
    tolerance=pd.Timedelta("90D"),
)

# %% [markdown]
# Request-time features: the tutorial's `df = pd.DataFrame(); df["x"] = ...` shape.

# %%
%%feature loan_ratios --on-demand --request loan_amnt:int64 --request person_income:int64
out = pd.DataFrame()
out["loan_to_income"] = training["loan_amnt"] / training["person_income"]
out["debt_to_income"] = training["total_debt_due"] / training["person_income"]
out["card_due_share"] = training["credit_card_due"] / (training["total_debt_due"] + 1)
loan_ratios = out

# %%
training.groupby("loan_status")["total_debt_due"].mean()
