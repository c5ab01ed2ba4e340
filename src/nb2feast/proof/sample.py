"""Sample entity rows and compute the notebook's point-in-time answer for them.

The sample deliberately probes the edges where a feature store and a notebook
disagree: every entity, rows with a missing value in each input, exact event-time ties,
values that expired (TTL), timestamps before a key's first value; and says what it covered.
All of it is vectorized: 100,000 rows cost about what 10,000 do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nb2feast.proof.compare import ROW_ID

ENTITY_TS = "event_timestamp"

# Share of each kind of probe in a sample: (exact tie, inside TTL, expired, before first, anywhere).
_KIND_SHARES = (0.2, 0.3, 0.15, 0.15, 0.2)


# Probe kinds, in `_KIND_SHARES` order.
_KINDS = ("tie", "inside_ttl", "expired", "before_first", "anywhere")
# Share of a sample kept for rows with a missing value in each column (before entities).
_NULL_SHARE = 0.1


def strata(
    frame: pd.DataFrame,
    keys: Sequence[str],
    nullable: Sequence[str],
    n: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict]:
    """Positions of `n` rows of `frame` that cannot be blind, and what they cover.

    First rows with a missing value in each of `nullable` (a few per column), then one row
    of every entity (up to `n`), then rows drawn at random (with replacement).
    """
    n_rows = len(frame)
    chosen: list[np.ndarray] = []
    taken = 0
    null_rows: dict[str, int] = {}
    per_column = max(1, int(n * _NULL_SHARE)) if n > 0 else 0
    for column in nullable:
        if column not in frame.columns or taken >= n // 2:
            continue
        where = np.flatnonzero(frame[column].isna().to_numpy())
        if where.size == 0:
            continue
        pick = rng.choice(
            where, size=min(per_column, where.size, n // 2 - taken or 1), replace=False
        )
        chosen.append(pick)
        taken += pick.size
        null_rows[column] = int(pick.size)
    keys = list(keys)
    entities_total = 0
    if keys and n_rows:
        # a random row of every entity, entities in random order (vectorized: shuffle, dedupe)
        shuffled = rng.permutation(n_rows)
        key_frame = frame[keys].iloc[shuffled]
        first = ~key_frame.duplicated().to_numpy() & key_frame.notna().all(axis=1).to_numpy()
        entities_total = int(first.sum())
        one_each = shuffled[first][: max(0, n - taken)]
        chosen.append(one_each)
        taken += one_each.size
    if n_rows and n > taken:
        chosen.append(rng.integers(0, n_rows, n - taken))
    positions = np.concatenate(chosen).astype("int64")[:n] if chosen else np.zeros(0, dtype="int64")
    covered = frame.iloc[positions][keys].drop_duplicates().dropna().shape[0] if keys else 0
    coverage = {
        "rows": int(positions.size),
        "entities": int(covered),
        "entities_total": int(entities_total),
        "null_rows": null_rows,
    }
    return positions, coverage


def stratified_entity_rows(
    table: pd.DataFrame,
    keys: Sequence[str],
    timestamp: str,
    n: int,
    rng: np.random.Generator,
    ttl_seconds: int = 0,
    features: Sequence[str] = (),
) -> tuple[pd.DataFrame, dict]:
    """`n` entity rows (keys, `event_timestamp`, row id) drawn from a view's rows, and their
    coverage.

    Rows with a missing feature and one row per entity come first, asked at their exact event
    time; the rest mix exact event times, times within the TTL, times past the key's last value
    plus TTL, times before the key's first value, and times anywhere in the data's range.
    """
    keys = list(keys)
    valid = table.dropna(subset=[*keys, timestamp]).reset_index(drop=True)
    if valid.empty or n <= 0:
        return _empty_rows(table, keys, timestamp), {"rows": 0, "entities": 0, "entities_total": 0}
    positions, coverage = strata(valid, keys, features, n, rng)
    n = positions.size
    picks = valid.iloc[positions][[*keys, timestamp]].reset_index(drop=True)
    bounds = valid.groupby(keys, sort=False)[timestamp].agg(first="min", last="max").reset_index()
    picks = picks.merge(bounds, on=keys, how="left")
    stamps = picks[timestamp]
    lo, hi = valid[timestamp].min(), valid[timestamp].max()
    span = max(hi - lo, pd.Timedelta(days=1))
    ttl = pd.Timedelta(seconds=ttl_seconds)
    horizon = ttl if ttl_seconds > 0 else span

    kind = rng.choice(len(_KIND_SHARES), size=n, p=_KIND_SHARES)
    stratified = coverage["entities"] + sum(coverage["null_rows"].values())
    kind[: min(stratified, n)] = 0  # strata are asked exactly when their value was stamped
    unit = rng.random(n)
    candidates = [
        stamps,
        stamps + _seconds(unit * horizon.total_seconds()),
        picks["last"] + ttl + _seconds(1 + unit * span.total_seconds() * 0.25),
        picks["first"] - _seconds(1 + unit * span.total_seconds() * 0.25),
        lo - span * 0.05 + _seconds(unit * span.total_seconds() * 1.1),
    ]
    chosen = stamps.copy()
    for index, values in enumerate(candidates[1:], start=1):
        chosen = chosen.where(kind != index, pd.Series(values, index=picks.index))
    rows = picks[keys].copy()
    rows[ENTITY_TS] = chosen
    rows[ROW_ID] = np.arange(n, dtype="int64")
    counts = np.bincount(kind, minlength=len(_KINDS))
    probes = {name: int(c) for name, c in zip(_KINDS, counts, strict=True)}
    if ttl_seconds <= 0:
        probes.pop("inside_ttl")
        probes["after_last"] = probes.pop("expired")
    return rows, coverage | {"probes": probes}


def sample_entity_rows(
    table: pd.DataFrame,
    keys: Sequence[str],
    timestamp: str,
    n: int,
    rng: np.random.Generator,
    ttl_seconds: int = 0,
) -> pd.DataFrame:
    """`n` entity rows of `stratified_entity_rows`, without the coverage."""
    return stratified_entity_rows(table, keys, timestamp, n, rng, ttl_seconds)[0]


def stratified_input_rows(
    frame: pd.DataFrame,
    n: int,
    rng: np.random.Generator,
    keys: Sequence[str] = (),
    inputs: Sequence[str] = (),
) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """`n` rows of an on-demand view's input frame, each given a row id; their positions in
    `frame` and their coverage. Rows with a missing value in each input and one row per
    entity come first (the online check takes the head of the sample)."""
    if frame.empty or n <= 0:
        empty = frame.iloc[:0].assign(**{ROW_ID: pd.Series(dtype="int64")})
        return empty, np.zeros(0, dtype="int64"), {"rows": 0, "entities": 0, "entities_total": 0}
    positions, coverage = strata(frame.reset_index(drop=True), keys, inputs, n, rng)
    rows = frame.iloc[positions].reset_index(drop=True)
    rows[ROW_ID] = np.arange(len(rows), dtype="int64")
    return rows, positions, coverage


def sample_input_rows(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """`n` rows of an on-demand view's input frame (with replacement), each given a row id."""
    return stratified_input_rows(frame, n, rng)[0]


