# %% [markdown]
# # RFM segmentation (in the style of the Kaggle Online Retail RFM notebooks)
# Recency, frequency and monetary value per customer, scored 1-4 with quartiles.

# %%
%load_ext nb2feast

# %%
import datetime as dt

import numpy as np
import pandas as pd

# %%
retail = pd.read_csv("data/online_retail.csv", dtype={"InvoiceNo": str, "StockCode": str})
retail["InvoiceDate"] = pd.to_datetime(retail["InvoiceDate"], format="%m/%d/%Y %H:%M").dt.tz_localize("UTC")
retail = retail.dropna(subset=["CustomerID"])
retail = retail[retail["Quantity"] > 0]
retail["CustomerID"] = retail["CustomerID"].astype(int)
retail["TotalPrice"] = retail["Quantity"] * retail["UnitPrice"]

# %%
%%feature customer_rfm --entity CustomerID --timestamp last_purchase
snapshot_date = retail["InvoiceDate"].max() + dt.timedelta(days=1)
rfm = retail.groupby("CustomerID").agg(
    last_purchase=("InvoiceDate", "max"),
    Frequency=("InvoiceNo", "nunique"),
    Monetary=("TotalPrice", "sum"),
).reset_index()
rfm["Recency"] = (snapshot_date - rfm["last_purchase"]).dt.days
rfm["R_score"] = pd.qcut(rfm["Recency"], 4, labels=[4, 3, 2, 1]).astype(int)
rfm["F_score"] = pd.qcut(rfm["Frequency"].rank(method="first"), 4, labels=[1, 2, 3, 4]).astype(int)
rfm["M_score"] = pd.qcut(rfm["Monetary"], 4, labels=[1, 2, 3, 4]).astype(int)
rfm["RFM_score"] = rfm["R_score"] + rfm["F_score"] + rfm["M_score"]
customer_rfm = rfm

# %%
customer_rfm.groupby("RFM_score")["Monetary"].mean()
