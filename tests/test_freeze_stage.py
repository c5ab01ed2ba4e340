"""`--freeze`: a whole-frame statistic of an on-demand cell is computed once on the
notebook's data and inlined, so training and serving use the same number."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_notebook
from IPython.core.interactiveshell import InteractiveShell

from nb2feast.cli import main
from nb2feast.repo.materialize import load_repo_transforms

LOAD = 'import pandas as pd\ntx = pd.read_parquet("tx.parquet")'
VIEW = (
    "%%feature spend --entity customer_id\nspend = tx[['customer_id', 'event_timestamp', 'amount']]"
)
TRAIN = "train = spend.assign(cart=[1.0, 2.0, 3.0, 4.0])"
ZSCORE = (
    "%%feature zs --on-demand --request cart:float64\ntrain['z'] = (train['amount'] - "
    "train['amount'].mean()) / train['amount'].std()"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "event_timestamp": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], utc=True
            ),
            "amount": [10.0, 20.0, 30.0, 60.0],
        }
    ).to_parquet(tmp_path / "tx.parquet")
    write_notebook(tmp_path / "nb.ipynb", LOAD, VIEW, TRAIN, ZSCORE)
    return tmp_path


def export_json(project: Path, *extra: str, capsys) -> tuple[int, dict]:
    code = main(
        [
            "export",
            str(project / "nb.ipynb"),
            "--out",
            str(project / "repo"),
            "--format",
            "json",
            *extra,
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def test_without_freeze_the_statistic_is_a_cross_row_error(project: Path, capsys):
    code, result = export_json(project, capsys=capsys)
    assert code == 1
    assert {h["code"] for h in result["hazards"] if h["severity"] == "error"} >= {"NB2F101"}


def test_export_freeze_inlines_the_notebook_statistics(project: Path, capsys):
    code, result = export_json(project, "--freeze", capsys=capsys)
    # Then the statistics became constants, computed on the notebook's 4 rows
    assert code == 0, result["hazards"]
    assert all(
        h["severity"] == "info" and h["message"].startswith("frozen as")
        for h in result["hazards"]
        if h["code"] == "NB2F101"
    )
    definitions = (project / "repo" / "definitions.py").read_text()
    assert "AMOUNT_MEAN = 30.0  # frozen: mean of train['amount'] on 4 rows of train" in definitions
    assert "train['amount'].mean()" not in definitions
    # And a single serving row gets the same z-score as in training
    transform = load_repo_transforms(project / "repo").zs.zs
    one_row = pd.DataFrame({"amount": [60.0], "cart": [1.0]})
    expected = (60.0 - 30.0) / pd.Series([10.0, 20.0, 30.0, 60.0]).std()
    assert transform(one_row)["z"].iloc[0] == pytest.approx(expected)


def test_magic_freeze_records_values_that_export_uses_without_data(
    project: Path, monkeypatch, capsys
):
    # Given a notebook whose on-demand cell says --freeze, run cell by cell with the magic
    frozen_cell = ZSCORE.replace("--request", "--freeze --request")
    write_notebook(project / "nb.ipynb", LOAD, VIEW, TRAIN, frozen_cell)
    monkeypatch.chdir(project)
    monkeypatch.setenv("NB2FEAST_NOTEBOOK", str(project / "nb.ipynb"))
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "nb2feast")
        shell.run_cell(LOAD)
        shell.run_cell_magic(
            "feature", VIEW.split("\n")[0].removeprefix("%%feature "), VIEW.split("\n", 1)[1]
        )
        shell.run_cell(TRAIN)
        line, body = frozen_cell.split("\n", 1)
        summary = shell.run_cell_magic("feature", line.removeprefix("%%feature "), body)
    finally:
        InteractiveShell.clear_instance()
    # Then the magic shows the statistic as frozen and records its value
    assert [h.severity for h in summary.hazards if h.code == "NB2F101"] == ["info", "info"]
    recorded = json.loads((project / "nb.nb2feast.json").read_text())["views"]["zs"]["frozen"]
    assert recorded["values"]["AMOUNT_MEAN"] == 30.0
    assert "recorded" in recorded["provenance"]
    # When exported without the data, the recorded types and values are enough
    (project / "tx.parquet").unlink()
    code, result = export_json(project, capsys=capsys)
    assert code == 0, result
    definitions = (project / "repo" / "definitions.py").read_text()
    assert (
        "AMOUNT_MEAN = 30.0  # frozen: mean of train['amount'] on 4 rows of train in "
        "nb.ipynb, recorded" in definitions
    )
