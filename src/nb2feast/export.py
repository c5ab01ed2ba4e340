"""export: notebooks -> a Feast feature repository. The one entry point the shells call.

read -> select -> extract -> hazards -> (types) -> render -> write. Only the last step
touches the repository; everything before it can fail without changing a file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from nb2feast import __version__
from nb2feast.child import DEFAULT_TIMEOUT, ExecutionRefused, TransformRunner, ViewJob
from nb2feast.errors import UserError
from nb2feast.extract import ViewSpec, extract_views
from nb2feast.freeze import freeze_targets, freeze_view, mark_frozen
from nb2feast.infer import read_sidecar, sidecar_path, source_key
from nb2feast.inline import inline_local_code, local_modules
from nb2feast.model import Column, ExportResult, FeatureCell, Hazard, NotebookCell
from nb2feast.names import check_unique_names, comment_text, escape_text
from nb2feast.read import read_notebook
from nb2feast.render import (
    ViewPlan,
    plan_entities,
    render_repo,
    render_transform,
    render_transforms_init,
)
from nb2feast.select import select_feature_cells
from nb2feast.targets import Target, get_target
from nb2feast.types import FEAST_TO_DTYPE, FEAST_TYPES
from nb2feast.write import (
    MANIFEST,
    hand_edited,
    locked,
    seal_manifest,
    stale_files,
    writable_target,
    write_repo,
)


@dataclass(frozen=True)
class _Notebook:
    path: Path
    display: str  # relative to the repository, as written in headers
    cells: tuple[NotebookCell, ...]
    feature_cells: tuple[FeatureCell, ...]
    views: tuple[ViewSpec, ...]


def default_project(notebooks: Sequence[Path]) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", notebooks[0].stem).strip("_").lower() or "features"
    return name if name[0].isalpha() else f"nb_{name}"


def sidecar_key(feature_cell: FeatureCell) -> str:
    """Hash of the magic line and body, as the magic sees them when the cell runs."""
    return source_key(feature_cell.cell.source)


def _detect_hazards(notebook: _Notebook) -> list[Hazard]:
    """Each view's hazards, its slice (helpers, loading statements) checked with it."""
    from nb2feast.hazards import detect_hazards

    views = notebook.views
    if not views and notebook.feature_cells:
        try:
            views = extract_views(notebook.cells, notebook.feature_cells)
        except UserError:
            views = ()
    slices = {v.cell.ref: (*v.support, *v.loading_support, *v.loading) for v in views}
    found: list[Hazard] = []
    for feature_cell in notebook.feature_cells:
        found.extend(
            detect_hazards(
                feature_cell, notebook.cells, slices.get(feature_cell.ref, ()), notebook.path.parent
            )
        )
    return found


def load_notebook(path: Path, repo: Path) -> _Notebook:
    cells = read_notebook(path, display=str(path))
    display = os.path.relpath(path.resolve(), repo.resolve())
    feature_cells = select_feature_cells(cells)
    return _Notebook(path, display, cells, feature_cells, extract_views(cells, feature_cells))


def _previous_manifest(out: Path) -> dict:
    try:
        body = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _neighbours(previous: dict, loaded: Sequence[_Notebook], out: Path, force: bool) -> list[_Notebook]:
    """The other notebooks whose views the repository holds: each notebook owns its views,
    so exporting one exports them again as they are (never removes them)."""
    given = {nb.path.resolve() for nb in loaded}
    found: list[_Notebook] = []
    names = previous.get("notebooks") if isinstance(previous.get("notebooks"), list) else []
    for display in names:
        if not isinstance(display, str):
            continue
        path = Path(os.path.normpath(out.resolve() / display))
        if path.resolve() in given or any(nb.path.resolve() == path.resolve() for nb in found):
            continue
        if not path.is_file():
            if force:
                continue
            raise UserError(
                f"the repository also holds the views of {escape_text(display)!r}, "
                "which is not there any more",
                where=escape_text(str(out)),
                fix="restore that notebook, or pass --force to drop its views",
            )
        found.append(load_notebook(path, out))
    return found


