"""Time travel: a batch view's rows must not change when the future is taken away.

Recompute a batch view on its inputs cut at a time T (only rows stamped at or before T);
any feature row stamped at or before T whose value changes, appears or disappears was
computed from data that did not exist yet at its timestamp (NB2F310). This catches what
no source pattern can: aggregates stamped at the start of their window, whole-history
statistics joined back to earlier rows, sorting tricks. `time_travel_hazards` is pure
(a transform, its input frames, the manifest's view entry -> hazards); `check_repo`
loads a generated repository's transforms and inputs and runs it on every batch view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nb2feast.compare import json_value, values_equal
from nb2feast.model import Hazard

CODE = "NB2F310"
CUT_QUANTILES = (0.25, 0.5, 0.75)
FIX = (
    "compute each row only from input rows at or before the row's timestamp: stamp an "
    "aggregate at the end of its window, not its start (`dt.floor(...) + pd.Timedelta(...)` "
    "or `dt.ceil(...)`, never the bare `dt.floor(...)` as the event time); use trailing "
    "windows (`rolling('30D')`, `expanding()`, `cumsum()`) instead of whole-history "
    "statistics (`groupby(key)[col].transform('mean')`) joined back to earlier rows; and "
    "never choose rows by what happens later (`drop_duplicates(keep='last')`, sorting by "
    "future values, filters relative to the data's latest time)"
)
_TIE = "_nb2feast_tie"
_SIDE = "_nb2feast_side"

Transform = Callable[..., pd.DataFrame]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class _Leak:
    """How one feature changed at one cut: counts, the largest change, the first row."""

    cut: pd.Timestamp
    changed: int
    compared: int
    max_change: float  # NaN when the values are not numbers
    example: dict


def time_travel_hazards(
    view: Mapping,
    transform: Transform,
    inputs: Mapping[str, pd.DataFrame],
    *,
    quantiles: Sequence[float] = CUT_QUANTILES,
    rtol: float = 1e-9,
    atol: float = 1e-12,
) -> tuple[Hazard, ...]:
    """NB2F310 for each feature of the batch `view` whose rows change under time travel.

    `view` is the manifest entry (name, entities, timestamp, created, features, cell
    index and id); `transform(**inputs)` is the cell's code. Inputs are copied before
    each run, so a cell that mutates its inputs does not spoil the next run.
    """
    keys, ts, created = list(view["entities"]), view["timestamp"], view.get("created")
    full = _run(transform, inputs)
    features = [f["name"] for f in view.get("features", []) if f["name"] in full.columns]
    stamps = _utc(full[ts]) if ts in full.columns else None
    if stamps is None or not features:
        return ()
    on = [*keys, ts, *([created] if created and created in full.columns else [])]
    leaks: dict[str, list[_Leak]] = {}
    for cut in cut_times(stamps, quantiles):
        try:
            partial = _run(transform, cut_inputs(inputs, cut, view, stamps))
        except Exception:  # noqa: BLE001, S112 - the cell may not run on a prefix of its data
            continue
        if not set(on) <= set(partial.columns):
            continue
        for feature, leak in _changes(
            full, partial, cut, on, ts, features, rtol=rtol, atol=atol, created=created
        ).items():
            leaks.setdefault(feature, []).append(leak)
    return tuple(_hazard(view, feature, leaks[feature]) for feature in features if feature in leaks)


def cut_times(stamps: pd.Series, quantiles: Sequence[float] = CUT_QUANTILES) -> list[pd.Timestamp]:
    """Cut times, sorted: the view's stamps at `quantiles` (lower: real stamps) and, for each,
    the midpoint to the next distinct stamp (a window stamped at its start shows a partial
    value there, not just a missing row); never at or after the last stamp."""
    distinct = pd.Series(stamps.dropna().unique()).sort_values(ignore_index=True)
    ordered = stamps.dropna().sort_values(ignore_index=True)
    if len(distinct) < 2:
        return []
    cuts = set()
    for q in quantiles:
        stamp = ordered.iloc[int(np.floor(q * (len(ordered) - 1)))]
        position = int(distinct.searchsorted(stamp))
        if position + 1 < len(distinct):
            cuts |= {stamp, stamp + (distinct.iloc[position + 1] - stamp) / 2}
    return sorted(cuts)


def cut_inputs(
    inputs: Mapping[str, pd.DataFrame], cut: pd.Timestamp, view: Mapping, view_stamps: pd.Series
) -> dict[str, pd.DataFrame]:
    """Every input frame as it was at `cut`: rows whose clock (and `created`) is at or before it.

    Rows with a missing time are kept (they are known at every time); a frame without
    any datetime column (a dimension table) is passed whole.
    """
    created = view.get("created")
    out = {}
    for name, frame in inputs.items():
        keep = np.ones(len(frame), dtype=bool)
        clock = input_clock(frame, view["timestamp"], created, view_stamps)
        for column in (clock, created):
            if column and column in frame.columns:
                stamps = _utc(frame[column])
                if stamps is not None:
                    keep &= ((stamps <= cut) | stamps.isna()).to_numpy()
        out[name] = frame if keep.all() else frame.loc[keep]
    return out


def input_clock(
    frame: pd.DataFrame, timestamp: str, created: str | None, view_stamps: pd.Series
) -> str | None:
    """Which column says when an input row happened.

    The view's timestamp column if the input has it; else its only datetime column;
    else the datetime column holding most of the view's timestamp values; else none.
    """
    if timestamp in frame.columns:
        return timestamp
    candidates = [
        c for c in frame.columns if c != created and pd.api.types.is_datetime64_any_dtype(frame[c])
    ]
    if len(candidates) == 1:
        return candidates[0]
    known = pd.Index(view_stamps.dropna().unique())
    overlap = {c: int(_utc(frame[c]).isin(known).sum()) for c in candidates}
    best = max(overlap, key=overlap.get, default=None)
    return best if best is not None and overlap[best] > 0 else None


def _run(transform: Transform, inputs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    result = transform(**{name: frame.copy() for name, frame in inputs.items()})
    if not isinstance(result, pd.DataFrame):
        raise TypeError(f"the transform returned {type(result).__name__}, not a DataFrame")
    return result


def _rows_until(
    frame: pd.DataFrame,
    cut: pd.Timestamp,
    on: list[str],
    ts: str,
    features: list[str],
    created: str | None = None,
) -> pd.DataFrame:
    """The rows that existed at `cut` — stamped at or before it and, with a `created`
    column, created at or before it (a late row is not known yet) — times in UTC, ties
    on `on` numbered in value order."""
    stamps = _utc(frame[ts])
    keep = (stamps <= cut).to_numpy()
    if created is not None and created in frame.columns:
        keep &= (_utc(frame[created]) <= cut).fillna(True).to_numpy()
    rows = frame.loc[keep, [c for c in dict.fromkeys([*on, *features])]].copy()
    rows[ts] = stamps[keep].to_numpy()
    if rows.duplicated(on, keep=False).any():
        try:  # equal rows pair up whatever order the cell left them in
            rows = rows.sort_values([*on, *features], kind="stable", na_position="last")
        except TypeError:
            rows = rows.sort_values(on, kind="stable", na_position="last")
    rows[_TIE] = rows.groupby(on, dropna=False, sort=False).cumcount()
    return rows


def _changes(
    full: pd.DataFrame,
    partial: pd.DataFrame,
    cut: pd.Timestamp,
    on: list[str],
    ts: str,
    features: list[str],
    *,
    rtol: float,
    atol: float,
    created: str | None = None,
) -> dict[str, _Leak]:
    """Per feature, how the rows stamped at or before `cut` differ between the two runs."""
    shared = [f for f in features if f in partial.columns]
    left = _rows_until(full, cut, on, ts, features, created)
    right = _rows_until(partial, cut, on, ts, shared, created)
    merged = left.merge(
        right, on=[*on, _TIE], how="outer", suffixes=("", "__cut"), indicator=_SIDE, sort=True
    )
    both = (merged[_SIDE] == "both").to_numpy()
    compared = len(merged)
    out = {}
    for feature in features:
        cut_name = (
            f"{feature}__cut" if feature in right.columns and feature in left.columns else None
        )
        if cut_name is None:
            same, change = np.zeros(compared, dtype=bool), np.full(compared, np.nan)
            cut_values = pd.Series(None, index=merged.index, dtype=object)
        else:
            cut_values = merged[cut_name]
            same, change = values_equal(
                merged[feature], cut_values, str(full[feature].dtype), rtol=rtol, atol=atol
            )
        changed = ~(same & both)
        if not changed.any():
            continue
        first = int(
            np.flatnonzero(changed & both)[0]
            if (changed & both).any()
            else np.flatnonzero(changed)[0]
        )
        row = merged.iloc[first]
        numeric = change[changed & both]
        numeric = numeric[~np.isnan(numeric)]
        out[feature] = _Leak(
            cut=cut,
            changed=int(changed.sum()),
            compared=compared,
            max_change=float(numeric.max()) if numeric.size else float("nan"),
            example={
                **{c: json_value(row[c]) for c in on},
                "all_data": json_value(row[feature]) if row[_SIDE] != "right_only" else "(no row)",
                "data_up_to_cut": json_value(cut_values.iloc[first])
                if row[_SIDE] != "left_only"
                else "(no row)",
            },
        )
    return out


def _hazard(view: Mapping, feature: str, leaks: list[_Leak]) -> Hazard:
    """One hazard per feature: the earliest cut that changes a value (else the earliest that
    adds or drops a row), and the largest change at any cut."""
    first = next((leak for leak in leaks if "(no row)" not in leak.example.values()), leaks[0])
    where = ", ".join(
        f"{k}={v}" for k, v in first.example.items() if k not in {"all_data", "data_up_to_cut"}
    )
    largest = [leak.max_change for leak in leaks if not np.isnan(leak.max_change)]
    amount = f"; largest change at any cut {max(largest):.6g}" if largest else ""
    return Hazard(
        code=CODE,
        category="future_leakage",
        severity="error",
        cell_index=int(view.get("cell_index", 0) or 0),
        cell_id=str(view.get("cell_id", "") or ""),
        line=1,
        col=0,
        message=(
            f"time travel: view {view['name']!r}, feature {feature!r} is computed from data that "
            f"did not exist yet at its timestamp: recomputed on inputs cut at {first.cut.isoformat()}, "
            f"{first.changed} of {first.compared} rows stamped at or before the cut change{amount}; "
            f"e.g. {where}: {_show(first.example['all_data'])} with all data, "
            f"{_show(first.example['data_up_to_cut'])} with data up to the cut"
        ),
        fix=FIX,
        view=str(view["name"]),
    )


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return value if value == "(no row)" else repr(value)


def _utc(values: pd.Series) -> pd.Series | None:
    """Times as UTC instants (naive read as UTC, as Feast does); None when they are not times."""
    try:
        stamps = pd.to_datetime(values)
    except (TypeError, ValueError, OverflowError):
        return None
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        return None
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        return stamps.dt.tz_convert("UTC")
    return stamps.dt.tz_localize("UTC")


def check_repo(
    repo: Path, views: Sequence[Mapping], progress: Progress | None = None
) -> tuple[Hazard, ...]:
    """Time-travel every batch view of a generated repository on the notebook's own inputs.

    A view whose module or inputs cannot be loaded is skipped with a progress message:
    parity reports the broken transform; time travel only judges ones that run.
    """
    from nb2feast.infer import TRANSFORM_LOCK
    from nb2feast.materialize import load_repo_transforms

    say = progress or (lambda _message: None)
    batch = [v for v in views if v.get("kind") == "batch"]
    if not batch:
        return ()
    try:
        package = load_repo_transforms(Path(repo))
    except Exception as exc:  # noqa: BLE001 - the user's generated code
        say(f"time travel skipped: the transforms do not import ({type(exc).__name__}: {exc})")
        return ()
    hazards: list[Hazard] = []
    for view in batch:
        module = getattr(package, view["name"], None)
        transform = getattr(module, view["name"], None)
        if transform is None or not hasattr(module, "load_inputs"):
            say(f"{view['name']}: time travel skipped (no generated transform with load_inputs)")
            continue
        say(f"{view['name']}: time travel")
        try:
            with TRANSFORM_LOCK:
                inputs = module.load_inputs()
            hazards += time_travel_hazards(view, transform, inputs)
        except Exception as exc:  # noqa: BLE001 - the user's code; one view never aborts the rest
            say(f"{view['name']}: time travel skipped ({type(exc).__name__}: {exc})")
    return tuple(hazards)
