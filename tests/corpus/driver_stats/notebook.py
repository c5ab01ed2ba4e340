# %% [markdown]
# # Driver ranking (in the style of Feast's driver stats example)
# The ingestion stamp is set when the table is prepared, as Feast's own test data does.

# %%
%load_ext nb2feast

# %%
import numpy as np
import pandas as pd

# %%
stats = pd.read_parquet("data/driver_stats.parquet")
orders = pd.read_parquet("data/orders.parquet")

# %%
%%feature driver_hourly_stats --entity driver_id --created created --ttl 1d
driver_hourly_stats = stats.assign(created=pd.Timestamp.now(tz="UTC"))

# %%
training = pd.merge_asof(
    orders.sort_values("event_timestamp"),
    driver_hourly_stats.drop(columns="created").sort_values("event_timestamp"),
    on="event_timestamp",
    by="driver_id",
    tolerance=pd.Timedelta("1D"),
)
training["val_to_add"] = np.arange(len(training)) % 10

# %% [markdown]
# Request-time transform on a copy of the training frame.

# %%
%%feature transformed_conv_rate --on-demand --request val_to_add:int64
df = training.copy()
df["conv_rate_plus_val"] = df["conv_rate"] + df["val_to_add"]
df["acc_x_conv"] = df["acc_rate"] * df["conv_rate"]
transformed_conv_rate = df

# %%
training[["conv_rate", "acc_rate"]].describe()
