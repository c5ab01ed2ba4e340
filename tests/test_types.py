"""dtype -> Feast type: one mapping, for the dtypes real data has."""

from __future__ import annotations

import pandas as pd
import pytest

from nb2feast.errors import UserError
from nb2feast.repo.infer import frame_columns
from nb2feast.repo.types import feast_type_for_dtype, feast_type_for_values

AMOUNTS = pd.Series([1.0, 5.0, 20.0])


@pytest.mark.parametrize(
    "values,feast_type",
    [
        (pd.cut(AMOUNTS, [0, 2, 10, 100], labels=["low", "mid", "high"]), "String"),
        (pd.cut(AMOUNTS, [0, 2, 10, 100], labels=[1, 2, 3]), "Int64"),
        (AMOUNTS.astype("category"), "Float64"),
        (AMOUNTS.astype("float32").astype("category"), "Float32"),
        (pd.Series([1, None, 3], dtype="Int64"), "Int64"),
        (pd.Series([1, None, 3], dtype="Int32"), "Int32"),
        (pd.Series([1, None, 3], dtype="Int16"), "Int32"),
        (pd.Series([True, None, False], dtype="boolean"), "Bool"),
        (pd.Series(["a", None, "c"], dtype="string"), "String"),
        (pd.Series(["a", None, "c"], dtype="string[pyarrow]"), "String"),
        (pd.Series([1.5, None, 2.0], dtype="Float64"), "Float64"),
        (pd.Series([1.5, None, 2.0], dtype="Float32"), "Float32"),
        (pd.Series(["a", None, "c"], dtype=object), "String"),
    ],
)
def test_each_dtype_real_data_has_maps_to_its_exact_feast_type(values: pd.Series, feast_type: str):
    assert feast_type_for_values(values) == feast_type


@pytest.mark.parametrize(
    "dtype,feast_type",
    [
        ("Int64", "Int64"),
        ("boolean", "Bool"),
        ("string[pyarrow]", "String"),
        ("string[python]", "String"),
        ("int64[pyarrow]", "Int64"),
        ("double[pyarrow]", "Float64"),
        ("datetime64[ns, UTC]", "UnixTimestamp"),
        ("uint64", None),
        ("category", None),
    ],
)
def test_dtype_names_map_without_pandas(dtype: str, feast_type: str | None):
    assert feast_type_for_dtype(dtype) == feast_type


def test_pd_cut_without_labels_is_refused_with_the_fix():
    frame = pd.DataFrame({"band": pd.cut(AMOUNTS, 3)})
    with pytest.raises(UserError) as error:
        frame_columns(frame, ["band"], "v", None)
    assert "categories are interval" in error.value.message
    assert "labels=" in error.value.fix
