"""Per-statement facts from LibCST: what each top-level statement defines, mutates, reads.

Reads come from LibCST's scope analysis (a name accessed anywhere in the statement that
does not resolve to a local, comprehension or builtin scope), not from regexes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.metadata import GlobalScope, MetadataWrapper, PositionProvider, ScopeProvider

from nb2feast.errors import UserError
from nb2feast.model import CellRef

READ_FUNCTIONS = re.compile(
    r"^read_(parquet|csv|json|feather|excel|orc|table|pickle|sql|sql_query|sql_table|fwf|hdf|xml|spss|sas|stata)$"
)
_MUTATING_METHODS = {"append", "extend", "insert", "update", "setdefault", "pop", "remove", "clear", "add"}


@dataclass(frozen=True)
class Statement:
    """One top-level statement of a code cell with the facts the slicer needs."""

    cell: CellRef
    order: int  # position in the notebook: statements compare by it
    line: int  # cell line of its first line (as the user sees the cell)
    node: cst.BaseStatement
    code: str
    defines: frozenset[str]
    mutates: frozenset[str]
    reads: frozenset[str]
    loads_data: bool
    in_feature_cell: bool


def neutralize_ipython(source: str) -> str:
    """Replace IPython-only lines (`%magic`, `!shell`) by `pass`, keeping line numbers.

    A cell run by another cell magic (`%%time`, `%%bash`, ...) is not Python: it becomes empty.
    """
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        return "\n" * (len(lines) - 1)
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) or (stripped.endswith("?") and not stripped.startswith("#")):
            out.append(line[: len(line) - len(stripped)] + "pass")
        else:
            out.append(line)
    return "\n".join(out)


def parse_cell(source: str, where: CellRef, line_offset: int = 0) -> cst.Module:
    """Parse cell code; a syntax error becomes a UserError at the cell's line."""
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise UserError(
            f"syntax error: {exc.message}",
            where=where,
            line=exc.raw_line + line_offset,
            col=exc.raw_column,
            fix="fix the cell so it runs in the notebook",
        ) from None


def _mutated_names(stmt: cst.BaseStatement) -> set[str]:
    names: set[str] = set()

    def base_name(node: cst.BaseExpression) -> str | None:
        while isinstance(node, (cst.Subscript, cst.Attribute)):
            node = node.value
        return node.value if isinstance(node, cst.Name) else None

    for target in m.findall(stmt, m.AssignTarget() | m.AugAssign() | m.AnnAssign()):
        expr = target.target
        if isinstance(expr, (cst.Subscript, cst.Attribute)):
            if (name := base_name(expr)) is not None:
                names.add(name)
        elif isinstance(target, cst.AugAssign) and isinstance(expr, cst.Name):
            names.add(expr.value)
    for call in m.findall(stmt, m.Call(func=m.Attribute())):
        method = call.func.attr.value
        inplace = any(
            m.matches(arg, m.Arg(keyword=m.Name("inplace"), value=m.Name("True"))) for arg in call.args
        )
        if inplace or method in _MUTATING_METHODS:
            if (name := base_name(call.func.value)) is not None:
                names.add(name)
    for delete in m.findall(stmt, m.Del()):
        if (name := base_name(delete.target)) is not None and not isinstance(delete.target, cst.Name):
            names.add(name)
    return names


def loads_data(node: cst.CSTNode) -> bool:
    """Does the code call a `read_*` loader (`pd.read_parquet(...)`, `pandas.read_csv(...)`)?"""
    return bool(
        m.findall(node, m.Call(func=m.Attribute(attr=m.Name(value=m.MatchRegex(READ_FUNCTIONS)))))
    )


def statement_names(stmt: cst.BaseStatement) -> tuple[frozenset[str], frozenset[str]]:
    """(defines, reads) of one statement, from LibCST scope analysis on it alone."""
    wrapper = MetadataWrapper(cst.Module(body=[stmt]), unsafe_skip_copy=True)
    scopes = wrapper.resolve(ScopeProvider)
    global_scope = next((s for s in scopes.values() if isinstance(s, GlobalScope)), None)
    if global_scope is None:
        return frozenset(), frozenset()
    defines = {a.name for a in global_scope.assignments}
    reads: set[str] = set()
    for scope in {s for s in scopes.values() if s is not None}:
        for access in scope.accesses:
            if not isinstance(access.node, cst.Name):
                continue
            referents = access.referents
            if not referents or any(r.scope is global_scope for r in referents):
                reads.add(access.node.value)
    return frozenset(defines), frozenset(reads)


def analyze_cell(
    source: str, where: CellRef, *, line_offset: int, order_base: int, in_feature_cell: bool
) -> tuple[cst.Module, tuple[Statement, ...]]:
    """Parse a cell (or a feature cell's body) and describe its top-level statements.

    `line_offset` maps lines of `source` to lines of the cell as the user sees it.
    """
    module = parse_cell(neutralize_ipython(source), where, line_offset)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    statements = []
    for number, stmt in enumerate(module.body):
        defines, reads = statement_names(stmt)
        statements.append(
            Statement(
                cell=where,
                order=order_base + number,
                line=positions[stmt].start.line + line_offset,
                node=stmt,
                code=module.code_for_node(stmt),
                defines=defines,
                mutates=frozenset(_mutated_names(stmt)),
                reads=reads,
                loads_data=loads_data(stmt),
                in_feature_cell=in_feature_cell,
            )
        )
    return module, tuple(statements)
