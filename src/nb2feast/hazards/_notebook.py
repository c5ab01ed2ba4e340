"""What a feature cell can see of its notebook: imports, top-level bindings, magics.

Imports usually live in other cells, so the cell body is parsed with a header of the
notebook's imports prepended; LibCST's QualifiedNameProvider then knows that `np` is
`numpy` and `datetime` is `datetime.datetime`. Each cell is summarised once (cached
by source), so a notebook with many feature cells is parsed in linear time. Summaries
use the standard `ast` module (fast); cells with constructs whose scoping LibCST sees
differently (`global`, `:=`, `match`...) or that `ast` cannot parse use LibCST's scope
analysis, so both paths give the same summary.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ImportAssignment, MetadataWrapper

from nb2feast.hazards._scope import FastScopeProvider
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
    """Parse cell code with magics neutralized; else the raw text (`%` may be a modulo)."""
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
    return _fast_summary(source, opaque) or _libcst_summary(source, opaque)


# Nodes whose scoping LibCST models differently from Python (walrus in comprehensions,
# match captures, global/nonlocal redirections): such cells take the LibCST path.
_LIBCST_ONLY = (ast.Global, ast.Nonlocal, ast.NamedExpr, ast.Match, ast.TryStar)
_OWN_SCOPE = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
_CONTAINER_CALLS = frozenset(
    {"list", "dict", "set", "defaultdict", "Counter", "OrderedDict", "deque"}
)
_CONTAINER_NODES = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)


def python_text(source: str) -> str | None:
    """The text `parse_cell_code` parses (magics neutralized, else raw) when Python's own
    parser accepts it; None when neither parses."""
    for text in (neutralize_magics(source), source):
        try:
            ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        return text
    return None


def _fast_summary(source: str, opaque: bool) -> CellSummary | None:
    """The summary from Python's own parser, or None when only LibCST gives the exact answer."""
    try:
        module = ast.parse(neutralize_magics(source))
    except (SyntaxError, ValueError):
        return None  # LibCST decides: it may parse the raw text (`%` as modulo) or give up
    imports: dict[str, str] = {}
    import_stmt: dict[str, int] = {}
    bindings: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, _LIBCST_ONLY):
            return None
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            opaque = True

    def scan(node: ast.AST) -> bool:
        """Collect what `node` binds in the module scope; False when LibCST must decide."""
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _OWN_SCOPE):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    bindings.add(child.name)
            elif isinstance(child, ast.Name):
                if isinstance(child.ctx, ast.Store):
                    bindings.add(child.id)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                if not _record_imports(child):
                    return False
            else:
                if isinstance(child, ast.ExceptHandler) and child.name:
                    bindings.add(child.name)
                if not scan(child):
                    return False
        return True

    def _record_imports(node: ast.Import | ast.ImportFrom) -> bool:
        if isinstance(node, ast.ImportFrom) and (node.level or node.module is None):
            return True
        for alias in node.names:
            if alias.name == "*":
                continue
            if isinstance(node, ast.Import):
                bound = alias.asname or alias.name.split(".")[0]
                stmt = f"import {alias.name}"
            else:
                bound = alias.asname or alias.name
                stmt = f"from {node.module} import {alias.name}"
            if import_stmt.setdefault(bound, id(node)) != id(node):
                return False  # two statements import one name: LibCST's pick is not source order
            imports[bound] = stmt + (f" as {alias.asname}" if alias.asname else "")
        return True

    if not scan(module):
        return None
    containers = set()
    body = module.body
    for i, stmt in enumerate(body):
        if not isinstance(stmt, ast.Assign) or not _is_container(stmt.value):
            continue
        if (i and body[i - 1].end_lineno == stmt.lineno) or (
            i + 1 < len(body) and body[i + 1].lineno == stmt.end_lineno
        ):
            continue  # `a = []; b = 1`: LibCST's one-statement-line pattern does not match
        containers |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
    return CellSummary(
        tuple(sorted(imports.items())), frozenset(bindings), frozenset(containers), opaque
    )


def _is_container(value: ast.expr) -> bool:
    if isinstance(value, _CONTAINER_NODES):
        return True
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in _CONTAINER_CALLS
    )


def _libcst_summary(source: str, opaque: bool) -> CellSummary:
    try:
        wrapper = MetadataWrapper(parse_cell_code(source), unsafe_skip_copy=True)
    except cst.ParserSyntaxError:
        return CellSummary((), frozenset(), frozenset(), True)
    scope = wrapper.resolve(FastScopeProvider)[wrapper.module]
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
    imports: dict[str, str]  # name -> the import statement binding it (header, before shadowing)
    header_names: frozenset[str]  # names the header binds


_SUMMARIES: dict[tuple[tuple[int, str], ...], tuple[tuple[int, CellSummary], ...]] = {}


def _summaries(cells: Sequence[NotebookCell]) -> tuple[tuple[int, CellSummary], ...]:
    """(index, summary) of every cell; the last few notebooks are kept, so the feature
    cells of one notebook share one pass over it."""
    key = tuple((cell.ref.index, cell.source) for cell in cells)
    found = _SUMMARIES.get(key)
    if found is None:
        found = tuple((index, summarize_cell(source)) for index, source in key)
        if len(_SUMMARIES) >= 8:
            _SUMMARIES.pop(next(iter(_SUMMARIES)))
        _SUMMARIES[key] = found
    return found


def notebook_view(feature_cell: FeatureCell, cells: Sequence[NotebookCell]) -> NotebookView:
    """Collect imports and bindings of every other cell, split at the feature cell."""
    index = feature_cell.ref.index
    earlier_imports: dict[str, str] = {}
    later_imports: dict[str, str] = {}
    earlier: set[str] = set()
    later: dict[str, int] = {}
    containers: set[str] = set()
    opaque = False
    for cell_index, summary in _summaries(cells):
        if cell_index == index:
            continue
        containers |= summary.containers
        if cell_index < index:
            earlier_imports.update(summary.imports)
            earlier |= summary.bindings | {name for name, _ in summary.imports}
            opaque = opaque or summary.opaque
        else:
            for name, stmt in summary.imports:
                later_imports.setdefault(name, stmt)
            for name in summary.bindings:
                later.setdefault(name, cell_index)
    own = summarize_cell(feature_cell.body)
    shadowed = own.bindings | {name for name, _ in own.imports}
    imports = _CONVENTIONS | later_imports | earlier_imports
    header_names = sorted(name for name in imports if name not in shadowed)
    header = "".join(imports[name] + "\n" for name in header_names)
    return NotebookView(
        header,
        frozenset(earlier),
        later,
        frozenset(containers),
        opaque,
        imports,
        frozenset(header_names),
    )
