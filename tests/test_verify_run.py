"""run_notebook: a fresh kernel, from the notebook's folder, with the capture dir set."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from nb2feast.errors import UserError
from nb2feast.proof.verify import run_notebook


def write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title")] + [
        nbformat.v4.new_code_cell(s) for s in sources
    ]
    for index, cell in enumerate(nb.cells):
        cell.id = f"c{index}"
    nbformat.write(nb, path)
    return path


def test_cells_run_in_the_notebooks_folder_with_the_capture_dir(tmp_path: Path) -> None:
    # Given a notebook in its own folder that reads a relative file and writes to the capture dir
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "input.txt").write_text("42")
    notebook = write_notebook(
        folder / "nb.ipynb",
        "import os, pathlib",
        "value = pathlib.Path('input.txt').read_text()",
        "pathlib.Path(os.environ['NB2FEAST_CAPTURE_DIR'], 'seen.txt').write_text(value + ' ' + "
        "os.environ['NB2FEAST_NOTEBOOK'])",
    )
    capture = tmp_path / "capture"
    capture.mkdir()
    messages: list[str] = []
    # When run from another working directory
    run_notebook(notebook, capture, messages.append)
    # Then it found its input and its capture dir, knew its own path, and reported progress
    assert (capture / "seen.txt").read_text() == f"42 {notebook.resolve()}"
    assert messages[0].startswith("running nb.ipynb (3 code cells)")
    assert messages[-1] == "cell 3 (3/3)"


def test_a_failing_cell_is_a_user_error_naming_the_cell_and_line(tmp_path: Path) -> None:
    # Given a notebook whose third code cell divides by zero on its second line
    notebook = write_notebook(tmp_path / "bad.ipynb", "x = 1", "y = 2", "z = 3\nx / 0")
    # When run
    with pytest.raises(UserError) as caught:
        run_notebook(notebook, tmp_path, lambda _message: None)
    # Then the error names the notebook, cell index and id, line, and the exception
    error = caught.value
    assert (error.where.index, error.where.id, error.line) == (3, "c3", 2)
    assert "ZeroDivisionError: division by zero" in str(error)
    assert str(error).startswith(f"{notebook}: cell 3 (id c3), line 2: the notebook failed")


def test_an_unreadable_notebook_is_a_user_error(tmp_path: Path) -> None:
    # Given a file that is not a notebook
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")
    # When run, Then a UserError names it
    with pytest.raises(UserError, match="cannot read the notebook"):
        run_notebook(path, tmp_path, lambda _message: None)
