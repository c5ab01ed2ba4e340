# %% [markdown]
# # Store demand (daily resampling)
# Daily units and revenue per store, and a 7-day moving average for the forecaster.

# %%
%load_ext nb2feast

# %%
import pandas as pd

# %%
sales = pd.read_parquet("data/sales.parquet")
sales["revenue"] = sales["units"] * sales["price"]

# %% [markdown]
# `resample("D")` labels each day by its start: the day's total is stamped at midnight,
# before the sales it sums.

# %%
%%feature store_daily --entity store_id --timestamp day
store_daily = (
    sales.set_index("sold_at")
    .groupby("store_id")[["units", "revenue"]]
    .resample("D")
    .sum()
    .reset_index()
    .rename(columns={"sold_at": "day", "units": "units_day", "revenue": "revenue_day"})
)

# %% [markdown]
# Stamped at the end of the day it covers, the same totals are known when stamped.

# %%
%%feature store_trend --entity store_id --timestamp day_end
daily = (
    sales.set_index("sold_at")
    .groupby("store_id")["units"]
    .resample("D", label="right", closed="left")
    .sum()
    .rename("units_last_day")
    .reset_index()
    .rename(columns={"sold_at": "day_end"})
)
by_store = daily.groupby("store_id")["units_last_day"]
daily["units_7d_avg"] = by_store.transform(lambda s: s.rolling(7, min_periods=1).mean())
daily["units_lag_7"] = by_store.shift(7)
store_trend = daily

# %%
store_trend.tail()
