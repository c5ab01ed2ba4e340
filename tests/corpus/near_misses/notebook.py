# %% [markdown]
# # Subscriptions: shapes that look risky and are not
# Past-only shifts and diffs, forward fill, a backward as-of join, a left-closed window,
# an aware literal, row-wise max, and explicit bins. Nothing here leaks or drifts.

# %%
%load_ext nb2feast

# %%
import numpy as np
import pandas as pd

# %%
%time payments = pd.read_parquet("data/payments.parquet")
plans = pd.read_parquet("data/plans.parquet")
LAUNCH = pd.Timestamp("2024-01-15", tz="UTC")
CART_BINS = [0, 25, 75, 200, np.inf]
COUPON_RATE = {"WELCOME10": 0.10, "BLACKFRIDAY": 0.25}

# %%
%%feature account_payments --entity account_id --timestamp paid_at --ttl 60d
p = payments.sort_values(["account_id", "paid_at"]).reset_index(drop=True)
p["amount"] = p.groupby("account_id")["amount"].ffill()
p["prev_amount"] = p.groupby("account_id")["amount"].shift(1)
p["amount_change"] = p.groupby("account_id")["amount"].diff()
p["days_since_prev"] = p.groupby("account_id")["paid_at"].diff().dt.total_seconds() / 86400
p["after_launch"] = p["paid_at"] >= LAUNCH
p["spend_before_30d"] = (
    p.set_index("paid_at").groupby("account_id")["amount"].rolling("30D", closed="left").sum().to_numpy()
)
account_payments = pd.merge_asof(
    p.sort_values("paid_at"),
    plans.sort_values("changed_at")[["account_id", "changed_at", "seats"]],
    left_on="paid_at",
    right_on="changed_at",
    by="account_id",
    direction="backward",
)[["account_id", "paid_at", "prev_amount", "amount_change", "days_since_prev", "after_launch", "spend_before_30d", "seats"]]

# %%
checkouts = pd.read_parquet("data/checkouts.parquet")
training = pd.merge_asof(
    checkouts.sort_values("paid_at"), account_payments.sort_values("paid_at"), on="paid_at", by="account_id"
)

# %%
%%feature cart_features --on-demand --request cart_total:float64 --request coupon:string
training = training.assign(
    cart_band=pd.cut(training["cart_total"], bins=CART_BINS, labels=["s", "m", "l", "xl"]).astype(str),
    cart_vs_prev=training["cart_total"] / training[["prev_amount", "spend_before_30d"]].max(axis=1),
    discount=training["coupon"].str.upper().map(COUPON_RATE).fillna(0.0),
    big_cart=np.maximum(training["cart_total"].fillna(0.0), 0.0) > 150,
)

# %%
training[["cart_vs_prev", "discount"]].describe()
