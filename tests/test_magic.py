"""`%%feature` in a real IPython InteractiveShell: the cell still runs, the result is checked."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

SETUP = """import pandas as pd
import numpy as np
tx = pd.DataFrame({
    "customer_id": [1, 1, 2],
    "event_timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
    "amount": [10.0, 20.0, 5.0],
})"""


@pytest.fixture
def shell(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nb.ipynb").write_text("{}")
    monkeypatch.setenv("NB2FEAST_NOTEBOOK", str(tmp_path / "nb.ipynb"))
    monkeypatch.delenv("NB2FEAST_CAPTURE_DIR", raising=False)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nb2feast")
    ip.run_cell(SETUP)
    yield ip
    ip.user_ns.clear()
    InteractiveShell.clear_instance()


def run_magic(ip: InteractiveShell, line: str, body: str):
    return ip.run_cell_magic("feature", line, body)


def test_load_ext_imports_no_feast_and_no_pandas():
    code = (
        "from IPython.testing.globalipapp import start_ipython\nimport sys\nip = "
        "start_ipython()\nip.run_line_magic('load_ext', 'nb2feast')\nprint('feast' in "
        "sys.modules, 'nb2feast.repo.export' in sys.modules)"
    )
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[-2:] == ["False", "False"]


def test_batch_cell_runs_unchanged_and_summarizes(shell: InteractiveShell, tmp_path: Path):
    summary = run_magic(
        shell,
        "spend --entity customer_id --ttl 7d",
        'spend = tx.assign(double=lambda d: d["amount"] * 2, f32=lambda d: '
        'd["amount"].astype("float32"))',
    )
    # The cell ran in the user's namespace, as without the magic
    assert list(shell.user_ns["spend"]["double"]) == [20.0, 40.0, 10.0]
    assert summary.features == (
        ("amount", "float64", "Float64"),
        ("double", "float64", "Float64"),
        ("f32", "float32", "Float32"),
    )
    assert "spend (batch)" in repr(summary) and "<table>" in summary._repr_html_()
    recorded = json.loads((tmp_path / "nb.nb2feast.json").read_text())["views"]["spend"]
    assert recorded["feast_types"] == {
        "customer_id": "Int64",
        "amount": "Float64",
        "double": "Float64",
        "f32": "Float32",
    }


def test_on_demand_cell_reports_new_columns_only(shell: InteractiveShell):
    shell.run_cell("train = tx.assign(cart=[1.0, 2.0, 3.0])")
    summary = run_magic(
        shell,
        "ratio --on-demand --request cart:float64",
        'train["ratio"] = train["cart"] / (train["amount"] + 1)',
    )
    assert summary.input_frame == "train"
    assert [f[0] for f in summary.features] == ["ratio"]
    assert "ratio" in shell.user_ns["train"].columns


def test_hazards_are_shown_with_their_line(shell: InteractiveShell):
    shell.run_cell("train = tx.copy()")
    summary = run_magic(
        shell, "z --on-demand", 'train["z"] = (train["amount"] - train["amount"].mean())'
    )
    assert any(h.category == "cross_row" and h.line == 2 for h in summary.hazards)
    assert "cross_row" in repr(summary)


@pytest.mark.parametrize(
    "line,body,message",
    [
        ("spend --entity customer_id --bogus", "spend = tx", "unrecognized arguments: --bogus"),
        ("spend --entity customer_id", "other = tx", "must bind spend to a DataFrame"),
        ("spend --entity store_id", "spend = tx", "'store_id' absent from the result"),
        (
            "spend --entity customer_id --timestamp amount",
            "spend = tx",
            "timestamp column 'amount' of 'spend' has dtype float64, not datetime",
        ),
        (
            "spend --entity customer_id",
            "spend = tx.assign(event_timestamp=tx.event_timestamp.astype('int64'))",
            'unit="ns"',
        ),
        ("spend --on-demand --request cart:decimal", "tx['x'] = 1", "unknown type 'decimal'"),
        (
            "spend --on-demand --request cart:float64",
            "tx['x'] = 1",
            "request column(s) ['cart'] are not in tx",
        ),
    ],
)
def test_bad_use_raises_a_one_line_usage_error(
    shell: InteractiveShell, line: str, body: str, message: str
):
    with pytest.raises(UsageError) as error:
        run_magic(shell, line, body)
    assert message in str(error.value)


def test_capture_hands_frames_to_verify(shell: InteractiveShell, tmp_path: Path, monkeypatch):
    import pandas as pd

    monkeypatch.setenv("NB2FEAST_CAPTURE_DIR", str(tmp_path / "cap"))
    shell.run_cell("train = tx.copy()")
    run_magic(shell, "r --on-demand", 'train["r"] = train["amount"] * 3')
    before = pd.read_parquet(tmp_path / "cap" / "r.input.parquet")
    after = pd.read_parquet(tmp_path / "cap" / "r.output.parquet")
    assert "r" not in before.columns and list(after["r"]) == [30.0, 60.0, 15.0]
    assert json.loads((tmp_path / "cap" / "r.json").read_text())["input_frame"] == "train"


@pytest.mark.parametrize(
    "body,result,features",
    [
        ('df = train.copy()\ndf["ratio"] = df["cart"] / (df["amount"] + 1)', "df", ["ratio"]),
        ('out = pd.DataFrame()\nout["a"] = train["amount"] + 1\nv = out', "v", ["a"]),
        (
            "y = train.assign(b=lambda d: d['amount'] * 2).assign(c=lambda d: d['b'] + 1)",
            "y",
            ["b", "c"],
        ),
    ],
)
def test_on_demand_result_frame_is_the_one_export_finds(
    shell: InteractiveShell, tmp_path: Path, body: str, result: str, features: list[str]
):
    # Given an on-demand cell that builds its features in a copy or a new frame
    shell.run_cell("train = tx.assign(cart=[1.0, 2.0, 3.0])")
    # When it runs under the magic
    summary = run_magic(shell, "v --on-demand --request cart:float64", body)
    # Then the features are the new columns of that frame, and they are recorded
    assert [f[0] for f in summary.features] == features
    assert summary.input_frame == "train"
    assert list(shell.user_ns["train"].columns) == [
        "customer_id",
        "event_timestamp",
        "amount",
        "cart",
    ]
    recorded = json.loads((tmp_path / "nb.nb2feast.json").read_text())["views"]["v"]
    assert recorded["features"] == features
    assert result in shell.user_ns


def test_a_float_key_is_warned_about_and_the_notebook_keeps_running(
    shell: InteractiveShell, capsys
):
    # Given a batch cell whose key is float64 (integers after dropna)
    summary = run_magic(
        shell, "spend --entity customer_id", "spend = tx.astype({'customer_id': 'float64'})"
    )
    # Then the cell ran and the magic says export will refuse it, with the fix
    assert [f[0] for f in summary.features] == ["amount"]
    err = capsys.readouterr().err
    assert "Feast cannot materialize a float key; export will refuse it" in err
    assert """astype("int64")""" in err
