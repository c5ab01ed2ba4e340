"""Sampling entity rows and the notebook's point-in-time answer (no Feast)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nb2feast.proof.compare import ROW_ID
from nb2feast.proof.sample import (
    ENTITY_TS,
    latest_per_key,
    point_in_time,
    sample_entity_rows,
    sample_input_rows,
    stratified_entity_rows,
    stratified_input_rows,
)

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def feature_table(rng: np.random.Generator, n_keys: int = 30, per_key: int = 8) -> pd.DataFrame:
    """A batch view's rows: a few per key, some sharing an event time, with `created`."""
    ids = np.repeat(np.arange(n_keys), per_key)
    table = pd.DataFrame(
        {
            "customer_id": ids.astype("int64"),
            "event_timestamp": T0 + pd.to_timedelta(rng.integers(0, 60 * 24, ids.size), unit="h"),
            "value": rng.normal(size=ids.size),
        }
    )
    table["created"] = table["event_timestamp"] + pd.to_timedelta(
        rng.integers(0, 100, ids.size), unit="s"
    )
    ties = table.sample(10, random_state=0).assign(
        created=lambda d: d["created"] + pd.Timedelta(hours=1), value=lambda d: d["value"] + 100
    )
    return pd.concat([table, ties], ignore_index=True)


def reference_pit(rows: pd.DataFrame, table: pd.DataFrame, ttl: pd.Timedelta | None) -> pd.Series:
    """Row-by-row point-in-time answer, slow and obvious, to check the vectorized one."""
    out = {}
    for row in rows.itertuples(index=False):
        ts = getattr(row, ENTITY_TS)
        cand = table[(table["customer_id"] == row.customer_id) & (table["event_timestamp"] <= ts)]
        if ttl is not None:
            cand = cand[cand["event_timestamp"] >= ts - ttl]
        cand = cand.sort_values(["event_timestamp", "created"])
        out[getattr(row, ROW_ID)] = cand["value"].iloc[-1] if len(cand) else np.nan
    return pd.Series(out).sort_index()


def test_sample_probes_ties_expired_values_and_times_before_the_first_value() -> None:
    # Given a table and a 3-day TTL
    table = feature_table(np.random.default_rng(1))
    ttl = 3 * DAY
    # When 2,000 rows are sampled
    rows = sample_entity_rows(
        table, ["customer_id"], "event_timestamp", 2000, np.random.default_rng(0), 259200
    )
    # Then keys come from the data, row ids are 0..n-1, and each kind of probe is present
    assert list(rows.columns) == ["customer_id", ENTITY_TS, ROW_ID]
    assert rows[ROW_ID].tolist() == list(range(2000))
    assert set(rows["customer_id"]) <= set(table["customer_id"])
    bounds = table.groupby("customer_id")["event_timestamp"].agg(["min", "max"])
    joined = rows.join(bounds, on="customer_id")
    assert (joined[ENTITY_TS] < joined["min"]).sum() > 100
    assert (joined[ENTITY_TS] > joined["max"] + ttl).sum() > 100
    assert rows[ENTITY_TS].isin(table["event_timestamp"]).sum() > 300


def test_sample_is_seeded() -> None:
    # Given the same table, seed and size
    table = feature_table(np.random.default_rng(1))

    def draw(seed: int) -> pd.DataFrame:
        return sample_entity_rows(
            table, ["customer_id"], "event_timestamp", 500, np.random.default_rng(seed), 0
        )

    # When sampled twice with seed 0 and once with seed 1
    # Then the same seed gives the same rows, another seed other rows
    pd.testing.assert_frame_equal(draw(0), draw(0))
    assert not draw(0).equals(draw(1))


def test_point_in_time_matches_a_row_by_row_join_with_ttl_and_created() -> None:
    # Given a table with event-time ties broken by `created`, and sampled rows
    table = feature_table(np.random.default_rng(2))
    rows = sample_entity_rows(
        table, ["customer_id"], "event_timestamp", 400, np.random.default_rng(3), 172800
    )
    for ttl in (None, 2 * DAY):
        # When the notebook's point-in-time answer is computed
        got = point_in_time(
            rows,
            table,
            ["customer_id"],
            "event_timestamp",
            ["value"],
            created="created",
            ttl_seconds=int(ttl.total_seconds()) if ttl is not None else 0,
        )
        # Then it equals the obvious row-by-row join, including its nulls
        pd.testing.assert_series_equal(
            got["value"], reference_pit(rows, table, ttl), check_names=False, check_index_type=False
        )
        assert got.index.name == ROW_ID and got[ENTITY_TS].equals(rows.set_index(ROW_ID)[ENTITY_TS])


