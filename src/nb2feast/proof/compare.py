"""Compare what the notebook computed with what Feast served, feature by feature.

Rows are aligned by a row id the verifier put in the entity frame (Feast reorders rows
and keeps extra entity columns), so a dropped or duplicated row is counted, never hidden.
Everything here is vectorized pandas/numpy and imports no Feast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nb2feast.model import ParityFeature
from nb2feast.repo.types import feast_type_for_dtype, feast_type_for_values

ROW_ID = "nb2feast_row_id"
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class FeatureToCheck:
    """A feature to compare: its notebook dtype and the Feast type Feast declares for it."""

    name: str
    dtype_notebook: str
    feast_type: str | None = None


@dataclass(frozen=True)
class Comparison:
    """The outcome for one retrieval: per-feature parity plus the row counts."""

    rows_expected: int
    rows_returned: int
    features: tuple[ParityFeature, ...]


def compare_frames(
    expected: pd.DataFrame,
    actual: pd.DataFrame,
    features: Sequence[FeatureToCheck],
    *,
    context: Sequence[str] = (),
    rtol: float = 1e-9,
    atol: float = 1e-12,
) -> Comparison:
    """Compare `actual` (Feast, with a ROW_ID column) against `expected` (indexed by row id).

    `context` names columns of `expected` (entity keys, timestamp) shown in examples.
    Rows Feast dropped or duplicated count as mismatches of every feature.
    """
    ids = actual[ROW_ID]
    duplicated = ids.duplicated(keep="first")
    unique = actual.loc[~duplicated.to_numpy()].set_index(ROW_ID)
    present = expected.index.isin(unique.index)
    aligned = unique.reindex(expected.index)
    extra_ids = ids[duplicated].to_numpy()
    results = tuple(
        _compare_feature(
            spec,
            expected[spec.name],
            aligned[spec.name] if spec.name in aligned.columns else None,
            present=present,
            extra_ids=extra_ids,
            context=expected[list(context)],
            rtol=rtol,
            atol=atol,
        )
        for spec in features
    )
    return Comparison(rows_expected=len(expected), rows_returned=len(actual), features=results)


def _compare_feature(
    spec: FeatureToCheck,
    expected: pd.Series,
    actual: pd.Series | None,
    *,
    present: np.ndarray,
    extra_ids: np.ndarray,
    context: pd.DataFrame,
    rtol: float,
    atol: float,
) -> ParityFeature:
    missing_column = actual is None
    if actual is None:
        actual = pd.Series(None, index=expected.index, dtype=object)
        dtype_feast = "missing"
    else:
        dtype_feast = str(actual.dtype)
    same, abs_err = values_equal(expected, actual, spec.dtype_notebook, rtol=rtol, atol=atol)
    e_na = expected.isna().to_numpy()
    a_na = actual.isna().to_numpy()
    null_mismatch = present & (e_na ^ a_na)
    value_mismatch = present & ~same
    dropped = ~present
    mismatches = int(value_mismatch.sum() + dropped.sum() + len(extra_ids))
    if missing_column:
        null_mismatch = np.zeros(len(expected), dtype=bool)
        value_mismatch, dropped = present, ~present
        mismatches = len(expected) + len(extra_ids)

    notebook_type = _notebook_feast_type(spec.dtype_notebook, expected)
    type_ok = spec.feast_type is None or notebook_type is None or spec.feast_type == notebook_type
    examples = _examples(
        expected,
        actual,
        context,
        value_mismatch,
        null_mismatch,
        dropped,
        extra_ids,
        issue="feature missing from Feast's answer" if missing_column else None,
    )
    # A mismatch against an infinite value is an infinite error (inf - inf would say nan).
    e_inf, a_inf = _is_inf(expected), _is_inf(actual)
    abs_err = np.where(value_mismatch & ~null_mismatch & (e_inf | a_inf), np.inf, abs_err)
    finite = abs_err[present & ~np.isnan(abs_err)]
    return ParityFeature(
        name=spec.name,
        ok=mismatches == 0 and type_ok,
        mismatches=mismatches,
        null_mismatches=int(null_mismatch.sum()),
        max_abs_err=float(finite.max()) if finite.size else 0.0,
        dtype_notebook=spec.dtype_notebook,
        dtype_feast=dtype_feast,
        examples=examples,
        feast_type=spec.feast_type or "",
        feast_type_notebook=notebook_type or "",
    )




def _notebook_feast_type(dtype: str, values: pd.Series) -> str | None:
    """The Feast type of the notebook's column: by dtype, or for `object` by its values
    (an object column of bools with missing values is Bool, as export typed it)."""
    if dtype != "object":
        return feast_type_for_dtype(dtype)
    return feast_type_for_values(values)


def values_equal(
    expected: pd.Series, actual: pd.Series, dtype_notebook: str, *, rtol: float, atol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise equality (missing == missing) and absolute error (NaN where not numeric).

    Floats compare with tolerance, timestamps as UTC instants (naive read as UTC),
    everything else exactly; the notebook's dtype decides which.
    """
    e_na = expected.isna().to_numpy()
    a_na = actual.isna().to_numpy()
    both_na = e_na & a_na
    one_na = e_na ^ a_na
    abs_err = np.full(len(expected), np.nan)
    kind = _kind(dtype_notebook)
    if kind in "fiub":
        e_num, a_num = _as_float(expected), _as_float(actual)
        if e_num is not None and a_num is not None:
            with np.errstate(invalid="ignore"):
                abs_err = np.abs(e_num - a_num)
            if kind == "f":
                with np.errstate(invalid="ignore"):
                    close = np.isclose(e_num, a_num, rtol=rtol, atol=atol, equal_nan=True)
                return (close | both_na) & ~one_na, abs_err
    elif kind == "M":
        e_ts, a_ts = _as_utc(expected), _as_utc(actual)
        if e_ts is not None and a_ts is not None:
            return ((e_ts == a_ts).to_numpy() | both_na) & ~one_na, abs_err
    e_obj, a_obj = expected.astype(object).to_numpy(), actual.astype(object).to_numpy()
    e_obj[e_na], a_obj[a_na] = None, None  # pd.NA has no truth value
    raw = e_obj == a_obj
    return (np.asarray(raw, dtype=bool) | both_na) & ~one_na, abs_err


