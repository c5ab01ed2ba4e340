"""Notebooks nb2feast has not seen, in the styles data scientists write them.

For each: `nb2feast export` exits 0, and the table the generated transform builds
(`build_feature_tables`) equals the frame the notebook's cell produces. The expected
frame is computed by running the notebook's cells as IPython would (in-process, from the
notebook's folder; `%time stmt` runs `stmt`, `!cmd` and other line magics are skipped),
so a wrong slice — a missed preprocessing step, constant or helper — fails the comparison.
No Feast is needed.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import write_notebook

from nb2feast.cli import main
from nb2feast.materialize import build_feature_tables, read_manifest, table_columns

LOAD = 'import pandas as pd\nimport numpy as np\ntx = pd.read_parquet("tx.parquet")'


@dataclass(frozen=True)
class Case:
    id: str
    cells: tuple[str, ...]
    views: tuple[str, ...]  # batch views whose tables are compared
    bug: str | None = None  # a known nb2feast bug: the case is xfail(strict=True)
    extra: dict[str, str] = field(default_factory=dict)  # more files written beside the notebook


CASES = [
    Case(
        "constants_and_helpers_from_earlier_cells",
        (
            LOAD,
            'THRESHOLD = 15.0\nRATE = {"food": 0.1, "travel": 0.2, "tech": 0.05}',
            "def fee(amount, category):\n    return amount * category.map(RATE)",
            (
                "%%feature fees --entity customer_id\n"
                "fees = tx.assign(fee=lambda d: fee(d['amount'], d['category']), big=lambda d: d['amount'] > THRESHOLD)"
                "[['customer_id', 'event_timestamp', 'fee', 'big']]"
            ),
        ),
        ("fees",),
    ),
    Case(
        "from_import_as_in_the_feature_cell",
        (
            LOAD,
            "from numpy import where as np_where\nfrom math import log1p as log_one_plus",
            (
                "%%feature flags --entity customer_id\n"
                "flags = tx[['customer_id', 'event_timestamp']].assign(\n"
                "    positive=np_where(tx['amount'] > 0, 1, 0),\n"
                "    log_amount=[log_one_plus(abs(a)) for a in tx['amount']],\n"
                ")"
            ),
        ),
        ("flags",),
    ),
    Case(
        "from_import_as_loader",
        (
            "import pandas as pd\nfrom pandas import read_parquet as load_table",
            'tx = load_table("tx.parquet")',
            (
                "%%feature doubled --entity customer_id\n"
                "doubled = tx.assign(amount_x2=tx['amount'] * 2)[['customer_id', 'event_timestamp', 'amount_x2']]"
            ),
        ),
        ("doubled",),
    ),
    Case(
        "preprocessing_cell_between_load_and_feature",
        (
            LOAD,
            'tx["amount_eur"] = tx["amount"] * 0.9\ntx = tx[tx.amount > 0]\ntx["category"] = tx["category"].str.upper()',
            (
                "%%feature eur --entity customer_id\n"
                "eur = tx[['customer_id', 'event_timestamp', 'amount_eur', 'category']]"
            ),
        ),
        ("eur",),
    ),
    Case(
        "comprehension_in_the_feature_cell",
        (
            LOAD,
            'WINDOWS = ["1D", "3D"]',
            (
                "%%feature windows --entity customer_id\n"
                "ordered = tx.sort_values(['customer_id', 'event_timestamp']).set_index('event_timestamp')\n"
                "sums = [ordered.groupby('customer_id')['amount'].rolling(w).sum().rename(f'sum_{w.lower()}') for w in WINDOWS]\n"
                "windows = pd.concat(sums, axis=1).reset_index()\n"
                "windows = windows.assign(**{f'{c}_pos': windows[c] > 0 for c in ['sum_1d', 'sum_3d']})"
            ),
        ),
        ("windows",),
    ),
    Case(
        "for_loop_in_the_feature_cell",
        (
            LOAD,
            'WINDOWS = ["1D", "3D"]',
            (
                "%%feature windows --entity customer_id\n"
                "ordered = tx.sort_values(['customer_id', 'event_timestamp']).set_index('event_timestamp')\n"
                "parts = []\n"
                "for w in WINDOWS:\n"
                "    parts.append(ordered.groupby('customer_id')['amount'].rolling(w).sum().rename(f'sum_{w.lower()}'))\n"
                "windows = pd.concat(parts, axis=1).reset_index()"
            ),
        ),
        ("windows",),
    ),
    Case(
        "read_csv_with_parse_dates",
        (
            'import pandas as pd\nevents = pd.read_csv("events.csv", parse_dates=["event_timestamp"])',
            (
                "%%feature clicks --entity user_id\n"
                "clicks = events.assign(click_x10=lambda d: d['clicks'] * 10, page=lambda d: d['page'].str.strip())"
            ),
        ),
        ("clicks",),
        extra={
            "events.csv": "user_id,event_timestamp,clicks,page\n"
            "1,2024-01-01T10:00:00Z,3, home\n2,2024-01-01T11:00:00Z,5,cart \n1,2024-01-02T09:30:00Z,1,home\n"
        },
    ),
    Case(
        "helper_calling_another_helper",
        (
            LOAD,
            (
                "def clean(s):\n    return s.str.strip().str.lower()\n\n"
                "def category_code(s):\n    return clean(s).map({'food': 0, 'travel': 1, 'tech': 2}).fillna(-1).astype('int64')"
            ),
            (
                "%%feature codes --entity customer_id\n"
                "codes = tx.assign(code=category_code(tx['category']))[['customer_id', 'event_timestamp', 'code']]"
            ),
        ),
        ("codes",),
    ),
    Case(
        "ipython_lines_in_non_feature_cells",
        (
            LOAD,
            "!ls\n%time tx.describe()\n%matplotlib inline\ntx['amount'] = tx['amount'].round(1)",
            "%%feature rounded --entity customer_id\nrounded = tx[['customer_id', 'event_timestamp', 'amount']]",
        ),
        ("rounded",),
    ),
    Case(
        "time_magic_on_the_loading_line",
        (
            "import pandas as pd",
            '%time tx = pd.read_parquet("tx.parquet")',
            "%%feature timed --entity customer_id\ntimed = tx[['customer_id', 'event_timestamp', 'amount']]",
        ),
        ("timed",),
    ),
    Case(
        "time_cell_magic_on_the_loading_cell",
        (
            "import pandas as pd",
            '%%time\ntx = pd.read_parquet("tx.parquet")',
            "%%feature timed --entity customer_id\ntimed = tx[['customer_id', 'event_timestamp', 'amount']]",
        ),
        ("timed",),
    ),
    Case(
        "batch_view_built_from_another_batch_view",
        (
            LOAD,
            (
                "%%feature daily --entity customer_id\n"
                "daily = (\n"
                "    tx.assign(event_timestamp=lambda d: d['event_timestamp'].dt.floor('D') + pd.Timedelta(days=1))\n"
                "    .groupby(['customer_id', 'event_timestamp'], as_index=False)['amount'].sum()\n"
                "    .rename(columns={'amount': 'daily_amount'})\n"
                ")"
            ),
            (
                "%%feature daily_trend --entity customer_id\n"
                "daily_trend = daily.sort_values(['customer_id', 'event_timestamp']).assign(\n"
                "    prev_daily=lambda d: d.groupby('customer_id')['daily_amount'].shift(1),\n"
                "    up=lambda d: d['daily_amount'] > d['prev_daily'],\n"
                ")[['customer_id', 'event_timestamp', 'prev_daily', 'up']]"
            ),
        ),
        ("daily", "daily_trend"),
    ),
    Case(
        "datetime_and_timedelta_constants",
        (
            LOAD,
            (
                "from datetime import datetime, timedelta, timezone\n"
                "START = datetime(2024, 1, 2, tzinfo=timezone.utc)\nGRACE = timedelta(hours=12)"
            ),
            (
                "%%feature recent --entity customer_id\n"
                "recent = tx.assign(\n"
                "    after_start=lambda d: d['event_timestamp'] >= START,\n"
                "    hours_since_start=lambda d: (d['event_timestamp'] - START) / timedelta(hours=1),\n"
                "    event_timestamp=lambda d: d['event_timestamp'] + GRACE,\n"
                ")[['customer_id', 'event_timestamp', 'after_start', 'hours_since_start']]"
            ),
        ),
        ("recent",),
    ),
    Case(
        "query_with_an_at_constant",
        (
            LOAD,
            "MIN_AMOUNT = 10.0",
            (
                "%%feature large --entity customer_id\n"
                "large = tx.query('amount > @MIN_AMOUNT')[['customer_id', 'event_timestamp', 'amount']]"
            ),
        ),
        ("large",),
    ),
    Case(
        "on_demand_cell_with_a_local_variable",
        (
            LOAD,
            "%%feature base --entity customer_id\nbase = tx[['customer_id', 'event_timestamp', 'amount']]",
            "training = base.assign(bonus=1.5)",
            (
                "%%feature bonus --on-demand --request bonus:float64\n"
                "boosted = training['amount'] * training['bonus']\ntraining['boosted'] = boosted"
            ),
        ),
        ("base",),
    ),
    Case(
        "on_demand_cell_binding_an_empty_frame_then_columns",
        (
            LOAD,
            "%%feature base --entity customer_id\nbase = tx[['customer_id', 'event_timestamp', 'amount']]",
            "training = base.assign(bonus=1.5)",
            (
                "%%feature bonus --on-demand --request bonus:float64\n"
                "bonus = pd.DataFrame()\nbonus['boosted'] = training['amount'] * training['bonus']"
            ),
        ),
        ("base",),
    ),
    Case(
        "helper_module_beside_the_notebook",
        (
            LOAD,
            "from featlib import spend_flags",
            "%%feature flagged --entity customer_id\nflagged = spend_flags(tx)[['customer_id', 'event_timestamp', 'big']]",
        ),
        ("flagged",),
        extra={"featlib.py": "def spend_flags(df):\n    return df.assign(big=df['amount'] > 20)\n"},
    ),
    Case(
        "category_and_nullable_dtypes",
        (
            LOAD,
            (
                "%%feature kinds --entity customer_id\n"
                "kinds = tx[['customer_id', 'event_timestamp']].copy()\n"
                "kinds['band'] = pd.cut(tx['amount'], [-1000, 10, 30, 1000], labels=['low', 'mid', 'high'])\n"
                "kinds['n'] = (tx['amount'] > 0).astype('Int64')\n"
                "kinds['flag'] = (tx['amount'] > 20).astype('boolean')\n"
                "kinds['cat'] = tx['category'].astype('string')"
            ),
        ),
        ("kinds",),
    ),
]


def transactions() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = 60
    return pd.DataFrame(
        {
            "customer_id": rng.integers(1, 6, size=rows).astype("int64"),
            "event_timestamp": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(np.sort(rng.choice(5 * 86_400, size=rows, replace=False)), unit="s"),
            "amount": rng.normal(20, 15, size=rows).round(2),
            "category": rng.choice([" food", "Travel ", "tech", "toys"], size=rows),
        }
    )


def run_as_ipython(folder: Path, cells: tuple[str, ...]) -> dict:
    """The notebook's namespace after running its cells as IPython would, from its folder."""
    namespace: dict = {}
    with contextlib.chdir(folder), contextlib.redirect_stdout(None):
        for source in cells:
            lines = source.split("\n")
            if lines[0].startswith("%%"):  # %%feature and %%time run their body
                lines = lines[1:]
            code = []
            for line in lines:
                timed = re.match(r"(\s*)%time\s+(.*)", line)
                if timed:
                    code.append(timed[1] + timed[2])
                elif line.lstrip().startswith(("%", "!")):
                    code.append(line[: len(line) - len(line.lstrip())] + "pass")
                else:
                    code.append(line)
            exec(compile("\n".join(code), "<cell>", "exec"), namespace)  # noqa: S102
    return namespace


def params():
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", list(params()))
def test_generated_transform_builds_what_the_cell_computes(case: Case, tmp_path: Path) -> None:
    # Given a notebook in a folder with its data
    transactions().to_parquet(tmp_path / "tx.parquet", index=False)
    for name, text in case.extra.items():
        (tmp_path / name).write_text(text)
    notebook = write_notebook(tmp_path / "nb.ipynb", "%load_ext nb2feast", *case.cells)
    repo = tmp_path / "feature_repo"
    # When it is exported and its tables are built by the generated transforms
    assert main(["export", str(notebook), "--out", str(repo)]) == 0
    tables = build_feature_tables(repo)
    views = {v["name"]: v for v in read_manifest(repo)["views"]}
    # Then each table equals the frame the notebook's cell binds, row for row
    namespace = run_as_ipython(tmp_path, case.cells)
    for name in case.views:
        columns = table_columns(views[name])
        expected = namespace[name][columns].reset_index(drop=True)
        got = pd.read_parquet(tables[name])
        assert list(got.columns) == columns
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
