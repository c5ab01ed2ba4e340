"""Time travel: a batch view's rows must not change when the future is taken away.

Recompute a batch view on its inputs cut at a time T (only rows stamped at or before T);
any feature row of all the data stamped at or before T whose value changes or that
disappears was computed from data that did not exist yet at its timestamp (NB2F310).
This catches what no source pattern can: aggregates stamped at the start of their
window, whole-history statistics joined back to earlier rows, sorting tricks.

Before blaming the future it runs the view twice on the same data: what changes then is
noise (NB2F210), left out of the verdict. Each input is cut by its own clock: the column
the cell makes the view's timestamp from (traced in the cell's code), never a guess; what
it cannot cut is said (NB2F312). A cut the view cannot compute on is a finding (NB2F311).
Arrival stamps (`--created`, or columns timed and named like one: NB2F610) cut too; late
data found only through an undeclared stamp is NB2F611. Catalogue: docs/hazards.md.

`time_travel_hazards` is pure (a transform, its input frames, the manifest's view entry,
the cell's source -> hazards); `check_repo` loads a generated repository's transforms and
inputs and runs it on every batch view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from nb2feast.hazards._clock import ClockTrace, trace_clock
from nb2feast.hazards.late_arrival import is_arrival_name
from nb2feast.model import Hazard
from nb2feast.proof.compare import json_value, values_equal

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

    rows: pd.MultiIndex  # the `on` values of the changed rows
    cut: pd.Timestamp
    changed: int
    compared: int
    max_change: float  # NaN when the values are not numbers
    example: dict


CODE_NONDETERMINISTIC = "NB2F210"
CODE_FAILED_CUT = "NB2F311"
CODE_UNCHECKED = "NB2F312"
CODE_LATE_ARRIVAL = "NB2F610"
CODE_LATE_VALUES = "NB2F611"
FIX_NONDETERMINISTIC = (
    "make the view a function of its data: seed every random draw "
    "(`np.random.default_rng(SEED)`, `.sample(..., random_state=SEED)`), and never let the "
    "order of rows with the same key and time decide a value: sort with a tie-breaking key "
    '(`sort_values([key, time, id])`) or `kind="stable"` on data in a fixed order'
)
FIX_FAILED_CUT = (
    "make the cell compute the same columns on any prefix of its data: fix category lists and "
    "bins in code (`pd.Categorical(x, categories=[...])`, `pd.cut(x, bins=[...])`) instead of "
    "deriving them from the data (`unique()`, `nunique()`, `get_dummies`), and compute "
    "statistics over trailing windows, not the whole history"
)
FIX_UNCHECKED = (
    "make the view's timestamp a column of an input or a plain expression of one input "
    'column (`ts = pd.to_datetime(df["booked_on"])`), so time travel can cut the inputs '
    "by it"
)


@dataclass(frozen=True)
class _Clocks:
    """How each input frame is cut: its event clock and its arrival clock (column names)."""

    event: dict[str, str | None]  # frame -> column; None: no time (passed whole)
    arrival: dict[str, str | None]  # declared --created, or a column named and timed so
    unchecked: dict[str, str]  # frame -> why it is passed whole although it has times
    suspect: dict[str, str]  # frame -> a column later than its clock, not named an arrival


def time_travel_hazards(
    view: Mapping,
    transform: Transform,
    inputs: Mapping[str, pd.DataFrame],
    *,
    source: str | None = None,
    quantiles: Sequence[float] = CUT_QUANTILES,
    rtol: float = 1e-9,
    atol: float = 1e-12,
) -> tuple[Hazard, ...]:
    """Time-travel findings of the batch `view`: leakage (NB2F310), noise (NB2F210), cuts
    that do not compute (NB2F311), what could not be checked (NB2F312) and undeclared
    arrival stamps of its inputs (NB2F610).

    `view` is the manifest entry (name, entities, timestamp, created, features, cell
    index and id); `transform(**inputs)` is the cell's code, `source` its text (to trace
    the timestamp the cell makes). Inputs are copied before each run.
    """
    keys, ts = list(view["entities"]), view["timestamp"]
    full = _run(transform, inputs)
    features = [f["name"] for f in view.get("features", []) if f["name"] in full.columns]
    stamps = _utc(full[ts]) if ts in full.columns else None
    if stamps is None or not features:
        return ()
    clocks = input_clocks(inputs, view, stamps, source)
    cuts = cut_times(stamps, quantiles)
    declared = view.get("created")
    found: list[Hazard] = list(_late_arrivals(view, inputs, clocks))
    arrived = _utc(full[declared]) if declared and declared in full.columns else None
    if arrived is not None and cuts and bool((arrived > cuts[-1]).all()):
        found.append(
            _unchecked(
                view,
                "info",
                f"every row's --created {declared!r} is after the last cut (a stamp of when the "
                "table was made, e.g. the wall clock: NB2F204), so rows were judged by event "
                "time only",
            )
        )
        declared = None
    created = declared or _carried_arrival(clocks, full)
    on = [*keys, ts, *([created] if created and created in full.columns else [])]
    if not any(clocks.event.values()):
        reasons = "; ".join(f"{name}: {why}" for name, why in clocks.unchecked.items())
        return (
            *found,
            _unchecked(
                view,
                "warning",
                f"it could not trace the timestamp {ts!r} "
                f"to a clock of any input ({reasons or 'no input has times'})",
            ),
        )
    found += [
        _unchecked(view, "info", f"input {name!r} is passed whole at every cut: {why}")
        for name, why in clocks.unchecked.items()
    ]
    noisy = _noise(view, transform, inputs, clocks, full, on, features, rtol=rtol, atol=atol)
    if noisy:
        found.append(noisy[0])
    skip = noisy[1] if noisy else None
    # Event time (and a declared --created) decide leakage; an arrival column only
    # inferred from its name and values is a second pass, reported as late_arrival.
    event_clocks = replace(
        clocks, arrival={n: c if c == declared else None for n, c in clocks.arrival.items()}
    )
    travel = _Travel(full, on, ts, features, rtol, atol, skip)
    leaks, failures = travel.run(transform, inputs, cuts, event_clocks, declared)
    if failures:
        found.append(_failed_cuts(view, failures, len(cuts)))
    found += [
        _hazard(view, feature, leaks[feature], [declared] if declared else [])
        for feature in features
        if feature in leaks
    ]
    inferred = sorted({c for c in clocks.arrival.values() if c and c != declared})
    if inferred and not failures:
        late, _ = travel.run(transform, inputs, cuts, clocks, created)
        found += [
            _late_values(view, feature, late[feature], inferred)
            for feature in features
            if feature in late and feature not in leaks
        ]
    return tuple(found)


@dataclass(frozen=True)
class _Travel:
    """The view's result on all data, and how to compare a cut's result with it."""

    full: pd.DataFrame
    on: list[str]
    ts: str
    features: list[str]
    rtol: float
    atol: float
    skip: Mapping[str, pd.MultiIndex] | None

    def run(
        self,
        transform: Transform,
        inputs: Mapping[str, pd.DataFrame],
        cuts: Sequence[pd.Timestamp],
        clocks: _Clocks,
        created: str | None,
    ) -> tuple[dict[str, list[_Leak]], list[str]]:
        """Per feature the changes at each cut, and the cuts that failed (with why)."""
        leaks: dict[str, list[_Leak]] = {}
        failures: list[str] = []
        on = self.on
        for cut in cuts:
            try:
                partial = _run(transform, _cut_by(inputs, cut, clocks))
            except Exception as exc:  # noqa: BLE001 - the user's code: a finding, not a crash
                failures.append(f"at {cut.isoformat()}: {_one_line(exc)}")
                continue
            lost = [c for c in on if c not in partial.columns]
            if lost:
                failures.append(f"at {cut.isoformat()}: the result has no column {_names(lost)}")
                continue
            shape = _shape_change(self.full, partial)
            if shape:
                failures.append(f"at {cut.isoformat()}: the columns differ ({shape})")
            for feature, leak in _changes(
                self.full,
                partial,
                cut,
                on,
                self.ts,
                self.features,
                rtol=self.rtol,
                atol=self.atol,
                created=created,
                skip=self.skip,
            ).items():
                leaks.setdefault(feature, []).append(leak)
        return leaks, failures


def _shape_change(full: pd.DataFrame, partial: pd.DataFrame) -> str:
    missing = [c for c in full.columns if c not in partial.columns]
    extra = [c for c in partial.columns if c not in full.columns]
    parts = [
        f"missing {_names(missing)}" if missing else "",
        f"new {_names(extra)}" if extra else "",
    ]
    return "; ".join(p for p in parts if p)


def _view_position(view: Mapping) -> dict:
    """Where a finding about the whole view is placed: its cell, line 1."""
    return {
        "cell_index": int(view.get("cell_index", 0) or 0),
        "cell_id": str(view.get("cell_id", "") or ""),
        "line": 1,
        "col": 0,
    }


def _late_values(view: Mapping, feature: str, leaks: list[_Leak], arrival: Sequence[str]) -> Hazard:
    """NB2F611: a feature whose values change when rows that had not arrived yet are removed."""
    first = next((leak for leak in leaks if "(no row)" not in leak.example.values()), leaks[0])
    where = ", ".join(
        f"{k}={v}" for k, v in first.example.items() if k not in {"all_data", "data_up_to_cut"}
    )
    return Hazard(
        code=CODE_LATE_VALUES,
        category="late_arrival",
        severity="error",
        **_view_position(view),
        message=(
            f"time travel: view {view['name']!r}, feature {feature!r} is computed from rows that "
            f"had not arrived yet: with the inputs cut also by arrival {_names(list(arrival))} "
            f"at {first.cut.isoformat()}, {first.changed} of {first.compared} rows stamped at or "
            f"before the cut change; e.g. {where}: {_show(first.example['all_data'])} with all "
            f"data, {_show(first.example['data_up_to_cut'])} with the rows arrived by the cut"
        ),
        fix=(
            f"declare the arrival stamp (--created {arrival[0]}, carried into the result) and "
            "compute each row only from rows that had arrived by its timestamp (window on the "
            "arrival time, or keep each row's version as known at its timestamp)"
        ),
        view=str(view["name"]),
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _names(columns: Sequence[str]) -> str:
    return ", ".join(repr(c) for c in columns[:5]) + (" ..." if len(columns) > 5 else "")


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


def input_clocks(
    inputs: Mapping[str, pd.DataFrame],
    view: Mapping,
    view_stamps: pd.Series,
    source: str | None = None,
) -> _Clocks:
    """Which column of each input says when a row happened, and when it arrived.

    Event clock: the input column the cell computes the timestamp from (traced in
    `source`); else the input's column named like the view's timestamp; else a datetime
    column that holds the view's timestamp values. Never another datetime column by guess: an input
    with times but no traced clock is passed whole, and said so. Arrival clock: the
    declared `--created` column, else a column whose values are at or after the event
    clock (`arrival_column`).
    """
    ts, created = view["timestamp"], view.get("created")
    traced = (
        trace_clock(source, ts, {name: list(f.columns) for name, f in inputs.items()})
        if source
        else None
    )
    event: dict[str, str | None] = {}
    arrival: dict[str, str | None] = {}
    unchecked: dict[str, str] = {}
    suspect: dict[str, str] = {}
    for name, frame in inputs.items():
        clock = _event_clock(frame, ts, created, view_stamps, traced)
        times = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
        if clock is None and times:
            unchecked[name] = _why_unchecked(ts, traced, frame, times)
        event[name] = clock
        if created and created in frame.columns:
            arrival[name] = created
        else:
            arrival[name] = arrival_column(frame, clock) if clock else None
            later = arrival_column(frame, clock, named=False) if clock else None
            if later and not arrival[name] and not created:
                suspect[name] = later
    return _Clocks(event, arrival, unchecked, suspect)


def _why_unchecked(
    ts: str, traced: ClockTrace | None, frame: pd.DataFrame, times: list[str]
) -> str:
    sources = sorted(traced.columns & set(frame.columns)) if traced is not None else []
    if sources:
        why = f"the cell computes {ts!r} from {_names(sources)}, not from one time column"
    elif traced is not None and not traced.ok:
        why = traced.reason
    elif traced is not None:
        why = f"the cell does not compute {ts!r} from it"
    else:
        why = f"it has no column {ts!r}"
    return f"{why}, and none of its datetime columns ({_names(times)}) holds the view's timestamps"


def _event_clock(
    frame: pd.DataFrame,
    ts: str,
    created: str | None,
    view_stamps: pd.Series,
    traced: ClockTrace | None,
) -> str | None:
    if traced is not None and traced.ok:
        clocks = [c for c in frame.columns if c in traced.columns and _clock(frame[c]) is not None]
        if len(clocks) == 1:
            return clocks[0]  # what the cell makes the timestamp from, even when renamed
    if ts in frame.columns:
        return ts
    candidates = [
        c for c in frame.columns if c != created and pd.api.types.is_datetime64_any_dtype(frame[c])
    ]
    known = pd.Index(view_stamps.dropna().unique())
    if not len(known):
        return None
    overlap = {
        c: int(pd.Index(_utc(frame[c]).dropna().unique()).isin(known).sum()) for c in candidates
    }
    best = max(overlap, key=overlap.get, default=None)
    return best if best is not None and overlap[best] >= max(1, len(known) // 2) else None


def input_clock(
    frame: pd.DataFrame, timestamp: str, created: str | None, view_stamps: pd.Series
) -> str | None:
    """The event clock of one input (see `input_clocks`), with no cell source to trace."""
    return _event_clock(frame, timestamp, created, view_stamps, None)


def arrival_column(frame: pd.DataFrame, clock: str, *, named: bool = True) -> str | None:
    """A datetime column of `frame` whose values say when its rows arrived: at or after the
    event clock on every row (and later on some). With `named`, only columns whose name
    says so (`ingested_at`, `created`, `updated_at`, ...); without, also any column later
    than the clock on at least half the rows (a status or end date looks the same)."""
    event = _clock(frame[clock]) if clock in frame.columns else None
    if event is None:
        return None
    best: tuple[bool, float, str] | None = None
    for column in frame.columns:
        if column == clock or not pd.api.types.is_datetime64_any_dtype(frame[column]):
            continue
        stamps = _utc(frame[column])
        both = (stamps.notna() & event.notna()).to_numpy()
        if both.sum() < 3:
            continue
        lag = (stamps[both] - event[both]).dt.total_seconds().to_numpy()
        if (lag < 0).any():
            continue
        later = float((lag > 0).mean())
        by_name = is_arrival_name(str(column))
        if (by_name and later > 0) or (not named and later >= 0.5):
            candidate = (by_name, later, column)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    return best[2] if best else None


def _carried_arrival(clocks: _Clocks, full: pd.DataFrame) -> str | None:
    """A detected arrival column the view's result carries (row-wise views keep it)."""
    return next((c for c in clocks.arrival.values() if c and c in full.columns), None)


