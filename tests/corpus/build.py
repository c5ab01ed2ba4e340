"""Build the corpus notebooks from their percent-format sources, and their data.

`python tests/corpus/build.py` rewrites every `<name>/<name>.ipynb` from `<name>/notebook.py`
and runs `<name>/make_data.py` in its folder (seeded: same bytes each time). `--check`
only says which notebooks differ from their source (the corpus test runs it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

CORPUS = Path(__file__).resolve().parent
MARKDOWN = "# %% [markdown]"


def cells_of(source: str) -> list[tuple[str, str]]:
    """(kind, text) per cell: `# %%` opens a code cell, `# %% [markdown]` a markdown one."""
    cells: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if line.startswith(MARKDOWN) else "code", []))
        elif cells:
            cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        out.append((kind, "\n".join(lines).strip("\n")))
    return out


def notebook_of(name: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for index, (kind, text) in enumerate(cells_of((CORPUS / name / "notebook.py").read_text())):
        cell = (
            nbformat.v4.new_markdown_cell(text)
            if kind == "markdown"
            else nbformat.v4.new_code_cell(text)
        )
        cell["id"] = f"{name[:12]}-{index}"
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def names() -> list[str]:
    return sorted(p.parent.name for p in CORPUS.glob("*/notebook.py"))


def stale() -> list[str]:
    """Notebooks whose committed .ipynb is not what their notebook.py builds."""
    return [
        name
        for name in names()
        if not (CORPUS / name / f"{name}.ipynb").exists()
        or (CORPUS / name / f"{name}.ipynb").read_text()
        != nbformat.writes(notebook_of(name)) + "\n"
    ]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        for name in stale():
            print(f"stale: {name}/{name}.ipynb (run python tests/corpus/build.py)")
        return 1 if stale() else 0
    for name in [a for a in argv if not a.startswith("-")] or names():
        (CORPUS / name / f"{name}.ipynb").write_text(nbformat.writes(notebook_of(name)) + "\n")
        if (CORPUS / name / "make_data.py").exists():
            subprocess.run([sys.executable, "make_data.py"], cwd=CORPUS / name, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
