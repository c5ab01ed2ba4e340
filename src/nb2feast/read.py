"""read: a notebook file -> its code cells (nbformat; no kernel)."""

from __future__ import annotations

from pathlib import Path

from nb2feast.errors import UserError
from nb2feast.model import CellRef, NotebookCell


def read_notebook(path: Path, display: str | None = None) -> tuple[NotebookCell, ...]:
    """Read the code cells of `path`; `display` is how the notebook is named in messages."""
    import nbformat

    name = display or str(path)
    try:
        notebook = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise UserError("notebook not found", where=name) from None
    except Exception as exc:  # nbformat raises NotJSONError, ValueError, UnicodeDecodeError, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot read the notebook: {first[:200]}",
            where=name,
            fix="open it in Jupyter and save it again, or restore it from version control",
        ) from None
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.get("cell_type") != "code":
            continue
        cell_id = cell.get("id") or f"cell-{index}"
        cells.append(NotebookCell(ref=CellRef(name, index, cell_id), source=cell.get("source", "")))
    return tuple(cells)
