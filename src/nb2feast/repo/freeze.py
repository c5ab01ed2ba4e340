"""freeze: whole-frame statistics of on-demand cells become named constants.

At serving time an on-demand view sees one request, so `(x - x.mean()) / x.std()` would
use the statistics of that one row. With `--freeze` the statistic is computed once on the
notebook's data — by the magic when the cell runs (recorded in the sidecar), or by
`export` from the cell's own `load_inputs()` — and inlined in the generated code with a
comment saying where it came from, so training and serving use the same number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import libcst as cst

from nb2feast.hazards.freeze import FreezeTarget, apply_freeze, find_freezable
from nb2feast.model import Hazard
from nb2feast.notebook.analyze import analyze_cell
from nb2feast.notebook.extract import ViewSpec


def body_source(view: ViewSpec) -> str:
    return cst.Module(body=[s.node for s in view.body]).code


def freeze_targets(view: ViewSpec) -> list[FreezeTarget]:
    """The statistics `--freeze` would inline (none for batch views)."""
    if not view.flags.on_demand or view.input_frame is None:
        return []
    return find_freezable(body_source(view), view.input_frame)


def compute_values(
    frame, targets: Sequence[FreezeTarget], frame_name: str, namespace: Mapping
) -> dict:
    """Evaluate each statistic on the notebook's frame, in the cell's namespace."""
    scope = dict(namespace) | {frame_name: frame}
    values = {}
    for target in targets:
        value = eval(target.expr_code, scope)
        values[target.const_name] = value.item() if hasattr(value, "item") else value
    return values


def freeze_view(view: ViewSpec, values: Mapping[str, float], provenance: str) -> ViewSpec:
    """The view with its statistics replaced by constants (the body re-analyzed)."""
    source = apply_freeze(body_source(view), dict(values), provenance, frame_name=view.input_frame)
    _, statements = analyze_cell(
        source,
        view.cell.ref,
        line_offset=1,
        order_base=view.cell.ref.index * 100_000,
        in_feature_cell=True,
    )
    return replace(view, body=statements)


def mark_frozen(
    hazards: Sequence[Hazard], view: str, targets: Sequence[FreezeTarget]
) -> list[Hazard]:
    """Cross-row hazards that freezing resolved stay visible, as `info`."""
    out = []
    for hazard in hazards:
        target = next(
            (
                t
                for t in targets
                if hazard.view == view
                and hazard.category == "cross_row"
                and hazard.line == t.line + 1
                and t.col <= hazard.col < t.col + len(t.expr_code)
            ),
            None,
        )
        if target is None:
            out.append(hazard)
        else:
            out.append(
                replace(
                    hazard,
                    severity="info",
                    message=f"frozen as {target.const_name}: {hazard.message}",
                )
            )
    return out
