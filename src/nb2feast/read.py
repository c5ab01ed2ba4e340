"""read: a notebook file -> its code cells (nbformat; no kernel)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

from nb2feast.errors import UserError
from nb2feast.model import CellRef, NotebookCell
from nb2feast.names import escape_text

_UNPARSABLE = re.compile("[\x00\ud800-\udfff]")


def read_notebook(path: Path, display: str | None = None) -> tuple[NotebookCell, ...]:
    """Read the code cells of `path`; `display` is how the notebook is named in messages."""
    name = escape_text(display or str(path))
    try:
        with warnings.catch_warnings():  # nbformat warns (to stderr) of ids it repairs
            warnings.simplefilter("ignore")
            notebook = _read_v4(Path(path))
    except FileNotFoundError:
        raise UserError("notebook not found", where=name) from None
    except RecursionError:
        raise UserError("cannot read the notebook: it is nested too deeply", where=name) from None
    except OSError as exc:  # a symlink loop, a folder, no permission, a name too long
        raise UserError(f"cannot read the notebook: {exc.strerror or exc}", where=name) from None
    except Exception as exc:  # noqa: BLE001 - nbformat raises NotJSONError, ValueError, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot read the notebook: {first[:200]}",
            where=name,
            fix="open it in Jupyter and save it again, or restore it from version control",
        ) from None
    cells = []
    listed = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(listed, list):
        raise UserError("cannot read the notebook: it has no list of cells", where=name)
    for index, cell in enumerate(listed):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        raw_id = cell.get("id")
        has_id = isinstance(raw_id, str) and raw_id
        cell_id = escape_text(raw_id)[:80] if has_id else f"cell-{index}"
        ref = CellRef(name, index, cell_id)
        cells.append(NotebookCell(ref=ref, source=_checked_source(cell.get("source", ""), ref)))
    return tuple(cells)


def _read_v4(path: Path) -> object:
    """The notebook as nbformat 4 JSON. A v4 file is read as JSON (`import nbformat` costs
    about a second, more than exporting 100 cells); anything else goes through nbformat,
    which upgrades old versions and says what is wrong with a broken file."""
    with path.open("rb") as stream:
        raw = stream.read()
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("nbformat") == 4:
        return data
    import nbformat

    with warnings.catch_warnings():  # nbformat warns (to stderr) of ids it repairs
        warnings.simplefilter("ignore")
        return nbformat.reads(raw.decode("utf-8"), as_version=4)


def _checked_source(source: object, ref: CellRef) -> str:
    """A cell's source as text Python can parse: no NUL, no lone surrogate."""
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise UserError(
            f"the cell's source is {type(source).__name__}, not text",
            where=ref,
            fix="open the notebook in Jupyter and save it again",
        )
    bad = _UNPARSABLE.search(source)
    if bad is not None:
        offset, char = bad.start(), bad.group()
        line = source.count("\n", 0, offset) + 1
        what = "a NUL character" if char == "\x00" else f"an unpaired surrogate {escape_text(char)}"
        raise UserError(
            f"the cell holds {what}, which Python cannot parse",
            where=ref,
            line=line,
            col=offset - (source.rfind("\n", 0, offset) + 1) + 1,
            fix="delete that character from the cell",
        )
    return source
