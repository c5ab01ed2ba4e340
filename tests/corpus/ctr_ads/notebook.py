# %% [markdown]
# # Click-through rate (CTR) features
# Smoothed historical CTR per ad, ad text features, and request-time query/device signals.

# %%
%load_ext nb2feast

# %%
import numpy as np
import pandas as pd

# %%
impressions = pd.read_parquet("data/impressions.parquet")
ads = pd.read_parquet("data/ads.parquet")
PRIOR_CLICKS, PRIOR_VIEWS = 1.0, 20.0

# %%
%%feature ad_ctr --entity ad_id --timestamp ts
imps = impressions.sort_values(["ad_id", "ts"])
past_clicks = imps.groupby("ad_id")["clicked"].cumsum() - imps["clicked"]
past_views = imps.groupby("ad_id").cumcount()
ad_ctr = imps[["ad_id", "ts"]].assign(
    ctr_smoothed=(past_clicks + PRIOR_CLICKS) / (past_views + PRIOR_VIEWS),
    impressions_before=past_views.astype("int64"),
    avg_position_before=imps.groupby("ad_id")["position"].transform(lambda s: s.shift(1).expanding().mean()),
)

# %%
%%feature ad_text --entity ad_id --timestamp updated_at
ad_text = ads.assign(
    title_clean=ads["title"].fillna("").str.strip().str.lower(),
    title_len=ads["title"].str.len(),
    title_has_discount=ads["title"].str.contains("%", regex=False),
    title_brand=ads["title"].str.lower().str.contains("acme"),
)[["ad_id", "updated_at", "title_clean", "title_len", "title_has_discount", "title_brand"]]

# %%
requests = pd.read_parquet("data/requests.parquet")
training = pd.merge_asof(requests.sort_values("ts"), ad_ctr.sort_values("ts"), on="ts", by="ad_id")
training = pd.merge_asof(
    training, ad_text.sort_values("updated_at"), left_on="ts", right_on="updated_at", by="ad_id"
)

# %% [markdown]
# The request-time cell as people write it: strings, `isin`, `np.where`, `fillna`, `clip`, `log1p`.

# %%
%%feature query_signals --on-demand --request query:string --request device:string --request bid:float64
training["query_len"] = training["query"].fillna("").str.len()
training["mobile"] = training["device"].str.lower().isin(["ios", "android"])
training["query_mentions_brand"] = np.where(training["query"].str.lower().str.contains("acme") == True, 1, 0)
training["bid_clipped"] = training["bid"].fillna(0.0).clip(0.05, 2.5)
training["log_impressions"] = np.log1p(training["impressions_before"])
training["expected_value"] = training["bid_clipped"] * training["ctr_smoothed"]

# %%
training[["query_len", "expected_value"]].describe()
