"""`nb2feast verify`: prove on sample data that Feast serves what the notebook computes now.

In order: is the repository what `export` writes from the notebook as it is now, and was
Feast's registry built from these files (`nb2feast.proof.freshness`)? Then the notebook runs in
a fresh kernel with `NB2FEAST_CAPTURE_DIR` set, so every `%%feature` cell leaves the rows
it read and produced behind; for each view the same rows go through Feast (offline, and
online after materializing) and Feast's answer is compared with the cell's own output: the
notebook is the oracle, the generated modules are what is under test. Batch views are
time-travelled (`nb2feast.proof.timetravel`). A phase that raises is reported on its view; the
other views are still checked. Only `run_notebook` and `FeastSession` touch a kernel or
Feast; sampling, the notebook's point-in-time answer and the comparison are pure.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from nb2feast.errors import UserError
from nb2feast.feast_compat import feast_sqlite_converters
from nb2feast.model import (
    CAPTURE_ENV,
    NOTEBOOK_ENV,
    PHASES,
    CaptureMeta,
    CellRef,
    Hazard,
    Manifest,
    ParityCheck,
    ParityReport,
    ViewEntry,
    ViewError,
    ViewParity,
)
from nb2feast.proof.compare import ROW_ID, Comparison, FeatureToCheck, compare_frames, values_equal
from nb2feast.proof.freshness import Freshness, notebook_drift, read_applied, served_drift
from nb2feast.proof.sample import (
    ENTITY_TS,
    latest_per_key,
    point_in_time,
    stratified_entity_rows,
    stratified_input_rows,
)
from nb2feast.repo.targets import repo_target

CELL_TIMEOUT_SECONDS = 1800
# Online lookups cost per row (unlike the offline join), so they get a capped sample.
ONLINE_ROWS = 1000
# On-demand online checks write source rows into the online store, one row per key at a time.
ONLINE_ROUNDS = 4
MANIFEST = "nb2feast.json"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Repository:
    """A feature repository loaded once: its folder and its manifest, passed down as one."""

    path: Path
    manifest: Manifest

    @property
    def views(self) -> dict[str, ViewEntry]:
        return {v.name: v for v in self.manifest.views}

    @property
    def registry_ready(self) -> bool:
        tables = [self.path / v.table for v in self.manifest.views if v.kind == "batch"]
        return (self.path / "data" / "registry.db").is_file() and all(t.is_file() for t in tables)


def load_repository(repo: Path) -> Repository:
    """The repository's `nb2feast.json`, typed; a missing or broken one is the user's to fix."""
    from nb2feast.repo.materialize import read_manifest

    repo = Path(repo)
    return Repository(repo, Manifest.from_json(read_manifest(repo)))


def load_manifest(repo: Path) -> Manifest:
    return load_repository(repo).manifest


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
    """Check `repo` against the notebook as it is now, run it, and compare every view."""
    notebook = Path(notebook)
    say = progress or (lambda _message: None)
    repository = load_repository(Path(repo))
    timings = Timings()
    with timings("freshness"):
        say("checking the repository against the notebook as it is now")
        freshness = notebook_drift(
            _notebooks(notebook, repository), repository.path, repository.manifest
        )
    failure: ViewError | None = None
    notes: list[str] = []
    with timings("apply"):
        applied = read_applied(repository.path)
        if applied is not None and repository.registry_ready:
            freshness.merge(served_drift(repository.path, repository.manifest, applied))
        else:
            say("building the feature tables and running feast apply")
            try:
                from nb2feast.repo.materialize import apply_repo

                apply_repo(repository.path)
                notes.append(
                    "verify built the feature tables and ran feast apply "
                    "(no record of what the registry was built from)"
                )
            except Exception as exc:  # noqa: BLE001 - reported on every view, report still printed
                failure = ViewError("apply", f"{type(exc).__name__}: {exc}")
    with tempfile.TemporaryDirectory(prefix="nb2feast-capture-") as tmp:
        with timings("run_notebook"):
            run_notebook(notebook, Path(tmp), say)
        return verify_captures(
            repository.path,
            Path(tmp),
            notebook=str(notebook),
            manifest=repository.manifest,
            sample=sample,
            seed=seed,
            rtol=rtol,
            atol=atol,
            progress=say,
            timings=timings,
            freshness=freshness,
            failure=failure,
            notes=notes,
        )


def _notebooks(notebook: Path, repository: Repository) -> list[Path]:
    """The notebooks `export` writes this repository from: this one and any others it lists."""
    found = [notebook]
    for listed in repository.manifest.notebooks:
        path = (repository.path / listed).resolve()
        if path != notebook.resolve() and path.is_file():
            found.append(path)
    return found


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
    env = os.environ | {
        CAPTURE_ENV: str(capture_dir.resolve()),
        NOTEBOOK_ENV: str(notebook.resolve()),
    }
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
    """What a `%%feature` cell left in the capture dir (see `CaptureMeta`)."""

    output: pd.DataFrame
    input: pd.DataFrame | None
    meta: CaptureMeta


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
        meta=CaptureMeta.from_json(json.loads(meta.read_text()))
        if meta.exists()
        else CaptureMeta(name),
    )


def verify_captures(
    repo: Path,
    capture_dir: Path,
    *,
    notebook: str = "",
    manifest: Manifest | dict | None = None,
    sample: int = 1000,
    seed: int = 0,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    progress: Progress | None = None,
    timings: Timings | None = None,
    freshness: Freshness | None = None,
    failure: ViewError | None = None,
    notes: Sequence[str] = (),
) -> ParityReport:
    """Check every view of `repo` against the frames captured in `capture_dir`."""
    repo = Path(repo)
    if manifest is None:
        manifest = load_manifest(repo)
    elif isinstance(manifest, dict):
        manifest = Manifest.from_json(manifest)
    target = repo_target(manifest)
    target.apply_env_defaults()
    say = progress or (lambda _message: None)
    timings = timings or Timings()
    freshness = freshness or Freshness()
    views = {v.name: v for v in manifest.views}
    run = _Run(
        repo=repo,
        views=views,
        captures={name: load_capture(Path(capture_dir), name) for name in views},
        rng=np.random.default_rng(seed),
        sample=sample,
        rtol=rtol,
        atol=atol,
        say=say,
        timings=timings,
    )
    states = {name: _State() for name in views}
    if failure is not None:
        for state in states.values():
            state.error = failure
    else:
        say(f"opening the feature store in {repo}")
        try:
            with timings("open_store"):
                run.session = FeastSession(repo)
        except Exception as exc:  # noqa: BLE001 - every view says so; the report is still printed
            for state in states.values():
                state.error = ViewError("open_store", f"{type(exc).__name__}: {exc}")
        else:
            run.check_all(states)
    with timings("time_travel"):
        leaks = run.time_travel(states)
    results = [
        ViewParity(
            name=name,
            kind=view.kind,
            checks=tuple(states[name].checks),
            error=states[name].error,
            stale=tuple(freshness.stale.get(name, ())),
            notes=tuple(states[name].notes),
            coverage=states[name].coverage,
            engine=target.engine if view.kind == "batch" else None,
        )
        for name, view in views.items()
    ]
    results += [
        ViewParity(name=name, kind=view.kind, checks=(), stale=tuple(freshness.stale.get(name, ())))
        for name, view in freshness.new_views.items()
        if name not in views
    ]
    return ParityReport(
        notebook=notebook or ", ".join(manifest.notebooks),
        repo=str(repo),
        views=tuple(results),
        hazards=tuple(manifest.hazards) + leaks,
        timings=timings.rounded(),
        notes=(*notes, *freshness.notes),
        cells=tuple(
            (v.name, v.cell_index) for v in [*views.values(), *freshness.new_views.values()]
        ),
    )


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
            except Exception:  # noqa: BLE001 - Feast raises several "not found" types
                continue
            return {f.name: str(f.dtype) for f in found.features}
        return {}

    def odfv_modes(self, name: str) -> list[tuple[str, str]]:
        """(registered view name, mode) of the served view and its pandas twin."""
        out = []
        for candidate in (name, f"{name}_pandas"):
            try:
                odfv = self.store.get_on_demand_feature_view(candidate)
            except Exception:  # noqa: BLE001 - not registered: no such mode
                continue
            out.append((candidate, str(odfv.mode)))
        return out

    def historical(
        self, entity_df: pd.DataFrame, refs: Sequence[str], full_names: bool = False
    ) -> pd.DataFrame:
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

    def online(
        self, refs: Sequence[str], rows: list[dict], full_names: bool = False
    ) -> pd.DataFrame:
        with _quiet():
            response = self.store.get_online_features(
                features=list(refs), entity_rows=rows, full_feature_names=full_names
            )
            return response.to_df()

    def write_online(self, view: str, frame: pd.DataFrame) -> None:
        with _quiet():
            self.store.write_to_online_store(view, frame)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Around every Feast call: its stdout kept off ours, IPython's sqlite converter kept off
    its."""
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        feast_sqlite_converters(),
    ):
        warnings.simplefilter("ignore")
        yield


