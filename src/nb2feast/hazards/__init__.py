"""Static skew-hazard detectors (SPEC section 4): one LibCST visitor per category.

`detect_hazards` parses a feature cell's body once, with the notebook's imports
prepended so names resolve (`np` -> `numpy`), and runs every detector over it.
Positions are those the user sees: `line` counts from the `%%feature` line (line 1),
`col` is 0-based. The catalogue of codes is docs/hazards.md.

Most cells are clean, so parsing (and LibCST's scope analysis, the costly part) is
skipped when no detector's trigger identifiers occur in the body (see
`HazardVisitor.applies`); Python's own parser still checks that the body is valid.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper

from nb2feast.errors import UserError
from nb2feast.hazards._base import CellContext, HazardVisitor
from nb2feast.hazards._notebook import NotebookView, neutralize_magics, notebook_view, python_text
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


_IDENTIFIER = re.compile(r"[^\W\d]\w*")


def _string_prefix(literal: str) -> str:
    return re.match(r"[A-Za-z]*", literal)[0].lower()


def _identifiers(body: str) -> set[str]:
    """Names and keywords of `body`; identifiers inside f-strings count, other strings and
    comments do not. Text that does not tokenize counts as a whole (never fewer names)."""
    names: set[str] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(body).readline):
            if token.type == tokenize.NAME:
                names.add(token.string)
            elif token.type == tokenize.ERRORTOKEN or (
                token.type == tokenize.STRING and "f" in _string_prefix(token.string)
            ):
                names.update(_IDENTIFIER.findall(token.string))
    except (tokenize.TokenError, SyntaxError):
        return set(_IDENTIFIER.findall(body))
    return names


def _trigger_names(text: str, view: NotebookView) -> set[str]:
    """The identifiers of `text` plus every identifier of the import of each imported name it uses."""
    names = _identifiers(text)
    for name in names & view.imports.keys():
        names.update(_IDENTIFIER.findall(view.imports[name]))
    return names


def detect_hazards(feature_cell: FeatureCell, cells: Sequence[NotebookCell]) -> tuple[Hazard, ...]:
    """Every hazard of `feature_cell`, sorted by (line, col, code).

    `cells` are the notebook's code cells in order (the feature cell among them).
    Raises `UserError` (with the cell's position) when the body is not valid Python.
    """
    view = notebook_view(feature_cell, cells)
    text = python_text(feature_cell.body)  # what LibCST will parse, if Python parses it
    names = _trigger_names(feature_cell.body if text is None else text, view)
    detectors = [d for d in DETECTORS if d.applies(feature_cell, view, names)]
    if not detectors and text is not None:
        return ()  # nothing to look for, and the body is valid Python
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
    visitors = [detector(ctx) for detector in detectors]
    ctx.wrapper.visit_batched(visitors)
    hazards = [hazard for visitor in visitors for hazard in visitor.hazards]
    return tuple(sorted(set(hazards), key=lambda h: (h.line, h.col, h.code, h.message)))