def point_in_time(
    entity_rows: pd.DataFrame,
    table: pd.DataFrame,
    keys: Sequence[str],
    timestamp: str,
    features: Sequence[str],
    *,
    created: str | None = None,
    ttl_seconds: int = 0,
) -> pd.DataFrame:
    """Each entity row's feature values as of its timestamp, indexed by row id.

    The latest row at or before the timestamp and, when `ttl_seconds` > 0, no older than
    the TTL (both bounds inclusive, as Feast's offline join); among rows with the same
    event time the latest `created` wins.
    """
    keys = list(keys)
    right = _latest_first(table, keys, timestamp, created)
    right = right.drop_duplicates([*keys, timestamp], keep="last")
    right = right[[*keys, timestamp, *features]].rename(columns={timestamp: "_nb2feast_ts"})
    right = right.sort_values("_nb2feast_ts", kind="stable")
    left = entity_rows.sort_values(ENTITY_TS, kind="stable")
    right["_nb2feast_ts"] = _like(right["_nb2feast_ts"], left[ENTITY_TS])
    merged = pd.merge_asof(
        left,
        right,
        left_on=ENTITY_TS,
        right_on="_nb2feast_ts",
        by=keys,
        direction="backward",
        allow_exact_matches=True,
        tolerance=pd.Timedelta(seconds=ttl_seconds) if ttl_seconds > 0 else None,
    )
    return merged.drop(columns="_nb2feast_ts").set_index(ROW_ID).sort_index()


def latest_per_key(
    table: pd.DataFrame,
    keys: Sequence[str],
    timestamp: str,
    features: Sequence[str],
    *,
    created: str | None = None,
) -> pd.DataFrame:
    """The latest row of each key (what Feast serves online after materializing: no TTL)."""
    keys = list(keys)
    ordered = _latest_first(table, keys, timestamp, created)
    return ordered.drop_duplicates(keys, keep="last")[[*keys, timestamp, *features]]


def _latest_first(
    table: pd.DataFrame, keys: list[str], timestamp: str, created: str | None
) -> pd.DataFrame:
    """Rows with keys and time, ordered so the winner of each tie comes last."""
    order = [timestamp] if created is None else [timestamp, created]
    return table.dropna(subset=[*keys, timestamp]).sort_values(order, kind="stable")


def _like(stamps: pd.Series, reference: pd.Series) -> pd.Series:
    """`stamps` in the resolution and time zone of `reference`, so merge_asof accepts them."""
    ref_tz = getattr(reference.dtype, "tz", None)
    own_tz = getattr(stamps.dtype, "tz", None)
    if own_tz is None and ref_tz is not None:
        stamps = stamps.dt.tz_localize(ref_tz)
    elif own_tz is not None and ref_tz is None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    elif own_tz is not None:
        stamps = stamps.dt.tz_convert(ref_tz)
    return stamps.astype(reference.dtype)


def _seconds(values: np.ndarray) -> pd.TimedeltaIndex:
    return pd.to_timedelta(np.floor(values), unit="s")


def _empty_rows(table: pd.DataFrame, keys: list[str], timestamp: str) -> pd.DataFrame:
    rows = table[keys].iloc[:0].copy()
    rows[ENTITY_TS] = table[timestamp].iloc[:0]
    rows[ROW_ID] = pd.Series(dtype="int64")
    return rows
