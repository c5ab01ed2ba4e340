"""extract: feature cells + the notebook -> `ViewSpec`s, each input traced to its cell.

A backward slice over top-level statements: every name a feature cell reads is resolved
to the latest earlier statement that defines it (plus the statements that mutate it in
between), recursively. Statements that depend on loaded data (`pd.read_*`) or on an
earlier view become the view's loading code; the rest (imports, constants, helpers)
is carried along at module level.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import libcst as cst
import libcst.matchers as m

from nb2feast.errors import UserError
from nb2feast.model import FeatureCell, NotebookCell
from nb2feast.notebook.analyze import READ_FUNCTIONS, Statement, analyze_cell
from nb2feast.notebook.dataflow import ResultFrame, find_result_frame
from nb2feast.notebook.select import is_feature_cell

_BUILTINS = frozenset(dir(builtins)) | {"display", "get_ipython", "In", "Out", "__file__"}


@dataclass(frozen=True)
class ViewSpec:
    """What a feature cell needs to become a transform module and a Feast object."""

    cell: FeatureCell
    body: tuple[Statement, ...]
    support: tuple[Statement, ...]  # imports, constants, helpers the body needs, in notebook order
    loading: tuple[Statement, ...]  # statements that load/prepare the inputs, in order
    upstream: tuple[str, ...]  # earlier views this cell (or its loading code) reads
    inputs: tuple[str, ...]  # the frames the body reads (parameters of the transform)
    binds_name: bool
    columns_read: frozenset[str] = frozenset()
    loading_support: tuple[Statement, ...] = ()  # on-demand: what only the loading needs
    result: ResultFrame | None = None  # on-demand: the frame holding the new columns

    @property
    def result_name(self) -> str:
        """The frame the transform returns: NAME for batch views, else the found result."""
        if self.result is not None:
            return self.result.name
        return self.name if self.binds_name or not self.inputs else self.inputs[0]

    @property
    def name(self) -> str:
        return self.cell.flags.name

    @property
    def flags(self):
        return self.cell.flags

    @property
    def input_frame(self) -> str | None:
        """On-demand views derive columns from exactly one frame."""
        return self.inputs[0] if self.cell.flags.on_demand and self.inputs else None


@dataclass
class _Notebook:
    """All statements of a notebook, indexed for the slicer."""

    statements: list[Statement] = field(default_factory=list)
    view_of: dict[str, FeatureCell] = field(default_factory=dict)

    @cached_property
    def definers(self) -> dict[str, list[Statement]]:
        index: dict[str, list[Statement]] = {}
        for stmt in self.statements:
            for name in stmt.defines:
                index.setdefault(name, []).append(stmt)
        return index

    @cached_property
    def mutators(self) -> dict[str, list[Statement]]:
        index: dict[str, list[Statement]] = {}
        for stmt in self.statements:
            if not stmt.in_feature_cell:
                for name in stmt.mutates:
                    index.setdefault(name, []).append(stmt)
        return index

    def resolve(self, name: str, before: int) -> str | list[Statement] | None:
        """A view name, the defining statements, or None for a builtin; raises KeyError."""
        earlier = [s for s in self.definers.get(name, []) if s.order < before]
        if not earlier:
            if name in _BUILTINS:
                return None
            raise KeyError(name)
        definition = earlier[-1]
        if definition.in_feature_cell:
            view = self.view_of.get(name)
            if view is not None and view.ref == definition.cell:
                return name
        mutations = [s for s in self.mutators.get(name, []) if definition.order < s.order < before]
        return [definition, *mutations]


def _body_statements(cell: FeatureCell) -> tuple[Statement, ...]:
    _, statements = analyze_cell(
        cell.body,
        cell.ref,
        line_offset=1,
        order_base=cell.ref.index * 100_000,
        in_feature_cell=True,
    )
    return statements


def _index_notebook(
    cells: Sequence[NotebookCell], feature_cells: Sequence[FeatureCell]
) -> _Notebook:
    notebook = _Notebook(view_of={fc.flags.name: fc for fc in feature_cells})
    by_ref = {fc.ref: fc for fc in feature_cells}
    for cell in cells:
        feature_cell = by_ref.get(cell.ref)
        if feature_cell is not None:
            notebook.statements.extend(_body_statements(feature_cell))
        elif not is_feature_cell(cell.source):
            _, statements = analyze_cell(
                cell.source,
                cell.ref,
                line_offset=0,
                order_base=cell.ref.index * 100_000,
                in_feature_cell=False,
            )
            notebook.statements.extend(statements)
    aliases = _loader_aliases(notebook.statements)
    if aliases:
        notebook.statements = [
            replace(s, loads_data=True) if s.calls & aliases else s for s in notebook.statements
        ]
    return notebook


def _columns_read(body: Sequence[Statement], frame: str) -> frozenset[str]:
    """Column names the body may read: string subscript keys and `frame.attribute`s."""
    names: set[str] = set()
    for stmt in body:
        for sub in m.findall(stmt.node, m.Subscript()):
            for element in sub.slice:
                for string in m.findall(element, m.SimpleString()):
                    names.add(string.evaluated_value)
        for attr in m.findall(stmt.node, m.Attribute(value=m.Name(frame))):
            names.add(attr.attr.value)
    return frozenset(n for n in names if isinstance(n, str))


def _outer_reads(stmt: Statement) -> frozenset[str]:
    """Names a statement needs from before it. A compound statement's own names (a loop
    variable, a function's recursion, a `with ... as` target) are its own business."""
    if isinstance(stmt.node, cst.BaseCompoundStatement):
        return stmt.reads - stmt.defines
    return stmt.reads