def _kind(dtype: str) -> str:
    try:
        return np.dtype(dtype).kind
    except TypeError:
        low = dtype.lower()
        if low.startswith("datetime64"):
            return "M"
        if low in {"boolean"}:
            return "b"
        if low.startswith(("int", "uint")):
            return "i"
        if low.startswith("float"):
            return "f"
        return "O"


def _is_inf(values: pd.Series) -> np.ndarray:
    numbers = _as_float(values)
    if numbers is None:
        return np.zeros(len(values), dtype=bool)
    return np.isinf(numbers)


def _as_float(values: pd.Series) -> np.ndarray | None:
    try:
        return pd.to_numeric(values, errors="raise").astype("float64").to_numpy()
    except (TypeError, ValueError):
        return None


def _as_utc(values: pd.Series) -> pd.Series | None:
    try:
        stamps = pd.to_datetime(values)
    except (TypeError, ValueError):
        return None
    if not isinstance(stamps.dtype, pd.DatetimeTZDtype):
        return stamps.dt.tz_localize("UTC")
    return stamps.dt.tz_convert("UTC")


def _examples(
    expected: pd.Series,
    actual: pd.Series,
    context: pd.DataFrame,
    value_mismatch: np.ndarray,
    null_mismatch: np.ndarray,
    dropped: np.ndarray,
    extra_ids: np.ndarray,
    issue: str | None = None,
) -> tuple[dict, ...]:
    """The first offending rows, in row order, as JSON-ready dicts."""
    picked = np.flatnonzero(value_mismatch | dropped)[:MAX_EXAMPLES]
    issues = np.where(
        dropped[picked],
        "row dropped by Feast",
        np.where(null_mismatch[picked], "null on one side", "value differs"),
    )
    if issue is not None:
        issues = np.full(len(picked), issue)
    out = [
        _example(expected.index[i], context.iloc[i], expected.iloc[i], actual.iloc[i], issue)
        for i, issue in zip(picked, issues, strict=True)
    ]
    for row in extra_ids[: MAX_EXAMPLES - len(out)]:
        i = expected.index.get_loc(row) if row in expected.index else None
        ctx = context.iloc[i] if i is not None else pd.Series(dtype=object)
        value = expected.iloc[i] if i is not None else None
        out.append(_example(row, ctx, value, None, "row duplicated by Feast"))
    return tuple(out)


def _example(row: object, context: pd.Series, notebook: object, feast: object, issue: str) -> dict:
    return {
        "row": json_value(row),
        **{str(k): json_value(v) for k, v in context.items()},
        "notebook": json_value(notebook),
        "feast": json_value(feast),
        "issue": issue,
    }


def json_value(value: object) -> object:
    """A value as JSON can hold it: missing -> None, timestamps -> ISO text, numpy -> Python."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_value(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