def test_point_in_time_bounds_are_inclusive() -> None:
    # Given one value at T0 and a 1-day TTL
    table = pd.DataFrame({"customer_id": [7], "event_timestamp": [T0], "value": [1.0]})
    rows = pd.DataFrame(
        {
            "customer_id": [7, 7, 7, 7],
            ENTITY_TS: [
                T0 - pd.Timedelta(seconds=1),
                T0,
                T0 + DAY,
                T0 + DAY + pd.Timedelta(seconds=1),
            ],
            ROW_ID: range(4),
        }
    )
    # When joined
    got = point_in_time(
        rows, table, ["customer_id"], "event_timestamp", ["value"], ttl_seconds=86400
    )
    # Then the value is seen at T0 and at exactly T0 + TTL, as in Feast's offline join
    assert got["value"].tolist()[1:3] == [1.0, 1.0]
    assert got["value"].isna().tolist() == [True, False, False, True]


def test_point_in_time_accepts_a_naive_table_with_another_timestamp_name() -> None:
    # Given a naive `updated_at` column and entity rows of the same resolution
    table = pd.DataFrame(
        {
            "customer_id": [1, 1],
            "updated_at": pd.to_datetime(["2024-01-01", "2024-01-05"]),
            "v": [1, 2],
        }
    )
    rows = pd.DataFrame(
        {"customer_id": [1], ENTITY_TS: pd.to_datetime(["2024-01-03"]), ROW_ID: [0]}
    )
    # When joined without TTL
    got = point_in_time(rows, table, ["customer_id"], "updated_at", ["v"])
    # Then the earlier value is the answer and the view's own timestamp column is not added
    assert got["v"].tolist() == [1]
    assert "updated_at" not in got.columns


def test_latest_per_key_prefers_the_latest_created_among_ties() -> None:
    # Given two rows of key 1 at the same event time, the second created later
    table = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "event_timestamp": [T0, T0, T0],
            "created": [T0 + DAY, T0, T0],
            "v": [10, 20, 30],
        }
    )
    # When the latest row per key is taken
    got = latest_per_key(table, ["customer_id"], "event_timestamp", ["v"], created="created")
    # Then key 1 gets the row created last (10), not the one that came last in the frame
    assert dict(zip(got["customer_id"], got["v"], strict=True)) == {1: 10, 2: 30}


def test_sample_input_rows_numbers_rows_and_repeats_when_asked_for_more() -> None:
    # Given a 5-row input frame
    frame = pd.DataFrame({"customer_id": range(5), "cart_value": np.arange(5.0)})
    # When 12 rows are drawn
    rows = sample_input_rows(frame, 12, np.random.default_rng(0))
    # Then there are 12, numbered, all from the frame
    assert len(rows) == 12 and rows[ROW_ID].tolist() == list(range(12))
    assert set(rows["customer_id"]) <= set(range(5))


def test_every_entity_and_every_missing_input_is_in_a_small_sample() -> None:
    # Given 8 entities with 50 rows each, one column missing in 3 rows
    table = feature_table(np.random.default_rng(2), n_keys=8, per_key=50)
    table.loc[[5, 77, 301], "value"] = np.nan
    # When 10 rows are sampled
    rows, coverage = stratified_entity_rows(
        table, ["customer_id"], "event_timestamp", 10, np.random.default_rng(0), 0, ["value"]
    )
    # Then every entity is there, a row with the missing value is asked at its exact time,
    # and the coverage says so
    assert set(rows["customer_id"]) == set(range(8))
    assert coverage["entities"] == coverage["entities_total"] == 8
    assert coverage["null_rows"] == {"value": 1} and coverage["rows"] == 10
    missing = table.loc[table["value"].isna(), ["customer_id", "event_timestamp"]]
    asked = rows.merge(
        missing, left_on=["customer_id", ENTITY_TS], right_on=["customer_id", "event_timestamp"]
    )
    assert len(asked) >= 1


def test_input_rows_put_missing_inputs_and_entities_first() -> None:
    # Given an on-demand input frame of 200 rows, 5 keys, a request missing in 2 rows
    frame = pd.DataFrame({"customer_id": np.arange(200) % 5, "cart_value": np.arange(200.0)})
    frame.loc[[17, 150], "cart_value"] = np.nan
    # When 8 rows are drawn
    rows, positions, coverage = stratified_input_rows(
        frame, 8, np.random.default_rng(1), ["customer_id"], ["cart_value"]
    )
    # Then the head holds a missing input, then every key; positions point into the frame
    assert rows["cart_value"].head(1).isna().all()
    assert set(rows["customer_id"].iloc[1:6]) == set(range(5))
    assert (frame.iloc[positions]["customer_id"].to_numpy() == rows["customer_id"].to_numpy()).all()
    assert coverage["entities"] == 5
