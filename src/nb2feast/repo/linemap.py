"""linemap: lines of a generated transform -> the notebook cell and line they came from.

An exception raised by the user's code inside a generated transform (during export's type
run, materialize or verify) is reported at the cell and line the user wrote, with the
exception's own one line: never a traceback through generated files.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from nb2feast.errors import UserError
from nb2feast.model import CellRef
from nb2feast.notebook.extract import ViewSpec


@dataclass(frozen=True)
class LineSpan:
    """Generated lines `start`..`end` (1-based) hold a cell statement whose first code line
    is generated line `code_start` and cell line `cell_line`."""

    start: int
    end: int
    code_start: int
    cell: CellRef
    cell_line: int


LineMap = tuple[LineSpan, ...]


def _chunks(spec: ViewSpec) -> list[tuple[str, object]]:
    from nb2feast.repo.render import _statement_code, _support_code  # the texts render emits

    support = sorted((*spec.support, *spec.loading_support), key=lambda s: s.order)
    chunks = [(_support_code(s.node), s) for s in support]
    chunks += [(_statement_code(s.node, 1), s) for s in spec.body]
    chunks += [(_statement_code(s.node, 2), s) for s in spec.loading]
    return chunks


def _leading(node: cst.CSTNode, text: str) -> int:
    """Lines before the statement's first code line within its emitted text."""
    if isinstance(node, cst.SimpleStatementLine | cst.BaseCompoundStatement):
        lines = text.split("\n")
        for number, line in enumerate(lines):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                return number
    return 0


def line_map(text: str, spec: ViewSpec) -> LineMap:
    """Where each of the view's statements landed in its generated module `text`.
    A statement not found (a hand edit, a frozen rewrite) is left out."""
    spans = []
    position = 0
    for chunk, statement in _chunks(spec):
        found = text.find(chunk, position)
        if found < 0:
            continue
        start = text.count("\n", 0, found) + 1
        end = start + chunk.rstrip("\n").count("\n")
        code_start = start + _leading(statement.node, chunk)
        spans.append(LineSpan(start, end, code_start, statement.cell, statement.line))
        position = found + len(chunk)
    return tuple(spans)


def cell_position(spans: LineMap, line: int) -> tuple[CellRef, int] | None:
    for span in spans:
        if span.start <= line <= span.end:
            return span.cell, span.cell_line + max(0, line - span.code_start)
    return None


def _one_line(exc: BaseException) -> str:
    text = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return text.splitlines()[0] if text else type(exc).__name__


def transform_failure(
    exc: BaseException, maps: Mapping[str, LineMap], fallback: CellRef | str, doing: str
) -> UserError:
    """A UserError at the cell and line of the deepest generated-transform frame that maps
    back to the notebook (`maps`: view name -> its module's line map)."""
    where: CellRef | str = fallback
    line: int | None = 1 if isinstance(fallback, CellRef) else None
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        if path.parent.name != "transforms" or path.stem not in maps or frame.lineno is None:
            continue
        found = cell_position(maps[path.stem], frame.lineno)
        if found is not None:
            where, line = found
            break
    return UserError(
        f"{doing} failed: {_one_line(exc)}",
        where=where,
        line=line,
        fix="run the notebook top to bottom; the cell must work on the notebook's own data",
    )


def maps_for_views(texts: Mapping[str, str], views: Sequence[ViewSpec]) -> dict[str, LineMap]:
    """Line maps of the views whose generated module text is known (`transforms/<view>.py`)."""
    maps = {}
    for view in views:
        text = texts.get(f"transforms/{view.name}.py")
        if text is not None:
            maps[view.name] = line_map(text, view)
    return maps


def maps_for_repo(repo: Path, manifest: Mapping) -> dict[str, LineMap]:
    """Line maps of a written repository, from its notebooks as they are now (best effort:
    a notebook that no longer reads maps nothing, and errors then name the view's cell)."""
    from nb2feast.repo.export import load_notebook

    texts = {
        path.relative_to(repo).as_posix(): path.read_text()
        for path in sorted((repo / "transforms").glob("*.py"))
    }
    maps: dict[str, LineMap] = {}
    for notebook in manifest.get("notebooks", []):
        try:
            loaded = load_notebook(repo / notebook, repo)
        except (UserError, OSError):
            continue
        maps |= maps_for_views(texts, loaded.views)
    return maps
