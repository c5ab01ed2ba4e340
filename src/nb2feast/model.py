"""The pipeline's data: plain frozen dataclasses, nothing heavy imported.

Every stage (read, select, extract, transform, render, write, verify) passes these
along; the CLI, the magic and the JupyterLab handlers render the same objects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
ViewKind = Literal["batch", "on_demand"]


@dataclass(frozen=True)
class CellRef:
    """Where a cell lives: notebook path, 0-based index and nbformat cell id."""

    notebook: str
    index: int
    id: str

    def describe(self, line: int | None = None, col: int | None = None) -> str:
        where = f"{self.notebook}: cell {self.index} (id {self.id})"
        if line is not None:
            where += f", line {line}"
            if col is not None:
                where += f", col {col}"
        return where


@dataclass(frozen=True)
class NotebookCell:
    """One code cell as read from the notebook (markdown and raw cells are dropped)."""

    ref: CellRef
    source: str


@dataclass(frozen=True)
class FeatureFlags:
    """The parsed `%%feature` line."""

    name: str
    entities: tuple[str, ...] = ()
    timestamp: str = "event_timestamp"
    created: str | None = None
    ttl_seconds: int | None = None  # None: not given; 0: never expires
    on_demand: bool = False
    requests: tuple[tuple[str, str], ...] = ()  # (column, Feast type name)
    offline_only: bool = False
    description: str = ""
    owner: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    freeze: bool = False

    @property
    def kind(self) -> ViewKind:
        return "on_demand" if self.on_demand else "batch"


@dataclass(frozen=True)
class FeatureCell:
    """A `%%feature` cell: its flags and its body (the code below the magic line).

    Lines of `body` are numbered from 1; the same line is `line + 1` in the cell as
    the user sees it, because the magic line comes first.
    """

    cell: NotebookCell
    flags: FeatureFlags
    body: str

    @property
    def ref(self) -> CellRef:
        return self.cell.ref


@dataclass(frozen=True)
class Hazard:
    """A skew hazard found in a feature cell (SPEC section 4)."""

    code: str
    category: str
    severity: Severity
    cell_index: int
    cell_id: str
    line: int
    col: int
    message: str
    fix: str
    view: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping) -> Hazard:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Column:
    """A column of a view with its exact dtype and the Feast type it maps to."""

    name: str
    dtype: str
    feast_type: str


@dataclass(frozen=True)
class ParityFeature:
    name: str
    ok: bool
    mismatches: int
    null_mismatches: int
    max_abs_err: float
    dtype_notebook: str
    dtype_feast: str
    examples: tuple[dict, ...] = ()
    feast_type: str = ""  # the type Feast declares for the feature (registry, else manifest)
    feast_type_notebook: str = ""  # the Feast type of the notebook's dtype; differing -> not ok


@dataclass(frozen=True)
class ParityCheck:
    path: Literal["offline", "online"]
    rows_expected: int
    rows_returned: int
    features: tuple[ParityFeature, ...]
    mode: str | None = None
    error: str | None = None
    feast_view: str | None = None  # on-demand: the registered view checked (NAME or NAME_pandas)

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.rows_expected == self.rows_returned
            and all(f.ok for f in self.features)
        )


# The kernel verify starts is told where to leave each cell's frames, and which notebook it runs.
CAPTURE_ENV = "NB2FEAST_CAPTURE_DIR"
NOTEBOOK_ENV = "NB2FEAST_NOTEBOOK"

# What verify says about a view, most pressing first; the one verdict every surface shows.
ViewStatus = Literal["stale", "error", "mismatch", "hazard", "ok"]
# Verify's phases, in the order they run (the report's timings follow it).
PHASES = (
    "apply",
    "run_notebook",
    "freshness",
    "open_store",
    "sample",
    "offline",
    "materialize",
    "online",
    "compare",
    "time_travel",
)


@dataclass(frozen=True)
class ViewError:
    """A phase that raised for one view: the other views are still checked."""

    phase: str
    message: str


@dataclass(frozen=True)
class ViewParity:
    name: str
    kind: ViewKind
    checks: tuple[ParityCheck, ...]
    error: ViewError | None = None
    stale: tuple[str, ...] = ()  # what changed since export/apply, each with its fix
    notes: tuple[str, ...] = ()  # things verify did or noticed that change no verdict
    coverage: dict = field(default_factory=dict)
    engine: str | None = None  # batch: what built the feature table (pandas, spark)

    @property
    def ok(self) -> bool:
        """Feast matched the notebook on every check (hazards are judged by the report)."""
        return self.error is None and not self.stale and all(c.ok for c in self.checks)


def _feature_json(feature: ParityFeature) -> dict:
    """A feature's parity as strict JSON: an infinite error is the string "inf"."""
    out = asdict(feature) | {"examples": list(feature.examples)}
    if not math.isfinite(feature.max_abs_err):
        out["max_abs_err"] = str(feature.max_abs_err)
    return out


