# %% [markdown]
# # Hotel cancellations (in the style of the Kaggle hotel-bookings notebooks)
# Per-booking features stamped at the booking time, which the cell derives from `booked_on`;
# the file's only datetime column is the (later) reservation-status date.

# %%
%load_ext nb2feast

# %%
import numpy as np
import pandas as pd

# %%
hotels = pd.read_parquet("data/hotel_bookings.parquet")
hotels["children"] = hotels["children"].fillna(0)

# %%
%%feature booking_features --entity booking_id --timestamp booking_date
df = hotels.copy()
df["booking_date"] = pd.to_datetime(df["booked_on"]).dt.tz_localize("UTC")
df["arrival"] = pd.to_datetime(df["arrival_date"]).dt.tz_localize("UTC")
df["lead_time"] = (df["arrival"] - df["booking_date"].dt.normalize()).dt.days
df["total_nights"] = df["stays_in_weekend_nights"] + df["stays_in_week_nights"]
df["total_guests"] = df["adults"] + df["children"] + df["babies"]
df["is_family"] = (df["children"] + df["babies"]) > 0
df["weekend_share"] = df["stays_in_weekend_nights"] / df["total_nights"].replace(0, np.nan)
df["adr_per_person"] = df["adr"] / df["total_guests"]
df["arrival_month"] = df["arrival"].dt.month
df["arrival_weekday"] = df["arrival"].dt.dayofweek
df["is_resort"] = df["hotel"] == "Resort Hotel"
df["has_requests"] = df["total_of_special_requests"] > 0
df["adr_z"] = (df["adr"] - df["adr"].mean()) / df["adr"].std()
booking_features = df[
    ["booking_id", "booking_date", "lead_time", "total_nights", "total_guests", "is_family",
     "weekend_share", "adr_per_person", "arrival_month", "arrival_weekday", "is_resort",
     "has_requests", "adr_z"]
]

# %%
booking_features.describe()