def cut_inputs(
    inputs: Mapping[str, pd.DataFrame], cut: pd.Timestamp, view: Mapping, view_stamps: pd.Series
) -> dict[str, pd.DataFrame]:
    """Every input frame as it was at `cut` (see `input_clocks`); no cell source to trace."""
    return _cut_by(inputs, cut, input_clocks(inputs, view, view_stamps))


def _cut_by(
    inputs: Mapping[str, pd.DataFrame], cut: pd.Timestamp, clocks: _Clocks
) -> dict[str, pd.DataFrame]:
    """Rows whose event clock and arrival clock are at or before `cut`.

    Rows with a missing time are kept (they are known at every time); a frame without a
    clock (a dimension table) is passed whole.
    """
    out = {}
    for name, frame in inputs.items():
        keep = np.ones(len(frame), dtype=bool)
        for column in (clocks.event.get(name), clocks.arrival.get(name)):
            stamps = _clock(frame[column]) if column and column in frame.columns else None
            if stamps is not None:
                keep &= ((stamps <= cut) | stamps.isna()).to_numpy()
        out[name] = frame if keep.all() else frame.loc[keep]
    return out


def _reorder_ties(
    inputs: Mapping[str, pd.DataFrame], keys: Sequence[str], clocks: _Clocks, seed: int | None
) -> dict[str, pd.DataFrame]:
    """The same rows, each run of rows sharing key and time in another order (reversed, or
    shuffled with `seed`): what a database or another file layout may hand over as well."""
    rng = np.random.default_rng(seed) if seed is not None else None
    out = {}
    for name, frame in inputs.items():
        clock = clocks.event.get(name)
        by = [k for k in keys if k in frame.columns] + ([clock] if clock else [])
        if not by or len(frame) < 2:
            out[name] = frame
            continue
        try:
            group = frame.groupby(by, sort=False, dropna=False).ngroup().to_numpy()
        except (TypeError, ValueError):
            out[name] = frame
            continue
        if not pd.Series(group).duplicated().any():
            out[name] = frame
            continue
        position = np.arange(len(frame))
        first = pd.Series(position).groupby(group).transform("min").to_numpy()
        within = -position if rng is None else rng.permutation(len(frame))
        out[name] = frame.iloc[np.lexsort((within, first))]  # groups stay in first-seen order
    return out