def _check_unique(notebooks: Sequence[_Notebook]) -> None:
    seen_views: dict[str, ViewSpec] = {}
    for notebook in notebooks:
        for view in notebook.views:
            if view.name in seen_views:
                first = seen_views[view.name].cell.ref
                raise UserError(
                    f"view {view.name!r} is defined twice (first in {first.describe()})",
                    where=view.cell.ref,
                    line=1,
                    fix="give each %%feature cell its own NAME",
                )
            seen_views[view.name] = view


def _check_generated_names(plans: Sequence[ViewPlan]) -> None:
    """Names the generated modules define must not collide (view `a_source` vs view `a`)."""
    names: list[tuple[str, str]] = []
    for plan in plans:
        what = f"view {plan.name!r}"
        names.append((plan.name, what))
        if plan.spec.flags.on_demand:
            names.append((f"{plan.name}_pandas", what))
            if plan.spec.flags.requests:
                names.append((f"{plan.name}_request", what))
        else:
            names.append((f"{plan.name}_source", what))
    try:
        check_unique_names(names)
    except UserError as error:
        raise UserError(error.message, where=plans[-1].spec.cell.ref, line=1, fix=error.fix) from None


def check_project(project: str) -> str:
    """A Feast project name (it is written into feature_store.yaml)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", project):
        raise UserError(
            f"project name {escape_text(project)[:70]!r} is not a Feast project name",
            fix="use letters, digits and _, starting with a letter (at most 63 characters)",
        )
    return project


def _check_feature_names(plans: Sequence[ViewPlan]) -> None:
    owner: dict[str, ViewPlan] = {}
    for plan in plans:
        for column in plan.columns:
            if column.name in owner:
                first = owner[column.name]
                raise UserError(
                    f"feature {column.name!r} of {plan.name!r} is already a feature of {first.name!r} "
                    f"({first.spec.cell.ref.describe()})",
                    where=plan.spec.cell.ref,
                    line=1,
                    fix="rename one of them, so training and serving cannot mix them up",
                )
            owner[column.name] = plan


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_recorded(entry: dict, view: ViewSpec, sidecar: str) -> dict:
    """A sidecar entry is data from a file anyone can edit: its names are strings, its
    Feast types from the closed set, its frozen values numbers; else exit 2."""
    features, dtypes, types = entry.get("features"), entry.get("dtypes"), entry.get("feast_types")
    keys = () if view.flags.on_demand else view.flags.entities
    problem = None
    if not (isinstance(features, list) and isinstance(dtypes, dict) and isinstance(types, dict)):
        problem = "needs lists 'features', 'dtypes' and 'feast_types'"
    elif not all(isinstance(f, str) and isinstance(dtypes.get(f), str) for f in features):
        problem = "has a feature without a dtype"
    elif not all(_encodable(t) for f in features for t in (f, dtypes[f])):
        problem = "has a column name or dtype with an unpaired surrogate (not UTF-8)"
    else:
        for name in [*features, *(k for k in keys if k in types)]:
            if types.get(name) not in FEAST_TYPES:
                shown = escape_text(str(types.get(name)))[:40]
                problem = f"gives column {escape_text(name)[:60]!r} the unknown Feast type {shown!r}"
                break
    frozen = entry.get("frozen")
    if problem is None and frozen is not None:
        values = frozen.get("values") if isinstance(frozen, dict) else None
        if not isinstance(values, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values()
        ) or not isinstance(frozen.get("provenance"), str):
            problem = "has frozen values that are not numbers"
    if problem is not None:
        raise UserError(
            f"{sidecar} {problem} (view {view.name!r})",
            where=view.cell.ref,
            line=1,
            fix=f"run the cell again to record its types, or delete {sidecar}",
        )
    return entry


class _Typer:
    """Columns per view: from the sidecar when it is fresh, else from running the generated
    transforms in a child process (`nb2feast.child`), never in this one."""

    def __init__(self, notebooks: Sequence[_Notebook], runner: TransformRunner) -> None:
        self.sidecars = {nb.path: read_sidecar(nb.path).get("views", {}) for nb in notebooks}
        self.notebook_of = {v.name: nb for nb in notebooks for v in nb.views}
        self.runner = runner
        self.key_types: dict[str, str] = {}

    def recorded(self, view: ViewSpec) -> dict | None:
        notebook = self.notebook_of[view.name].path
        entry = self.sidecars[notebook].get(view.name)
        if (
            isinstance(entry, dict)
            and entry.get("cell_hash") == sidecar_key(view.cell)
            and entry.get("feast_types")
        ):
            return check_recorded(entry, view, sidecar_path(notebook).name)
        return None

    def why(self, view: ViewSpec) -> str:
        sidecar = sidecar_path(self.notebook_of[view.name].path).name
        return f"no fresh types recorded in {escape_text(sidecar)}"

    def batch(self, view: ViewSpec) -> tuple[Column, ...]:
        recorded = self.recorded(view)
        if recorded is not None:
            types, dtypes = recorded["feast_types"], recorded["dtypes"]
            for key in view.flags.entities:
                if types.get(key) in ("Float32", "Float64"):
                    raise UserError(
                        f"entity key {key!r} of {view.name!r} has dtype {dtypes.get(key)}: "
                        "Feast cannot materialize a float key",
                        where=view.cell.ref,
                        line=view.body[-1].line,
                        fix=f'cast it in the cell: df[{key!r}] = df[{key!r}].astype("int64"), and run it',
                    )
                self.key_types.setdefault(key, types.get(key, "Int64"))
            return tuple(Column(n, dtypes[n], types[n]) for n in recorded["features"])
        features, keys = self.runner.batch(ViewJob(view), self.why(view))
        for key, column in zip(view.flags.entities, keys, strict=True):
            self.key_types.setdefault(key, column.feast_type)
        return features

    def on_demand(self, view: ViewSpec, upstream: Sequence[ViewSpec]) -> tuple[Column, ...]:
        recorded = self.recorded(view)
        if recorded is not None:
            return tuple(
                Column(n, recorded["dtypes"][n], recorded["feast_types"][n])
                for n in recorded["features"]
            )
        job = ViewJob(view, upstream=tuple(upstream))
        return self.runner.on_demand(job, self.why(view))


def _freeze(plans: list[ViewPlan], typer: _Typer, freeze_all: bool) -> dict[str, list]:
    """Freeze the statistics of on-demand cells asked to (`--freeze`); returns the targets."""
    frozen: dict[str, list] = {}
    for number, plan in enumerate(plans):
        view = plan.spec
        if not (freeze_all or view.flags.freeze):
            continue
        targets = freeze_targets(view)
        if not targets:
            continue
        recorded = (typer.recorded(view) or {}).get("frozen")
        names = {t.const_name for t in targets}
        if recorded and names <= set(recorded["values"]):
            values, provenance = recorded["values"], comment_text(recorded["provenance"])
        else:
            job = ViewJob(view, targets=tuple(targets))
            values, rows = typer.runner.freeze(job, "--freeze needs the statistics of its input")
            ref = view.cell.ref
            provenance = comment_text(
                f"{rows} rows of {view.input_frame} ({plan.notebook}, cell {ref.index}), "
                "computed by export"
            )
        plans[number] = replace(plan, spec=freeze_view(view, values, provenance))
        frozen[view.name] = targets
    return frozen


def compile_served_view(plan: ViewPlan, input_dtypes: Mapping[str, str] | None = None) -> ViewPlan:
    """The served on-demand view in python mode where the cell compiles row-wise; else
    pandas mode, saying why (the cell's line and the construct). `input_dtypes`: the
    dtypes of the input columns (pandas' null rules depend on them)."""
    from nb2feast.compile_python import NotCompilable, compile_python_udf  # imports pandas

    view = plan.spec
    try:
        udf = compile_python_udf(
            [s.node for s in view.body],
            view.input_frame,
            [c.name for c in plan.columns],
            plan.udf_support if plan.udf_support is not None else [s.node for s in view.support],
            view.name,
            result=view.result_name,
            dtypes=input_dtypes,
            feast_types={c.name: c.feast_type for c in plan.columns},
        )
    except NotCompilable as refusal:
        return replace(plan, pandas_reason=f"cell line {refusal.line + 1}: {refusal.reason}")
    return replace(plan, python_udf=udf)


def _check_request_names(view: ViewSpec, sources: Sequence[ViewPlan]) -> None:
    """Feast cannot serve a request field named like a feature of a source view: the offline
    join fails (`Duplicate column name`) and online values are wrong (FEAST_NOTES)."""
    for field, _ in view.flags.requests:
        for source in sources:
            if field in {c.name for c in source.columns}:
                ref = source.spec.cell.ref
                raise UserError(
                    f"--request {field} has the name of a feature of {source.name!r} "
                    f"({source.notebook}, cell {ref.index} (id {ref.id})): Feast cannot serve both",
                    where=view.cell.ref,
                    line=1,
                    fix=f"rename the request field (e.g. --request {field}_request:TYPE and the "
                    f"column in the cell), or drop the feature from {source.name!r}",
                )


def _plan_views(
    notebooks: Sequence[_Notebook], repo: Path, runner: TransformRunner, freeze_all: bool = False
) -> tuple[list[ViewPlan], dict[str, str], dict[str, str], dict[str, list]]:
    """Typed plans, entity key types, the transform modules (they need no types), and
    the statistics frozen per view."""
    plans: list[ViewPlan] = []
    transforms: dict[str, str] = {}
    for notebook in notebooks:
        from_transforms = os.path.relpath(notebook.path.resolve().parent, (repo / "transforms").resolve())
        folder = notebook.path.resolve().parent
        for view in notebook.views:
            plan = ViewPlan(
                spec=view,
                notebook=notebook.display,
                notebook_dir_from_transforms=from_transforms,
                local_modules=local_modules([*view.support, *view.loading_support, *view.loading], folder),
                udf_support=inline_local_code(view.support, view.body, folder, view.name)
                if view.flags.on_demand
                else None,
            )
            plans.append(plan)
            transforms[f"transforms/{view.name}.py"] = render_transform(plan)
    transforms["transforms/__init__.py"] = render_transforms_init(plans)
    runner.load(transforms, repo, [p.spec for p in plans])
    typer = _Typer(notebooks, runner)
    frozen = _freeze(plans, typer, freeze_all)
    for name in frozen:
        plan = next(p for p in plans if p.name == name)
        transforms[f"transforms/{name}.py"] = render_transform(plan)
    if frozen:
        runner.load(transforms, repo, [p.spec for p in plans])
    typed: list[ViewPlan] = []
    for plan in plans:
        view = plan.spec
        if not view.flags.on_demand:
            typed.append(replace(plan, columns=typer.batch(view)))
            continue
        earlier = [p for p in typed if not p.spec.flags.on_demand]
        sources = [p for p in earlier if {c.name for c in p.columns} & view.columns_read]
        if not sources and not view.flags.requests:
            raise UserError(
                f"the on-demand cell {view.name!r} reads no feature of an earlier %%feature view and no --request",
                where=view.cell.ref,
                line=2,
                fix="derive the new columns from features of views above, or declare --request COL:TYPE",
            )
        _check_request_names(view, sources)
        columns = typer.on_demand(view, [p.spec for p in sources])
        dtypes = {c.name: c.dtype for p in sources for c in p.columns}
        dtypes |= {name: FEAST_TO_DTYPE.get(t, "") for name, t in view.flags.requests}
        plan = replace(plan, columns=columns, sources=tuple(p.name for p in sources))
        typed.append(compile_served_view(plan, dtypes))
    return typed, typer.key_types, transforms, frozen


def _manifest(
    plans: Sequence[ViewPlan],
    project: str,
    notebooks: Sequence[_Notebook],
    hazards: Sequence[Hazard],
    target: Target,
) -> str:
    views = [manifest_entry(p) for p in plans]
    body = {
        "nb2feast": __version__,
        "project": project,
        # Absent means `local`: a local repository's manifest is unchanged by targets.
        **({"target": target.name} if target.name != "local" else {}),
        "notebooks": [nb.display for nb in notebooks],
        "views": views,
        "hazards": [h.to_dict() for h in hazards],
    }
    return seal_manifest(body)


def manifest_entry(plan: ViewPlan) -> dict:
    view = plan.spec
    flags = view.flags
    ref = view.cell.ref
    entry = {
        "name": view.name,
        "kind": flags.kind,
        "notebook": plan.notebook,
        "cell_index": ref.index,
        "cell_id": ref.id,
        "cell_hash": sidecar_key(view.cell),
        "features": [{"name": c.name, "dtype": c.dtype, "feast_type": c.feast_type} for c in plan.columns],
        "module": f"transforms/{view.name}.py",
    }
    if flags.on_demand:
        entry |= {
            "input_frame": view.input_frame,
            "sources": list(plan.sources),
            "requests": [{"name": c, "feast_type": t} for c, t in flags.requests],
            "modes": sorted({plan.served_mode, "pandas"}, reverse=True),
            "views": [
                {"name": view.name, "mode": plan.served_mode}
                | ({"reason": plan.pandas_reason} if plan.pandas_reason else {}),
                {"name": f"{view.name}_pandas", "mode": "pandas"},
            ],
        }
    else:
        entry |= {
            "entities": list(flags.entities),
            "timestamp": flags.timestamp,
            "created": flags.created,
            "ttl_seconds": flags.ttl_seconds,
            "offline_only": flags.offline_only,
            "table": f"data/{view.name}.parquet",
        }
    return entry


def _existing_target(out: Path) -> str | None:
    try:
        return json.loads((out / MANIFEST).read_text()).get("target")
    except (OSError, ValueError, AttributeError):
        return None


def export_notebooks(
    notebooks: Sequence[Path],
    out: Path,
    *,
    project: str | None = None,
    check: bool = False,
    force: bool = False,
    freeze: bool = False,
    target: str | None = None,
    execute: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    say: Callable[[str], None] | None = None,
) -> ExportResult:
    """Export the `%%feature` cells of `notebooks` into the Feast repository `out`
    (for `target`; by default the target `out` was exported for, else `local`).

    Types come from the notebooks' sidecars when fresh; else the cells' code runs in a child
    process under `timeout` seconds (announced through `say`), or, with `execute=False`,
    the export stops (exit 2). A write holds `out`'s lock from reading the repository's
    manifest (whose other notebooks it keeps) to the swap."""
    if not notebooks:
        raise UserError("no notebook given")
    options = {"project": project, "force": force, "freeze": freeze, "target": target,
               "execute": execute, "timeout": timeout, "say": say}
    if check:
        return _export(notebooks, out, check=True, **options)
    with locked(writable_target(out)):  # --out that is a file is exit 2 before anything runs
        return _export(notebooks, out, check=False, **options)


def _export(
    notebooks: Sequence[Path],
    out: Path,
    *,
    project: str | None,
    check: bool,
    force: bool,
    freeze: bool,
    target: str | None,
    execute: bool,
    timeout: float,
    say: Callable[[str], None] | None,
) -> ExportResult:
    stack = get_target(target or _existing_target(out))
    loaded = [load_notebook(Path(nb), out) for nb in notebooks]
    previous = _previous_manifest(out)
    loaded += _neighbours(previous, loaded, out, force)
    project = project or previous.get("project")
    _check_unique(loaded)
    if not any(nb.views for nb in loaded):
        raise UserError("no %%feature cell found", where=", ".join(map(str, notebooks)),
                        fix="mark a cell that builds features with %%feature NAME --entity KEY")
    if stack.engine == "spark":
        from nb2feast.targets.partition import require_partitionable

        for view in (v for nb in loaded for v in nb.views if not v.flags.on_demand):
            require_partitionable(view)
    hazards = [h for nb in loaded for h in _detect_hazards(nb)]
    folder = loaded[0].path.resolve().parent
    runner = TransformRunner(folder, timeout=timeout, allowed=execute, say=say)
    with runner:
        plans, key_types, transforms, frozen = _plan_views(loaded, out, runner, freeze)
    for plan in plans:
        if plan.name in frozen:
            hazards = mark_frozen(hazards, plan.name, frozen[plan.name])
    hazards = tuple(hazards)
    _check_feature_names(plans)
    _check_generated_names(plans)
    project = check_project(project or default_project([nb.path for nb in loaded]))
    entities = plan_entities(plans, key_types)
    files = render_repo(plans, entities, transforms, project, stack)
    files[MANIFEST] = _manifest(plans, project, loaded, hazards, stack)
    views = tuple(manifest_entry(p) for p in plans)
    no_errors = not any(h.severity == "error" for h in hazards)
    if check:
        stale = tuple(stale_files(out, files))
        return ExportResult(ok=not stale and no_errors, out=str(out), files=tuple(sorted(files)),
                            stale=stale, hazards=hazards, views=views, texts=dict(files))
    written = write_repo(out, files, force=force, lock=False)
    return ExportResult(ok=no_errors, out=str(out), files=tuple(written), hazards=hazards, views=views, wrote=True)


def feature_cell_summaries(notebook: Path) -> list[dict]:
    """The notebook's feature cells for the JupyterLab panel: no kernel, no Feast."""
    cells = read_notebook(notebook)
    feature_cells = select_feature_cells(cells)
    recorded = read_sidecar(notebook).get("views", {})
    loaded = _Notebook(notebook, str(notebook), cells, feature_cells, ())
    hazards = _detect_hazards(loaded)
    summaries = []
    for feature_cell in feature_cells:
        flags = feature_cell.flags
        entry = recorded.get(flags.name, {})
        fresh = entry.get("cell_hash") == sidecar_key(feature_cell)
        summaries.append(
            {
                "name": flags.name,
                "kind": flags.kind,
                "entities": list(flags.entities),
                "cell_index": feature_cell.ref.index,
                "cell_id": feature_cell.ref.id,
                "features": [
                    {"name": n, "dtype": entry["dtypes"][n], "feast_type": entry["feast_types"][n]}
                    for n in entry.get("features", [])
                ]
                if fresh
                else [],
                "hazards": [h.to_dict() for h in hazards if h.view == flags.name],
            }
        )
    return summaries


def repo_status(notebook: Path, repo: Path) -> str:
    """"not exported" | "exported" | "stale" — by comparing with a fresh render, which runs
    no code: where types would need running the cells, by the cells' hashes instead."""
    if not (repo / MANIFEST).is_file():
        return "not exported"
    try:
        result = export_notebooks([notebook], repo, check=True, execute=False)
    except ExecutionRefused:
        return _status_from_hashes(notebook, repo)
    except UserError:
        return "stale"
    return "stale" if result.stale else "exported"


def _status_from_hashes(notebook: Path, repo: Path) -> str:
    """"exported" when the manifest lists this notebook's views exported from the cells as
    they are now, and no generated file was edited since."""
    display = os.path.relpath(notebook.resolve(), repo.resolve())
    manifest = _previous_manifest(repo)
    views = manifest.get("views") if isinstance(manifest.get("views"), list) else []
    exported = {
        v.get("name"): v.get("cell_hash")
        for v in views
        if isinstance(v, dict) and v.get("notebook") == display
    }
    current = {c.flags.name: sidecar_key(c) for c in select_feature_cells(read_notebook(notebook))}
    edited = hand_edited(repo, {})
    return "exported" if exported == current and not edited else "stale"