@dataclass
class _State:
    """A view's progress through one verify run."""

    checks: list[ParityCheck] = field(default_factory=list)
    error: ViewError | None = None
    notes: list[str] = field(default_factory=list)
    coverage: dict = field(default_factory=dict)
    rows: pd.DataFrame | None = None  # the sampled entity rows Feast gets (with ROW_ID)
    inputs: pd.DataFrame | None = None  # on demand: the cell's input rows, indexed by ROW_ID
    outputs: pd.DataFrame | None = None  # on demand: the cell's output rows, indexed by ROW_ID

    def fail(self, phase: str, exc: BaseException) -> None:
        if self.error is None:
            self.error = ViewError(phase, f"{type(exc).__name__}: {exc}")


@dataclass
class _Run:
    """One verify run: the repo, the captures, the sample, and where time goes."""

    repo: Path
    views: dict[str, ViewEntry]
    captures: dict[str, Capture | None]
    rng: np.random.Generator
    sample: int
    rtol: float
    atol: float
    say: Progress
    timings: Timings
    session: FeastSession | None = None
    transforms: ModuleType | None = None

    def transform_package(self) -> ModuleType:
        """The repository's transforms package, imported once (modules import each other)."""
        if self.transforms is None:
            from nb2feast.repo.materialize import load_repo_transforms

            self.transforms = load_repo_transforms(self.repo)
        return self.transforms

    def check_all(self, states: dict[str, _State]) -> None:
        """Offline for every view, one materialize, online for batch views, then on demand."""
        for name, view in self.views.items():
            state, capture = states[name], self.captures[name]
            if capture is None or (view.kind == "on_demand" and capture.input is None):
                state.error = ViewError(
                    "run_notebook",
                    f"the notebook did not capture this view: did {view.where} run %%feature?",
                )
                continue
            self.say(f"{name}: offline retrieval")
            offline = self.batch_offline if view.kind == "batch" else self.on_demand_offline
            _guard(state, "offline", offline, view, capture, state)
        self.materialize(states)
        for name, view in self.views.items():
            state = states[name]
            if (
                view.kind == "batch"
                and not view.offline_only
                and state.error is None
                and state.rows is not None
            ):
                self.say(f"{name}: online retrieval")
                _guard(state, "online", self.batch_online, view, self.captures[name], state)
        written: set[str] = set()
        for name, view in self.views.items():
            state = states[name]
            if (
                view.kind == "on_demand"
                and self._online_servable(view)
                and state.error is None
                and state.rows is not None
            ):
                self.say(f"{name}: online retrieval")
                _guard(state, "online", self.on_demand_online, view, state, written)
        if written:
            self.say("restoring the online store")
            self.materialize(states)

    # batch views ------------------------------------------------------------------

    def batch_offline(self, view: ViewEntry, capture: Capture, state: _State) -> None:
        keys, ts, names = list(view.entities), view.timestamp, view.feature_names
        table = capture.output
        present = [n for n in names if n in table.columns]
        with self.timings("sample"):
            rows, coverage = stratified_entity_rows(
                table, keys, ts, self.sample, self.rng, view.ttl_seconds or 0, present
            )
            expected = point_in_time(
                rows,
                table,
                keys,
                ts,
                present,
                created=view.created,
                ttl_seconds=view.ttl_seconds or 0,
            )
        state.rows, state.coverage = rows, coverage
        state.checks.append(
            self._retrieve_and_compare(
                "offline",
                lambda: self.session.historical(rows, [f"{view.name}:{n}" for n in names]),
                expected,
                self._specs(view, table),
                context=[*keys, ENTITY_TS],
            )
        )

    def batch_online(self, view: ViewEntry, capture: Capture, state: _State) -> None:
        keys, names = list(view.entities), view.feature_names
        table = capture.output
        with self.timings("sample"):
            distinct = state.rows[keys].drop_duplicates().head(ONLINE_ROWS).reset_index(drop=True)
            latest = latest_per_key(
                table,
                keys,
                view.timestamp,
                [n for n in names if n in table.columns],
                created=view.created,
            )
            expected = distinct.merge(latest, on=keys, how="left")
            expected.index = pd.RangeIndex(len(expected), name=ROW_ID)
            entity_rows = distinct.to_dict("records")

        def fetch() -> pd.DataFrame:
            got = self.session.online([f"{view.name}:{n}" for n in names], entity_rows)
            return got.assign(**{ROW_ID: np.arange(len(got))})

        state.checks.append(
            self._retrieve_and_compare(
                "online", fetch, expected, self._specs(view, table), context=[*keys, view.timestamp]
            )
        )

    def materialize(self, states: dict[str, _State]) -> None:
        """One materialize over the time range of every online batch view's data; when it
        raises, one per view, so the error lands on the view that caused it."""
        online = [
            v
            for v in self.views.values()
            if v.kind == "batch"
            and not v.offline_only
            and self.captures[v.name] is not None
            and states[v.name].error is None
        ]
        spans = {}
        for view in online:
            stamps = _utc(self.captures[view.name].output[view.timestamp]).dropna()
            if not stamps.empty:
                spans[view.name] = (
                    stamps.min() - pd.Timedelta(seconds=1),
                    stamps.max() + pd.Timedelta(seconds=1),
                )
        if not spans:
            return
        self.say(f"materializing {len(spans)} feature view(s)")
        start = min(s for s, _ in spans.values())
        end = max(e for _, e in spans.values())
        with self.timings("materialize"):
            try:
                self.session.materialize(start, end, list(spans))
                return
            except Exception:  # noqa: BLE001 - retried per view below, to name the one at fault
                pass
            for name, (first, last) in spans.items():
                _guard(states[name], "materialize", self.session.materialize, first, last, [name])

    # on-demand views --------------------------------------------------------------

    def on_demand_offline(self, view: ViewEntry, capture: Capture, state: _State) -> None:
        """Feast gets the rows the cell read (keys, time, request columns); its answer is
        compared with what the cell produced on those rows in the fresh kernel run."""
        inputs, outputs = (
            capture.input.reset_index(drop=True),
            capture.output.reset_index(drop=True),
        )
        if len(inputs) != len(outputs):
            raise ValueError(
                f"the cell returned {len(outputs)} rows for {len(inputs)} input rows; "
                "verify compares an on-demand cell row by row"
            )
        keys, ts, requests = self._odfv_columns(view, inputs)
        upstream = [f for _, f in self._upstream(view) if f in inputs.columns]
        with self.timings("sample"):
            rows, positions, coverage = stratified_input_rows(
                inputs[[*keys, ts, *requests, *upstream]],
                self.sample,
                self.rng,
                keys,
                [*upstream, *requests],
            )
            entity = rows[[*keys, ts, *requests, ROW_ID]]
            entity = entity.rename(columns={ts: ENTITY_TS}) if ts != ENTITY_TS else entity
        ids = pd.Index(rows[ROW_ID].to_numpy(), name=ROW_ID)
        state.rows, state.coverage = entity, coverage
        state.inputs = inputs.iloc[positions].set_axis(ids)
        state.outputs = outputs.iloc[positions][
            [n for n in view.feature_names if n in outputs.columns]
        ].set_axis(ids)
        modes = self.session.odfv_modes(view.name)
        if not modes:
            state.checks.append(
                _error_check("offline", f"no on-demand view {view.name!r} is registered")
            )
        for served, mode in modes:
            refs = self._refs(view, served)
            state.checks.append(
                self._on_demand_check(
                    "offline",
                    view,
                    served,
                    mode,
                    lambda refs=refs: self.session.historical(entity, refs),
                    state,
                    ids,
                    context=[*keys, ENTITY_TS],
                )
            )

    def on_demand_online(self, view: ViewEntry, state: _State, written: set[str]) -> None:
        """The same input rows online: each source view's values as the cell saw them are
        written to the online store (one row per key at a time), then Feast serves the view."""
        capture = self.captures[view.name]
        keys, _ts, requests = self._odfv_columns(view, capture.input)
        rows = state.rows.head(ONLINE_ROWS).dropna(subset=keys)
        rounds = (
            rows.groupby(keys, sort=False).cumcount().to_numpy()
            if keys
            else np.zeros(len(rows), int)
        )
        rows = rows[rounds < ONLINE_ROUNDS]
        rounds = rounds[rounds < ONLINE_ROUNDS]
        sources = [
            self.views[s] for s in view.sources if s in self.views and self.views[s].kind == "batch"
        ]
        modes = self.session.odfv_modes(view.name)
        got: dict[str, list[pd.DataFrame]] = {served: [] for served, _ in modes}
        failed: dict[str, Exception] = {}
        for number in range(int(rounds.max()) + 1 if len(rounds) else 0):
            batch = rows[rounds == number]
            seen = state.inputs.loc[batch[ROW_ID].to_numpy()]
            with self.timings("online"):
                for source in sources:
                    self.session.write_online(source.name, _source_rows(source, seen, number))
                    written.add(source.name)
            records = [
                {k: _plain(v) for k, v in record.items()}
                for record in batch[[*keys, *requests]].to_dict("records")
            ]
            for served, _mode in modes:
                if served in failed:
                    continue
                try:
                    with self.timings("online"):
                        answer = self.session.online(self._refs(view, served), records)
                except Exception as exc:  # noqa: BLE001 - reported on this mode's check
                    failed[served] = exc
                    continue
                got[served].append(
                    answer.assign(**{ROW_ID: batch[ROW_ID].to_numpy()[: len(answer)]})
                )
        ids = pd.Index(rows[ROW_ID].to_numpy(), name=ROW_ID)
        state.coverage["online_rows"] = len(rows)
        for served, mode in modes:

            def fetch(served: str = served) -> pd.DataFrame:
                if served in failed:
                    raise failed[served]
                return (
                    pd.concat(got[served], ignore_index=True)
                    if got[served]
                    else pd.DataFrame({ROW_ID: []})
                )

            state.checks.append(
                self._on_demand_check(
                    "online", view, served, mode, fetch, state, ids, context=keys, timed=False
                )
            )
        if sources:
            state.notes.append(
                "the online check wrote the notebook's rows of "
                f"{', '.join(s.name for s in sources)} "
                "to the online store; verify materialized them again afterwards"
            )

    def _on_demand_check(
        self,
        path: str,
        view: ViewEntry,
        served: str,
        mode: str,
        fetch: Callable[[], pd.DataFrame],
        state: _State,
        ids: pd.Index,
        context: list[str],
        timed: bool = True,
    ) -> ParityCheck:
        """Feast's answer for `served` against the cell's own output on the same rows.

        Rows where Feast fed the view other inputs than the cell saw (a source view's
        point-in-time answer differs from the notebook's frame) are not this view's to
        judge: they are counted in the coverage and left out, and a sample with no row left
        is an error rather than a silent pass.
        """
        try:
            with self.timings(path) if timed else contextlib.nullcontext():
                got = fetch()
        except Exception as exc:  # noqa: BLE001 - reported in the check, other views go on
            return _error_check(
                path,
                f"{type(exc).__name__}: {exc}",
                mode=mode,
                rows_expected=len(ids),
                feast_view=served,
            )
        with self.timings("compare"):
            inputs = state.inputs.loc[ids]
            unique = got.drop_duplicates(ROW_ID).set_index(ROW_ID)
            present = ids.isin(unique.index)
            differs = np.zeros(len(ids), dtype=bool)
            columns = [
                f for _, f in self._upstream(view) if f in inputs.columns and f in unique.columns
            ]
            for column in columns:
                same, _ = values_equal(
                    inputs[column],
                    unique[column].reindex(ids),
                    str(inputs[column].dtype),
                    rtol=self.rtol,
                    atol=self.atol,
                )
                differs |= present & ~same
            kept = ids[~differs]
            if differs.any():
                state.coverage.setdefault("inputs_differ", {})[f"{path}/{mode}"] = int(
                    differs.sum()
                )
            if len(ids) and not len(kept):
                return _error_check(
                    path,
                    f"Feast fed every sampled row other inputs ({', '.join(columns)}) "
                    "than the notebook's "
                    "frame: nothing left to compare; check the source views",
                    mode=mode,
                    rows_expected=len(ids),
                    feast_view=served,
                )
            frame_context = [c for c in context if c in state.rows.columns]
            expected = (
                state.rows.set_index(ROW_ID).loc[kept, frame_context].join(state.outputs.loc[kept])
            )
            comparison = compare_frames(
                expected,
                got[got[ROW_ID].isin(kept)],
                self._specs(view, self.captures[view.name].output, served=served),
                context=frame_context,
                rtol=self.rtol,
                atol=self.atol,
            )
        return _check(path, comparison, mode=mode, feast_view=served)

    def _refs(self, view: ViewEntry, served: str) -> list[str]:
        """Short feature names, one call per mode: Feast 0.67's online python-mode views
        return nothing under `full_feature_names=True` (their udf gets `view__feature` keys)."""
        return [f"{src}:{f}" for src, f in self._upstream(view)] + [
            f"{served}:{n}" for n in view.feature_names
        ]

    def _upstream(self, view: ViewEntry) -> list[tuple[str, str]]:
        return [
            (src, feature)
            for src in view.sources
            if src in self.views
            for feature in self.views[src].feature_names
        ]

    def _odfv_columns(
        self, view: ViewEntry, frame: pd.DataFrame
    ) -> tuple[list[str], str, list[str]]:
        """Entity keys, timestamp and request columns of an on-demand view's input frame."""
        sources = [self.views[s] for s in view.sources if s in self.views]
        keys = list(view.entities or dict.fromkeys(k for s in sources for k in s.entities))
        candidates = [*(s.timestamp for s in sources), ENTITY_TS]
        ts = next((c for c in candidates if c and c in frame.columns), None)
        if ts is None:
            ts = next(c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c]))
        return keys, ts, [r.name for r in view.requests]

    def _online_servable(self, view: ViewEntry) -> bool:
        sources = [self.views[s] for s in view.sources if s in self.views]
        return not view.offline_only and not any(s.offline_only for s in sources)

    # time travel ------------------------------------------------------------------

    def time_travel(self, states: dict[str, _State]) -> tuple[Hazard, ...]:
        """NB2F310 hazards of every batch view; a view whose transform raises gets the error."""
        from nb2feast.proof.timetravel import could_not_check, module_source, time_travel_hazards
        from nb2feast.repo.infer import TRANSFORM_LOCK

        batch = [v for v in self.views.values() if v.kind == "batch"]
        if not batch:
            return ()
        try:
            package = self.transform_package()
        except Exception as exc:  # noqa: BLE001 - the generated code; every batch view says so
            for view in batch:
                states[view.name].fail("time_travel", exc)
            return ()
        hazards: list[Hazard] = []
        for view in batch:
            module = getattr(package, view.name, None)
            transform = getattr(module, view.name, None)
            if transform is None or not hasattr(module, "load_inputs"):
                why = f"{view.module} has no transform with load_inputs()"
                hazards.append(could_not_check(view.to_json(), why))
                continue
            self.say(f"{view.name}: time travel")
            try:
                with TRANSFORM_LOCK:
                    inputs = module.load_inputs()
                entry = view.to_json()  # the cell's code traces the timestamp the cell makes
                hazards += time_travel_hazards(
                    entry, transform, inputs, source=module_source(self.repo, entry)
                )
            except Exception as exc:  # noqa: BLE001 - the user's code; one view never aborts the rest
                states[view.name].fail("time_travel", exc)
        return tuple(hazards)

    # shared -----------------------------------------------------------------------

    def _specs(
        self, view: ViewEntry, table: pd.DataFrame, served: str | None = None
    ) -> list[FeatureToCheck]:
        declared = self.session.declared_types(served or view.name)
        return [
            FeatureToCheck(
                name=f.name,
                dtype_notebook=str(table[f.name].dtype) if f.name in table.columns else f.dtype,
                feast_type=declared.get(f.name) or f.feast_type or None,
            )
            for f in view.features
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
                expected,
                actual,
                specs,
                context=[c for c in context if c in expected.columns],
                rtol=self.rtol,
                atol=self.atol,
            )
        return _check(path, comparison)


