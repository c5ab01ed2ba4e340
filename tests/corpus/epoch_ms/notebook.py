# %% [markdown]
# # App engagement
# The tracker stamps events in epoch milliseconds.

# %%
%load_ext nb2feast

# %%
import pandas as pd

# %%
events = pd.read_csv("data/events.csv")

# %%
%%feature user_engagement --entity user_id --timestamp event_ms
user_engagement = events.assign(
    long_session=events["session_seconds"] > 300,
    purchases_so_far=events.sort_values("event_ms").groupby("user_id")["purchases"].cumsum(),
)[["user_id", "event_ms", "long_session", "purchases_so_far"]]

# %%
user_engagement.head()
