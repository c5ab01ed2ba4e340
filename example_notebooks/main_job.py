"""The main job on the embedded default (DuckDB offline store, SQLite online store).

export churn.ipynb -> feast apply -> build the feature tables with the generated transforms
-> materialize -> a point-in-time training frame and an online lookup, printed.
Run from anywhere: python example_notebooks/main_job.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nb2feast.repo.export import export_notebooks
from nb2feast.repo.materialize import apply_repo, materialize_online

HERE = Path(__file__).resolve().parent
REPO = HERE / "feature_repo"


def main() -> None:
    result = export_notebooks([HERE / "churn.ipynb"], REPO, force=True)
    print(f"exported {len(result.files)} files to {REPO}")
    apply_repo(REPO)  # feature tables built by the generated transforms, then `feast apply`
    materialize_online(REPO)

    from feast import FeatureStore

    store = FeatureStore(repo_path=str(REPO))
    labels = pd.read_parquet(HERE / "data" / "labels.parquet").head(8)
    features = [
        "customer_30d:amount_30d_sum",
        "customer_30d:txn_30d_count",
        "customer_profile:segment_code",
        "customer_profile:credit_score",
        "churn_signals:cart_to_30d_ratio",
        "churn_signals:big_cart",
    ]
    training = store.get_historical_features(entity_df=labels, features=features).to_df()
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\npoint-in-time training frame (first 8 labels):")
        print(training.sort_values("event_timestamp").to_string(index=False))
        online = store.get_online_features(
            features=features,
            entity_rows=[
                {"customer_id": 1003, "cart_value": 120.0},
                {"customer_id": 1042, "cart_value": 15.0},
            ],
        ).to_df()
        print("\nonline lookup:")
        print(online.to_string(index=False))


if __name__ == "__main__":
    main()