def _noise(
    view: Mapping,
    transform: Transform,
    inputs: Mapping[str, pd.DataFrame],
    clocks: _Clocks,
    full: pd.DataFrame,
    on: list[str],
    features: list[str],
    *,
    rtol: float,
    atol: float,
) -> tuple[Hazard, dict[str, pd.MultiIndex]] | None:
    """NB2F210 when a second run on the same data gives other values, and per feature the
    rows that changed (left out of the leakage check).

    First the same rows in the same order (random draws, clock reads: an error), then
    with rows of equal key and time in reverse order (a value decided by the order of
    ties: a warning, as a database may hand them over in any order)."""
    keys = list(view["entities"])
    on_run = [*keys, view["timestamp"]]  # a --created stamp may be the wall clock (NB2F204)
    probes = [(inputs, "error", "two runs on the same data")]
    if any(_reorder_ties(inputs, keys, clocks, None)[n] is not inputs[n] for n in inputs):
        how = "runs on the same rows, those with equal key and time in another order"
        probes += [
            (_reorder_ties(inputs, keys, clocks, seed), "warning", how) for seed in (None, 1)
        ]
    ts = view["timestamp"]
    last = _utc(full[ts]).max()
    changes: dict[str, _Leak] = {}
    rows: dict[str, list[pd.MultiIndex]] = {}
    severity, how = "", ""
    for probe, level, text in probes:
        if severity == "error":
            break
        try:
            again = _run(transform, probe)
        except Exception:  # noqa: BLE001 - only a difference between results is judged
            continue
        if not set(on_run) <= set(again.columns):
            continue
        found = _changes(
            full, again, last, on_run, ts, features, rtol=rtol, atol=atol, new_rows=True
        )
        for feature, leak in found.items():
            changes.setdefault(feature, leak)
            rows.setdefault(feature, []).append(leak.rows)
        if found and not severity:
            severity, how = level, text
    if not changes:
        return None
    noisy = [f for f in features if f in changes]
    leak = changes[noisy[0]]
    where = ", ".join(
        f"{k}={v}" for k, v in leak.example.items() if k not in {"all_data", "data_up_to_cut"}
    )
    hazard = Hazard(
        code=CODE_NONDETERMINISTIC,
        category="nondeterministic",
        severity=severity,
        **_view_position(view),
        message=(
            f"time travel: view {view['name']!r}, {_names(noisy)} differ between {how}: "
            f"{leak.changed} of {leak.compared} rows, e.g. {where}: "
            f"{_show(leak.example['all_data'])} in one run, "
            f"{_show(leak.example['data_up_to_cut'])} in the other; this is noise, not "
            "leakage, so these rows are left out of the leakage check"
        ),
        fix=FIX_NONDETERMINISTIC,
        view=str(view["name"]),
    )
    if severity == "warning":
        ties = _tie_rows(inputs, keys, clocks)  # a cut may order any of them otherwise
        for feature in noisy:
            rows[feature].append(ties)
    skip = {f: rows[f][0].append(rows[f][1:]) if len(rows[f]) > 1 else rows[f][0] for f in noisy}
    return hazard, skip


