"""What a feature cell can see of its notebook: imports, top-level bindings, magics.

Imports usually live in other cells, so the cell body is parsed with a header of the
notebook's imports prepended; LibCST's QualifiedNameProvider then knows that `np` is
`numpy` and `datetime` is `datetime.datetime`. Each cell is summarised once (cached
by source), so a notebook with many feature cells is parsed in linear time.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ImportAssignment, MetadataWrapper, ScopeProvider

from nb2feast.model import FeatureCell, NotebookCell

_MAGIC_LINE = re.compile(
    r"^(?P<indent>\s*)(?:[%!]|(?P<target>[A-Za-z_][\w.]*)\s*=\s*[%!]|[\w.]+\?{1,2}\s*$)"
)
_PYTHON_CELL_MAGICS = ("%%feature", "%%time", "%%timeit", "%%capture", "%%prun")
_OPAQUE_SOURCE = re.compile(r"^\s*%(?:run|store|sql|R)\b|\bexec\(|\bglobals\(\)", re.MULTILINE)
_CONTAINER = (
    m.List()
    | m.Dict()
    | m.Set()
    | m.ListComp()
    | m.DictComp()
    | m.SetComp()
    | m.Call(
        func=m.Name("list")
        | m.Name("dict")
        | m.Name("set")
        | m.Name("defaultdict")
        | m.Name("Counter")
        | m.Name("OrderedDict")
        | m.Name("deque")
    )
)
# Conventional aliases assumed when no cell imports them (the notebook would not run otherwise).
_CONVENTIONS = {"pd": "import pandas as pd", "np": "import numpy as np"}


def _starts_statement(prefix: str) -> bool:
    """Whether code after `prefix` begins a new statement (not inside brackets, strings or `\\`)."""
    try:
        for _ in tokenize.generate_tokens(io.StringIO(prefix).readline):
            pass
    except tokenize.TokenError:
        return False
    except SyntaxError:
        return True
    return True


def neutralize_magics(source: str) -> str:
    """Replace IPython `%magic`, `!shell` and `x?` lines by `pass`, keeping line numbers.

    `x = %magic` and `x = !cmd` become `x = None`, so the name stays bound.
    Only lines that start a statement are magics: a `% 3` continuing an expression or a
    line inside a triple-quoted string stays as written.
    """
    lines = source.split("\n")
    for i, line in enumerate(lines):
        match = _MAGIC_LINE.match(line)
        if match and _starts_statement("\n".join(lines[:i]) + "\n" if i else ""):
            target = match["target"]
            lines[i] = match["indent"] + (f"{target} = None" if target else "pass")
    return "\n".join(lines)


def parse_cell_code(source: str) -> cst.Module:
    """Parse cell code with magics neutralized; fall back to the raw text (a `%` may be a modulo)."""
    try:
        return cst.parse_module(neutralize_magics(source))
    except cst.ParserSyntaxError:
        return cst.parse_module(source)


@dataclass(frozen=True)
class CellSummary:
    """What one ordinary cell contributes to the notebook's global namespace."""

    imports: tuple[tuple[str, str], ...]  # (bound name, one-alias import statement)
    bindings: frozenset[str]  # names bound at top level other than by import
    containers: frozenset[str]  # names bound to a list/dict/set literal or constructor
    opaque: bool  # binds names we cannot see (%run, %store, star import, exec, globals())


def _single_import(node: cst.Import | cst.ImportFrom, alias: cst.ImportAlias) -> str:
    if isinstance(node, cst.Import):
        return cst.Module([]).code_for_node(
            cst.Import(names=[alias.with_changes(comma=cst.MaybeSentinel.DEFAULT)])
        )
    return cst.Module([]).code_for_node(
        node.with_changes(
            names=[alias.with_changes(comma=cst.MaybeSentinel.DEFAULT)], lpar=None, rpar=None
        )
    )


@lru_cache(maxsize=4096)
def summarize_cell(source: str) -> CellSummary:
    """Summarise a cell's top-level names; a cell that does not parse contributes nothing."""
    first = source.lstrip().split("\n", 1)[0]
    if first.startswith("%%") and not first.startswith(_PYTHON_CELL_MAGICS):
        return CellSummary((), frozenset(), frozenset(), True)  # %%sql x << ... binds x
    opaque = bool(_OPAQUE_SOURCE.search(source))
    try:
        wrapper = MetadataWrapper(parse_cell_code(source), unsafe_skip_copy=True)
    except cst.ParserSyntaxError:
        return CellSummary((), frozenset(), frozenset(), True)
    scope = wrapper.resolve(ScopeProvider)[wrapper.module]
    imports: dict[str, str] = {}
    bindings: set[str] = set()
    for assignment in scope.assignments:
        if isinstance(assignment, ImportAssignment):
            node = assignment.node
            if isinstance(node, cst.ImportFrom) and (
                node.relative or isinstance(node.names, cst.ImportStar)
            ):
                continue
            for alias in node.names:
                bound = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
                if bound == assignment.name:
                    imports[assignment.name] = _single_import(node, alias)
        else:
            bindings.add(assignment.name)
    containers = {
        target.target.value
        for stmt in wrapper.module.body
        if m.matches(stmt, m.SimpleStatementLine(body=[m.Assign(value=_CONTAINER)]))
        for target in stmt.body[0].targets
        if m.matches(target.target, m.Name())
    }
    opaque = opaque or any(m.findall(wrapper.module, m.ImportFrom(names=m.ImportStar())))
    return CellSummary(
        tuple(sorted(imports.items())), frozenset(bindings), frozenset(containers), opaque
    )


@dataclass(frozen=True)
class NotebookView:
    """The notebook as seen from one feature cell."""

    header: str  # import statements prepended to the body before parsing
    earlier_bindings: frozenset[str]
    later_bindings: dict[str, int]  # name -> index of the first later cell rebinding it
    containers: frozenset[str]
    opaque_before: bool


def notebook_view(feature_cell: FeatureCell, cells: Sequence[NotebookCell]) -> NotebookView:
    """Collect imports and bindings of every other cell, split at the feature cell."""
    index = feature_cell.ref.index
    earlier_imports: dict[str, str] = {}
    later_imports: dict[str, str] = {}
    earlier: set[str] = set()
    later: dict[str, int] = {}
    containers: set[str] = set()
    opaque = False
    for cell in cells:
        if cell.ref.index == index:
            continue
        summary = summarize_cell(cell.source)
        containers |= summary.containers
        if cell.ref.index < index:
            earlier_imports.update(summary.imports)
            earlier |= summary.bindings | {name for name, _ in summary.imports}
            opaque = opaque or summary.opaque
        else:
            for name, stmt in summary.imports:
                later_imports.setdefault(name, stmt)
            for name in summary.bindings:
                later.setdefault(name, cell.ref.index)
    own = summarize_cell(feature_cell.body)
    shadowed = own.bindings | {name for name, _ in own.imports}
    imports = _CONVENTIONS | later_imports | earlier_imports
    header = "".join(stmt + "\n" for name, stmt in sorted(imports.items()) if name not in shadowed)
    return NotebookView(header, frozenset(earlier), later, frozenset(containers), opaque)
