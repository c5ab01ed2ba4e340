"""dtype -> Feast type: the one mapping (dtype names as strings; pandas only imported to look
into a column's values or categories). No Feast imported."""

from __future__ import annotations

from nb2feast.errors import UserError

FEAST_TYPES = ("Int32", "Int64", "Float32", "Float64", "String", "Bytes", "Bool", "UnixTimestamp")

_DTYPE_TO_FEAST = {
    "int8": "Int32",
    "int16": "Int32",
    "int32": "Int32",
    "uint8": "Int32",
    "uint16": "Int32",
    "int64": "Int64",
    "uint32": "Int64",
    "float32": "Float32",
    "float64": "Float64",
    "float": "Float64",
    "int": "Int64",
    "bool": "Bool",
    "boolean": "Bool",
    "string": "String",
    "str": "String",
    "object": "String",
    "bytes": "Bytes",
}

# The pandas dtype each Feast type arrives as when Feast hands a frame back.
FEAST_TO_DTYPE = {
    "Int32": "int32",
    "Int64": "int64",
    "Float32": "float32",
    "Float64": "float64",
    "String": "object",
    "Bytes": "object",
    "Bool": "bool",
    "UnixTimestamp": "datetime64[ns, UTC]",
}


def feast_type_for_dtype(dtype: str) -> str | None:
    """The Feast type for a pandas dtype string, or None when there is none.

    Pandas' nullable dtypes map like their numpy twins (`Int64` -> Int64, `Float32` ->
    Float32, `boolean` -> Bool), `string[pyarrow]`/`string[python]` -> String.
    """
    text = dtype.strip()
    low = text.lower()
    if low.startswith("datetime64"):
        return "UnixTimestamp"
    if low.startswith("string[") or low in ("large_string[pyarrow]", "string[pyarrow_numpy]"):
        return "String"
    if low.endswith("[pyarrow]"):  # ArrowDtype: int64[pyarrow], bool[pyarrow], double[pyarrow]
        low = {"double": "float64", "float": "float32", "large_string": "string"}.get(
            low[:-9], low[:-9]
        )
    return _DTYPE_TO_FEAST.get(low)


# What `pd.api.types.infer_dtype` says about an object column's values -> Feast type.
_INFERRED_TO_FEAST = {
    "string": "String",
    "boolean": "Bool",
    "integer": "Int64",
    "floating": "Float64",
    "mixed-integer-float": "Float64",
    "bytes": "Bytes",
}


def feast_type_for_values(values) -> str | None:
    """The Feast type of a column from its dtype, looking into object columns' values and
    into a `category` column's categories (`pd.cut(..., labels=[...])`, `.astype("category")`)."""
    import pandas as pd

    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return feast_type_for_values(dtype.categories)
    found = feast_type_for_dtype(str(dtype))
    if str(dtype) != "object":
        return found
    return _INFERRED_TO_FEAST.get(pd.api.types.infer_dtype(values, skipna=True))


def feast_type_name(text: str) -> str:
    """A `--request` TYPE (pandas/numpy dtype or Feast type, any case) -> Feast type name."""
    for name in FEAST_TYPES:
        if text.lower() == name.lower():
            return name
    found = feast_type_for_dtype(text)
    if found is None:
        raise UserError(
            f"unknown type {text!r}",
            fix="use a dtype (int64, int32, float64, float32, bool, string, datetime64[ns, UTC]) "
            "or a Feast type (Int64, Float64, String, Bool, UnixTimestamp)",
        )
    return found