def _tie_rows(
    inputs: Mapping[str, pd.DataFrame], keys: Sequence[str], clocks: _Clocks
) -> pd.MultiIndex:
    """(keys..., time) of the input rows that share their key and time with another row."""
    found = []
    for name, frame in inputs.items():
        clock = clocks.event.get(name)
        if not clock or not set(keys) <= set(frame.columns):
            continue
        stamps = _clock(frame[clock])
        if stamps is None:
            continue
        part = frame[list(keys)].assign(__time=stamps.to_numpy())
        part = part[part.duplicated(keep=False)].drop_duplicates()
        found.append(pd.MultiIndex.from_frame(part))
    if not found:
        return pd.MultiIndex.from_tuples([], names=[*keys, "__time"])
    return found[0].append(found[1:]) if len(found) > 1 else found[0]


def _failed_cuts(view: Mapping, failures: Sequence[str], cuts: int) -> Hazard:
    return Hazard(
        code=CODE_FAILED_CUT,
        category="future_leakage",
        severity="error",
        **_view_position(view),
        message=(
            f"time travel: view {view['name']!r} does not compute on less data: on its inputs "
            f"as they were at {len(failures)} of {cuts} earlier times it fails or makes other "
            f"columns, so what it computes depends on rows that did not exist yet ({failures[0]}"
            + (f"; and {len(failures) - 1} more" if len(failures) > 1 else "")
            + ")"
        ),
        fix=FIX_FAILED_CUT,
        view=str(view["name"]),
    )


