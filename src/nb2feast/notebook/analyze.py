"""Per-statement facts from LibCST: what each top-level statement defines, mutates, reads.

Reads come from LibCST's scope analysis (a name accessed anywhere in the statement that
does not resolve to a local, comprehension or builtin scope), not from regexes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.metadata import GlobalScope, MetadataWrapper, PositionProvider

from nb2feast.errors import UserError
from nb2feast.model import CellRef
from nb2feast.notebook.cst import FastScopeProvider

READ_FUNCTIONS = re.compile(
    r"^read_(parquet|csv|json|feather|excel|orc|table|pickle|sql|sql_query|sql_table|fwf|hdf|xml|spss|sas|stata)$"
)
_QUERY_NAME = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")
_MUTATING_METHODS = {
    "append",
    "extend",
    "insert",
    "update",
    "setdefault",
    "pop",
    "remove",
    "clear",
    "add",
}


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
    calls: frozenset[str] = frozenset()


_PYTHON_CELL_MAGICS = re.compile(r"^%%(time|timeit|capture|prun)\b")
_PYTHON_LINE_MAGICS = re.compile(r"^%(time|timeit|prun)\s+(?:-\S+\s+)*")
_SHELL_ASSIGN = re.compile(r"^(\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*)[!%].*$")


def neutralize_ipython(source: str) -> str:
    """IPython-only syntax made plain Python, keeping line numbers.

    `%time stmt` keeps `stmt`; a `%%time` cell keeps its body; other magics and `!shell`
    lines become `pass` (`x = !ls` becomes `x = None`); a cell run by another cell magic
    (`%%bash`, `%%sql`, ...) is not Python and becomes empty.
    """
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        if not _PYTHON_CELL_MAGICS.match(lines[0].lstrip()):
            return "\n" * (len(lines) - 1)
        lines = ["pass", *lines[1:]]
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if (timed := _PYTHON_LINE_MAGICS.match(stripped)) is not None:
            out.append(indent + stripped[timed.end() :])
        elif stripped.startswith(("%", "!")) or (
            stripped.endswith("?") and not stripped.startswith("#")
        ):
            out.append(indent + "pass")
        elif (assigned := _SHELL_ASSIGN.match(line)) is not None:
            out.append(assigned.group(1) + "None")
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


def _base_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Subscript, cst.Attribute)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


class _Facts(cst.CSTVisitor):
    """One pass over a statement: does it load data, which names does it mutate."""

    def __init__(self) -> None:
        self.loads_data = False
        self.mutates: set[str] = set()
        self.calls: set[str] = set()  # plain names called: an aliased loader is one
        self.query_names: set[str] = set()  # `@NAME` inside `.query("...")` / `.eval("...")`

    def _target(self, expr: cst.BaseExpression) -> None:
        if isinstance(expr, (cst.Subscript, cst.Attribute)) and (name := _base_name(expr)):
            self.mutates.add(name)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name):
            self.mutates.add(node.target.value)
        self._target(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._target(node.target)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name):
            self.calls.add(node.func.value)
            self.loads_data |= bool(READ_FUNCTIONS.match(node.func.value))
            return
        if not m.matches(node.func, m.Attribute()):
            return
        method = node.func.attr.value
        if (
            method in ("query", "eval")
            and node.args
            and isinstance(node.args[0].value, cst.SimpleString)
        ):
            text = node.args[0].value.evaluated_value
            if isinstance(text, str):
                self.query_names |= set(_QUERY_NAME.findall(text))
        if READ_FUNCTIONS.match(method):
            self.loads_data = True
        inplace = any(
            m.matches(arg, m.Arg(keyword=m.Name("inplace"), value=m.Name("True")))
            for arg in node.args
        )
        if (inplace or method in _MUTATING_METHODS) and (name := _base_name(node.func.value)):
            self.mutates.add(name)


def statement_facts(node: cst.CSTNode) -> _Facts:
    facts = _Facts()
    node.visit(facts)
    return facts


def loads_data(node: cst.CSTNode) -> bool:
    """Does the code call a `read_*` loader (`pd.read_parquet(...)`, `pandas.read_csv(...)`)?"""
    return statement_facts(node).loads_data


def _cell_names(
    module: cst.Module, wrapper: MetadataWrapper, positions
) -> list[tuple[set[str], set[str]]]:
    """(defines, reads) per top-level statement, from one scope analysis of the whole cell."""
    ends = [positions[stmt].end.line for stmt in module.body]
    facts: list[tuple[set[str], set[str]]] = [(set(), set()) for _ in module.body]

    def owner(node: cst.CSTNode) -> int:
        line = positions[node].start.line
        return next(i for i, end in enumerate(ends) if line <= end)

    scopes = wrapper.resolve(FastScopeProvider)
    global_scope = next((s for s in scopes.values() if isinstance(s, GlobalScope)), None)
    if global_scope is None:
        return facts
    for assignment in global_scope.assignments:
        node = getattr(assignment, "node", None)
        if node is not None and node in positions:
            facts[owner(node)][0].add(assignment.name)
    for scope in {s for s in scopes.values() if s is not None}:
        for access in scope.accesses:
            if not isinstance(access.node, cst.Name):
                continue
            referents = access.referents
            if not referents or any(r.scope is global_scope for r in referents):
                facts[owner(access.node)][1].add(access.node.value)
    return facts


def analyze_cell(
    source: str, where: CellRef, *, line_offset: int, order_base: int, in_feature_cell: bool
) -> tuple[cst.Module, tuple[Statement, ...]]:
    """Parse a cell (or a feature cell's body) and describe its top-level statements.

    `line_offset` maps lines of `source` to lines of the cell as the user sees it.
    """
    module = parse_cell(neutralize_ipython(source), where, line_offset)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    names = _cell_names(module, wrapper, positions)
    statements = []
    for number, (stmt, (defines, reads)) in enumerate(zip(module.body, names, strict=True)):
        facts = statement_facts(stmt)
        statements.append(
            Statement(
                cell=where,
                order=order_base + number,
                line=positions[stmt].start.line + line_offset,
                node=stmt,
                code=module.code_for_node(stmt),
                defines=frozenset(defines),
                mutates=frozenset(facts.mutates),
                reads=frozenset(reads | facts.query_names),
                loads_data=facts.loads_data,
                calls=frozenset(facts.calls),
                in_feature_cell=in_feature_cell,
            )
        )
    return module, tuple(statements)