@dataclass(frozen=True)
class ParityReport:
    notebook: str
    repo: str
    views: tuple[ViewParity, ...]
    hazards: tuple[Hazard, ...] = ()
    timings: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    cells: tuple[tuple[str, int], ...] = ()  # (view, cell index), for annotations

    def status(self, view: ViewParity) -> ViewStatus:
        from nb2feast.proof.report import view_status

        return view_status(view, self.hazards)

    @property
    def ok(self) -> bool:
        from nb2feast.proof.report import report_ok

        return report_ok(self)

    def to_dict(self) -> dict:
        from nb2feast.proof.report import headline

        views = []
        for view in self.views:
            checks = []
            for check in view.checks:
                item = {
                    "path": check.path,
                    "ok": check.ok,
                    "rows_expected": check.rows_expected,
                    "rows_returned": check.rows_returned,
                    "features": [_feature_json(f) for f in check.features],
                }
                if check.mode is not None:
                    item["mode"] = check.mode
                if check.feast_view is not None:
                    item["feast_view"] = check.feast_view
                if check.error is not None:
                    item["error"] = check.error
                checks.append(item)
            status = self.status(view)
            entry = {
                "name": view.name,
                "kind": view.kind,
                "ok": status == "ok",
                "status": status,
                "checks": checks,
                "stale": list(view.stale),
                "notes": list(view.notes),
                "coverage": dict(view.coverage),
            }
            if view.error is not None:
                entry["error"] = asdict(view.error)
            if view.engine:
                entry["engine"] = view.engine
            views.append(entry)
        return {
            "ok": self.ok,
            "summary": headline(self),
            "notebook": self.notebook,
            "repo": self.repo,
            "views": views,
            "hazards": [h.to_dict() for h in self.hazards],
            "notes": list(self.notes),
            "timings": dict(self.timings),
        }


@dataclass(frozen=True)
class ExportResult:
    """What `export` did (or, with `check`, would do)."""

    ok: bool
    out: str
    files: tuple[str, ...]  # repository-relative paths written (or that would be)
    stale: tuple[str, ...] = ()  # --check: missing or different files
    hazards: tuple[Hazard, ...] = ()
    views: tuple[dict, ...] = ()  # the manifest's view entries
    wrote: bool = False
    texts: dict = field(default_factory=dict, compare=False, repr=False)  # --check: path -> text

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "out": self.out,
            "files": list(self.files),
            "stale": list(self.stale),
            "hazards": [h.to_dict() for h in self.hazards],
            "views": list(self.views),
        }


# On-disk contracts ---------------------------------------------------------------------
# Each file nb2feast writes has one type here, read with `from_json` and written with
# `to_json`; keys this version does not know are kept (`extra`) so a round trip loses none.


def _extra(data: Mapping, known: set[str]) -> dict:
    return {k: v for k, v in data.items() if k not in known}


@dataclass(frozen=True)
class FeatureEntry:
    name: str
    dtype: str = ""
    feast_type: str = ""

    @classmethod
    def from_json(cls, data: Mapping) -> FeatureEntry:
        return cls(str(data["name"]), str(data.get("dtype", "")), str(data.get("feast_type", "")))

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "feast_type": self.feast_type}