def could_not_check(view: Mapping, why: str, severity: str = "warning") -> Hazard:
    """NB2F312: time travel could not check the view (a warning: visible, not a failure)."""
    return _unchecked(view, severity, why)


def _unchecked(view: Mapping, severity: str, why: str) -> Hazard:
    return Hazard(
        code=CODE_UNCHECKED,
        category="future_leakage",
        severity=severity,
        **_view_position(view),
        message=f"time travel could not check view {view['name']!r} fully: {why}",
        fix=FIX_UNCHECKED,
        view=str(view["name"]),
    )


def _late_arrivals(
    view: Mapping, inputs: Mapping[str, pd.DataFrame], clocks: _Clocks
) -> list[Hazard]:
    """NB2F610 for each input carrying an arrival stamp the view does not declare: a
    warning when its name says so (time travel cuts by it), info when only its values do."""
    if view.get("created"):
        return []
    found = []
    named = {n: c for n, c in clocks.arrival.items() if c}
    for name, column in [*named.items(), *clocks.suspect.items()]:
        clock = clocks.event.get(name)
        frame = inputs[name]
        lag = (_utc(frame[column]) - _clock(frame[clock])).dropna()
        sure = name in named
        found.append(
            Hazard(
                code=CODE_LATE_ARRIVAL,
                category="late_arrival",
                severity="warning" if sure else "info",
                **_view_position(view),
                message=(
                    f"view {view['name']!r}: input {name!r} "
                    + (
                        "carries an arrival stamp"
                        if sure
                        else "has a column that may be an arrival stamp,"
                    )
                    + f" {column!r} (at or after its event time {clock!r} on every row, median "
                    f"{_duration(lag.median())} later, up to {_duration(lag.max())}) and the "
                    "view does not declare --created, so training can use values that had not "
                    "arrived when a prediction would be made; "
                    + (
                        "time travel cut the inputs by it too"
                        if sure
                        else "if it says when the "
                        "row's values arrived, declare it (time travel did not cut by it)"
                    )
                ),
                fix=(
                    f"keep {column!r} in the view's result (for an aggregate, the latest "
                    f"arrival of its rows) and declare it: %%feature ... --created {column}"
                ),
                view=str(view["name"]),
            )
        )
    return found


