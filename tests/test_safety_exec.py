"""Running the user's code is explicit and contained: export says when it runs the cells,
runs them in a child process under --timeout, and --no-exec makes that an exit 2."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_notebook

from nb2feast.cli import main

SPEND = "%%feature spend --entity customer_id\nspend = tx"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    pd.DataFrame(
        {
            "customer_id": [1, 2],
            "event_timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
            "amount": [1.0, 2.0],
        }
    ).to_parquet(tmp_path / "tx.parquet")
    return tmp_path


def loading(expression: str) -> str:
    """A loading cell whose `tx` is only read after `expression` ran."""
    return (
        "import os\nimport pandas as pd\n"
        f"tx = pd.read_parquet('tx.parquet') if ({expression}) or True else None"
    )


def test_no_exec_refuses_where_types_would_need_running_code(project: Path, capsys):
    # Given a notebook whose types were never recorded
    notebook = write_notebook(project / "nb.ipynb", loading("open('ran', 'w')"), SPEND)
    out = project / "repo"
    # When exported (or checked) with --no-exec
    for extra in ([], ["--check"]):
        assert main(["export", str(notebook), "--out", str(out), "--no-exec", *extra]) == 2
        err = capsys.readouterr().err
        # Then it names the cell to run, and nothing ran or was written
        assert (
            "nb.ipynb: cell 1 (id c1), line 1: types must come from running cell 1 (view 'spend')"
            in err
        )
        assert "drop --no-exec" in err
    assert not (project / "ran").exists() and not out.exists()


def test_export_says_it_runs_the_cells_and_runs_them_in_a_child_process(project: Path, capsys):
    # Given a loading cell that records its process, changes directory and prints
    load = (
        "import os\nimport pandas as pd\n"
        "tx = (pd.read_parquet('tx.parquet'), open('pid', 'w').write(str(os.getpid())),"
        " print('hello'), os.chdir('/'))[0]"
    )
    notebook = write_notebook(project / "nb.ipynb", load, SPEND)
    cwd = os.getcwd()
    # When exported
    assert main(["export", str(notebook), "--out", str(project / "repo")]) == 0
    # Then it said so, the code ran in another process from the notebook's folder
    err = capsys.readouterr().err
    assert "running the code of" in err and "(view spend) in a child process" in err
    assert int((project / "pid").read_text()) != os.getpid()
    assert os.getcwd() == cwd


def test_an_infinite_loop_is_stopped_by_timeout_naming_the_view(project: Path, capsys):
    notebook = write_notebook(project / "nb.ipynb", loading("any(iter(int, 1))"), SPEND)
    started = time.monotonic()
    assert main(["export", str(notebook), "--out", str(project / "repo"), "--timeout", "3"]) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - started < 60
    assert "cell 1 (id c1), line 1: the code of view 'spend' ran longer than --timeout 3 s" in err
    assert not (project / "repo").exists()


def test_a_failing_or_exiting_cell_is_exit_2_naming_the_cell(project: Path, capsys):
    # An exception is placed at the line that raised it; a dying child at the view's cell
    expected = {
        "1 / 0": "nb.ipynb: cell 0 (id c0), line 3: running the generated transform failed",
        "os._exit(3)": "nb.ipynb: cell 1 (id c1), line 1: the child process running",
        "exit(4)": "nb.ipynb: cell 1 (id c1), line 1: running the generated transform failed",
    }
    for expression, message in expected.items():
        notebook = write_notebook(project / "nb.ipynb", loading(expression), SPEND)
        assert main(["export", str(notebook), "--out", str(project / "repo")]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
