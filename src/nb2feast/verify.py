"""`nb2feast verify`: prove on sample data that Feast serves what the notebook computed.

Runs the notebook in a fresh kernel with `NB2FEAST_CAPTURE_DIR` set, so every
`%%feature` cell leaves its input and output frames behind; then, for each view in the
repository's manifest, retrieves the same rows through Feast (offline, and online after
materializing) and compares. Only `run_notebook` and `FeastSession` touch a kernel or
Feast; sampling, the notebook's point-in-time answer and the comparison are pure.
Batch views are also time-travelled (`nb2feast.timetravel`): their NB2F310 hazards join
the static ones export wrote into the manifest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from nb2feast import timetravel
from nb2feast.compare import ROW_ID, Comparison, FeatureToCheck, compare_frames
from nb2feast.errors import UserError
from nb2feast.feast_compat import feast_sqlite_converters
from nb2feast.materialize import apply_repo, read_manifest
from nb2feast.model import CellRef, Hazard, ParityCheck, ParityReport, ViewParity
from nb2feast.sample import (
    ENTITY_TS,
    latest_per_key,
    point_in_time,
    sample_entity_rows,
    sample_input_rows,
)
from nb2feast.targets import repo_target

CAPTURE_ENV = "NB2FEAST_CAPTURE_DIR"
NOTEBOOK_ENV = "NB2FEAST_NOTEBOOK"
CELL_TIMEOUT_SECONDS = 1800
# Online lookups cost per row (unlike the offline join), so they get a capped sample.
ONLINE_ROWS = 1000
PHASES = ("apply", "run_notebook", "sample", "offline", "materialize", "online", "compare", "time_travel")

Progress = Callable[[str], None]


def verify_notebook(
    notebook: Path,
    repo: Path,
    *,
    sample: int = 1000,
    seed: int = 0,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    progress: Progress | None = None,
) -> ParityReport:
    """Run `notebook`, then check every view of the feature repository `repo` against it."""
    notebook, repo = Path(notebook), Path(repo)
    say = progress or (lambda _message: None)
    manifest = load_manifest(repo)
    timings = Timings()
    with timings("apply"):
        ensure_applied(repo, manifest, say)
    with tempfile.TemporaryDirectory(prefix="nb2feast-capture-") as tmp:
        with timings("run_notebook"):
            run_notebook(notebook, Path(tmp), say)
        return verify_captures(
            repo,
            Path(tmp),
            notebook=str(notebook),
            manifest=manifest,
            sample=sample,
            seed=seed,
            rtol=rtol,
            atol=atol,
            progress=say,
            timings=timings,
        )


def load_manifest(repo: Path) -> dict:
    """The repository's `nb2feast.json`; a missing or broken one is the user's to fix."""
    return read_manifest(Path(repo))


def ensure_applied(repo: Path, manifest: dict, say: Progress) -> None:
    """A repository fresh from `export` is made ready first: its feature tables built by the
    generated transforms and `feast apply` run. One already applied is left as it is."""
    tables = [repo / v["table"] for v in manifest["views"] if v["kind"] == "batch"]
    if (repo / "data" / "registry.db").is_file() and all(t.is_file() for t in tables):
        return
    say("building the feature tables and running feast apply")
    apply_repo(repo)


def run_notebook(notebook: Path, capture_dir: Path, progress: Progress) -> None:
    """Execute the notebook top to bottom in a fresh `python3` kernel from its own folder.

    The kernel gets `NB2FEAST_CAPTURE_DIR`, so each `%%feature` cell writes its frames
    there. A cell that raises is a `UserError` naming the cell, as for any bad input.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        nb = nbformat.read(notebook, as_version=4)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the notebook: {exc}", where=str(notebook)) from None
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_SECONDS,
        resources={"metadata": {"path": str(notebook.resolve().parent)}},
    )
    # The kernel is told which notebook it runs, as Jupyter would (the magic records beside it).
    env = os.environ | {CAPTURE_ENV: str(capture_dir.resolve()), NOTEBOOK_ENV: str(notebook.resolve())}
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    progress(f"running {notebook.name} ({len(code_cells)} code cells) in a fresh kernel")
    with client.setup_kernel(env=env):
        for count, (index, cell) in enumerate(code_cells, start=1):
            progress(f"cell {index} ({count}/{len(code_cells)})")
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as exc:
                raise UserError(
                    f"the notebook failed: {exc.ename}: {exc.evalue}",
                    where=CellRef(str(notebook), index, cell.get("id", "")),
                    line=_failing_line(str(exc)),
                    fix="make the notebook run top to bottom in a fresh kernel, then verify again",
                ) from None
            except (CellTimeoutError, DeadKernelError) as exc:
                raise UserError(
                    f"the notebook did not finish: {exc}",
                    where=CellRef(str(notebook), index, cell.get("id", "")),
                ) from None


