"""The exported repository, really applied: `feast apply`, then features read back offline
and online.

The expected values come from the notebook's own code (the example's transforms run in this
process, as the notebook runs them), never from the generated repository.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import copy_example

from nb2feast.repo.export import export_notebooks
from nb2feast.repo.materialize import build_feature_tables, materialize_online

pytestmark = pytest.mark.feast


def notebook_30d(folder: Path) -> pd.DataFrame:
    """The example's customer_30d cell, as the notebook computes it."""
    transactions = pd.read_parquet(folder / "data" / "transactions.parquet")
    rolled = (
        transactions.sort_values(["customer_id", "event_timestamp"])
        .set_index("event_timestamp")
        .groupby("customer_id")["amount"]
        .rolling("30D")
        .agg(["sum", "count"])
        .reset_index()
    )
    return rolled.rename(columns={"sum": "amount_30d_sum", "count": "txn_30d_count"})


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("churn")
    notebook = copy_example(folder, sidecar=False)  # types from running the transforms
    repo = folder / "feature_repo"
    export_notebooks([notebook], repo)
    subprocess.run(
        [sys.executable, "-m", "feast.cli.cli", "-c", str(repo), "apply"],
        check=True,
        capture_output=True,
    )
    build_feature_tables(repo)
    materialize_online(repo)
    from feast import FeatureStore

    return folder, FeatureStore(repo_path=str(repo))


def test_offline_point_in_time_values_match_the_notebook(store):
    folder, feast_store = store
    expected = notebook_30d(folder).sample(200, random_state=1).reset_index(drop=True)
    # Ask one second after each row: the row is the latest value at that time
    entity_df = expected[["customer_id"]].assign(
        event_timestamp=expected["event_timestamp"] + pd.Timedelta("1s")
    )
    got = feast_store.get_historical_features(
        entity_df=entity_df, features=["customer_30d:amount_30d_sum", "customer_30d:txn_30d_count"]
    ).to_df()
    merged = entity_df.assign(expected=expected["amount_30d_sum"]).merge(
        got, on=["customer_id", "event_timestamp"]
    )
    assert len(merged) == 200
    np.testing.assert_allclose(merged["amount_30d_sum"], merged["expected"], rtol=1e-12)
    assert got["txn_30d_count"].dtype == "int64"


def test_online_values_are_the_latest_per_customer_and_on_demand_runs(store):
    folder, feast_store = store
    latest = (
        notebook_30d(folder)
        .sort_values("event_timestamp")
        .groupby("customer_id")
        .tail(1)
        .set_index("customer_id")
    )
    keys = [int(k) for k in latest.index[:5]]
    online = feast_store.get_online_features(
        features=[
            "customer_30d:amount_30d_sum",
            "customer_profile:credit_score",
            "churn_signals:cart_to_30d_ratio",
        ],
        entity_rows=[{"customer_id": k, "cart_value": 50.0} for k in keys],
    ).to_df()
    np.testing.assert_allclose(
        online["amount_30d_sum"], latest.loc[keys, "amount_30d_sum"], rtol=1e-12
    )
    np.testing.assert_allclose(
        online["cart_to_30d_ratio"], 50.0 / (latest.loc[keys, "amount_30d_sum"].to_numpy() + 1.0)
    )
    assert online["credit_score"].notna().all()