def _duration(value: pd.Timedelta) -> str:
    return str(pd.Timedelta(value).round("s")) if pd.notna(value) else "?"


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
    skip: Mapping[str, pd.MultiIndex] | None = None,
    new_rows: bool = False,
) -> dict[str, _Leak]:
    """Per feature, how the rows stamped at or before `cut` differ between the two runs;
    rows whose `on` values are in `skip[feature]` (noise) are not judged.

    A row of all the data that changes or is missing from the second run counts; a row
    only the second run has counts with `new_rows` (two identical runs) but not for a cut:
    a row a cut has and all the data lacks (a customer's latest purchase before T, replaced
    by a later one) was not computed from data that did not exist yet."""
    shared = [f for f in features if f in partial.columns]
    left = _rows_until(full, cut, on, ts, features, created)
    right = _rows_until(partial, cut, on, ts, shared, created)
    merged = left.merge(
        right, on=[*on, _TIE], how="outer", suffixes=("", "__cut"), indicator=_SIDE, sort=True
    )
    both = (merged[_SIDE] == "both").to_numpy()
    only_new = (merged[_SIDE] == "right_only").to_numpy()
    compared = len(merged) if new_rows else int((~only_new).sum())
    out = {}
    for feature in features:
        cut_name = (
            f"{feature}__cut" if feature in right.columns and feature in left.columns else None
        )
        if cut_name is None:
            continue  # a column the cut's result lacks: a shape change (NB2F311), not a value
        cut_values = merged[cut_name]
        same, change = values_equal(
            merged[feature], cut_values, str(full[feature].dtype), rtol=rtol, atol=atol
        )
        changed = ~(same & both)
        if not new_rows:
            changed &= ~only_new
        if skip and feature in skip:  # skip is on (keys..., time): `on` without --created
            at = pd.MultiIndex.from_frame(merged[on[: skip[feature].nlevels]])
            changed &= ~at.isin(skip[feature])
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
            rows=pd.MultiIndex.from_frame(merged.loc[changed, on]),
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


