"""Small builders shared by the tests: notebooks from cell sources, in a temp folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

EXAMPLES = Path(__file__).resolve().parent.parent / "example_notebooks"


def write_notebook(path: Path, *sources: str) -> Path:
    """A notebook whose code cells are `sources`, with stable ids c0, c1, ..."""
    nb = nbformat.v4.new_notebook()
    for index, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        cell["id"] = f"c{index}"
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def copy_example(tmp: Path, name: str = "churn.ipynb", sidecar: bool = True) -> Path:
    """Copy an example notebook and its data into `tmp`; optionally drop its sidecar."""
    shutil.copytree(EXAMPLES / "data", tmp / "data", dirs_exist_ok=True)
    shutil.copy(EXAMPLES / name, tmp / name)
    recorded = EXAMPLES / name.replace(".ipynb", ".nb2feast.json")
    if sidecar and recorded.exists():
        shutil.copy(recorded, tmp / recorded.name)
    return tmp / name


TX_SOURCE = """import pandas as pd
import numpy as np
pd.DataFrame({
    "customer_id": [1, 1, 2, 2, 3],
    "event_timestamp": pd.to_datetime(
        ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-05", "2024-01-03"], utc=True
    ),
    "amount": [10.0, 20.0, 5.0, 7.5, 1.0],
}).to_parquet("tx.parquet")"""
