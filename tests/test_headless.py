"""Headless runs (`jupyter nbconvert --execute`) record types: the kernel is told no notebook
path, so the magic finds the notebook in its folder that holds the running cell."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import TX_SOURCE, write_notebook

CELLS = (
    "%load_ext nb2feast",
    'import pandas as pd\ntx = pd.read_parquet("tx.parquet")',
    (
        "%%feature spend --entity customer_id\n"
        "spend = tx.assign(double=tx['amount'] * 2)[['customer_id', 'event_timestamp', 'double']]"
    ),
    "training = spend.assign(cart=1.5)",
    (
        "%%feature ratio --on-demand --request cart:float64\n"
        "df = training.copy()\ndf['ratio'] = df['cart'] / (df['double'] + 1.0)"
    ),
)
JUPYTER = Path(sys.executable).with_name("jupyter")


def nbconvert_execute(notebook: Path, cwd: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("NB2FEAST_NOTEBOOK", "JPY_SESSION_NAME")
    }
    subprocess.run(
        [str(JUPYTER), "nbconvert", "--to", "notebook", "--execute", "--inplace", str(notebook)],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    nb_dir = tmp_path / "project"
    nb_dir.mkdir()
    exec(TX_SOURCE.replace('"tx.parquet"', repr(str(nb_dir / "tx.parquet"))), {})
    write_notebook(nb_dir / "nb.ipynb", *CELLS)
    return nb_dir


def test_nbconvert_execute_records_types_beside_the_notebook(folder: Path):
    # Given a notebook run headless from another folder (the kernel gets no notebook path)
    nbconvert_execute(folder / "nb.ipynb", cwd=folder.parent)
    # Then the sidecar beside it holds each view's exact types
    views = json.loads((folder / "nb.nb2feast.json").read_text())["views"]
    assert views["spend"]["feast_types"] == {"customer_id": "Int64", "double": "Float64"}
    assert views["ratio"]["features"] == ["ratio"]


def test_two_notebooks_holding_the_cell_record_nothing_and_say_so_once(folder: Path):
    # Given a copy of the notebook in the same folder: the running cell matches both
    shutil.copy(folder / "nb.ipynb", folder / "nb_copy.ipynb")
    nbconvert_execute(folder / "nb.ipynb", cwd=folder)
    # Then nothing is recorded, and the notebook's output says why, once, with the fix
    assert not (folder / "nb.nb2feast.json").exists()
    outputs = [o for c in nbformat.read(folder / "nb.ipynb", 4).cells for o in c.get("outputs", [])]
    said = [o["text"] for o in outputs if o.get("name") == "stderr" and "nb2feast" in o["text"]]
    assert len(said) == 1
    assert "several notebooks" in said[0] and "nb_copy.ipynb" in said[0]
    assert "NB2FEAST_NOTEBOOK" in said[0] and "%config FeatureMagics.notebook" in said[0]