def _hazard(view: Mapping, feature: str, leaks: list[_Leak], arrival: Sequence[str] = ()) -> Hazard:
    """One hazard per feature: the earliest cut that changes a value (else the earliest that
    adds or drops a row), and the largest change at any cut."""
    first = next((leak for leak in leaks if "(no row)" not in leak.example.values()), leaks[0])
    where = ", ".join(
        f"{k}={v}" for k, v in first.example.items() if k not in {"all_data", "data_up_to_cut"}
    )
    largest = [leak.max_change for leak in leaks if not np.isnan(leak.max_change)]
    amount = f"; largest change at any cut {max(largest):.6g}" if largest else ""
    clock = f" (inputs cut by event time and by arrival {_names(list(arrival))})" if arrival else ""
    return Hazard(
        code=CODE,
        category="future_leakage",
        severity="error",
        **_view_position(view),
        message=(
            f"time travel: view {view['name']!r}, feature {feature!r} is computed from data that "
            f"did not exist yet at its timestamp: recomputed on inputs cut at "
            f"{first.cut.isoformat()}{clock}, {first.changed} of {first.compared} rows stamped "
            f"at or before the cut change{amount}; "
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


def _clock(values: pd.Series) -> pd.Series | None:
    """Times of a clock column as UTC instants: datetimes, or text that parses as dates
    (`"2024-01-05"`); never numbers (an id is not a time)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return _utc(values)
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return None
    sample = values.dropna()
    if sample.empty or not all(isinstance(v, str) for v in sample.iloc[:100]):
        return None
    try:
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    except (TypeError, ValueError):
        return None
    if parsed.notna().sum() < 0.9 * len(sample):
        return None
    return _utc(parsed)


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

    A view whose module or inputs cannot be loaded, or that does not run on them, gets an
    NB2F312 warning (time travel could not check it); parity reports the broken transform.
    """
    from nb2feast.repo.infer import TRANSFORM_LOCK
    from nb2feast.repo.materialize import load_repo_transforms

    say = progress or (lambda _message: None)
    batch = [v for v in views if v.get("kind") == "batch"]
    if not batch:
        return ()
    try:
        package = load_repo_transforms(Path(repo))
    except Exception as exc:  # noqa: BLE001 - the user's generated code
        why = f"the generated transforms do not import ({_one_line(exc)})"
        return tuple(_unchecked(view, "warning", why) for view in batch)
    hazards: list[Hazard] = []
    for view in batch:
        module = getattr(package, view["name"], None)
        transform = getattr(module, view["name"], None)
        if transform is None or not hasattr(module, "load_inputs"):
            why = "its module has no transform with load_inputs"
            hazards.append(_unchecked(view, "warning", why))
            continue
        say(f"{view['name']}: time travel")
        try:
            with TRANSFORM_LOCK:
                inputs = module.load_inputs()
        except Exception as exc:  # noqa: BLE001 - the user's loading code
            hazards.append(
                _unchecked(view, "warning", f"its inputs do not load ({_one_line(exc)})")
            )
            continue
        try:
            hazards += time_travel_hazards(
                view, transform, inputs, source=module_source(repo, view)
            )
        except Exception as exc:  # noqa: BLE001 - the user's code; one view never aborts the rest
            why = f"it does not run on all its inputs ({_one_line(exc)})"
            hazards.append(_unchecked(view, "warning", why))
    return tuple(hazards)


def module_source(repo: Path, view: Mapping) -> str | None:
    """The generated module's text: the cell's code, verbatim, inside `def <view>(...)`."""
    path = Path(repo) / str(view.get("module") or f"transforms/{view['name']}.py")
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
