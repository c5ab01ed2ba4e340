"""Shared machinery of the detectors: the parsed cell, positions, names, reporting."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cache

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (
    BuiltinAssignment,
    ImportAssignment,
    MetadataWrapper,
    PositionProvider,
    QualifiedNameSource,
)

from nb2feast.hazards._notebook import NotebookView
from nb2feast.hazards._scope import FastScopeProvider
from nb2feast.model import FeatureCell, Hazard, Severity

ROW_WISE_AXIS = m.Integer("1") | m.SimpleString("'columns'") | m.SimpleString('"columns"')


@dataclass(frozen=True)
class CellContext:
    """A feature cell parsed with the notebook's imports prepended as `header_lines` lines."""

    feature_cell: FeatureCell
    notebook: NotebookView
    wrapper: MetadataWrapper
    header_lines: int


class HazardVisitor(cst.BatchableCSTVisitor):
    """Base of every detector: subclasses match nodes and call `report`.

    Detectors are batchable, so all of them share one traversal of the cell; positions
    are resolved only when something is reported (most cells report nothing).
    """

    METADATA_DEPENDENCIES = (FastScopeProvider,)
    CATEGORY = ""
    # Identifiers one of which every hazard of the detector involves: method or attribute
    # names, and every part of the qualified names it resolves (`rand` or `random` for
    # numpy.random.rand). A cell mentioning none of them is not parsed for the detector.
    TRIGGERS: frozenset[str] = frozenset()

    def __init__(self, ctx: CellContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.flags = ctx.feature_cell.flags
        self.hazards: list[Hazard] = []

    @classmethod
    @cache
    def _handler_names(cls) -> tuple[str, ...]:
        base = cst.BatchableCSTVisitor
        return tuple(
            name
            for name in dir(cls)
            if name.startswith(("visit_", "leave_"))
            and getattr(cls, name) is not getattr(base, name, None)
        )

    def get_visitors(self) -> dict[str, Callable[[cst.CSTNode], None]]:
        """Only the handlers a detector defines (LibCST's default looks at ~700 no-op methods)."""
        return {name: getattr(self, name) for name in self._handler_names()}

    @classmethod
    def applies(
        cls, feature_cell: FeatureCell, notebook: NotebookView, names: AbstractSet[str]
    ) -> bool:
        """Whether this detector can report anything on the cell (e.g. cross_row: on-demand only).

        `names` are the identifiers of the body (outside strings and comments, but inside
        f-strings) plus every part of the import statements of the imported names it uses:
        `rand` after `from numpy.random import rand` brings `numpy` and `random`.
        """
        return not cls.TRIGGERS.isdisjoint(names)

    def report(
        self, node: cst.CSTNode, code: str, severity: Severity, message: str, fix: str
    ) -> None:
        """Record a hazard at `node`: the line the user sees in the cell, 0-based column."""
        start = self.ctx.wrapper.resolve(PositionProvider)[node].start
        ref = self.ctx.feature_cell.ref
        self.hazards.append(
            Hazard(
                code=code,
                category=self.CATEGORY,
                severity=severity,
                cell_index=ref.index,
                cell_id=ref.id,
                line=start.line - self.ctx.header_lines + 1,
                col=start.column,
                message=message,
                fix=fix,
                view=self.flags.name,
            )
        )

    def code(self, node: cst.CSTNode) -> str:
        return self.ctx.wrapper.module.code_for_node(node)

    def qualified(self, node: cst.CSTNode) -> set[str]:
        """Fully qualified names `node` may refer to (`np.random.rand` -> `numpy.random.rand`)."""
        scope = self.get_metadata(FastScopeProvider, node, None)
        if scope is None:
            return set()
        return {
            q.name
            for q in scope.get_qualified_names_for(node)
            if q.source in (QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN)
        }

    def has_qualified(self, node: cst.CSTNode, names: frozenset[str] | set[str]) -> bool:
        return bool(self.qualified(node) & names)

    def is_module_or_param(self, name: cst.Name) -> bool:
        """True when `name` is an imported module/function or a lambda/def parameter."""
        scope = self.get_metadata(FastScopeProvider, name, None)
        if scope is None:
            return False
        for assignment in scope[name.value]:
            if isinstance(assignment, (ImportAssignment, BuiltinAssignment)):
                return True
            if isinstance(assignment.node, cst.Param):
                return True
        return False

    def frame_root(self, expr: cst.BaseExpression) -> cst.Name | None:
        """The variable a pandas-looking expression starts from (`df` in `df["x"].fillna(0)`)."""
        while True:
            if isinstance(expr, (cst.Attribute, cst.Subscript)):
                expr = expr.value
            elif isinstance(expr, cst.Call):
                expr = expr.func
            else:
                break
        if isinstance(expr, cst.Name) and not self.is_module_or_param(expr):
            return expr
        return None

    @staticmethod
    def keyword(call: cst.Call, name: str) -> cst.Arg | None:
        return next(
            (a for a in call.args if a.keyword is not None and a.keyword.value == name), None
        )

    @staticmethod
    def positional(call: cst.Call, index: int) -> cst.Arg | None:
        args = [a for a in call.args if a.keyword is None and not a.star]
        return args[index] if index < len(args) else None
