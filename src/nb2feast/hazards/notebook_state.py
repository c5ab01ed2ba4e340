"""notebook_state: the cell depends on kernel state that production will not have.

A feature cell is exported as a function of its input frames. Anything else it reads or
writes (a global a later cell redefines, a file, the network, a mutable global) is
notebook state: the generated transform either cannot see it or sees another value.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider

from nb2feast.hazards._base import HazardVisitor
from nb2feast.hazards._notebook import NotebookView
from nb2feast.hazards._scope import FastScopeProvider
from nb2feast.model import FeatureCell

DESCRIPTION = "Globals redefined later, reads of files or the network, mutation of globals."

IO_PREFIXES = (
    "pandas.read_",
    "polars.read_",
    "polars.scan_",
    "requests.",
    "urllib.",
    "httpx.",
    "duckdb.",
)
IO_FUNCTIONS = frozenset(
    {
        "builtins.open",
        "io.open",
        "numpy.load",
        "numpy.loadtxt",
        "numpy.genfromtxt",
        "numpy.fromfile",
    }
    | {"pyarrow.parquet.read_table", "sqlite3.connect"}
)
MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "clear",
        "update",
        "add",
        "discard",
        "setdefault",
        "popitem",
    }
)


class NotebookStateVisitor(HazardVisitor):
    """NB2F401 global redefined later, NB2F402 global defined only later,
    NB2F403 global mutated by the cell, NB2F404 file or network read."""

    CATEGORY = "notebook_state"
    TRIGGERS = frozenset(
        {"global"}
        | {prefix.split(".")[0] for prefix in IO_PREFIXES if prefix.endswith(".")}
        | {name.rpartition(".")[2] for name in IO_FUNCTIONS}
    )
    _IO_PARTS = tuple(prefix.rpartition(".")[2] for prefix in IO_PREFIXES if prefix[-1] != ".")

    @classmethod
    def applies(
        cls, feature_cell: FeatureCell, notebook: NotebookView, names: AbstractSet[str]
    ) -> bool:
        """A read of a global rebound later, a mutated global container, `global`, or I/O."""
        return (
            super().applies(feature_cell, notebook, names)
            or not names.isdisjoint(notebook.later_bindings)
            or not names.isdisjoint(notebook.containers)
            or any(name.startswith(cls._IO_PARTS) for name in names)
        )

    def visit_Module(self, node: cst.Module) -> None:
        """Names the cell reads but never binds: they come from other cells."""
        self.free: dict[str, list[cst.Name]] = {}
        for scope in set(self.metadata[FastScopeProvider].values()):
            for access in scope.accesses if scope is not None else ():
                if not access.referents and isinstance(access.node, cst.Name):
                    self.free.setdefault(access.node.value, []).append(access.node)
        positions = None
        reads = []
        for name, nodes in self.free.items():
            if name in self.ctx.notebook.later_bindings:
                positions = positions or self.ctx.wrapper.resolve(PositionProvider)
                first = min(
                    nodes, key=lambda n: (positions[n].start.line, positions[n].start.column)
                )
                reads.append((name, first))
        for name, first in reads:
            self._check_read(name, first)

    def _check_read(self, name: str, node: cst.Name) -> None:
        later = self.ctx.notebook.later_bindings.get(name)
        if later is None:
            return
        if name in self.ctx.notebook.earlier_bindings:
            self.report(
                node,
                "NB2F401",
                "warning",
                f"the cell reads global '{name}', which cell {later} (after this one) redefines; "
                "the value the notebook used depends on the order cells ran",
                f"give the later value another name, or define '{name}' once before this cell",
            )
        elif not self.ctx.notebook.opaque_before:
            self.report(
                node,
                "NB2F402",
                "error",
                f"the cell reads '{name}', which is only defined in cell {later}, after this one; "
                "run top to bottom, the notebook fails here",
                f"move the definition of '{name}' above this cell",
            )

    @property
    def _severity(self) -> str:
        return "error" if self.flags.on_demand else "warning"

    def _is_global_container(self, expr: cst.BaseExpression) -> bool:
        return (
            m.matches(expr, m.Name())
            and expr.value in self.free
            and expr.value in self.ctx.notebook.containers
        )

    def _report_mutation(self, node: cst.CSTNode, name: str) -> None:
        self.report(
            node,
            "NB2F403",
            self._severity,
            f"the cell mutates notebook global '{name}'; the exported transform has no such "
            "global, "
            "and re-running the cell changes it again",
            f"build a new local value from '{name}' inside the cell instead of changing it in "
            "place",
        )

    def visit_Global(self, node: cst.Global) -> None:
        self._report_mutation(node, ", ".join(n.name.value for n in node.names))

    def visit_Call(self, call: cst.Call) -> None:
        self._io_call(call)
        if (
            m.matches(call.func, m.Attribute(attr=m.Name()))
            and call.func.attr.value in MUTATORS
            and self._is_global_container(call.func.value)
        ):
            self._report_mutation(call, call.func.value.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._item_assignment(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._item_assignment(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._item_assignment(node.target)

    def _item_assignment(self, target: cst.BaseExpression) -> None:
        if m.matches(target, m.Subscript() | m.Attribute()) and self._is_global_container(
            target.value
        ):
            self._report_mutation(target, target.value.value)

    def _io_call(self, call: cst.Call) -> None:
        names = self.qualified(call.func)
        if names & IO_FUNCTIONS or any(n.startswith(IO_PREFIXES) for n in names):
            self.report(
                call,
                "NB2F404",
                self._severity,
                f"`{self.code(call.func)}(...)` reads a file or the network inside the feature "
                "cell; "
                "at serving time that data is absent or different",
                "load the data in an earlier cell and pass the frame in: the frame becomes a Feast "
                "source (batch) or an input view / --request field (on-demand)",
            )
