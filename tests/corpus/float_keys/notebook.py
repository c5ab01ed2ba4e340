# %% [markdown]
# # Basket value per customer (Online Retail style)
# `CustomerID` has blanks, so pandas reads it as float64; `dropna` keeps it float64.

# %%
%load_ext nb2feast

# %%
import pandas as pd

# %%
invoices = pd.read_csv("data/invoices.csv", parse_dates=["InvoiceDate"])
invoices = invoices.dropna(subset=["CustomerID"])
invoices["line_total"] = invoices["Quantity"] * invoices["UnitPrice"]

# %%
%%feature customer_basket --entity CustomerID --timestamp InvoiceDate
ordered = invoices.sort_values(["CustomerID", "InvoiceDate"]).set_index("InvoiceDate")
customer_basket = (
    ordered.groupby("CustomerID")["line_total"]
    .rolling("30D")
    .agg(["sum", "count"])
    .rename(columns={"sum": "spend_30d", "count": "lines_30d"})
    .reset_index()
)

# %%
customer_basket.dtypes
