"""dtype names <-> Feast type names, as strings (no pandas, no Feast imported)."""

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
    """The Feast type for a pandas dtype string, or None when there is none."""
    text = dtype.strip()
    low = text.lower()
    if low.startswith("datetime64"):
        return "UnixTimestamp"
    if low in _DTYPE_TO_FEAST:
        return _DTYPE_TO_FEAST[low]
    return None


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
