"""Time travel (NB2F310): a batch view recomputed on its inputs cut at T keeps its rows <= T.

Unit tests run the pure `time_travel_hazards` on in-memory transforms; the feast test
goes through export, apply, build and `nb2feast verify` on a tiny notebook.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2feast.flags import parse_flags
from nb2feast.model import Hazard
from nb2feast.timetravel import CODE, cut_inputs, cut_times, input_clock, time_travel_hazards

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def transactions(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Purchases of 5 customers at random times over 20 days."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": rng.integers(1, 6, n).astype("int64"),
            "event_timestamp": T0 + pd.to_timedelta(rng.integers(0, 20 * 24 * 60, n), unit="min"),
            "amount": rng.gamma(2, 20, n).round(2),
        }
    )
    return frame.drop_duplicates(["customer_id", "event_timestamp"], ignore_index=True)


def view(name: str, *features: str, created: str | None = None) -> dict:
    """A manifest entry for a batch view keyed by customer_id at event_timestamp."""
    return {
        "name": name,
        "kind": "batch",
        "cell_index": 3,
        "cell_id": f"{name}-cell",
        "entities": ["customer_id"],
        "timestamp": "event_timestamp",
        "created": created,
        "features": [{"name": f} for f in features],
    }


def rolling_7d(transactions: pd.DataFrame) -> pd.DataFrame:
    rolled = (
        transactions.sort_values(["customer_id", "event_timestamp"])
        .set_index("event_timestamp")
        .groupby("customer_id")["amount"]
        .rolling("7D")
        .sum()
        .reset_index()
    )
    return rolled.rename(columns={"amount": "amount_7d"})


def daily_at_start(transactions: pd.DataFrame) -> pd.DataFrame:
    daily = (
        transactions.assign(day=transactions["event_timestamp"].dt.floor("D"))
        .groupby(["customer_id", "day"], as_index=False)["amount"]
        .sum()
    )
    return daily.rename(columns={"day": "event_timestamp", "amount": "amount_1d"})


def daily_at_end(transactions: pd.DataFrame) -> pd.DataFrame:
    daily = daily_at_start(transactions)
    return daily.assign(event_timestamp=daily["event_timestamp"] + pd.Timedelta(days=1))


def whole_history_mean(transactions: pd.DataFrame) -> pd.DataFrame:
    return transactions.assign(
        amount_mean=transactions.groupby("customer_id")["amount"].transform("mean"),
        amount_double=transactions["amount"] * 2,
    )[["customer_id", "event_timestamp", "amount_mean", "amount_double"]]


def test_a_trailing_rolling_window_is_clean() -> None:
    # Given a 7-day rolling sum stamped at each purchase
    inputs = {"transactions": transactions()}
    # When it is recomputed on its input cut at three times
    hazards = time_travel_hazards(view("spend_7d", "amount_7d"), rolling_7d, inputs)
    # Then no row at or before a cut changes
    assert hazards == ()


def test_a_daily_sum_stamped_at_the_start_of_its_day_leaks() -> None:
    # Given a daily sum whose event time is `dt.floor("D")`: the day's start
    inputs = {"transactions": transactions()}
    # When it is recomputed on data cut at a day's start
    (hazard,) = time_travel_hazards(view("spend_1d", "amount_1d"), daily_at_start, inputs)
    # Then the feature is reported as future leakage, with an example row and the change
    assert (hazard.code, hazard.category, hazard.severity) == (CODE, "future_leakage", "error")
    assert (hazard.cell_index, hazard.cell_id, hazard.line, hazard.view) == (
        3,
        "spend_1d-cell",
        1,
        "spend_1d",
    )
    assert "'spend_1d'" in hazard.message and "'amount_1d'" in hazard.message
    assert "customer_id=" in hazard.message and "event_timestamp=2024-01-" in hazard.message
    assert "with all data" in hazard.message and "with data up to the cut" in hazard.message
    assert "largest change" in hazard.message
    assert "end of its window" in hazard.fix


def test_the_same_daily_sum_stamped_at_the_end_of_its_day_is_clean() -> None:
    inputs = {"transactions": transactions()}
    assert time_travel_hazards(view("spend_1d", "amount_1d"), daily_at_end, inputs) == ()


def test_a_whole_history_mean_joined_back_leaks_and_the_row_wise_feature_does_not() -> None:
    # Given a view with an entity's all-time mean on every row, and a row-wise feature
    inputs = {"transactions": transactions()}
    # When it travels in time
    hazards = time_travel_hazards(
        view("spend", "amount_mean", "amount_double"), whole_history_mean, inputs
    )
    # Then only the mean is reported
    assert [h.message.split("feature ")[1].split(" ")[0] for h in hazards] == ["'amount_mean'"]


def test_a_dimension_table_without_timestamps_is_passed_whole() -> None:
    # Given a rolling view joined with a segment table that has no time column
    segments = pd.DataFrame(
        {"customer_id": np.arange(1, 6, dtype="int64"), "segment": list("abcab")}
    )

    def with_segment(transactions: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
        return rolling_7d(transactions).merge(segments, on="customer_id", how="left")

    inputs = {"transactions": transactions(), "segments": segments}
    # When it travels in time
    hazards = time_travel_hazards(view("spend_7d", "amount_7d", "segment"), with_segment, inputs)
    # Then nothing crashes and nothing is reported; the dimension table was not cut
    assert hazards == ()
    cut = cut_times(with_segment(**inputs)["event_timestamp"])[0]
    assert (
        cut_inputs(inputs, cut, view("x"), pd.Series(dtype="datetime64[ns, UTC]"))["segments"]
        is segments
    )


def test_a_row_that_vanishes_from_the_past_when_later_data_arrives_is_not_a_leak() -> None:
    # Given a view that keeps each customer's latest purchase: at a cut T a customer whose
    # latest purchase is after T has a row at an earlier purchase, which all the data lacks
    def latest(transactions: pd.DataFrame) -> pd.DataFrame:
        return transactions.sort_values("event_timestamp").drop_duplicates(
            "customer_id", keep="last"
        )

    # Then nothing is reported: every row of all the data at or before T is the same at T
    assert (
        time_travel_hazards(view("last_buy", "amount"), latest, {"transactions": transactions()})
        == ()
    )


def test_a_row_that_only_exists_because_of_later_data_is_reported() -> None:
    # Given a view keeping purchases of customers who buy again later (a filter on the future)
    def returning(transactions: pd.DataFrame) -> pd.DataFrame:
        last = transactions.groupby("customer_id")["event_timestamp"].transform("max")
        return transactions[transactions["event_timestamp"] < last]

    (hazard,) = time_travel_hazards(
        view("returning", "amount"), returning, {"transactions": transactions()}
    )
    # Then the example row is present with all data and missing with data up to the cut
    assert "(no row) with data up to the cut" in hazard.message


def test_created_time_also_cuts_inputs() -> None:
    # Given rows whose correction (created) arrives after the event time
    frame = transactions(20).assign(created=lambda d: d["event_timestamp"] + pd.Timedelta(days=2))
    cut = frame["event_timestamp"].sort_values().iloc[10]
    # When inputs are cut for a view with --created
    cut_frame = cut_inputs(
        {"tx": frame}, cut, view("v", created="created"), frame["event_timestamp"]
    )["tx"]
    # Then only rows both stamped and created by the cut remain
    assert (cut_frame["created"] <= cut).all() and len(cut_frame) < 11


def test_input_clock_prefers_the_view_timestamp_then_a_single_datetime_then_matching_values() -> (
    None
):
    stamps = pd.Series(pd.to_datetime(["2024-01-02", "2024-01-03"], utc=True))
    two = pd.DataFrame(
        {"signup": pd.to_datetime(["2020-01-01"] * 2, utc=True), "seen": stamps.to_numpy()}
    )
    assert (
        input_clock(pd.DataFrame({"event_timestamp": stamps}), "event_timestamp", None, stamps)
        == "event_timestamp"
    )
    assert input_clock(pd.DataFrame({"seen": stamps}), "event_timestamp", None, stamps) == "seen"
    assert input_clock(two, "event_timestamp", None, stamps) == "seen"
    assert input_clock(pd.DataFrame({"x": [1, 2]}), "event_timestamp", None, stamps) is None


def test_naive_inputs_are_read_as_utc() -> None:
    # Given naive input times and the same transform
    naive = transactions().assign(
        event_timestamp=lambda d: d["event_timestamp"].dt.tz_localize(None)
    )
    # Then the leak is still found and the clean view is still clean
    assert (
        len(time_travel_hazards(view("d", "amount_1d"), daily_at_start, {"transactions": naive}))
        == 1
    )
    assert time_travel_hazards(view("r", "amount_7d"), rolling_7d, {"transactions": naive}) == ()


# end to end ---------------------------------------------------------------------------

LOAD = 'tx = pd.read_parquet("tx.parquet")'

LEAKY = """%%feature spend_1d --entity customer_id --timestamp event_timestamp --ttl 2d
spend_1d = (
    tx.assign(day=tx["event_timestamp"].dt.floor("D"))
    .groupby(["customer_id", "day"], as_index=False)["amount"].sum()
    .rename(columns={"day": "event_timestamp", "amount": "amount_1d"})
)"""

FIXED = LEAKY.replace('.dt.floor("D")', '.dt.floor("D") + pd.Timedelta(days=1)')


@pytest.mark.feast
@pytest.mark.parametrize("cell,leaks", [(LEAKY, True), (FIXED, False)], ids=["leaky", "fixed"])
def test_verify_reports_time_travel_and_exits_1_only_when_the_view_leaks(
    tmp_path: Path, cell: str, leaks: bool, capsys: pytest.CaptureFixture
) -> None:
    from helpers import write_notebook

    from nb2feast.cli import main
    from nb2feast.materialize import build_feature_tables

    # Given a notebook with a daily sum view, exported, applied and its table built
    notebook = write_notebook(
        tmp_path / "spend.ipynb", "%load_ext nb2feast\nimport pandas as pd", LOAD, cell
    )
    transactions(300).to_parquet(tmp_path / "tx.parquet")
    repo = tmp_path / "repo"
    assert main(["export", str(notebook), "--out", str(repo), "--format", "json"]) == 0
    subprocess.run(
        [sys.executable, "-m", "feast.cli.cli", "-c", str(repo), "apply"],
        check=True,
        capture_output=True,
    )
    build_feature_tables(repo)
    capsys.readouterr()
    # When it is verified
    code = main(
        ["verify", str(notebook), "--repo", str(repo), "--format", "json", "--sample", "200"]
    )
    report = json.loads(capsys.readouterr().out)
    travel = [h for h in report["hazards"] if h["code"] == CODE]
    # Then a leaking view exits 1 with NB2F310 naming the view and feature; the fixed one is clean
    assert report["timings"]["time_travel"] > 0
    if leaks:
        assert code == 1
        (hazard,) = travel
        assert hazard["view"] == "spend_1d" and "'amount_1d'" in hazard["message"]
        assert hazard["cell_index"] == 2 and hazard["severity"] == "error"
    else:
        assert travel == [] and code == 0, report


def test_a_late_arriving_row_is_not_leakage() -> None:
    """Given a view with --created whose row for day 1 arrives on day 3, a cut on day 2
    does not know that row yet: its absence is not a change (no NB2F310)."""
    frame = pd.DataFrame(
        {
            "k": [1, 1, 1],
            "ts": pd.to_datetime(
                ["2024-01-01 10:00", "2024-01-02 10:00", "2024-01-03 10:00"], utc=True
            ),
            "created": pd.to_datetime(
                ["2024-01-03 12:00", "2024-01-02 10:05", "2024-01-03 10:05"], utc=True
            ),
            "x": [1.0, 2.0, 3.0],
        }
    )
    view = {
        "name": "late",
        "entities": ["k"],
        "timestamp": "ts",
        "created": "created",
        "features": [{"name": "x"}],
        "cell_index": 1,
        "cell_id": "c1",
    }
    hazards = time_travel_hazards(view, lambda events: events.copy(), {"events": frame})
    assert hazards == ()


# the catalogue's dynamic examples ------------------------------------------------------

CATALOGUE = Path(__file__).resolve().parents[1] / "docs" / "hazards.md"
TRAVEL = re.compile(
    r"^```python (travel|travel-clean) (NB2F\d{3})\n(.*?)^```$", re.MULTILINE | re.DOTALL
)
TRAVEL_EXAMPLES = TRAVEL.findall(CATALOGUE.read_text(encoding="utf-8"))


def run_travel_example(block: str) -> tuple[tuple[Hazard, ...], set[str] | None]:
    """The block as a notebook: its plain cells make the frames, its %%feature cell is the
    view (run on the frames it names); the hazards and the `# leaks:` features, if listed."""
    sources = [s.strip("\n") for s in re.split(r"^# %%\n", block, flags=re.MULTILINE) if s]
    (feature,) = [s for s in sources if s.startswith("%%feature")]
    namespace: dict = {"pd": pd, "np": np}
    for source in sources:
        if source is not feature:
            exec(source, namespace)  # the catalogue's own example code
    magic, _, body = feature.partition("\n")
    flags = parse_flags(magic.removeprefix("%%feature"))
    named = set(re.findall(r"\w+", body))
    frames = {k: v for k, v in namespace.items() if isinstance(v, pd.DataFrame) and k in named}

    def transform(**inputs: pd.DataFrame) -> pd.DataFrame:
        scope = {**namespace, **inputs}
        exec(body, scope)
        return scope[flags.name]

    keys = {*flags.entities, flags.timestamp, flags.created}
    entry = {
        "name": flags.name,
        "kind": "batch",
        "cell_index": 1,
        "cell_id": "example",
        "entities": list(flags.entities),
        "timestamp": flags.timestamp,
        "created": flags.created,
        "features": [{"name": c} for c in transform(**frames).columns if c not in keys],
    }
    leaks = re.search(r"^# leaks: (.*)$", body, re.MULTILINE)
    listed = {n.strip() for n in leaks.group(1).split(",")} if leaks else None
    return time_travel_hazards(entry, transform, frames, source=body), listed


@pytest.mark.parametrize(
    "kind,code,block",
    TRAVEL_EXAMPLES,
    ids=[f"{kind}-{code}-{i}" for i, (kind, code, _) in enumerate(TRAVEL_EXAMPLES)],
)
def test_catalogue_time_travel_example(kind: str, code: str, block: str) -> None:
    # Given an example notebook of the catalogue's dynamic checks
    # When its view travels in time
    hazards, leaks = run_travel_example(block)
    codes = [h.code for h in hazards]
    if kind == "travel-clean":
        # Then a near miss does not report the code
        assert code not in codes, [h.message for h in hazards]
        return
    # Then a positive example reports it, with a message and a fix
    assert code in codes, [h.message for h in hazards]
    assert all(h.message and h.fix for h in hazards)
    if leaks is not None:
        named = {
            h.message.split("feature ")[1].split(" ")[0].strip("'")
            for h in hazards
            if h.code == CODE
        }
        assert named == leaks, [h.message for h in hazards]


def test_the_catalogue_has_a_positive_and_a_near_miss_for_every_dynamic_code() -> None:
    positive = {code for kind, code, _ in TRAVEL_EXAMPLES if kind == "travel"}
    clean = {code for kind, code, _ in TRAVEL_EXAMPLES if kind == "travel-clean"}
    assert positive == clean == {"NB2F210", "NB2F310", "NB2F311", "NB2F312", "NB2F610", "NB2F611"}


# the classes of issue 10, one by one -------------------------------------------------


def test_a_cut_that_raises_is_reported_with_its_exception_never_skipped() -> None:
    # Given a view that needs a category the early data does not have yet
    def needs_all_customers(transactions: pd.DataFrame) -> pd.DataFrame:
        wide = transactions.pivot_table(
            index="event_timestamp", columns="customer_id", values="amount", aggfunc="sum"
        )
        share = wide[5] / wide.sum(axis=1)  # KeyError while customer 5 has not bought yet
        return transactions.assign(share=share.reindex(transactions["event_timestamp"]).values)

    frame = transactions()
    frame.loc[frame["customer_id"] == 5, "event_timestamp"] += pd.Timedelta(days=30)
    # When it travels in time
    hazards = time_travel_hazards(
        view("share", "share"), needs_all_customers, {"transactions": frame}
    )
    # Then the failing cuts are one error naming the exception's line
    (failed,) = [h for h in hazards if h.code == "NB2F311"]
    assert failed.severity == "error" and "KeyError: 5" in failed.message
    assert "does not compute on less data" in failed.message


def test_check_repo_says_what_it_could_not_check(tmp_path: Path) -> None:
    # Given a repository whose transforms do not import
    (tmp_path / "transforms").mkdir()
    (tmp_path / "transforms" / "__init__.py").write_text("from . import v\n")
    (tmp_path / "transforms" / "v.py").write_text("raise ImportError('no module named x')\n")
    from nb2feast.timetravel import check_repo

    # When time travel runs on it
    (hazard,) = check_repo(tmp_path, [view("v", "f")])
    # Then the view gets a visible warning, not a silent skip
    assert (hazard.code, hazard.severity, hazard.view) == ("NB2F312", "warning", "v")
    assert "do not import" in hazard.message


def test_the_timestamp_is_traced_through_rename_assign_and_named_aggregations() -> None:
    from nb2feast.hazards._clock import trace_clock

    columns = {"df": ["booked_on", "status_date", "k"], "other": ["seen_at"]}
    cell = """