@dataclass(frozen=True)
class ServedMode:
    """An on-demand view as registered: NAME (served) or NAME_pandas (twin), and its mode."""

    name: str
    mode: str
    reason: str | None = None

    @classmethod
    def from_json(cls, data: Mapping) -> ServedMode:
        return cls(str(data["name"]), str(data["mode"]), data.get("reason"))

    def to_json(self) -> dict:
        return {"name": self.name, "mode": self.mode} | (
            {"reason": self.reason} if self.reason else {}
        )


_VIEW_KEYS = {
    "name",
    "kind",
    "notebook",
    "cell_index",
    "cell_id",
    "features",
    "module",
    "entities",
    "timestamp",
    "created",
    "ttl_seconds",
    "offline_only",
    "table",
    "input_frame",
    "sources",
    "requests",
    "modes",
    "views",
}


@dataclass(frozen=True)
class ViewEntry:
    """One view of the manifest `nb2feast.json` (docs/ARCHITECTURE.md)."""

    name: str
    kind: ViewKind
    notebook: str = ""
    cell_index: int = -1
    cell_id: str = ""
    features: tuple[FeatureEntry, ...] = ()
    module: str = ""
    # batch
    entities: tuple[str, ...] = ()
    timestamp: str = "event_timestamp"
    created: str | None = None
    ttl_seconds: int | None = None
    offline_only: bool = False
    table: str = ""
    # on demand
    input_frame: str | None = None
    sources: tuple[str, ...] = ()
    requests: tuple[FeatureEntry, ...] = ()  # name and feast_type
    modes: tuple[str, ...] = ()
    served: tuple[ServedMode, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def where(self) -> str:
        return f"{self.notebook}: cell {self.cell_index} (id {self.cell_id})"

    @classmethod
    def from_json(cls, data: Mapping) -> ViewEntry:
        return cls(
            name=str(data["name"]),
            kind=data.get("kind", "batch"),
            notebook=str(data.get("notebook", "")),
            cell_index=int(data.get("cell_index", -1)),
            cell_id=str(data.get("cell_id", "")),
            features=tuple(FeatureEntry.from_json(f) for f in data.get("features", [])),
            module=str(data.get("module", "")),
            entities=tuple(data.get("entities") or ()),
            timestamp=data.get("timestamp") or "event_timestamp",
            created=data.get("created"),
            ttl_seconds=data.get("ttl_seconds"),
            offline_only=bool(data.get("offline_only", False)),
            table=str(data.get("table", "")),
            input_frame=data.get("input_frame"),
            sources=tuple(data.get("sources") or ()),
            requests=tuple(FeatureEntry.from_json(r) for r in data.get("requests") or ()),
            modes=tuple(data.get("modes") or ()),
            served=tuple(ServedMode.from_json(v) for v in data.get("views") or ()),
            extra=_extra(data, _VIEW_KEYS),
        )

    def to_json(self) -> dict:
        """The manifest's JSON for this view, key for key as `export` writes it."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "notebook": self.notebook,
            "cell_index": self.cell_index,
            "cell_id": self.cell_id,
            "features": [f.to_json() for f in self.features],
            "module": self.module,
        }
        if self.kind == "on_demand":
            out |= {
                "input_frame": self.input_frame,
                "sources": list(self.sources),
                "requests": [{"name": r.name, "feast_type": r.feast_type} for r in self.requests],
                "modes": list(self.modes),
                "views": [v.to_json() for v in self.served],
            }
        else:
            out |= {
                "entities": list(self.entities),
                "timestamp": self.timestamp,
                "created": self.created,
                "ttl_seconds": self.ttl_seconds,
                "offline_only": self.offline_only,
                "table": self.table,
            }
        return out | self.extra


@dataclass(frozen=True)
class Manifest:
    """`nb2feast.json`: what export wrote into a repository (read by verify and the server)."""

    version: str = ""
    project: str = ""
    notebooks: tuple[str, ...] = ()
    views: tuple[ViewEntry, ...] = ()
    hazards: tuple[Hazard, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)

    def view(self, name: str) -> ViewEntry | None:
        return next((v for v in self.views if v.name == name), None)

    @classmethod
    def from_json(cls, data: Mapping) -> Manifest:
        return cls(
            version=str(data.get("nb2feast", "")),
            project=str(data.get("project", "")),
            notebooks=tuple(data.get("notebooks") or ()),
            views=tuple(ViewEntry.from_json(v) for v in data.get("views") or ()),
            hazards=tuple(Hazard.from_json(h) for h in data.get("hazards") or ()),
            extra=_extra(data, {"nb2feast", "project", "notebooks", "views", "hazards"}),
        )

    def to_json(self) -> dict:
        return {
            "nb2feast": self.version,
            "project": self.project,
            "notebooks": list(self.notebooks),
            "views": [v.to_json() for v in self.views],
            "hazards": [h.to_dict() for h in self.hazards],
        } | self.extra


@dataclass(frozen=True)
class CaptureMeta:
    """`<NAME>.json` in the capture dir: what `%%feature NAME` saw when verify ran the notebook.

    Beside it: `<NAME>.output.parquet` (what the cell produced) and, for on-demand cells,
    `<NAME>.input.parquet` (the input frame as it was before the cell ran).
    """

    name: str
    kind: ViewKind = "batch"
    cell_id: str = ""
    input_frame: str | None = None
    features: tuple[str, ...] = ()
    dtypes: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping) -> CaptureMeta:
        return cls(
            name=str(data["name"]),
            kind=data.get("kind", "batch"),
            cell_id=str(data.get("cell_id", "")),
            input_frame=data.get("input_frame"),
            features=tuple(data.get("features") or ()),
            dtypes=dict(data.get("dtypes") or {}),
        )

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "cell_id": self.cell_id,
            "input_frame": self.input_frame,
            "features": list(self.features),
            "dtypes": dict(self.dtypes),
        }


@dataclass(frozen=True)
class SidecarView:
    """One view in `<notebook>.nb2feast.json`: its columns' exact types, as the cell last ran."""

    cell_hash: str = ""
    features: tuple[str, ...] = ()
    dtypes: dict = field(default_factory=dict)
    feast_types: dict = field(default_factory=dict)
    frozen: dict | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Mapping) -> SidecarView:
        known = {"cell_hash", "features", "dtypes", "feast_types", "frozen"}
        return cls(
            cell_hash=str(data.get("cell_hash", "")),
            features=tuple(data.get("features") or ()),
            dtypes=dict(data.get("dtypes") or {}),
            feast_types=dict(data.get("feast_types") or {}),
            frozen=data.get("frozen"),
            extra=_extra(data, known),
        )

    def to_json(self) -> dict:
        out = {
            "cell_hash": self.cell_hash,
            "features": list(self.features),
            "dtypes": dict(self.dtypes),
            "feast_types": dict(self.feast_types),
        }
        if self.frozen is not None:
            out["frozen"] = self.frozen
        return out | self.extra


