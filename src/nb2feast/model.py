"""The pipeline's data: plain frozen dataclasses, nothing heavy imported.

Every stage (read, select, extract, transform, render, write, verify) passes these
along; the CLI, the magic and the JupyterLab handlers render the same objects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

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


@dataclass(frozen=True)
class ViewParity:
    name: str
    kind: ViewKind
    checks: tuple[ParityCheck, ...]
    engine: str | None = None  # batch: what built the feature table (pandas, spark)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


@dataclass(frozen=True)
class ParityReport:
    notebook: str
    repo: str
    views: tuple[ViewParity, ...]
    hazards: tuple[Hazard, ...] = ()
    timings: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.views) and not any(
            h.severity == "error" for h in self.hazards
        )

    def to_dict(self) -> dict:
        views = []
        for view in self.views:
            checks = []
            for check in view.checks:
                item = {
                    "path": check.path,
                    "ok": check.ok,
                    "rows_expected": check.rows_expected,
                    "rows_returned": check.rows_returned,
                    "features": [asdict(f) | {"examples": list(f.examples)} for f in check.features],
                }
                if check.mode is not None:
                    item["mode"] = check.mode
                if check.feast_view is not None:
                    item["feast_view"] = check.feast_view
                if check.error is not None:
                    item["error"] = check.error
                checks.append(item)
            entry = {"name": view.name, "kind": view.kind, "ok": view.ok, "checks": checks}
            views.append(entry | ({"engine": view.engine} if view.engine else {}))
        return {
            "ok": self.ok,
            "notebook": self.notebook,
            "repo": self.repo,
            "views": views,
            "hazards": [h.to_dict() for h in self.hazards],
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

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "out": self.out,
            "files": list(self.files),
            "stale": list(self.stale),
            "hazards": [h.to_dict() for h in self.hazards],
            "views": list(self.views),
        }