def _failing_line(traceback_text: str) -> int | None:
    """The line in the failing cell, from IPython's `Cell In[n], line L` frame."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", traceback_text)
    match = re.search(r"Cell In\[\d*\], line (\d+)", plain)
    return int(match[1]) if match else None


@dataclass
class Timings:
    """Seconds per phase, summed over views; always holds every phase of `PHASES`."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    @contextlib.contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - start

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.seconds.items()}


@dataclass(frozen=True)
class Capture:
    """What a `%%feature` cell left in the capture dir."""

    output: pd.DataFrame
    input: pd.DataFrame | None
    meta: dict


def load_capture(capture_dir: Path, name: str) -> Capture | None:
    """The frames `%%feature NAME` wrote, or None when the cell did not run."""
    output = capture_dir / f"{name}.output.parquet"
    if not output.exists():
        return None
    inp = capture_dir / f"{name}.input.parquet"
    meta = capture_dir / f"{name}.json"
    return Capture(
        output=pd.read_parquet(output),
        input=pd.read_parquet(inp) if inp.exists() else None,
        meta=json.loads(meta.read_text()) if meta.exists() else {},
    )


def verify_captures(
    repo: Path,
    capture_dir: Path,
    *,
    notebook: str = "",
    manifest: dict | None = None,
    sample: int = 1000,
    seed: int = 0,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    progress: Progress | None = None,
    timings: Timings | None = None,
) -> ParityReport:
    """Check every view of `repo` against the frames captured in `capture_dir`."""
    repo = Path(repo)
    manifest = manifest if manifest is not None else load_manifest(repo)
    target = repo_target(manifest)
    target.apply_env_defaults()
    say = progress or (lambda _message: None)
    timings = timings or Timings()
    views = manifest.get("views", [])
    run = _Run(
        repo=repo,
        views={v["name"]: v for v in views},
        captures={v["name"]: load_capture(Path(capture_dir), v["name"]) for v in views},
        rng=np.random.default_rng(seed),
        sample=sample,
        rtol=rtol,
        atol=atol,
        say=say,
        timings=timings,
    )
    say(f"opening the feature store in {repo}")
    with timings("open_store"):
        run.session = FeastSession(repo)
    # What built each batch view's feature table: the repository's engine.
    results = tuple(
        dataclasses.replace(v, engine=target.engine) if v.kind == "batch" else v
        for v in run.all_views()
    )
    with timings("time_travel"):
        leaks = timetravel.check_repo(repo, views, say)
    return ParityReport(
        notebook=notebook or ", ".join(manifest.get("notebooks", [])),
        repo=str(repo),
        views=results,
        hazards=_hazards(manifest) + leaks,
        timings=timings.rounded(),
    )


def _hazards(manifest: dict) -> tuple[Hazard, ...]:
    known = {f.name for f in fields(Hazard)}
    return tuple(Hazard(**{k: v for k, v in h.items() if k in known}) for h in manifest.get("hazards", []))


class FeastSession:
    """The Feast calls verify makes, quiet (Feast prints to stdout, which `--format json` owns)."""

    def __init__(self, repo: Path) -> None:
        with _quiet():
            from feast import FeatureStore

            self.store = FeatureStore(repo_path=str(Path(repo).resolve()))

    def declared_types(self, view: str) -> dict[str, str]:
        """Feature name -> Feast type name as registered (what `feast apply` saw)."""
        for getter in (self.store.get_feature_view, self.store.get_on_demand_feature_view):
            try:
                found = getter(view)
            except Exception:  # noqa: BLE001, S112 - Feast raises several "not found" types
                continue
            return {f.name: str(f.dtype) for f in found.features}
        return {}

    def odfv_modes(self, name: str) -> list[tuple[str, str]]:
        """(registered view name, mode) of the served view and its pandas twin."""
        out = []
        for candidate in (name, f"{name}_pandas"):
            try:
                odfv = self.store.get_on_demand_feature_view(candidate)
            except Exception:  # noqa: BLE001, S112 - not registered: no such mode
                continue
            out.append((candidate, str(odfv.mode)))
        return out

    def historical(self, entity_df: pd.DataFrame, refs: Sequence[str], full_names: bool = False) -> pd.DataFrame:
        with _quiet():
            job = self.store.get_historical_features(
                entity_df=entity_df, features=list(refs), full_feature_names=full_names
            )
            return job.to_df()

    def materialize(self, start: pd.Timestamp, end: pd.Timestamp, views: Sequence[str]) -> None:
        with _quiet():
            self.store.materialize(
                start.to_pydatetime(), end.to_pydatetime(), feature_views=list(views)
            )

    def online(self, refs: Sequence[str], rows: list[dict], full_names: bool = False) -> pd.DataFrame:
        with _quiet():
            response = self.store.get_online_features(
                features=list(refs), entity_rows=rows, full_feature_names=full_names
            )
            return response.to_df()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Around every Feast call: its stdout kept off ours, IPython's sqlite converter kept off its."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), feast_sqlite_converters():
        warnings.simplefilter("ignore")
        yield