@dataclass(frozen=True)
class Sidecar:
    """`<notebook>.nb2feast.json`, written by the magic beside the notebook, read by export."""

    views: dict = field(default_factory=dict)  # view name -> SidecarView
    extra: dict = field(default_factory=dict, compare=False)

    SUFFIX = ".nb2feast.json"

    @classmethod
    def from_json(cls, data: Mapping) -> Sidecar:
        views = {str(k): SidecarView.from_json(v) for k, v in (data.get("views") or {}).items()}
        return cls(views=views, extra=_extra(data, {"views"}))

    def to_json(self) -> dict:
        return {"views": {k: v.to_json() for k, v in self.views.items()}} | self.extra


@dataclass(frozen=True)
class AppliedState:
    """`.nb2feast/applied.json`: fingerprints of the files Feast's registry and feature
    tables were built from, written by `materialize` (apply) and checked by verify."""

    files: dict = field(default_factory=dict)  # repo-relative path -> fingerprint
    tables: dict = field(default_factory=dict)  # view name -> fingerprint of data/<view>.parquet

    PATH = ".nb2feast/applied.json"

    @classmethod
    def from_json(cls, data: Mapping) -> AppliedState:
        return cls(files=dict(data.get("files") or {}), tables=dict(data.get("tables") or {}))

    def to_json(self) -> dict:
        return {
            "files": dict(sorted(self.files.items())),
            "tables": dict(sorted(self.tables.items())),
        }
