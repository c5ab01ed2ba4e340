"""select: code cells -> `%%feature` cells with their parsed flags."""

from __future__ import annotations

from collections.abc import Sequence

from nb2feast.errors import UserError
from nb2feast.model import FeatureCell, NotebookCell
from nb2feast.notebook.flags import parse_flags

MAGIC = "%%feature"


def is_feature_cell(source: str) -> bool:
    first = source.lstrip("\n").split("\n", 1)[0]
    return first == MAGIC or first.startswith((MAGIC + " ", MAGIC + "\t"))


def split_magic(source: str) -> tuple[str, str]:
    """`%%feature LINE\\nBODY` -> (LINE, BODY). Leading blank lines are not allowed by IPython."""
    head, _, body = source.partition("\n")
    return head[len(MAGIC) :].strip(), body


def select_feature_cells(cells: Sequence[NotebookCell]) -> tuple[FeatureCell, ...]:
    """Parse every `%%feature` cell's flags; duplicates of a view name are an error."""
    selected: list[FeatureCell] = []
    seen: dict[str, FeatureCell] = {}
    for cell in cells:
        if not is_feature_cell(cell.source):
            continue
        line, body = split_magic(cell.source.lstrip("\n"))
        try:
            flags = parse_flags(line)
        except UserError as exc:  # the flags are on the cell's first line
            raise UserError(exc.message, where=cell.ref, line=1, fix=exc.fix) from None
        if flags.name in seen:
            first = seen[flags.name].ref
            raise UserError(
                f"view {flags.name!r} is defined twice "
                f"(first in cell {first.index}, id {first.id})",
                where=cell.ref,
                line=1,
                fix="give each %%feature cell its own NAME",
            )
        feature_cell = FeatureCell(cell=cell, flags=flags, body=body)
        seen[flags.name] = feature_cell
        selected.append(feature_cell)
    return tuple(selected)
