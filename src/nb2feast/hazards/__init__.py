"""Static skew-hazard detectors (SPEC section 4): one LibCST visitor per category.

`detect_hazards` parses a feature cell's body once, with the notebook's imports
prepended so names resolve (`np` -> `numpy`), and runs every detector over it.
Positions are those the user sees: `line` counts from the `%%feature` line (line 1),
`col` is 0-based. The catalogue of codes is docs/hazards.md.

The slice a view runs (the helpers and loading statements `extract` traces it to) is
checked too, by the detectors that matter outside the cell (nondeterministic, timezone),
each finding at its own cell and line; `clock_flow` follows a column whose time zone was
dropped through the slice to the as-of join that meets it.

Most cells are clean, so parsing (and LibCST's scope analysis, the costly part) is
skipped when no detector's trigger identifiers occur in the body (see
`HazardVisitor.applies`); Python's own parser still checks that the body is valid.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import MetadataWrapper

from nb2feast.errors import UserError
from nb2feast.hazards._base import CellContext, HazardVisitor
from nb2feast.hazards._notebook import (
    NotebookView,
    notebook_view,
    python_text,
    summarize_cell,
)
from nb2feast.hazards.clock_flow import clock_flow_hazards
from nb2feast.hazards.cross_row import CrossRowVisitor
from nb2feast.hazards.future_leakage import FutureLeakageVisitor
from nb2feast.hazards.late_arrival import LateArrivalVisitor, source_hints
from nb2feast.hazards.nondeterministic import NondeterministicVisitor
from nb2feast.hazards.notebook_state import NotebookStateVisitor
from nb2feast.hazards.timezone import TimezoneVisitor
from nb2feast.model import FeatureCell, FeatureFlags, Hazard, NotebookCell
from nb2feast.notebook.cst import neutralize_magics

if TYPE_CHECKING:
    from nb2feast.notebook.analyze import Statement

__all__ = ["DETECTORS", "SLICE_DETECTORS", "detect_hazards"]

DETECTORS: tuple[type[HazardVisitor], ...] = (
    CrossRowVisitor,
    NondeterministicVisitor,
    FutureLeakageVisitor,
    NotebookStateVisitor,
    TimezoneVisitor,
    LateArrivalVisitor,
)
# What a helper or loading statement can do wrong for the view that runs it. Not
# future_leakage: loading code builds labels too, and a label looks ahead by design.
SLICE_DETECTORS: tuple[type[HazardVisitor], ...] = (
    NondeterministicVisitor,
    TimezoneVisitor,
    LateArrivalVisitor,
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
    """The identifiers of `text` plus every identifier of the imports of the names it uses."""
    names = _identifiers(text)
    for name in names & view.imports.keys():
        names.update(_IDENTIFIER.findall(view.imports[name]))
    return names


def detect_hazards(
    feature_cell: FeatureCell,
    cells: Sequence[NotebookCell],
    slice_statements: Sequence[Statement] | None = None,
    folder: Path | None = None,
) -> tuple[Hazard, ...]:
    """Every hazard of `feature_cell` and of the slice it runs, sorted by (cell, line, col, code).

    `cells` are the notebook's code cells in order (the feature cell among them).
    `slice_statements` are the helpers and loading statements the view runs (a
    `ViewSpec`'s support and loading); None traces them here (an untraceable cell: none).
    `folder` is the notebook's folder: with it, the schema (or header) of each source file
    the slice loads is read for arrival-stamp columns (NB2F601), never its rows.
    Raises `UserError` (with the cell's position) when the body is not valid Python.
    """
    own = _cell_hazards(feature_cell, cells)
    if slice_statements is None:
        slice_statements = _trace_slice(feature_cell, cells)
    flags = _slice_flags(feature_cell.flags)
    key = _hashed_cells(cells)
    found = [
        replace(hazard, view=feature_cell.flags.name)
        for stmt in slice_statements
        for hazard in _statement_hazards(stmt, key, flags)
    ]
    found += clock_flow_hazards(feature_cell, slice_statements)
    found += source_hints(feature_cell, slice_statements, folder)
    hazards = set(own) | set(found)
    return tuple(sorted(hazards, key=lambda h: (h.cell_index, h.line, h.col, h.code, h.message)))


def _cell_hazards(feature_cell: FeatureCell, cells: Sequence[NotebookCell]) -> tuple[Hazard, ...]:
    """The hazards of the feature cell's own body."""
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
    return tuple(hazard for visitor in visitors for hazard in visitor.hazards)


def _trace_slice(feature_cell: FeatureCell, cells: Sequence[NotebookCell]) -> tuple[Statement, ...]:
    """The support and loading statements `extract` traces the view to; none when it cannot."""
    from nb2feast.notebook.extract import extract_views

    if feature_cell.cell not in cells:  # the magic: the running cell is not in history yet
        cells = [*cells, feature_cell.cell]
    try:
        (spec,) = extract_views(cells, [feature_cell])
    except UserError:
        return ()
    return (*spec.support, *spec.loading_support, *spec.loading)


def _slice_flags(flags: FeatureFlags) -> FeatureFlags:
    """What of the view's flags a slice statement's findings depend on (shared across views
    with the same clocks, so a long preprocessing cell is checked once)."""
    return FeatureFlags(
        name="", timestamp=flags.timestamp, created=flags.created, on_demand=flags.on_demand
    )


def _statement_view(as_cell: FeatureCell, cells: Sequence[NotebookCell]) -> NotebookView:
    """The notebook seen from a slice statement's cell: the statement is parsed alone, so
    its own cell's imports join the header (`pd` imported two lines above it)."""
    view = notebook_view(as_cell, cells)
    own = summarize_cell(as_cell.cell.source)
    imports = {**view.imports, **dict(own.imports)}
    names = sorted(name for name in imports if name not in own.bindings)
    header = "".join(imports[name] + "\n" for name in names)
    return replace(view, header=header, imports=imports, header_names=frozenset(names))


class _HashedCells(tuple):
    """The notebook's cells as a cache key whose hash is computed once: every statement of a
    shared preprocessing cell is looked up once per view."""

    def __hash__(self) -> int:
        try:
            return self._hash
        except AttributeError:
            self._hash = super().__hash__()
            return self._hash


_HASHED: dict[int, tuple[Sequence[NotebookCell], _HashedCells]] = {}


def _hashed_cells(cells: Sequence[NotebookCell]) -> _HashedCells:
    hit = _HASHED.get(id(cells))
    if hit is None or hit[0] is not cells:
        if len(_HASHED) > 64:  # a long-lived process (the lab server) keeps no old notebooks
            _HASHED.clear()
        hit = _HASHED[id(cells)] = (cells, _HashedCells(cells))
    return hit[1]


@lru_cache(maxsize=4096)
def _statement_hazards(
    stmt: Statement, cells: tuple[NotebookCell, ...], flags: FeatureFlags
) -> tuple[Hazard, ...]:
    """The slice detectors' findings in one helper or loading statement, at its own cell and
    line (`stmt.line` is the cell line of its first line)."""
    cell = next((c for c in cells if c.ref == stmt.cell), None)
    if cell is None:
        return ()
    code = cst.Module(body=[stmt.node.with_changes(leading_lines=())]).code
    as_cell = FeatureCell(cell, flags, cell.source)
    view = _statement_view(as_cell, cells)
    names = _trigger_names(code, view)
    detectors = [
        d for d in SLICE_DETECTORS if d.applies(FeatureCell(cell, flags, code), view, names)
    ]
    if not detectors:
        return ()
    header_lines = view.header.count("\n")
    try:
        module = cst.parse_module(view.header + code)
    except cst.ParserSyntaxError:
        return ()
    # report() places a node at `line - header_lines + 1`: shift so line 1 of `code` is stmt.line
    ctx = CellContext(
        as_cell,
        view,
        MetadataWrapper(module, unsafe_skip_copy=True),
        header_lines - stmt.line + 2,
    )
    visitors = [detector(ctx) for detector in detectors]
    ctx.wrapper.visit_batched(visitors)
    return tuple(hazard for visitor in visitors for hazard in visitor.hazards)