def _guard(state: _State, phase: str, step: Callable[..., object], *args: object) -> None:
    """Run one phase of one view; an exception becomes that view's error, never the run's."""
    try:
        step(*args)
    except Exception as exc:  # noqa: BLE001 - reported on the view; the other views go on
        state.fail(phase, exc)


def _source_rows(source: ViewEntry, seen: pd.DataFrame, number: int) -> pd.DataFrame:
    """A source view's rows as the on-demand cell saw them, ready for the online store."""
    frame = pd.DataFrame(index=pd.RangeIndex(len(seen)))
    for key in source.entities:
        values = seen[key].to_numpy()
        if values.dtype.kind == "f" and np.all(np.mod(values, 1) == 0):
            values = values.astype("int64")  # a key widened by a join; Feast refuses double keys
        frame[key] = values
    stamp = pd.Timestamp.now(tz="UTC").floor("s") + pd.Timedelta(seconds=number)
    frame[source.timestamp] = stamp
    if source.created:
        frame[source.created] = stamp
    for feature in source.features:
        if feature.name in seen.columns:
            frame[feature.name] = seen[feature.name].to_numpy()
        else:
            frame[feature.name] = pd.Series([None] * len(seen), dtype=object)
    return frame.drop_duplicates(list(source.entities), keep="last")


def _plain(value: object) -> object:
    """A request value as Feast's online API takes it: Python scalars, missing as None."""
    if isinstance(value, np.generic):
        value = value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _check(
    path: str, comparison: Comparison, mode: str | None = None, feast_view: str | None = None
) -> ParityCheck:
    return ParityCheck(
        path=path,
        rows_expected=comparison.rows_expected,
        rows_returned=comparison.rows_returned,
        features=comparison.features,
        mode=mode,
        feast_view=feast_view,
    )


def _error_check(
    path: str,
    error: str,
    *,
    mode: str | None = None,
    rows_expected: int = 0,
    feast_view: str | None = None,
) -> ParityCheck:
    return ParityCheck(
        path=path,
        rows_expected=rows_expected,
        rows_returned=0,
        features=(),
        mode=mode,
        error=error,
        feast_view=feast_view,
    )


def _utc(stamps: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(stamps)
    if getattr(stamps.dtype, "tz", None) is None:
        return stamps.dt.tz_localize("UTC")
    return stamps.dt.tz_convert("UTC")
