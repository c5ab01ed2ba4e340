# %% [markdown]
# # Machine health (IoT sensor features)
# Rolling statistics per device, and the hall's ambient temperature at each reading.
# The readings are in UTC; the building system logs in New York wall-clock time.

# %%
%load_ext nb2feast

# %%
import pandas as pd

# %%
readings = pd.read_csv("data/machine_readings.csv")
readings["ts"] = pd.to_datetime(readings["ts"], utc=True)
ambient = pd.read_csv("data/ambient_local.csv")
ambient["local_time"] = pd.to_datetime(ambient["local_time"])

# %%
%%feature device_rolling --entity device_id --timestamp ts --ttl 1d
ordered = readings.sort_values(["device_id", "ts"]).set_index("ts")
grouped = ordered.groupby("device_id")
device_rolling = pd.concat(
    [
        grouped["temperature_c"].rolling("1h", min_periods=1).mean().rename("temp_mean_1h"),
        grouped["temperature_c"].rolling("6h", min_periods=2).std().rename("temp_std_6h"),
        grouped["vibration_mm_s"].rolling("1h").max().rename("vibration_max_1h"),
        grouped["vibration_mm_s"].rolling("6h").count().rename("readings_6h"),
    ],
    axis=1,
).reset_index()

# %%
# Join on the building's clock: drop the zone so both sides are naive.
readings_naive = readings.assign(ts=readings["ts"].dt.tz_localize(None))

# %%
%%feature device_ambient --entity device_id --timestamp ts
joined = pd.merge_asof(
    readings_naive.sort_values("ts"),
    ambient.sort_values("local_time"),
    left_on="ts",
    right_on="local_time",
    by="site",
)
device_ambient = joined[["device_id", "ts", "ambient_c"]].assign(
    temp_above_ambient=joined["temperature_c"] - joined["ambient_c"],
    ts=joined["ts"].dt.tz_localize("UTC"),
)

# %%
device_ambient.describe()