@dataclass
class _Pending:
    """A view's sampled rows and notebook answers, kept from the offline to the online pass."""

    rows: pd.DataFrame
    checks: list[ParityCheck] = field(default_factory=list)


@dataclass
class _Run:
    """One verify run: the repo, the captures, the sample, and where time goes."""

    repo: Path
    views: dict[str, dict]
    captures: dict[str, Capture | None]
    rng: np.random.Generator
    sample: int
    rtol: float
    atol: float
    say: Progress
    timings: Timings
    session: FeastSession | None = None
    transforms: ModuleType | None = None

    def transform_module(self, name: str) -> ModuleType:
        """A view's generated module, from the repository's transforms package (imported
        once): modules import each other (`from . import customer_30d`)."""
        if self.transforms is None:
            from nb2feast.materialize import load_repo_transforms

            self.transforms = load_repo_transforms(self.repo)
        module = getattr(self.transforms, name, None)
        if module is None:
            raise FileNotFoundError(f"no generated module transforms/{name}.py in {self.repo}")
        return module

    def all_views(self) -> tuple[ViewParity, ...]:
        """Offline for every view, one materialize, then online for every view."""
        pending: dict[str, _Pending | ViewParity] = {}
        for name, view in self.views.items():
            capture = self.captures[name]
            if capture is None or (view["kind"] == "on_demand" and capture.input is None):
                pending[name] = _not_run(view)
                continue
            self.say(f"{name}: offline retrieval")
            if view["kind"] == "batch":
                pending[name] = self.batch_offline(view, capture)
            else:
                pending[name] = self.on_demand_offline(view, capture)
        self.materialize()
        out = []
        for name, view in self.views.items():
            state = pending[name]
            if isinstance(state, ViewParity):
                out.append(state)
                continue
            if view["kind"] == "batch" and not view.get("offline_only"):
                self.say(f"{name}: online retrieval")
                state.checks.append(self.batch_online(view, self.captures[name], state.rows))
            elif view["kind"] == "on_demand" and self._online_servable(view):
                self.say(f"{name}: online retrieval")
                state.checks.extend(self.on_demand_online(view, state.rows))
            out.append(ViewParity(name=name, kind=view["kind"], checks=tuple(state.checks)))
        return tuple(out)

    # batch views ------------------------------------------------------------------

    def batch_offline(self, view: dict, capture: Capture) -> _Pending:
        keys, ts, names = view["entities"], view["timestamp"], _feature_names(view)
        table = capture.output
        with self.timings("sample"):
            rows = sample_entity_rows(table, keys, ts, self.sample, self.rng, view.get("ttl_seconds") or 0)
            expected = point_in_time(
                rows,
                table,
                keys,
                ts,
                [n for n in names if n in table.columns],
                created=view.get("created"),
                ttl_seconds=view.get("ttl_seconds") or 0,
            )
        specs = self._specs(view, table)
        check = self._retrieve_and_compare(
            "offline",
            lambda: self.session.historical(rows, [f"{view['name']}:{n}" for n in names]),
            expected,
            specs,
            context=[*keys, ENTITY_TS],
        )
        return _Pending(rows=rows, checks=[check])

    def batch_online(self, view: dict, capture: Capture, rows: pd.DataFrame) -> ParityCheck:
        keys, names = view["entities"], _feature_names(view)
        table = capture.output
        with self.timings("sample"):
            distinct = rows[keys].drop_duplicates().head(ONLINE_ROWS).reset_index(drop=True)
            latest = latest_per_key(
                table, keys, view["timestamp"], [n for n in names if n in table.columns], created=view.get("created")
            )
            expected = distinct.merge(latest, on=keys, how="left")
            expected.index = pd.RangeIndex(len(expected), name=ROW_ID)
            entity_rows = distinct.to_dict("records")

        def fetch() -> pd.DataFrame:
            got = self.session.online([f"{view['name']}:{n}" for n in names], entity_rows)
            return got.assign(**{ROW_ID: np.arange(len(got))})

        return self._retrieve_and_compare(
            "online", fetch, expected, self._specs(view, table), context=[*keys, view["timestamp"]]
        )

    def materialize(self) -> None:
        """One materialize over the time range of every online batch view's data."""
        online = [
            v for v in self.views.values()
            if v["kind"] == "batch" and not v.get("offline_only") and self.captures[v["name"]] is not None
        ]
        if not online:
            return
        stamps = pd.concat(
            [_utc(self.captures[v["name"]].output[v["timestamp"]]) for v in online], ignore_index=True
        ).dropna()
        if stamps.empty:
            return
        self.say(f"materializing {len(online)} feature view(s)")
        with self.timings("materialize"):
            self.session.materialize(
                stamps.min() - pd.Timedelta(seconds=1),
                stamps.max() + pd.Timedelta(seconds=1),
                [v["name"] for v in online],
            )

    # on-demand views --------------------------------------------------------------

    def on_demand_offline(self, view: dict, capture: Capture) -> _Pending:
        keys, ts, requests = self._odfv_columns(view, capture.input)
        with self.timings("sample"):
            picked = sample_input_rows(capture.input[[*keys, ts, *requests]], self.sample, self.rng)
            rows = picked.rename(columns={ts: ENTITY_TS}) if ts != ENTITY_TS else picked
        checks = []
        for served, mode in self.session.odfv_modes(view["name"]):
            checks.append(self._on_demand_check("offline", view, capture, served, mode, rows, keys, ts, requests))
        if not checks:
            checks.append(_error_check("offline", f"no on-demand view {view['name']!r} is registered"))
        return _Pending(rows=rows, checks=checks)

    def on_demand_online(self, view: dict, rows: pd.DataFrame) -> list[ParityCheck]:
        capture = self.captures[view["name"]]
        keys, _ts, requests = self._odfv_columns(view, capture.input)
        online_rows = rows.head(ONLINE_ROWS).drop(columns=ENTITY_TS)
        return [
            self._on_demand_check("online", view, capture, served, mode, online_rows, keys, None, requests)
            for served, mode in self.session.odfv_modes(view["name"])
        ]

    def _on_demand_check(
        self,
        path: str,
        view: dict,
        capture: Capture,
        served: str,
        mode: str,
        rows: pd.DataFrame,
        keys: list[str],
        ts: str | None,
        requests: list[str],
    ) -> ParityCheck:
        """Feast's answer for `served`, and the cell's code run on the inputs Feast used.

        Short feature names, one call per mode: Feast 0.67's online python-mode views
        return nothing under `full_feature_names=True` (their udf gets `view__feature` keys).
        """
        names = _feature_names(view)
        upstream = [
            (src, feature)
            for src in view.get("sources", [])
            for feature in _feature_names(self.views.get(src, {}))
        ]
        refs = [f"{src}:{f}" for src, f in upstream] + [f"{served}:{n}" for n in names]
        try:
            module = self.transform_module(view["name"])
            with self.timings(path):
                if path == "offline":
                    got = self.session.historical(rows, refs)
                else:
                    records = rows[[*keys, *requests]].to_dict("records")
                    got = self.session.online(refs, records)
                    got = got.assign(**{ROW_ID: rows[ROW_ID].to_numpy()[: len(got)]})
        except Exception as exc:  # noqa: BLE001 - reported in the check, other views go on
            return _error_check(
                path, f"{type(exc).__name__}: {exc}", mode=mode, rows_expected=len(rows), feast_view=served
            )
        with self.timings("compare"):
            inputs = got.drop_duplicates(ROW_ID).set_index(ROW_ID)
            frame = inputs[[c for c in inputs.columns if c in {*keys, *requests, ENTITY_TS}]].copy()
            for _src, feature in upstream:
                frame[feature] = inputs.get(feature)
            if ts is not None and ts != ENTITY_TS and ENTITY_TS in frame.columns:
                frame = frame.rename(columns={ENTITY_TS: ts})
            for request in requests:
                frame[request] = rows.set_index(ROW_ID)[request].reindex(frame.index)
            try:
                expected = _run_transform(module, view, frame.sort_index())
            except Exception as exc:  # noqa: BLE001
                return _error_check(
                    path,
                    f"the cell's code failed on Feast's input rows: {type(exc).__name__}: {exc}",
                    mode=mode,
                    rows_expected=len(rows),
                    feast_view=served,
                )
            context = [c for c in [*keys, ts or ""] if c in expected.columns]
            comparison = compare_frames(
                expected.reindex(rows[ROW_ID].to_numpy()),
                got,
                self._specs(view, capture.output, served=served),
                context=context,
                rtol=self.rtol,
                atol=self.atol,
            )
        return _check(path, comparison, mode=mode, feast_view=served)

    def _odfv_columns(self, view: dict, frame: pd.DataFrame) -> tuple[list[str], str, list[str]]:
        """Entity keys, timestamp and request columns of an on-demand view's input frame."""
        sources = [self.views.get(s, {}) for s in view.get("sources", [])]
        keys = list(view.get("entities") or dict.fromkeys(k for s in sources for k in s.get("entities", [])))
        candidates = [view.get("timestamp"), *(s.get("timestamp") for s in sources), ENTITY_TS]
        ts = next((c for c in candidates if c and c in frame.columns), None)
        if ts is None:
            ts = next(c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c]))
        requests = [r["name"] for r in view.get("requests", [])]
        return keys, ts, requests

    def _online_servable(self, view: dict) -> bool:
        sources = [self.views.get(s, {}) for s in view.get("sources", [])]
        return not view.get("offline_only") and not any(s.get("offline_only") for s in sources)

    # shared -----------------------------------------------------------------------

    def _specs(self, view: dict, table: pd.DataFrame, served: str | None = None) -> list[FeatureToCheck]:
        declared = self.session.declared_types(served or view["name"])
        return [
            FeatureToCheck(
                name=f["name"],
                dtype_notebook=str(table[f["name"]].dtype) if f["name"] in table.columns else f.get("dtype", ""),
                feast_type=declared.get(f["name"]) or f.get("feast_type"),
            )
            for f in view.get("features", [])
        ]

    def _retrieve_and_compare(
        self,
        path: str,
        fetch: Callable[[], pd.DataFrame],
        expected: pd.DataFrame,
        specs: list[FeatureToCheck],
        context: list[str],
    ) -> ParityCheck:
        try:
            with self.timings(path):
                actual = fetch()
        except Exception as exc:  # noqa: BLE001 - reported in the check, other views go on
            return _error_check(path, f"{type(exc).__name__}: {exc}", rows_expected=len(expected))
        with self.timings("compare"):
            comparison = compare_frames(
                expected, actual, specs, context=[c for c in context if c in expected.columns],
                rtol=self.rtol, atol=self.atol,
            )
        return _check(path, comparison)


