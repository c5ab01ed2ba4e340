"""Real-code shapes (issue 8): each works through export, or is refused with exit 2, a
position and a fix."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import TX_SOURCE, write_notebook

from nb2feast.cli import main

LOAD = 'import pandas as pd\ntx = pd.read_parquet("tx.parquet")'
SPEND = (
    "%%feature spend --entity customer_id\n"
    "spend = tx.assign(avg_ticket_7d=tx['amount'] * 2)[['customer_id', "
    "'event_timestamp', 'avg_ticket_7d']]"
)
TRAINING = "training = spend.copy()\ntraining['cart_amount'] = 3.0"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    exec(TX_SOURCE, {})
    return tmp_path


def export(notebook: Path, *extra: str) -> int:
    return main(["export", str(notebook), "--out", str(notebook.parent / "repo"), *extra])


def manifest_views(folder: Path) -> dict[str, dict]:
    views = json.loads((folder / "repo" / "nb2feast.json").read_text())["views"]
    return {v["name"]: v for v in views}


@pytest.mark.parametrize(
    "body,features",
    [
        (
            'df = training.copy()\ndf["cart_to_avg"] = df["cart_amount"] / '
            '(df["avg_ticket_7d"].fillna(0.0) + 1.0)',
            ["cart_to_avg"],
        ),
        ('out = pd.DataFrame()\nout["a"] = training["avg_ticket_7d"] + 1\nv = out', ["a"]),
        (
            "y = training.assign(b=lambda d: d['avg_ticket_7d'] * 2).assign(c=lambda d: d['b'] "
            "+ d['cart_amount'])",
            ["b", "c"],
        ),
    ],
)
def test_on_demand_cell_on_a_copy_or_a_new_frame_exports_its_new_columns(
    folder: Path, body: str, features
):
    # Given an on-demand cell that puts its features in a frame other than its input
    notebook = write_notebook(
        folder / "nb.ipynb",
        LOAD,
        SPEND,
        TRAINING,
        "%%feature v --on-demand --request cart_amount:float64\n" + body,
    )
    # When it is exported
    assert export(notebook) == 0
    # Then its features are the new columns of that frame, in both generated modes
    view = manifest_views(folder)["v"]
    assert [f["name"] for f in view["features"]] == features
    assert view["input_frame"] == "training"
    definitions = (folder / "repo" / "definitions.py").read_text()
    assert "def v_pandas(training: pd.DataFrame)" in definitions


@pytest.mark.parametrize(
    "prep,message,fix",
    [
        (
            "tx['customer_id'] = tx['customer_id'].astype('float64')",
            "entity key 'customer_id' of 'spend' has dtype float64 (it holds integers)",
            """df['customer_id'] = df['customer_id'].astype("int64")""",
        ),
        (
            "tx['event_timestamp'] = tx['event_timestamp'].astype('int64') // 10**6",
            "timestamp column 'event_timestamp' of 'spend' has dtype int64, not datetime; its "
            "values are epoch ms",
            """pd.to_datetime(df['event_timestamp'], unit="ms", utc=True)""",
        ),
        (
            "tx['event_timestamp'] = tx['event_timestamp'].astype('int64') // 10**9",
            "its values are epoch s",
            'unit="s"',
        ),
    ],
)
def test_keys_and_timestamps_feast_cannot_store_are_refused_with_the_fix(
    folder: Path, capsys, prep: str, message: str, fix: str
):
    # Given a float key holding integers (after dropna), or an int epoch timestamp
    notebook = write_notebook(folder / "nb.ipynb", LOAD + "\n" + prep, SPEND)
    capsys.readouterr()
    # When it is exported, Then exit 2 names the column, the cell and line, and the right fix
    assert export(notebook) == 2
    err = capsys.readouterr().err
    assert message in err and fix in err
    assert "nb.ipynb: cell 1 (id c1), line" in err


def test_request_field_named_like_a_source_feature_is_refused_naming_both_places(
    folder: Path, capsys
):
    # Given (as Feast's credit tutorial does) a request field named like a feature of a source view
    notebook = write_notebook(
        folder / "nb.ipynb",
        LOAD,
        SPEND,
        "training = spend.copy()",
        "%%feature v --on-demand --request avg_ticket_7d:float64\n"
        "training['x'] = training['avg_ticket_7d'] * 2",
    )
    capsys.readouterr()
    # When it is exported, Then exit 2 names the flag's cell and line and the feature's view
    # and cell
    assert export(notebook) == 2
    err = capsys.readouterr().err
    assert (
        "nb.ipynb: cell 3 (id c3), line 1: --request avg_ticket_7d has the name of a "
        "feature of 'spend'" in err
    )
    assert "cell 1 (id c1)" in err and "rename the request field" in err


def test_an_exception_in_user_code_during_export_names_its_cell_and_line(folder: Path, capsys):
    # Given a preprocessing cell whose third line fails on the data (types must be computed)
    notebook = write_notebook(
        folder / "nb.ipynb",
        LOAD,
        "x = 1\ntx['ok'] = 1.0\ntx['ratio'] = tx['amount'] / tx['no_such_column']",
        SPEND,
    )
    capsys.readouterr()
    # When it is exported, Then exit 2 at that cell and line with the exception's one line
    assert export(notebook) == 2
    err = capsys.readouterr().err
    assert (
        "nb.ipynb: cell 1 (id c1), line 3: running the generated transform failed: "
        "KeyError: 'no_such_column'" in err
    )
    assert "Traceback" not in err


def test_an_exception_in_user_code_during_materialize_names_its_cell_and_line(folder: Path, capsys):
    # Given an exported repository whose source data then changes under it
    notebook = write_notebook(folder / "nb.ipynb", LOAD, "tx['half'] = tx['amount'] / 2", SPEND)
    assert export(notebook) == 0
    pd.read_parquet(folder / "tx.parquet").drop(columns=["amount"]).to_parquet(
        folder / "tx.parquet"
    )
    capsys.readouterr()
    # When materialize rebuilds the tables, Then exit 2 names the cell and line that failed
    assert main(["materialize", str(folder / "repo")]) == 2
    err = capsys.readouterr().err
    assert "cell 1 (id c1), line 1: building 'spend' failed: KeyError: 'amount'" in err
    assert "Traceback" not in err


SML = '''"""Card features, shared by notebooks."""
import numpy as np

CAP = 100.0
RATES = {"a": 1.5}


def _clip(x):
    return np.minimum(x, CAP)


def amount_ratio(amount, avg):
    return _clip(amount) / (avg + 1.0)


def add_spend(df):
    out = df.copy()
    out["avg_ticket_7d"] = out["amount"] * 2
    return out


def from_disk(x):
    return x * len(open(__file__).read())
'''
HELPER_LOAD = (
    "import pandas as pd\nfrom sml import cc_features\nfrom sml.cc_features import "
    "amount_ratio as ratio\n"
    'tx = pd.read_parquet("tx.parquet")'
)
HELPER_SPEND = (
    "%%feature spend --entity customer_id\n"
    "spend = cc_features.add_spend(tx)[['customer_id', 'event_timestamp', 'avg_ticket_7d']]"
)


@pytest.fixture
def helpers_folder(folder: Path) -> Path:
    (folder / "sml").mkdir()
    (folder / "sml" / "__init__.py").write_text("")
    (folder / "sml" / "cc_features.py").write_text(SML)
    return folder


def test_helper_modules_beside_the_notebook_work_in_transforms_and_are_inlined_in_udfs(
    helpers_folder: Path, tmp_path_factory, monkeypatch
):
    # Given a notebook that imports its helpers from a package next to it
    notebook = write_notebook(
        helpers_folder / "nb.ipynb",
        HELPER_LOAD,
        HELPER_SPEND,
        "training = spend.copy()\ntraining['cart'] = 3.0",
        "%%feature od --on-demand --request cart:float64\ndf = training.copy()\n"
        "df['r1'] = cc_features.amount_ratio(df['cart'], df['avg_ticket_7d'])\n"
        "df['r2'] = ratio(df['cart'], df['avg_ticket_7d'])",
    )
    # When it is exported, and the tables are built from another working folder
    assert export(notebook) == 0
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    from nb2feast.repo.materialize import build_feature_tables

    tables = build_feature_tables(helpers_folder / "repo")
    # Then the batch transform imported the package from the notebook's folder
    assert list(pd.read_parquet(tables["spend"])["avg_ticket_7d"]) == [20.0, 40.0, 10.0, 15.0, 2.0]
    # And the on-demand udf carries the helpers' source: Feast re-creates it from text alone
    definitions = (helpers_folder / "repo" / "definitions.py").read_text()
    udf = definitions[definitions.index("def od_pandas") :]
    assert "from sml" not in udf
    assert (
        "def amount_ratio(amount, avg):" in udf and "def _clip(x):" in udf and "CAP = 100.0" in udf
    )
    assert "cc_features = types.SimpleNamespace(amount_ratio=amount_ratio)" in udf
    namespace: dict = {"pd": pd}
    exec(udf.split("\n\n\n")[0], namespace)
    frame = pd.DataFrame({"cart": [3.0, 300.0], "avg_ticket_7d": [1.0, 1.0]})
    assert namespace["od_pandas"](frame).to_dict("list") == {"r1": [1.5, 50.0], "r2": [1.5, 50.0]}


def test_a_helper_that_cannot_travel_with_the_udf_is_refused_with_the_reason(
    helpers_folder: Path, capsys
):
    # Given an on-demand cell calling a helper that reads a file at run time
    notebook = write_notebook(
        helpers_folder / "nb.ipynb",
        HELPER_LOAD,
        HELPER_SPEND,
        "training = spend.copy()",
        "%%feature od --on-demand\ndf = training.copy()\ndf['x'] = "
        "cc_features.from_disk(df['avg_ticket_7d'])",
    )
    capsys.readouterr()
    # When it is exported, Then exit 2 says which code cannot travel and why
    assert export(notebook) == 2
    err = capsys.readouterr().err
    assert (
        "nb.ipynb: cell 3 (id c3), line 3: on-demand view 'od' calls code from "
        "sml/cc_features.py (line 22)" in err
    )
    assert "'from_disk' uses '__file__', which is not defined in the module" in err
    assert "Feast re-creates an on-demand udf from its source text alone" in err
