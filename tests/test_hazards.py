"""Given/When/Then tests of the static skew-hazard detectors (nb2feast.hazards)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nb2feast.errors import UserError
from nb2feast.hazards import detect_hazards
from nb2feast.model import CellRef, FeatureCell, Hazard, NotebookCell
from nb2feast.notebook.flags import parse_flags

ON_DEMAND = "scored --on-demand"
BATCH = "spend --entity customer_id"


def check(
    flags: str, body: str, before: tuple[str, ...] = (), after: tuple[str, ...] = ()
) -> tuple[Hazard, ...]:
    """Hazards of a feature cell with `flags` and `body`, placed between the `before` and
    `after` cells."""
    sources = [*before, f"%%feature {flags}\n{body}", *after]
    cells = [NotebookCell(CellRef("nb.ipynb", i, f"id{i}"), s) for i, s in enumerate(sources)]
    feature = FeatureCell(cells[len(before)], parse_flags(flags), body)
    return detect_hazards(feature, cells)


def where(hazards: tuple[Hazard, ...]) -> list[tuple[str, int, int]]:
    return [(h.code, h.line, h.col) for h in hazards]


# cross_row


def test_standardizing_in_an_on_demand_cell_reports_mean_and_std_at_their_columns() -> None:
    # Given an on-demand cell that standardizes with whole-frame statistics
    body = 'df["z"] = (df["x"] - df["x"].mean()) / df["x"].std()'
    # When it is checked
    hazards = check(ON_DEMAND, body)
    # Then both statistics are cross_row errors, on cell line 2, at the method names
    assert where(hazards) == [("NB2F101", 2, body.index("mean")), ("NB2F101", 2, body.index("std"))]
    assert {(h.category, h.severity) for h in hazards} == {("cross_row", "error")}
    assert "freeze with --freeze" in hazards[0].fix and "X_MEAN" in hazards[0].fix
    assert "X_STD" in hazards[1].fix


def test_window_in_an_on_demand_cell_is_reported_once_per_chain() -> None:
    # Given a rolling mean (rolling, then mean: one chain)
    body = 'df["a"] = 1\ndf["r"] = df["amount"].rolling(3).mean()'
    # When it is checked
    hazards = check(ON_DEMAND, body)
    # Then only the rolling is reported, on cell line 3
    assert where(hazards) == [("NB2F102", 3, body.split("\n")[1].index("rolling"))]
    assert "freeze" not in hazards[0].fix


def test_groupby_and_qcut_in_an_on_demand_cell_are_reported() -> None:
    # Given a groupby transform and a quantile binning
    body = 'df["s"] = df.groupby("c")["x"].transform("sum")\ndf["q"] = pd.qcut(df["x"], 4)'
    # When it is checked
    hazards = check(ON_DEMAND, body)
    # Then the groupby (not the transform after it) and the qcut call are reported
    assert where(hazards) == [("NB2F103", 2, 13), ("NB2F104", 3, 10)]


def test_groupby_rolling_in_a_batch_cell_is_clean() -> None:
    # Given a batch cell building features the normal way
    body = (
        'spend = tx.groupby("customer_id")["amount"].rolling("30D").sum().reset_index()\n'
        'spend["rank"] = spend["amount"].rank()'
    )
    # When it is checked
    # Then nothing is reported
    assert check(BATCH, body) == ()


@pytest.mark.parametrize(
    "body",
    [
        'df["m"] = df[["a", "b"]].max(axis=1)',
        'df["m"] = df[["a", "b"]].sum(axis="columns")',
        'df["x"] = df["a"] / (df["b"] + 1)',
        'df["n"] = df["tags"].str.count(",")',
        'df["n"] = df["tags"].apply(lambda t: t.count(","))',
        'df["e"] = np.where(df["a"] > df["b"], df["a"], df["b"])',
        'df["l"] = df["a"].transform(np.log1p)',
        'df["b"] = pd.cut(df["a"], bins=[0, 1, 10])',
        "df = df.assign(r=df.a.clip(0, 1).round(2))",
    ],
)
def test_row_wise_code_in_an_on_demand_cell_is_clean(body: str) -> None:
    # Given an on-demand cell that only combines values of the same row
    # When it is checked
    # Then nothing is reported
    assert check(ON_DEMAND, body) == ()


# nondeterministic


@pytest.mark.parametrize(
    "imports,call",
    [
        ("from datetime import datetime", "datetime.now()"),
        ("import datetime", "datetime.datetime.utcnow()"),
        ("import datetime as dt", "dt.date.today()"),
        ("import pandas as pd", "pd.Timestamp.now()"),
        ("import pandas as pd", 'pd.to_datetime("today")'),
        ("import time", "time.time()"),
    ],
)
def test_wall_clock_reads_are_reported_whatever_the_import_style(imports: str, call: str) -> None:
    # Given a batch cell reading the clock, imported in an earlier cell
    body = f"spend = tx.assign(at={call})"
    # When it is checked
    hazards = check(BATCH, body, before=(imports,))
    # Then the call is reported at its start
    assert where(hazards) == [("NB2F201", 2, body.index(call))]
    assert hazards[0].category == "nondeterministic"


def test_now_of_the_datetime_module_is_not_a_clock_read() -> None:
    # Given `datetime` bound to the module (which has no `now`) and a local `now` column
    # When it is checked
    hazards = check(
        BATCH, 'spend = tx.assign(age=tx["now"] - tx["at"])', before=("import datetime",)
    )
    # Then nothing is reported
    assert hazards == ()


def test_unseeded_randomness_is_reported() -> None:
    # Given draws from numpy's and random's global generators and an unseeded sample
    body = "a = np.random.rand(3)\nb = random.random()\nspend = tx.sample(10)"
    # When it is checked
    hazards = check(BATCH, body, before=("import numpy as np\nimport random",))
    # Then each is reported where the call starts
    assert where(hazards) == [("NB2F202", 2, 4), ("NB2F202", 3, 4), ("NB2F202", 4, 8)]


def test_seeded_randomness_is_clean() -> None:
    # Given seeded generators and a sample with random_state
    body = (
        "rng = np.random.default_rng(7)\n"
        "r = random.Random(7)\n"
        "picked = r.sample([1, 2, 3], 2)\n"
        "np.random.seed(7)\n"
        "noise = np.random.normal(size=3)\n"
        "spend = tx.sample(10, random_state=7).assign(j=rng.normal(size=10))"
    )
    # When it is checked
    # Then nothing is reported
    assert check(BATCH, body, before=("import numpy as np\nimport random",)) == ()


def test_uuid4_is_reported() -> None:
    # Given a random identifier
    hazards = check(BATCH, "spend = tx.assign(rid=str(uuid.uuid4()))", before=("import uuid",))
    # Then it is NB2F203
    assert where(hazards) == [("NB2F203", 2, 26)]


# future_leakage


def test_negative_shift_is_leakage_and_positive_shift_is_not() -> None:
    # Given a look-ahead shift and a look-back shift in a batch cell
    body = 'spend = tx.assign(prev=tx["a"].shift(1))\nspend["nxt"] = spend["a"].shift(-1)'
    # When it is checked
    hazards = check(BATCH, body)
    # Then only shift(-1) is reported, at the method name
    assert where(hazards) == [("NB2F301", 3, body.split("\n")[1].index("shift"))]
    assert (hazards[0].category, hazards[0].severity) == ("future_leakage", "error")


def test_centered_window_backfill_and_interpolate_are_reported() -> None:
    # Given a centered window, a back fill through fillna and an interpolation
    body = (
        'spend = tx.assign(s=tx["a"].rolling(3, center=True).mean())\n'
        'spend["b"] = spend["b"].fillna(method="bfill")\n'
        'spend["c"] = spend["c"].interpolate()'
    )
    lines = body.split("\n")
    # When it is checked
    hazards = check(BATCH, body)
    # Then each is reported with its severity
    assert where(hazards) == [
        ("NB2F302", 2, lines[0].index("rolling")),
        ("NB2F303", 3, lines[1].index("fillna")),
        ("NB2F304", 4, lines[2].index("interpolate")),
    ]
    assert [h.severity for h in hazards] == ["error", "error", "warning"]


def test_trailing_window_forward_fill_and_backward_asof_are_clean() -> None:
    # Given look-back-only operations
    body = (
        'spend = tx.assign(s=tx["a"].rolling(3).mean(), f=tx["b"].ffill())\n'
        'spend = pd.merge_asof(labels, spend, on="event_timestamp", direction="backward")'
    )
    # When it is checked
    # Then nothing is reported
    assert check(BATCH, body) == ()


def test_forward_asof_join_is_reported() -> None:
    body = 'spend = pd.merge_asof(labels, tx, on="t", direction="forward")'
    assert where(check(BATCH, body)) == [("NB2F305", 2, 8)]


# notebook_state


def test_global_redefined_by_a_later_cell_is_a_warning() -> None:
    # Given a threshold defined before the cell and redefined after it
    body = 'spend = tx.assign(big=tx["a"] > LIMIT)'
    # When it is checked
    hazards = check(BATCH, body, before=("LIMIT = 1",), after=("LIMIT = 2\nimport pandas as pd",))
    # Then the first read is reported, naming the later cell
    assert where(hazards) == [("NB2F401", 2, body.index("LIMIT"))]
    assert hazards[0].severity == "warning" and "cell 2" in hazards[0].message


def test_global_defined_only_later_is_an_error_unless_earlier_cells_are_opaque() -> None:
    body = 'spend = tx.assign(big=tx["a"] > LIMIT)'
    # Given LIMIT defined only after the cell
    assert where(check(BATCH, body, before=("tx = 1",), after=("LIMIT = 2",))) == [
        ("NB2F402", 2, 32)
    ]
    # Given an earlier `%run` that may define it
    assert check(BATCH, body, before=("%run setup.py",), after=("LIMIT = 2",)) == ()


def test_mutating_a_global_container_is_reported_but_assigning_input_columns_is_not() -> None:
    # Given globals bound to a list and a dict in another cell
    before = ("SEEN = []\nCONFIG = {}\ndf = load()",)
    body = 'SEEN.append(1)\nCONFIG["k"] = 2\ndf["x"] = df["a"] + 1'
    # When the on-demand cell is checked
    hazards = check(ON_DEMAND, body, before=before)
    # Then the two mutations are errors; the column assignment on the input frame is not reported
    assert where(hazards) == [("NB2F403", 2, 0), ("NB2F403", 3, 0)]
    assert {h.severity for h in hazards} == {"error"}


def test_global_statement_in_a_batch_cell_is_a_warning() -> None:
    body = "def bump():\n    global calls\n    calls += 1\nspend = tx"
    hazards = check(BATCH, body, before=("calls = 0",))
    assert where(hazards) == [("NB2F403", 3, 4)]
    assert hazards[0].severity == "warning"


def test_file_and_network_reads_inside_the_cell_are_reported() -> None:
    # Given reads of a file and of a URL inside an on-demand cell
    body = (
        'rates = pd.read_csv("fx.csv")\nr = requests.get("https://x")\n'
        'with open("f") as fh:\n    pass'
    )
    # When it is checked
    hazards = check(ON_DEMAND, body, before=("import pandas as pd\nimport requests",))
    # Then each is an error (it would run per request)
    assert where(hazards) == [("NB2F404", 2, 8), ("NB2F404", 3, 4), ("NB2F404", 4, 5)]
    assert {h.severity for h in hazards} == {"error"}


def test_reading_a_frame_loaded_in_an_earlier_cell_is_clean() -> None:
    before = ('import pandas as pd\ntx = pd.read_parquet("tx.parquet")\nHIGH = 100.0',)
    assert check(BATCH, 'spend = tx.assign(big=tx["a"] > HIGH)', before=before) == ()


# timezone


def test_naive_literal_compared_with_a_column_is_a_warning() -> None:
    # Given a naive timestamp compared with an event-time column
    body = 'spend = tx[tx["event_timestamp"] >= pd.Timestamp("2024-01-01")]'
    # When it is checked
    hazards = check(BATCH, body)
    # Then the literal is reported
    assert where(hazards) == [("NB2F501", 2, body.index("pd.Timestamp"))]
    assert (hazards[0].category, hazards[0].severity) == ("timezone", "warning")


@pytest.mark.parametrize(
    "literal",
    [
        'pd.Timestamp("2024-01-01", tz="UTC")',
        'pd.Timestamp("2024-01-01T00:00Z")',
        'pd.to_datetime("2024-01-01", utc=True)',
        "datetime(2024, 1, 1, tzinfo=timezone.utc)",
    ],
)
def test_aware_literal_compared_with_a_column_is_clean(literal: str) -> None:
    body = f'spend = tx[tx["event_timestamp"] >= {literal}]'
    assert check(BATCH, body, before=("from datetime import datetime, timezone",)) == ()


def test_between_naive_datetimes_and_dropped_zone_are_reported() -> None:
    body = (
        "spend = tx[tx.ts.between(datetime(2024, 1, 1), datetime(2024, 2, 1))]\n"
        'spend["n"] = spend.ts.dt.tz_localize(None)'
    )
    first, second = body.split("\n")
    hazards = check(BATCH, body, before=("from datetime import datetime",))
    assert where(hazards) == [
        ("NB2F501", 2, first.index("datetime(2024, 1")),
        ("NB2F501", 2, first.index("datetime(2024, 2")),
        ("NB2F502", 3, second.index("tz_localize")),
    ]


# the entry point


def test_hazards_carry_the_view_and_cell_and_are_sorted() -> None:
    # Given a cell with hazards on several lines
    body = 'df["b"] = df["a"].rank()\ndf["c"] = df["a"].shift(-1)'
    # When it is checked
    hazards = check(ON_DEMAND, body, before=("x = 1",))
    # Then they are sorted by (line, col, code) and name the view and the cell
    assert where(hazards) == [("NB2F102", 2, 18), ("NB2F102", 3, 18), ("NB2F301", 3, 18)]
    assert {(h.view, h.cell_index, h.cell_id) for h in hazards} == {("scored", 1, "id1")}


def test_magics_and_shell_lines_do_not_shift_positions() -> None:
    # Given IPython magics and shell lines above a hazard, and a `%` continuing an expression
    body = '%time x = 1\n!ls data\nfiles = !ls\ny = (10\n     % 3)\ndf["r"] = df["a"].rank()'
    # When it is checked
    hazards = check(ON_DEMAND, body)
    # Then the hazard is on its own line
    assert where(hazards) == [("NB2F102", 7, 18)]


def test_a_cell_that_is_not_python_raises_a_positioned_user_error() -> None:
    with pytest.raises(UserError) as caught:
        check(ON_DEMAND, 'df["a"] = 1\ndf["b"] = (')
    assert caught.value.where == CellRef("nb.ipynb", 0, "id0")
    assert caught.value.line == 3


def test_the_example_notebooks_have_no_error_hazards() -> None:
    # Given the example notebooks shipped with the project
    from nb2feast.notebook.read import read_notebook
    from nb2feast.notebook.select import select_feature_cells

    notebooks = sorted((Path(__file__).resolve().parents[1] / "example_notebooks").glob("*.ipynb"))
    if not notebooks:
        pytest.skip("no example notebooks")
    for path in notebooks:
        cells = read_notebook(path)
        # When every feature cell is checked
        errors = [
            h
            for fc in select_feature_cells(cells)
            for h in detect_hazards(fc, cells)
            if h.severity == "error"
        ]
        # Then none has an error
        assert errors == [], f"{path.name}: {errors}"


def test_names_bound_by_magics_in_earlier_cells_count_as_defined() -> None:
    body = "spend = tx.assign(n=len(files))"
    # Given `files = !ls` before the cell and a later rebinding
    hazards = check(BATCH, body, before=("tx = 1\nfiles = !ls data",), after=("files = []",))
    # Then it is a redefinition (warning), not an undefined name (error)
    assert [h.code for h in hazards] == ["NB2F401"]
    # Given a `%%sql tx << ...` cell, whose bindings cannot be seen, before the cell
    # Then a later `tx = ...` is not reported as the only definition
    assert check(BATCH, body, before=("files = 1", "%%sql tx << SELECT 1"), after=("tx = 1",)) == ()


def test_sampling_with_a_generator_from_an_earlier_cell_is_clean() -> None:
    # Given `rng = random.Random(7)` in an earlier cell, used in the feature cell
    body = "picked = rng.sample(sorted(ids), 3)\nspend = tx[tx.customer_id.isin(picked)]"
    # When it is checked
    # Then random.Random.sample (population, k) is not mistaken for an unseeded DataFrame.sample
    assert (
        check(BATCH, body, before=("import random\nrng = random.Random(7)\nids = {1, 2}\ntx = 1",))
        == ()
    )
