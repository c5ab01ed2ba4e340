# %% [markdown]
# # Card fraud (in the style of the fraud-detection handbook, chapter 3)
# Customer spending windows and terminal risk with a delay: frauds are only known a week
# after they happen, so the terminal's risk window ends a week before each transaction.

# %%
%load_ext nb2feast

# %%
import numpy as np
import pandas as pd

# %%
WINDOWS = [1, 7, 30]
DELAY = 7
transactions = pd.read_csv("data/transactions.csv", parse_dates=["TX_DATETIME"])
transactions = transactions.sort_values("TX_DATETIME").reset_index(drop=True)


# %%
def customer_spending_features(customer_tx, windows=WINDOWS):
    customer_tx = customer_tx.sort_values("TX_DATETIME").set_index("TX_DATETIME")
    for w in windows:
        nb = customer_tx["TX_AMOUNT"].rolling(f"{w}D").count()
        total = customer_tx["TX_AMOUNT"].rolling(f"{w}D").sum()
        customer_tx[f"CUSTOMER_ID_NB_TX_{w}DAY_WINDOW"] = nb.astype("int64")
        customer_tx[f"CUSTOMER_ID_AVG_AMOUNT_{w}DAY_WINDOW"] = total / nb
    return customer_tx.reset_index()


def terminal_risk_features(terminal_tx, delay=DELAY, windows=WINDOWS):
    terminal_tx = terminal_tx.sort_values("TX_DATETIME").set_index("TX_DATETIME")
    fraud_delay = terminal_tx["TX_FRAUD"].rolling(f"{delay}D").sum()
    count_delay = terminal_tx["TX_FRAUD"].rolling(f"{delay}D").count()
    for w in windows:
        fraud_all = terminal_tx["TX_FRAUD"].rolling(f"{delay + w}D").sum()
        count_all = terminal_tx["TX_FRAUD"].rolling(f"{delay + w}D").count()
        nb = count_all - count_delay
        terminal_tx[f"TERMINAL_ID_NB_TX_{w}DAY_WINDOW"] = nb.astype("int64")
        terminal_tx[f"TERMINAL_ID_RISK_{w}DAY_WINDOW"] = ((fraud_all - fraud_delay) / nb).fillna(0.0)
    return terminal_tx.reset_index()


# %%
%%feature customer_spending --entity CUSTOMER_ID --timestamp TX_DATETIME
customer_spending = (
    transactions.groupby("CUSTOMER_ID", group_keys=False)[["CUSTOMER_ID", "TX_DATETIME", "TX_AMOUNT"]]
    .apply(customer_spending_features)
    .drop(columns="TX_AMOUNT")
)

# %%
%%feature terminal_risk --entity TERMINAL_ID --timestamp TX_DATETIME
terminal_risk = (
    transactions.groupby("TERMINAL_ID", group_keys=False)[["TERMINAL_ID", "TX_DATETIME", "TX_FRAUD"]]
    .apply(terminal_risk_features)
    .drop(columns="TX_FRAUD")
)

# %%
requests = pd.read_csv("data/requests.csv", parse_dates=["TX_DATETIME"])
training = pd.merge_asof(
    requests.sort_values("TX_DATETIME"),
    customer_spending.sort_values("TX_DATETIME"),
    on="TX_DATETIME",
    by="CUSTOMER_ID",
)

# %%
%%feature tx_signals --on-demand --request TX_AMOUNT_NOW:float64
tx_signals = training.assign(
    AMOUNT_TO_AVG_7D=lambda d: d["TX_AMOUNT_NOW"] / d["CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW"],
    AMOUNT_OVER_AVG_30D=lambda d: d["TX_AMOUNT_NOW"] > 2 * d["CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW"],
    FIRST_TX_TODAY=lambda d: d["CUSTOMER_ID_NB_TX_1DAY_WINDOW"].fillna(0) == 0,
)

# %%
training[["TX_AMOUNT_NOW", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW"]].describe()
