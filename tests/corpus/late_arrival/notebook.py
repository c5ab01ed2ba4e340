# %% [markdown]
# # Lending: repayment behaviour
# Each installment row is written to the warehouse (`ingested_at`) after it is paid.

# %%
%load_ext nb2feast

# %%
import pandas as pd

# %%
repayments = pd.read_parquet("data/repayments.parquet")
repayments["days_late"] = (repayments["paid_date"] - repayments["due_date"]).dt.days
repayments["late"] = repayments["days_late"] > 5

# %%
%%feature borrower_history --entity borrower_id --timestamp due_date --ttl 120d
ordered = repayments.sort_values(["borrower_id", "due_date"]).set_index("due_date")
by_borrower = ordered.groupby("borrower_id")
borrower_history = pd.concat(
    [
        by_borrower["late"].rolling("90D").sum().rename("late_payments_90d"),
        by_borrower["days_late"].rolling("90D").mean().rename("avg_days_late_90d"),
        by_borrower["amount_paid"].rolling("90D").sum().rename("paid_90d"),
    ],
    axis=1,
).reset_index()

# %%
borrower_history.describe()
