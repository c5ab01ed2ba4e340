"""Insurance feature helpers imported by the notebook."""

import numpy as np
import pandas as pd

AGE_BINS = [17, 25, 40, 60, 120]
AGE_LABELS = ["young", "adult", "middle", "senior"]


def age_band(age: pd.Series) -> pd.Series:
    return pd.cut(age, bins=AGE_BINS, labels=AGE_LABELS).astype(str)


def policy_features(policies: pd.DataFrame) -> pd.DataFrame:
    out = policies[["policy_id", "start_date"]].copy()
    out["age_band"] = age_band(policies["driver_age"])
    out["log_premium"] = np.log1p(policies["annual_premium"])
    out["high_deductible"] = policies["deductible"] >= 1000
    return out


def claims_to_date(claims: pd.DataFrame) -> pd.DataFrame:
    claims = claims.sort_values(["policy_id", "claim_date"])
    grouped = claims.groupby("policy_id")["claim_amount"]
    return claims.assign(
        claims_so_far=grouped.cumcount() + 1,
        claimed_so_far=grouped.cumsum(),
        largest_claim_so_far=grouped.cummax(),
    )[["policy_id", "claim_date", "claims_so_far", "claimed_so_far", "largest_claim_so_far"]]
