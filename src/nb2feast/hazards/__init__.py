"""Static skew-hazard detectors (SPEC section 4): one LibCST visitor per category.

`detect_hazards` parses a feature cell's body once, with the notebook's imports
prepended so names resolve (`np` -> `numpy`), and runs every detector over it.
Positions are those the user sees: `line` counts from the `%%feature` line (line 1),
`col` is 0-based. The catalogue of codes is docs/hazards.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper

from nb2feast.errors import UserError
from nb2feast.hazards._base import CellContext, HazardVisitor
from nb2feast.hazards._notebook import neutralize_magics, notebook_view
from nb2feast.hazards.cross_row import CrossRowVisitor
from nb2feast.hazards.future_leakage import FutureLeakageVisitor
from nb2feast.hazards.nondeterministic import NondeterministicVisitor
from nb2feast.hazards.notebook_state import NotebookStateVisitor
from nb2feast.hazards.timezone import TimezoneVisitor
from nb2feast.model import FeatureCell, Hazard, NotebookCell

__all__ = ["DETECTORS", "detect_hazards"]

DETECTORS: tuple[type[HazardVisitor], ...] = (
    CrossRowVisitor,
    NondeterministicVisitor,
    FutureLeakageVisitor,
    NotebookStateVisitor,
    TimezoneVisitor,
)


def _parse(header: str, body: str) -> cst.Module:
    """The header plus the body, magics neutralized; a `%` line may also be a modulo."""
    try:
        return cst.parse_module(header + neutralize_magics(body))
    except cst.ParserSyntaxError:
        return cst.parse_module(header + body)


def detect_hazards(feature_cell: FeatureCell, cells: Sequence[NotebookCell]) -> tuple[Hazard, ...]:
    """Every hazard of `feature_cell`, sorted by (line, col, code).

    `cells` are the notebook's code cells in order (the feature cell among them).
    Raises `UserError` (with the cell's position) when the body is not valid Python.
    """
    view = notebook_view(feature_cell, cells)
    header_lines = view.header.count("\n")
    try:
        module = _parse(view.header, feature_cell.body)
    except cst.ParserSyntaxError as exc:
        raise UserError(
            f"syntax error: {exc.message}",
            where=feature_cell.ref,
            line=exc.raw_line - header_lines + 1,
            col=exc.raw_column,
            fix="fix the cell so it parses as Python",
        ) from None
    ctx = CellContext(
        feature_cell, view, MetadataWrapper(module, unsafe_skip_copy=True), header_lines
    )
    visitors = [detector(ctx) for detector in DETECTORS if detector.applies(ctx)]
    ctx.wrapper.visit_batched(visitors)
    hazards = [hazard for visitor in visitors for hazard in visitor.hazards]
    return tuple(sorted(set(hazards), key=lambda h: (h.line, h.col, h.code, h.message)))