def _loader_aliases(statements: Sequence[Statement]) -> set[str]:
    """Names bound by `from pandas import read_parquet as load_table`-style imports."""
    aliases = set()
    for stmt in statements:
        for alias in m.findall(stmt.node, m.ImportAlias(asname=m.AsName(name=m.Name()))):
            imported = (
                alias.name.value if isinstance(alias.name, cst.Name) else alias.name.attr.value
            )
            if READ_FUNCTIONS.match(imported):
                aliases.add(alias.asname.name.value)
    return aliases


def _first_read_line(body: Sequence[Statement], name: str) -> int:
    for stmt in body:
        if name in stmt.reads:
            return stmt.line
    return body[0].line if body else 2


class _Slicer:
    """Walks definitions backwards from a feature cell; memoizes data dependence."""

    def __init__(self, notebook: _Notebook, cell: FeatureCell) -> None:
        self.notebook = notebook
        self.cell = cell
        self.statements: dict[int, Statement] = {}
        self.upstream: set[str] = set()
        self._data: dict[int, bool] = {}

    def visit(self, name: str, before: int, line: int) -> bool:
        """Collect the slice of `name`; True when it depends on data or an earlier view."""
        try:
            found = self.notebook.resolve(name, before)
        except KeyError:
            later = [s for s in self.notebook.definers.get(name, []) if s.order >= before]
            hint = f" (it is defined later, in cell {later[0].cell.index})" if later else ""
            raise UserError(
                f"{name!r} cannot be traced to an earlier cell{hint}",
                where=self.cell.ref,
                line=line,
                fix="define or load it in a cell above this %%feature cell",
            ) from None
        if found is None:
            return False
        if isinstance(found, str):
            self.upstream.add(found)
            return True
        depends = False
        for stmt in found:
            depends |= self._visit_statement(stmt)
        return depends

    def split(self) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
        """(support, loading) of the slice, in notebook order."""
        ordered = sorted(self.statements.values(), key=lambda s: s.order)
        return (
            tuple(s for s in ordered if not self._data[s.order]),
            tuple(s for s in ordered if self._data[s.order]),
        )

    def _visit_statement(self, stmt: Statement) -> bool:
        if stmt.order in self._data:
            return self._data[stmt.order]
        self._data[stmt.order] = False  # breaks cycles through recursive helpers
        self.statements[stmt.order] = stmt
        depends = stmt.loads_data
        # A function's globals are looked up when it is called (by the feature cell),
        # so `def f(): return CAP` may come before `CAP = 3`.
        is_def = isinstance(stmt.node, (cst.FunctionDef, cst.ClassDef))
        before = self.cell.ref.index * 100_000 if is_def else stmt.order
        for name in sorted(_outer_reads(stmt)):
            depends |= self.visit(name, before, stmt.line)
        self._data[stmt.order] = depends
        return depends


def extract_view(notebook: _Notebook, cell: FeatureCell) -> ViewSpec:
    body = tuple(s for s in notebook.statements if s.cell == cell.ref)
    if not body:
        raise UserError("the %%feature cell has no code", where=cell.ref, line=2)
    slicer = _Slicer(notebook, cell)
    start = cell.ref.index * 100_000
    defined_in_body: set[str] = set()
    inputs: list[str] = []
    for stmt in body:
        for name in sorted(_outer_reads(stmt) - defined_in_body):
            if name in inputs:
                continue
            if slicer.visit(name, start, stmt.line):
                inputs.append(name)
        defined_in_body |= stmt.defines
    name = cell.flags.name
    binds_name = name in defined_in_body
    if not cell.flags.on_demand and not binds_name:
        raise UserError(
            f"the cell never binds {name!r}",
            where=cell.ref,
            line=body[-1].line,
            fix=f"assign the feature frame to {name} (e.g. `{name} = df.groupby(...)...`)",
        )
    if cell.flags.on_demand and len(inputs) != 1:
        what = ", ".join(repr(i) for i in inputs) or "no frame"
        raise UserError(
            f"an on-demand cell derives columns from exactly one input frame; it reads {what}",
            where=cell.ref,
            line=_first_read_line(body, inputs[1]) if len(inputs) > 1 else body[0].line,
            fix="join the frames in an earlier cell and derive the new columns from the result",
        )
    result = (
        find_result_frame([s.node for s in body], name, inputs) if cell.flags.on_demand else None
    )
    support, loading = slicer.split()
    upstream = tuple(v for v in notebook.view_of if v in slicer.upstream)
    loading_support: tuple[Statement, ...] = ()
    if cell.flags.on_demand:
        # Feast hands the input frame to the view: its udf carries only what the body reads.
        # The loading slice still rebuilds the notebook's frame, for verify and --freeze.
        body_slicer = _Slicer(notebook, cell)
        local: set[str] = set(inputs)
        for stmt in body:
            for read in sorted(_outer_reads(stmt) - local):
                body_slicer.visit(read, start, stmt.line)
            local |= stmt.defines
        body_support = {s.order for s in body_slicer.split()[0]}
        loading_support = tuple(s for s in support if s.order not in body_support)
        support = tuple(s for s in support if s.order in body_support)
    return ViewSpec(
        cell=cell,
        body=body,
        support=support,
        loading=loading,
        loading_support=loading_support,
        upstream=upstream,
        inputs=tuple(inputs),
        binds_name=binds_name,
        result=result,
        columns_read=_columns_read(body, inputs[0]) if cell.flags.on_demand else frozenset(),
    )


def extract_views(
    cells: Sequence[NotebookCell], feature_cells: Sequence[FeatureCell]
) -> tuple[ViewSpec, ...]:
    """One `ViewSpec` per feature cell, in notebook order."""
    notebook = _index_notebook(cells, feature_cells)
    return tuple(extract_view(notebook, fc) for fc in feature_cells)
