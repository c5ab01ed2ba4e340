# %% [markdown]
# # Loan affordability
# The request carries the applicant's declared income under the same name as the stored one.

# %%
%load_ext nb2feast

# %%
import pandas as pd

# %%
applicants = pd.read_parquet("data/applicants.parquet")
requests = pd.read_parquet("data/requests.parquet")

# %%
%%feature applicant_profile --entity applicant_id
applicant_profile = applicants

# %%
training = pd.merge_asof(
    requests.sort_values("event_timestamp"),
    applicant_profile.sort_values("event_timestamp"),
    on="event_timestamp",
    by="applicant_id",
)

# %%
%%feature affordability --on-demand --request loan_amnt:int64 --request person_income:int64
training["loan_to_income"] = training["loan_amnt"] / training["person_income"]

# %%
training["loan_to_income"].describe()
