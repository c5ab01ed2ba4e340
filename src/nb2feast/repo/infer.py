"""infer: exact column types, from data — never guessed.

Either from running the generated transforms on the notebook's own sources (the same
code Feast's tables will be built with), or from the sidecar the magic wrote the last
time each cell ran. Also loads generated transform packages for `materialize`/`verify`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import threading
import types
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from nb2feast.errors import UserError
from nb2feast.model import CellRef, Column, FeatureFlags
from nb2feast.notebook.extract import ViewSpec
from nb2feast.repo.linemap import LineMap, transform_failure
from nb2feast.repo.types import feast_type_for_values

SIDECAR_SUFFIX = ".nb2feast.json"
TRANSFORM_LOCK = threading.Lock()  # transforms chdir to their notebook's folder while loading


def cell_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def source_key(source: str) -> str:
    """Hash of a `%%feature` cell's magic line and body, as the magic sees them when it runs:
    the sidecar's `cell_hash`, and how a headless kernel finds its notebook."""
    head, _, body = source.lstrip("\n").partition("\n")
    return cell_hash(head[len("%%feature") :].strip() + "\n" + body.rstrip())


def sidecar_path(notebook: Path) -> Path:
    return notebook.with_name(notebook.stem + SIDECAR_SUFFIX)


def read_sidecar(notebook: Path) -> dict:
    path = sidecar_path(notebook)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON: nothing recorded
        return {}
    if not isinstance(recorded, dict) or not isinstance(recorded.get("views", {}), dict):
        return {}
    return recorded


def column_type(frame, name: str) -> str | None:
    """The Feast type of a column (see `types.feast_type_for_values`)."""
    return feast_type_for_values(frame[name])


def frame_columns(
    frame, names: Sequence[str], view: str, where: CellRef | None
) -> tuple[Column, ...]:
    """Each named column with its dtype and Feast type; a column of unknowable type is an error."""
    columns = []
    for name in names:
        feast_type = column_type(frame, name)
        if feast_type is None and str(frame[name].dtype) == "category":
            raise UserError(
                f"cannot know the Feast type of column {name!r} of {view!r}: its categories are "
                f"{frame[name].cat.categories.dtype} (values: {frame[name].head(3).tolist()!r})",
                where=where,
                line=1,
                fix="give pd.cut labels (labels=[...]), or cast the column: .astype(str)",
            )
        if feast_type is None:
            raise UserError(
                f"cannot know the Feast type of column {name!r} of {view!r}: "
                f"dtype {frame[name].dtype} (values: {frame[name].head(3).tolist()!r})",
                where=where,
                line=1,
                fix="cast it in the cell (e.g. .astype('float64'), .astype(str), .astype('int64'))",
            )
        columns.append(Column(name=name, dtype=str(frame[name].dtype), feast_type=feast_type))
    return tuple(columns)


def batch_features(
    frame, flags: FeatureFlags, where: CellRef | None, line: int = 1
) -> tuple[Column, ...]:
    """Check a batch view's frame has its keys and timestamps; its other columns are features.
    The magic (as the cell runs) and export (when it computes types) share this check."""
    import pandas as pd

    name = flags.name
    if not isinstance(frame, pd.DataFrame):
        raise UserError(
            f"{name!r} is a {type(frame).__name__}, not a DataFrame",
            where=where,
            line=line,
            fix="bind the view name to a DataFrame (call .reset_index() on a Series "
            "or grouped result)",
        )
    required = [*flags.entities, flags.timestamp, *([flags.created] if flags.created else [])]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise UserError(
            f"column(s) {', '.join(map(repr, missing))} absent from the result of {name!r}; "
            f"it has {', '.join(map(repr, map(str, frame.columns)))}",
            where=where,
            line=1,
            fix="keep the entity key and timestamp columns in the frame (e.g. .reset_index()), or "
            "fix --entity/--timestamp",
        )
    for column in [flags.timestamp, *([flags.created] if flags.created else [])]:
        if not pd.api.types.is_datetime64_any_dtype(frame[column]):
            unit = epoch_unit(frame[column])
            how = f', unit="{unit}"' if unit else ""
            what = f"; its values are epoch {unit}" if unit else ""
            raise UserError(
                f"timestamp column {column!r} of {name!r} has dtype {frame[column].dtype}, "
                f"not datetime{what}",
                where=where,
                line=1,
                fix=f"convert it: df[{column!r}] = pd.to_datetime(df[{column!r}]{how}, utc=True)",
            )
    features = [str(c) for c in frame.columns if c not in required]
    if not features:
        raise UserError(f"{name!r} has no feature column", where=where, line=1)
    return frame_columns(frame, features, name, where)


# Epoch numbers by magnitude: a 2001-2286 instant is 1e9-1e10 s, 1e12-1e13 ms, ...
_EPOCH_UNITS = (("s", 1e11), ("ms", 1e14), ("us", 1e17), ("ns", float("inf")))


