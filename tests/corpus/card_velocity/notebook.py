# %% [markdown]
# # Card velocity and location (in the style of the Hopsworks credit-card course)
# Distance and time since the card's previous transaction (a haversine helper), per-card
# velocity windows, and the distance of a new request from the card's home.

# %%
%load_ext nb2feast

# %%
import numpy as np
import pandas as pd

# %%
trans_df = pd.read_parquet("data/credit_card_transactions.parquet")
profiles = pd.read_parquet("data/card_profiles.parquet")
trans_df = trans_df.sort_values(["cc_num", "datetime"]).reset_index(drop=True)


# %%
def haversine(lat1, lon1, lat2, lon2):
    """Great-circle distance in km."""
    lat1, lon1, lat2, lon2 = map(np.radians, [lat1, lon1, lat2, lon2])
    a = np.sin((lat2 - lat1) / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2.0) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


# %%
%%feature card_geo --entity cc_num --timestamp datetime
prev = trans_df.groupby("cc_num")[["latitude", "longitude", "datetime"]].shift(1)
card_geo = pd.DataFrame(
    {
        "cc_num": trans_df["cc_num"],
        "datetime": trans_df["datetime"],
        "loc_delta_km": haversine(trans_df["latitude"], trans_df["longitude"], prev["latitude"], prev["longitude"]),
        "time_delta_h": (trans_df["datetime"] - prev["datetime"]).dt.total_seconds() / 3600,
    }
)
card_geo["speed_kmh"] = card_geo["loc_delta_km"] / card_geo["time_delta_h"].clip(lower=0.01)

# %%
%%feature card_velocity --entity cc_num --timestamp datetime --ttl 7d
by_card = trans_df.set_index("datetime").groupby("cc_num")["amount"]
card_velocity = pd.concat(
    [
        by_card.rolling("1h").count().rename("tx_count_1h"),
        by_card.rolling("24h").count().rename("tx_count_24h"),
        by_card.rolling("24h").sum().rename("amount_24h"),
        by_card.rolling("7D").max().rename("max_amount_7d"),
    ],
    axis=1,
).reset_index()

# %%
%%feature card_profile --entity cc_num --timestamp updated_at
card_profile = profiles[["cc_num", "updated_at", "home_lat", "home_lon"]]

# %%
requests = pd.read_parquet("data/requests.parquet")
training = pd.merge_asof(
    requests.sort_values("datetime"),
    card_profile.sort_values("updated_at"),
    left_on="datetime",
    right_on="updated_at",
    by="cc_num",
)

# %%
%%feature home_distance --on-demand --request lat_now:float64 --request lon_now:float64
training["km_from_home"] = haversine(training["lat_now"], training["lon_now"], training["home_lat"], training["home_lon"])
training["far_from_home"] = training["km_from_home"] > 100.0

# %%
training["far_from_home"].mean()
