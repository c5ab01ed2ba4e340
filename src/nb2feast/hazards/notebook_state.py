"""notebook_state: the cell depends on kernel state that production will not have.

A feature cell is exported as a function of its input frames. Anything else it reads or
writes (a global a later cell redefines, a file, the network, a mutable global) is
notebook state: the generated transform either cannot see it or sees another value.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider, ScopeProvider

from nb2feast.hazards._base import HazardVisitor

DESCRIPTION = "Globals redefined later, reads of files or the network, mutation of globals."

IO_PREFIXES = ("pandas.read_", "polars.read_", "polars.scan_", "requests.", "urllib.", "httpx.", "duckdb.")
IO_FUNCTIONS = frozenset(
    {"builtins.open", "io.open", "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile"}
    | {"pyarrow.parquet.read_table", "sqlite3.connect"}
)
MUTATORS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "clear", "update", "add", "discard", "setdefault", "popitem"}
)


class NotebookStateVisitor(HazardVisitor):
    """NB2F401 global redefined later, NB2F402 global defined only later,
    NB2F403 global mutated by the cell, NB2F404 file or network read."""

    CATEGORY = "notebook_state"

    def visit_Module(self, node: cst.Module) -> None:
        self.free: dict[str, cst.Name] = {}
        for scope in set(self.metadata[ScopeProvider].values()):
            for access in scope.accesses if scope is not None else ():
                if not access.referents and isinstance(access.node, cst.Name):
                    first = self.free.get(access.node.value)
                    if first is None or self._pos(access.node) < self._pos(first):
                        self.free[access.node.value] = access.node
        for name, node_ in sorted(self.free.items(), key=lambda item: self._pos(item[1])):
            self._check_read(name, node_)

    def _pos(self, node: cst.CSTNode) -> tuple[int, int]:
        start = self.get_metadata(PositionProvider, node).start
        return start.line, start.column

    def _check_read(self, name: str, node: cst.Name) -> None:
        later = self.ctx.notebook.later_bindings.get(name)
        if later is None:
            return
        if name in self.ctx.notebook.earlier_bindings:
            self.report(
                node, "NB2F401", "warning",
                f"the cell reads global '{name}', which cell {later} (after this one) redefines; "
                "the value the notebook used depends on the order cells ran",
                f"give the later value another name, or define '{name}' once before this cell",
            )
        elif not self.ctx.notebook.opaque_before:
            self.report(
                node, "NB2F402", "error",
                f"the cell reads '{name}', which is only defined in cell {later}, after this one; "
                "run top to bottom, the notebook fails here",
                f"move the definition of '{name}' above this cell",
            )

    @property
    def _severity(self) -> str:
        return "error" if self.flags.on_demand else "warning"

    def _is_global_container(self, expr: cst.BaseExpression) -> bool:
        return m.matches(expr, m.Name()) and expr.value in self.free and expr.value in self.ctx.notebook.containers

    def _report_mutation(self, node: cst.CSTNode, name: str) -> None:
        self.report(
            node, "NB2F403", self._severity,
            f"the cell mutates notebook global '{name}'; the exported transform has no such global, "
            "and re-running the cell changes it again",
            f"build a new local value from '{name}' inside the cell instead of changing it in place",
        )

    def visit_Global(self, node: cst.Global) -> None:
        self._report_mutation(node, ", ".join(n.name.value for n in node.names))

    @m.visit(m.Call(func=m.Attribute(attr=m.Name())))
    def mutating_call(self, call: cst.Call) -> None:
        if call.func.attr.value in MUTATORS and self._is_global_container(call.func.value):
            self._report_mutation(call, call.func.value.value)

    @m.visit(m.AssignTarget() | m.AugAssign() | m.Del())
    def item_assignment(self, node: cst.AssignTarget | cst.AugAssign | cst.Del) -> None:
        target = node.target
        if m.matches(target, m.Subscript() | m.Attribute()) and self._is_global_container(target.value):
            self._report_mutation(target, target.value.value)

    @m.visit(m.Call())
    def io_call(self, call: cst.Call) -> None:
        names = self.qualified(call.func)
        if names & IO_FUNCTIONS or any(n.startswith(IO_PREFIXES) for n in names):
            self.report(
                call, "NB2F404", self._severity,
                f"`{self.code(call.func)}(...)` reads a file or the network inside the feature cell; "
                "at serving time that data is absent or different",
                "load the data in an earlier cell and pass the frame in: the frame becomes a Feast "
                "source (batch) or an input view / --request field (on-demand)",
            )