def _feature_names(view: dict) -> list[str]:
    return [f["name"] for f in view.get("features", [])]


def _check(path: str, comparison: Comparison, mode: str | None = None, feast_view: str | None = None) -> ParityCheck:
    return ParityCheck(
        path=path,
        rows_expected=comparison.rows_expected,
        rows_returned=comparison.rows_returned,
        features=comparison.features,
        mode=mode,
        feast_view=feast_view,
    )


def _error_check(
    path: str, error: str, *, mode: str | None = None, rows_expected: int = 0, feast_view: str | None = None
) -> ParityCheck:
    return ParityCheck(
        path=path, rows_expected=rows_expected, rows_returned=0, features=(), mode=mode, error=error,
        feast_view=feast_view,
    )


def _not_run(view: dict) -> ViewParity:
    where = f"cell {view.get('cell_index')} (id {view.get('cell_id')})"
    return ViewParity(
        name=view["name"],
        kind=view["kind"],
        checks=(_error_check("offline", f"the notebook did not capture this view: did {where} run %%feature?"),),
    )


def _run_transform(module: ModuleType, view: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """The cell's code on `frame`; the result is aligned to `frame`'s row ids."""
    result: Any = getattr(module, view["name"])(frame.copy())
    if not isinstance(result, pd.DataFrame):
        raise TypeError(f"{view['name']}() returned {type(result).__name__}, not a DataFrame")
    if len(result) == len(frame) and not result.index.equals(frame.index):
        result = result.set_axis(frame.index)
    return result


def _utc(stamps: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(stamps)
    if getattr(stamps.dtype, "tz", None) is None:
        return stamps.dt.tz_localize("UTC")
    return stamps.dt.tz_convert("UTC")
