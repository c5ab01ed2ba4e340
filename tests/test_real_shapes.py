"""Real-code shapes (issue 8): each works through export, or is refused with exit 2, a
position and a fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import TX_SOURCE, write_notebook

from nb2feast.cli import main

LOAD = 'import pandas as pd\ntx = pd.read_parquet("tx.parquet")'
SPEND = (
    "%%feature spend --entity customer_id\n"
    "spend = tx.assign(avg_ticket_7d=tx['amount'] * 2)[['customer_id', 'event_timestamp', 'avg_ticket_7d']]"
)
TRAINING = "training = spend.copy()\ntraining['cart_amount'] = 3.0"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    exec(TX_SOURCE, {})  # noqa: S102 - writes tx.parquet
    return tmp_path


def export(notebook: Path, *extra: str) -> int:
    return main(["export", str(notebook), "--out", str(notebook.parent / "repo"), *extra])


def manifest_views(folder: Path) -> dict[str, dict]:
    views = json.loads((folder / "repo" / "nb2feast.json").read_text())["views"]
    return {v["name"]: v for v in views}


@pytest.mark.parametrize(
    "body,features",
    [
        ('df = training.copy()\ndf["cart_to_avg"] = df["cart_amount"] / (df["avg_ticket_7d"].fillna(0.0) + 1.0)',
         ["cart_to_avg"]),
        ('out = pd.DataFrame()\nout["a"] = training["avg_ticket_7d"] + 1\nv = out', ["a"]),
        ("y = training.assign(b=lambda d: d['avg_ticket_7d'] * 2).assign(c=lambda d: d['b'] + d['cart_amount'])",
         ["b", "c"]),
    ],
)
def test_on_demand_cell_on_a_copy_or_a_new_frame_exports_its_new_columns(folder: Path, body: str, features):
    # Given an on-demand cell that puts its features in a frame other than its input
    notebook = write_notebook(folder / "nb.ipynb", LOAD, SPEND, TRAINING,
                              "%%feature v --on-demand --request cart_amount:float64\n" + body)
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
        ("tx['customer_id'] = tx['customer_id'].astype('float64')",
         "entity key 'customer_id' of 'spend' has dtype float64 (it holds integers)",
         """df['customer_id'] = df['customer_id'].astype("int64")"""),
        ("tx['event_timestamp'] = tx['event_timestamp'].astype('int64') // 10**6",
         "timestamp column 'event_timestamp' of 'spend' has dtype int64, not datetime; its values are epoch ms",
         """pd.to_datetime(df['event_timestamp'], unit="ms", utc=True)"""),
        ("tx['event_timestamp'] = tx['event_timestamp'].astype('int64') // 10**9",
         "its values are epoch s", 'unit="s"'),
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


def test_request_field_named_like_a_source_feature_is_refused_naming_both_places(folder: Path, capsys):
    # Given (as Feast's credit tutorial does) a request field named like a feature of a source view
    notebook = write_notebook(
        folder / "nb.ipynb", LOAD, SPEND, "training = spend.copy()",
        "%%feature v --on-demand --request avg_ticket_7d:float64\n"
        "training['x'] = training['avg_ticket_7d'] * 2",
    )
    capsys.readouterr()
    # When it is exported, Then exit 2 names the flag's cell and line and the feature's view and cell
    assert export(notebook) == 2
    err = capsys.readouterr().err
    assert "nb.ipynb: cell 3 (id c3), line 1: --request avg_ticket_7d has the name of a feature of 'spend'" in err
    assert "cell 1 (id c1)" in err and "rename the request field" in err
