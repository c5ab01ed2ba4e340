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
