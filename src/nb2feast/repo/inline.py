"""inline: helper modules beside the notebook (`from sml import cc_features`).

Batch transforms import them from the notebook's folder (render puts it on `sys.path`).
An on-demand udf cannot: Feast re-creates it from its source text alone, in a process that
need not see the notebook's folder. So the simple functions it calls from a local module
are inlined into the udf (their source, with the imports they use); anything else is
refused at export, saying what and why.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import libcst.matchers as m

from nb2feast.errors import UserError
from nb2feast.model import CellRef
from nb2feast.notebook.analyze import Statement, analyze_cell

_BUILTINS = frozenset(dir(builtins))


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def imported_modules(node: cst.CSTNode) -> list[str]:
    """Absolute module names a statement imports (`import a.b`, `from a.b import c`)."""
    names = []
    for imp in m.findall(node, m.Import()):
        names += [_dotted(alias.name) for alias in imp.names]
    for imp in m.findall(node, m.ImportFrom(relative=[])):
        if imp.module is not None:
            names.append(_dotted(imp.module))
    return names


def module_file(folder: Path, dotted: str) -> Path | None:
    """The file of module `dotted` inside `folder`, or None when it is not a local module."""
    base = folder.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=16_384)
def _statement_imports(node: cst.CSTNode) -> tuple[str, ...]:
    return tuple(imported_modules(node))


def statement_imports(statement: Statement) -> tuple[str, ...]:
    """The modules a notebook statement imports (cached: slices share statements)."""
    return _statement_imports(statement.node) if "import" in statement.code else ()


def local_modules(statements: Sequence[Statement], folder: Path) -> tuple[str, ...]:
    """Top-level names of the modules the statements import from the notebook's folder."""
    found = set()
    for statement in statements:
        for name in statement_imports(statement):
            top = name.split(".")[0]
            if module_file(folder, top) is not None:
                found.add(top)
    return tuple(sorted(found))


@dataclass(frozen=True)
class _Module:
    path: Path
    statements: dict[str, Statement]  # name -> the statement defining it


def _read_module(path: Path) -> _Module:
    ref = CellRef(str(path), 0, "")
    _, statements = analyze_cell(
        path.read_text(), ref, line_offset=0, order_base=0, in_feature_cell=False
    )
    defined: dict[str, Statement] = {}
    for statement in statements:
        for name in statement.defines:
            defined[name] = statement
    return _Module(path, defined)


class _Inliner:
    """Collects the statements a set of functions from local modules needs, or refuses."""

    def __init__(self, folder: Path, view: str, where: CellRef, line: int) -> None:
        self.folder, self.view, self.where, self.line = folder, view, where, line
        self.needed: dict[tuple[Path, int], Statement] = {}

    def refuse(self, what: str, path: Path, line: int) -> UserError:
        shown = path.relative_to(self.folder) if path.is_relative_to(self.folder) else path
        return UserError(
            f"on-demand view {self.view!r} calls code from {shown} (line {line}) that Feast cannot "
            f"re-create: {what}; Feast re-creates an on-demand udf from its source text alone",
            where=self.where,
            line=self.line,
            fix="copy the helper into a notebook cell above, or compute the value in a "
            "batch %%feature view",
        )

    def take(self, module: _Module, name: str, user: Statement | None = None) -> None:
        statement = module.statements.get(name)
        if statement is None:
            who = f"{min(user.defines)!r} uses {name!r}, which" if user else f"{name!r}"
            raise self.refuse(
                f"{who} is not defined in the module", module.path, user.line if user else 1
            )
        key = (module.path, statement.order)
        if key in self.needed:
            return
        node = statement.node
        is_import = m.matches(node, m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()]))
        is_constant = m.matches(node, m.SimpleStatementLine(body=[m.Assign()])) and _is_literal(
            node.body[0].value
        )
        if is_import:
            if any(module_file(self.folder, n.split(".")[0]) for n in imported_modules(node)):
                raise self.refuse(
                    f"{name!r} comes from another local module", module.path, statement.line
                )
            self.needed[key] = statement
            return
        if not (isinstance(node, cst.FunctionDef) or is_constant):
            raise self.refuse(
                f"{name!r} is neither a function, an import nor a literal constant",
                module.path,
                statement.line,
            )
        self.needed[key] = statement
        own = statement.defines
        for read in sorted(statement.reads - own - _BUILTINS):
            self.take(module, read, statement)

    def statements(self) -> list[cst.BaseStatement]:
        ordered = sorted(self.needed.items(), key=lambda item: (str(item[0][0]), item[0][1]))
        return [s.node.with_changes(leading_lines=[]) for _, s in ordered]


