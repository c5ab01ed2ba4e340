"""docs/hazards.md is the hazard catalogue; its examples are these tests, so it cannot drift.

Every ```python hazard CODE``` block must report exactly CODE on the line marked `# <-`
(in whichever cell: helpers and loading code are checked with the view), and any other
code only where a line is marked `# <- OTHER`; every ```python clean CODE``` block must
report nothing, and every code in the table has both, with the category and severity the
table states.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nb2feast.hazards import detect_hazards
from nb2feast.model import CellRef, FeatureCell, Hazard, NotebookCell
from nb2feast.notebook.flags import parse_flags

CATALOGUE = Path(__file__).resolve().parents[1] / "docs" / "hazards.md"
TEXT = CATALOGUE.read_text(encoding="utf-8")
BLOCK = re.compile(r"^```python (hazard|clean) (NB2F\d{3})\n(.*?)^```$", re.MULTILINE | re.DOTALL)
ROW = re.compile(r"^\| (NB2F\d{3}) \| (\w+) \| ([^|]+) \|", re.MULTILINE)
EXAMPLES = [(kind, code, body) for kind, code, body in BLOCK.findall(TEXT)]
TABLE = {code: (category, severity.strip()) for code, category, severity in ROW.findall(TEXT)}


def run_example(block: str) -> tuple[tuple[Hazard, ...], set[tuple[str | None, int, int]]]:
    """The block as a notebook (cells split at `# %%`); hazards of its %%feature cell and
    the marked lines as (code or None for the block's own, cell index, line)."""
    sources = [s.strip("\n") for s in re.split(r"^# %%\n", block, flags=re.MULTILINE) if s.strip()]
    cells = [
        NotebookCell(CellRef("catalogue.ipynb", i, f"cell{i}"), s) for i, s in enumerate(sources)
    ]
    (cell,) = [c for c in cells if c.source.startswith("%%feature")]
    magic, _, body = cell.source.partition("\n")
    feature = FeatureCell(cell, parse_flags(magic.removeprefix("%%feature")), body)
    marked = {
        (mark.group(1), c.ref.index, n)
        for c in cells
        for n, line in enumerate(c.source.split("\n"), start=1)
        if (mark := re.search(r"# <-(?: (NB2F\d{3}))?\s*$", line))
    }
    return detect_hazards(feature, cells), marked


def test_catalogue_has_a_positive_and_a_clean_example_for_every_code() -> None:
    # Given the table and the examples of docs/hazards.md
    positive = {code for kind, code, _ in EXAMPLES if kind == "hazard"}
    clean = {code for kind, code, _ in EXAMPLES if kind == "clean"}
    # Then every listed code has both, and no example names an unlisted code
    assert TABLE, "the code table of docs/hazards.md was not found"
    assert positive == set(TABLE) == clean


@pytest.mark.parametrize(
    "kind,code,block", EXAMPLES, ids=[f"{kind}-{code}" for kind, code, _ in EXAMPLES]
)
def test_catalogue_example(kind: str, code: str, block: str) -> None:
    # Given an example notebook from the catalogue
    # When its feature cell is checked
    hazards, marked = run_example(block)
    if kind == "clean":
        # Then a near miss reports nothing
        assert hazards == (), [f"{h.code} line {h.line}: {h.message}" for h in hazards]
        return
    # Then a positive example reports exactly its code, on the marked line (and any other
    # code only where marked so)
    assert any(c is None for c, _, _ in marked), "a positive example marks its line with `# <-`"
    expected = {(c or code, index, line) for c, index, line in marked}
    found = {(h.code, h.cell_index, h.line) for h in hazards}
    assert found == expected, [f"{h.code} cell {h.cell_index} line {h.line}" for h in hazards]
    (hazard,) = [h for h in hazards if h.code == code]
    category, severity = TABLE[code]
    assert hazard.category == category
    assert hazard.severity in severity
    assert all(h.message and h.fix for h in hazards)
