"""compare_frames: every kind of divergence is reported on exactly its feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nb2feast.compare import ROW_ID, FeatureToCheck, compare_frames, values_equal

SPECS = [
    FeatureToCheck("amount", "float64", "Float64"),
    FeatureToCheck("count", "int64", "Int64"),
    FeatureToCheck("segment", "object", "String"),
    FeatureToCheck("active", "bool", "Bool"),
]


def notebook_frame() -> pd.DataFrame:
    """Four rows as the notebook computed them, indexed by row id."""
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "event_timestamp": pd.to_datetime(["2024-01-01"] * 4, utc=True),
            "amount": [1.5, 2.5, np.nan, 4.0],
            "count": np.array([1, 2, 3, 4], dtype="int64"),
            "segment": ["a", "b", "c", "d"],
            "active": [True, False, True, False],
        },
        index=pd.RangeIndex(4, name=ROW_ID),
    )


def feast_frame(expected: pd.DataFrame) -> pd.DataFrame:
    """What Feast returns for the same rows: reordered, with the row id as a column."""
    return expected.reset_index().iloc[::-1].reset_index(drop=True)


def by_name(comparison) -> dict:
    return {f.name: f for f in comparison.features}


def compare(expected: pd.DataFrame, actual: pd.DataFrame, specs=SPECS):
    return compare_frames(expected, actual, specs, context=["customer_id", "event_timestamp"])


def test_identical_answers_in_another_row_order_are_ok() -> None:
    # Given Feast's answer equal to the notebook's, but reordered
    expected = notebook_frame()
    # When compared
    result = compare(expected, feast_frame(expected))
    # Then every feature is ok, with no mismatches and both NaNs treated as equal
    assert all(f.ok and f.mismatches == 0 and f.null_mismatches == 0 for f in result.features)
    assert (result.rows_expected, result.rows_returned) == (4, 4)


def test_a_float_beyond_tolerance_is_one_mismatch_with_its_error() -> None:
    # Given one float off by 1e-3 and another off by 1e-13 (inside atol)
    expected = notebook_frame()
    actual = feast_frame(expected)
    actual.loc[actual[ROW_ID] == 0, "amount"] = 1.501
    actual.loc[actual[ROW_ID] == 1, "amount"] = 2.5 + 1e-13
    # When compared
    amount = by_name(compare(expected, actual))["amount"]
    # Then only the first counts, with its absolute error and an example naming the row
    assert (amount.ok, amount.mismatches, amount.null_mismatches) == (False, 1, 0)
    assert amount.max_abs_err == pytest.approx(0.001)
    [example] = amount.examples
    assert example["row"] == 0 and example["customer_id"] == 1
    assert (example["notebook"], example["feast"], example["issue"]) == (1.5, 1.501, "value differs")
    assert example["event_timestamp"].startswith("2024-01-01")


def test_an_int_is_compared_exactly_even_when_feast_returns_floats() -> None:
    # Given Feast's ints as floats (nulls elsewhere), one of them off by a fraction
    expected = notebook_frame()
    actual = feast_frame(expected)
    actual["count"] = actual["count"].astype("float64")
    actual.loc[actual[ROW_ID] == 2, "count"] = 3.0000001
    # When compared
    features = by_name(compare(expected, actual))
    # Then the int feature has exactly one mismatch; ints returned as floats are no type drift
    assert (features["count"].ok, features["count"].mismatches) == (False, 1)
    assert features["count"].dtype_feast == "float64"
    assert features["count"].examples[0]["row"] == 2
    assert [n for n, f in features.items() if not f.ok] == ["count"]


def test_a_string_differs() -> None:
    # Given one string changed in case only
    expected = notebook_frame()
    actual = feast_frame(expected)
    actual.loc[actual[ROW_ID] == 3, "segment"] = "D"
    # When compared
    features = by_name(compare(expected, actual))
    # Then exactly that feature and row are reported
    assert (features["segment"].ok, features["segment"].mismatches) == (False, 1)
    assert features["segment"].examples[0] | {} == {
        "row": 3, "customer_id": 4, "event_timestamp": "2024-01-01T00:00:00+00:00",
        "notebook": "d", "feast": "D", "issue": "value differs",
    }
    assert [n for n, f in features.items() if not f.ok] == ["segment"]


def test_a_null_on_one_side_is_a_null_mismatch_and_a_mismatch() -> None:
    # Given Feast returning None where the notebook has a value, and a value where it has NaN
    expected = notebook_frame()
    actual = feast_frame(expected).astype({"active": object})
    actual.loc[actual[ROW_ID] == 0, "active"] = None
    actual.loc[actual[ROW_ID] == 2, "amount"] = 3.0
    # When compared
    features = by_name(compare(expected, actual))
    # Then both count as null mismatches on their own feature
    assert (features["active"].mismatches, features["active"].null_mismatches) == (1, 1)
    assert (features["amount"].mismatches, features["amount"].null_mismatches) == (1, 1)
    assert features["active"].examples[0]["issue"] == "null on one side"
    assert features["amount"].examples[0] == {
        "row": 2, "customer_id": 3, "event_timestamp": "2024-01-01T00:00:00+00:00",
        "notebook": None, "feast": 3.0, "issue": "null on one side",
    }


def test_a_dropped_row_and_a_duplicated_row_are_counted_on_every_feature() -> None:
    # Given Feast dropping row 1 and returning row 3 twice
    expected = notebook_frame()
    actual = feast_frame(expected)
    actual = pd.concat([actual[actual[ROW_ID] != 1], actual[actual[ROW_ID] == 3]], ignore_index=True)
    # When compared
    result = compare(expected, actual)
    # Then the counts equal but each feature has two mismatches: the drop and the duplicate
    assert (result.rows_expected, result.rows_returned) == (4, 4)
    for feature in result.features:
        assert (feature.ok, feature.mismatches, feature.null_mismatches) == (False, 2, 0)
        assert [(e["row"], e["issue"]) for e in feature.examples] == [
            (1, "row dropped by Feast"),
            (3, "row duplicated by Feast"),
        ]


def test_float32_drift_is_reported_and_fails_the_feature() -> None:
    # Given a float64 notebook feature that Feast declares Float32 and returns as float32
    expected = notebook_frame()
    actual = feast_frame(expected).astype({"amount": "float32"})
    specs = [FeatureToCheck("amount", "float64", "Float32")]
    # When compared with the default tolerance
    [amount] = compare(expected, actual, specs).features
    # Then the dtypes and types are named, and the rounded values mismatch
    assert (amount.dtype_notebook, amount.dtype_feast) == ("float64", "float32")
    assert (amount.feast_type_notebook, amount.feast_type) == ("Float64", "Float32")
    assert not amount.ok
    assert amount.mismatches == 0  # 1.5, 2.5 and 4.0 are exact in float32
    # And a value float32 cannot hold exactly is a mismatch too
    expected.loc[0, "amount"] = 0.1
    actual.loc[actual[ROW_ID] == 0, "amount"] = np.float32(0.1)
    [amount] = compare(expected, actual, specs).features
    assert amount.mismatches == 1 and 0 < amount.max_abs_err < 1e-8


def test_a_feature_missing_from_feasts_answer_fails_every_row() -> None:
    # Given Feast's answer without the `count` column
    expected = notebook_frame()
    actual = feast_frame(expected).drop(columns="count")
    # When compared
    features = by_name(compare(expected, actual))
    # Then count fails on all rows, saying why; the rest is ok
    assert (features["count"].mismatches, features["count"].dtype_feast) == (4, "missing")
    assert features["count"].examples[0]["issue"] == "feature missing from Feast's answer"
    assert [n for n, f in features.items() if not f.ok] == ["count"]


def test_timestamps_compare_as_instants_and_tz_drift_is_visible() -> None:
    # Given a naive notebook timestamp and Feast's UTC-aware answer for the same instant
    naive = pd.Series(pd.to_datetime(["2024-01-01 10:00", None]))
    aware = pd.Series(pd.to_datetime(["2024-01-01 10:00", None], utc=True))
    # When compared
    same, _ = values_equal(naive, aware, "datetime64[ns]", rtol=0, atol=0)
    # Then they are equal (NaT == NaT), and a one-second shift is not
    assert same.tolist() == [True, True]
    shifted, _ = values_equal(naive, aware + pd.Timedelta(seconds=1), "datetime64[ns]", rtol=0, atol=0)
    assert shifted.tolist() == [False, True]


def test_an_object_column_of_bools_with_missing_values_is_bool_not_drift() -> None:
    # Given an object column holding True/False/None that Feast declares Bool
    expected = pd.DataFrame({"flag": pd.Series([True, None, False], dtype=object)})
    expected.index.name = ROW_ID
    actual = pd.DataFrame({ROW_ID: [0, 1, 2], "flag": pd.Series([True, None, False], dtype=object)})
    # When compared
    (feature,) = compare_frames(expected, actual, [FeatureToCheck("flag", "object", "Bool")]).features
    # Then it is ok: the notebook's values are Bool too
    assert feature.ok and feature.feast_type_notebook == "Bool"