def inline_local_code(
    support: Sequence[Statement], body: Sequence[Statement], folder: Path, view: str
) -> tuple[cst.BaseStatement, ...] | None:
    """The udf's support with each import from a local module replaced by the source of what
    the cell uses from it; None when it imports nothing local. Raises UserError."""
    if not any(module_file(folder, n.split(".")[0]) for s in support for n in statement_imports(s)):
        return None
    inliner = _Inliner(folder, view, body[0].cell, body[0].line)
    kept: list[cst.BaseStatement] = []
    namespaces: list[cst.BaseStatement] = []
    used = _attribute_uses(body)
    for statement in support:
        node = statement.node
        locals_ = [n for n in statement_imports(statement) if module_file(folder, n.split(".")[0])]
        if not locals_:
            kept.append(node)
            continue
        bound_names = statement.defines
        inliner.line = next((s.line for s in body if s.reads & bound_names), body[0].line)
        for imp in m.findall(node, m.ImportFrom(relative=[])):
            source = _dotted(imp.module) if imp.module is not None else ""
            if isinstance(imp.names, cst.ImportStar):
                raise inliner.refuse("`import *`", module_file(folder, source) or folder, 1)
            for alias in imp.names:
                imported = _dotted(alias.name)
                bound = alias.asname.name.value if alias.asname else imported
                submodule = module_file(folder, f"{source}.{imported}")
                if submodule is not None:  # `from sml import cc_features`: a module
                    namespaces.append(_namespace(inliner, _read_module(submodule), bound, used))
                    continue
                path = module_file(folder, source)
                inliner.take(_read_module(path), imported)
                if bound != imported:
                    namespaces.append(cst.parse_statement(f"{bound} = {imported}\n"))
        for imp in m.findall(node, m.Import()):
            for alias in imp.names:
                dotted = _dotted(alias.name)
                path = module_file(folder, dotted)
                if path is None:
                    raise inliner.refuse(f"`import {dotted}` of a package", folder, 1)
                bound = alias.asname.name.value if alias.asname else dotted
                if "." in bound:
                    raise inliner.refuse(f"`import {dotted}` without `as`", path, 1)
                namespaces.append(_namespace(inliner, _read_module(path), bound, used))
    inlined = inliner.statements()
    header = [cst.parse_statement("import types\n")] if namespaces else []
    return (*header, *kept, *inlined, *namespaces)


def _is_literal(value: cst.BaseExpression) -> bool:
    """Numbers, strings and containers of them: a constant the udf can carry."""
    names = {n.value for n in m.findall(value, m.Name())}
    return names <= {"True", "False", "None"} and not m.findall(value, m.Call() | m.Attribute())


def _attribute_uses(body: Sequence[Statement]) -> dict[str, set[str]]:
    """`module.function` uses in the cell: {module: {function, ...}}."""
    uses: dict[str, set[str]] = {}
    for statement in body:
        for attr in m.findall(statement.node, m.Attribute(value=m.Name())):
            uses.setdefault(attr.value.value, set()).add(attr.attr.value)
    return uses


def _namespace(
    inliner: _Inliner, module: _Module, bound: str, used: dict[str, set[str]]
) -> cst.BaseStatement:
    names = sorted(used.get(bound, set()))
    for name in names:
        inliner.take(module, name)
    fields = ", ".join(f"{name}={name}" for name in names)
    return cst.parse_statement(f"{bound} = types.SimpleNamespace({fields})\n")