def epoch_unit(values) -> str | None:
    """The `pd.to_datetime` unit of a numeric column of epoch times, from its magnitude."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    biggest = values.abs().max()
    if pd.isna(biggest) or biggest < 1e8:  # before 1973 in seconds: not an epoch column
        return None
    return next(unit for unit, limit in _EPOCH_UNITS if biggest < limit)


def check_entity_key(values, key: str, view: str, where: CellRef | None, line: int = 1) -> None:
    """Feast serializes a float key as `double_val`, which `materialize` cannot store."""
    import pandas as pd

    if not pd.api.types.is_float_dtype(values):
        return
    present = values.dropna()
    integral = bool(((present % 1) == 0).all())
    held = "integers" if integral else "fractions"
    raise UserError(
        f"entity key {key!r} of {view!r} has dtype {values.dtype} (it holds {held}): "
        "Feast cannot materialize a float key",
        where=where,
        line=line,
        fix=f'cast it in the cell: df[{key!r}] = df[{key!r}].astype("int64")'
        if integral
        else f"use an integer or string key: df[{key!r}] = df[{key!r}].astype(str)",
    )


def load_transforms(files: Mapping[str, str], repo: Path) -> types.ModuleType:
    """Import generated `transforms/*.py` texts as a package under a private name.

    Files come from memory (export, before anything is written) or from disk; `__file__`
    is set to where each file lives in `repo`, so `NOTEBOOK_DIR` resolves the same way.
    """
    token = hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:12]
    package_name = f"_nb2feast_transforms_{token}"
    for key in [k for k in sys.modules if k == package_name or k.startswith(package_name + ".")]:
        del sys.modules[key]
    package = types.ModuleType(package_name)
    package.__path__ = []  # type: ignore[attr-defined]
    package.__package__ = package_name
    sys.modules[package_name] = package
    modules = {
        p[len("transforms/") : -3]: t for p, t in files.items() if p.startswith("transforms/")
    }
    pending = dict(sorted(modules.items()))
    pending.pop("__init__", None)

    class _Finder:
        """Lets `from . import other_view` inside a transform load it on demand."""

        @staticmethod
        def find_spec(fullname, path=None, target=None):
            if (
                fullname.startswith(package_name + ".")
                and fullname[len(package_name) + 1 :] in pending
            ):
                return importlib.util.spec_from_loader(fullname, _Loader())
            return None

    class _Loader:
        def create_module(self, spec):
            return None

        def exec_module(self, module):
            name = module.__name__[len(package_name) + 1 :]
            module.__file__ = str(repo / "transforms" / f"{name}.py")
            module.__package__ = package_name
            setattr(package, name, module)
            exec(compile(pending[name], module.__file__, "exec"), module.__dict__)

    finder = _Finder()
    sys.meta_path.insert(0, finder)
    try:
        for name in pending:
            importlib.import_module(f"{package_name}.{name}")
    finally:
        sys.meta_path.remove(finder)
    return package


def _no_maps() -> Mapping[str, LineMap]:
    return {}


def run_build(
    package: types.ModuleType,
    view: ViewSpec,
    cache: dict,
    line_maps: Callable[[], Mapping[str, LineMap]] = _no_maps,
):
    """Run a batch view's generated `build()`; a failure names the cell and line it maps to."""
    if view.name in cache:
        return cache[view.name]
    module = getattr(package, view.name)
    with TRANSFORM_LOCK:
        try:
            frame = module.build()
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - the user's code failed: say where
            raise transform_failure(
                exc, line_maps(), view.cell.ref, "running the generated transform"
            ) from None
    cache[view.name] = frame
    return frame


def sample_request(feast_type: str, rows: int):
    """Typed request values to push through an on-demand transform to learn its output types."""
    import numpy as np
    import pandas as pd

    values = {
        "Int32": np.arange(1, rows + 1, dtype="int32"),
        "Int64": np.arange(1, rows + 1, dtype="int64"),
        "Float32": np.linspace(1.0, 2.0, rows, dtype="float32"),
        "Float64": np.linspace(1.0, 2.0, rows),
        "String": np.array([f"s{i}" for i in range(rows)], dtype=object),
        "Bytes": np.array([b"b"] * rows, dtype=object),
        "Bool": np.arange(rows) % 2 == 0,
        "UnixTimestamp": pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC"),
    }
    return values[feast_type]


def on_demand_columns(
    package: types.ModuleType,
    view: ViewSpec,
    upstream: Mapping[str, object],
    line_maps: Callable[[], Mapping[str, LineMap]] = _no_maps,
):
    """Run the on-demand transform on sample rows of its upstream views + typed request values."""
    import pandas as pd

    rows = 16
    parts = []
    seen: set[str] = set()
    for frame in upstream.values():
        features = [c for c in frame.columns if c not in seen]
        seen |= set(features)
        parts.append(frame[features].head(rows).reset_index(drop=True))
    sample = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=range(rows))
    sample = sample.head(rows)
    for column, feast_type in view.flags.requests:
        sample[column] = sample_request(feast_type, len(sample))
    before = list(sample.columns)
    function = getattr(getattr(package, view.name), view.name)
    try:
        result = function(sample.copy())
    except KeyError as exc:
        raise UserError(
            f"the on-demand cell reads column {exc.args[0]!r}, which no earlier %%feature view "
            f"or --request provides",
            where=view.cell.ref,
            line=1,
            fix=f"add --request {exc.args[0]}:TYPE, or compute it in a %%feature view above",
        ) from None
    except Exception as exc:  # noqa: BLE001 - the user's code failed: say where
        doing = "running the on-demand transform on sample rows"
        raise transform_failure(exc, line_maps(), view.cell.ref, doing) from None
    if not isinstance(result, pd.DataFrame):
        raise UserError(f"{view.name!r} does not produce a DataFrame", where=view.cell.ref, line=1)
    fresh = view.result is not None and view.result.fresh
    new = [str(c) for c in result.columns if fresh or c not in before]
    if not new:
        frame = view.result_name
        raise UserError(
            f"the on-demand cell {view.name!r} adds no column to {frame!r}",
            where=view.cell.ref,
            line=2,
            fix=f'assign new columns, e.g. {frame}["ratio"] = ..., or bind '
            f"{view.name} to the new frame",
        )
    return frame_columns(result, new, view.name, view.cell.ref)