booking_date = pd.to_datetime(df["booked_on"])
out = df.assign(event_timestamp=booking_date)
"""
    assert trace_clock(cell, "event_timestamp", columns).columns == {"booked_on"}
    cell = 'out = other.groupby("k").agg(last=("seen_at", "max")).rename(columns={"last": "ts"})'
    assert trace_clock(cell, "ts", columns).columns == {"seen_at"}
    untraced = trace_clock('out = df.assign(ts=pd.Timestamp("2024-01-01"))', "ts", columns)
    assert not untraced.ok and "no assignment" in untraced.reason


def test_an_untraceable_timestamp_is_never_replaced_by_another_datetime_column() -> None:
    # Given an input whose only datetime column is a later status date, and a view whose
    # timestamp is a constant the cell makes (nothing to trace)
    frame = (
        transactions()
        .assign(status_date=lambda d: d["event_timestamp"] + pd.Timedelta(days=40))
        .drop(columns="event_timestamp")
    )

    def constant_time(bookings: pd.DataFrame) -> pd.DataFrame:
        return bookings.assign(event_timestamp=T0 + pd.to_timedelta(bookings.index, unit="h"))

    source = 'out = bookings.assign(event_timestamp=T0 + pd.to_timedelta(bookings.index, unit="h"))'
    # When it travels in time
    hazards = time_travel_hazards(
        view("b", "amount"), constant_time, {"bookings": frame}, source=source
    )
    # Then it says it could not check (warning) and reports no leak
    assert [(h.code, h.severity) for h in hazards] == [("NB2F312", "warning")]
    assert "could not trace the timestamp" in hazards[0].message


def test_noise_is_not_leakage() -> None:
    # Given a whole-history mean plus unseeded noise on every row
    def noisy_mean(transactions: pd.DataFrame) -> pd.DataFrame:
        out = whole_history_mean(transactions)
        return out.assign(amount_double=out["amount_double"] + np.random.normal(size=len(out)))

    hazards = time_travel_hazards(
        view("spend", "amount_mean", "amount_double"), noisy_mean, {"transactions": transactions()}
    )
    # Then the noise is NB2F210 (error) and only the real leak is NB2F310
    by_code = {h.code: h for h in hazards}
    assert (
        by_code["NB2F210"].severity == "error" and "'amount_double'" in by_code["NB2F210"].message
    )
    assert [h.message.split("feature ")[1].split(" ")[0] for h in hazards if h.code == CODE] == [
        "'amount_mean'"
    ]


def test_a_timestamp_the_cell_remakes_from_another_column_is_cut_by_that_column() -> None:
    from nb2feast.hazards._clock import trace_clock

    # Given an input with an event_timestamp, and a cell that stamps rows by arrival instead
    columns = {"orders": ["event_timestamp", "created", "amount"]}
    cell = (
        'out = orders.drop(columns="event_timestamp")'
        '.rename(columns={"created": "event_timestamp"})'
    )
    # Then the clock is `created`; a conversion of the column itself stays the input's column
    assert trace_clock(cell, "event_timestamp", columns).columns == {"created"}
    cell = 'orders["event_timestamp"] = pd.to_datetime(orders["event_timestamp"], utc=True)'
    assert trace_clock(cell, "event_timestamp", columns).columns == {"event_timestamp"}
