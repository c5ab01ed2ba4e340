# %% [markdown]
# # Motor insurance claims
# The feature logic lives in the team's package beside this notebook (`mylib`).

# %%
%load_ext nb2feast

# %%
import pandas as pd

from mylib import feats

# %%
policies = pd.read_parquet("data/policies.parquet")
claims = pd.read_parquet("data/claims.parquet")

# %%
%%feature policy --entity policy_id --timestamp start_date
policy = feats.policy_features(policies)

# %%
%%feature claims_history --entity policy_id --timestamp claim_date
claims_history = feats.claims_to_date(claims)

# %%
claims_history.describe()
