"""`%%feature` and `%feature_verify`: the notebook shell over the pipeline.

The cell runs exactly as it would without the magic; then the magic checks the result,
records the view's exact dtypes in the sidecar beside the notebook (so `export` knows
them without re-running anything), hands the frames over to `verify` when asked
(`NB2FEAST_CAPTURE_DIR`), and shows a compact summary with any skew hazards.
Importing this module imports neither pandas nor Feast.
"""

from __future__ import annotations

import html
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from traitlets import Bool, Unicode

from nb2feast.errors import UserError
from nb2feast.model import (
    CAPTURE_ENV,
    NOTEBOOK_ENV,
    CaptureMeta,
    CellRef,
    FeatureCell,
    FeatureFlags,
    Hazard,
    NotebookCell,
)
from nb2feast.notebook.flags import parse_flags


@dataclass(frozen=True)
class Summary:
    """What the magic shows after the cell ran (text in a terminal, HTML in Jupyter)."""

    flags: FeatureFlags
    features: tuple[tuple[str, str, str], ...]  # (name, dtype, Feast type)
    input_frame: str | None
    hazards: tuple[Hazard, ...]
    recorded_in: str | None

    def _lines(self) -> list[str]:
        flags = self.flags
        head = f"{flags.name} ({flags.kind})"
        if flags.entities:
            head += f" · entities: {', '.join(flags.entities)} · timestamp: {flags.timestamp}"
        if self.input_frame:
            head += f" · derived from: {self.input_frame}"
        lines = [head, "features: " + ", ".join(f"{n} {d} → {t}" for n, d, t in self.features)]
        for h in self.hazards:
            lines.append(
                f"{h.code} {h.severity} [{h.category}] line {h.line}: {h.message} — fix: {h.fix}"
            )
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._lines())

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(n)}</code></td><td>{html.escape(d)}</td><td>{t}</td></tr>"
            for n, d, t in self.features
        )
        hazards = "".join(
            f"<li style='color:{'#b00020' if h.severity == 'error' else '#8a6d00'}'>"
            f"<b>{h.code}</b> "
            f"{h.severity} [{h.category}] line {h.line}: {html.escape(h.message)}"
            f"<br><i>fix:</i> {html.escape(h.fix)}</li>"
            for h in self.hazards
        )
        meta = html.escape(self._lines()[0])
        return (
            f"<div class='nb2feast-summary'><b>%%feature</b> {meta}"
            f"<table><tr><th>feature</th><th>dtype</th><th>Feast</th></tr>{rows}</table>"
            + (f"<ul>{hazards}</ul>" if hazards else "<div>no skew hazards</div>")
            + "</div>"
        )


def notebook_path(user_ns: dict, configured: str = "") -> Path | None:
    """The running notebook's file, where the front end tells us (else None)."""
    candidates = [
        configured,
        os.environ.get(NOTEBOOK_ENV),
        user_ns.get("__vsc_ipynb_file__"),
        user_ns.get("__session__"),
        os.environ.get("JPY_SESSION_NAME"),
    ]
    for candidate in candidates:
        if not candidate or not str(candidate).endswith(".ipynb"):
            continue
        path = Path(candidate)
        for option in (path, Path.cwd() / path.name):
            if option.is_file():
                return option.resolve()
    return None


_KEYS_SEEN: dict[Path, tuple[float, frozenset[str]]] = {}


def _feature_cell_keys(notebook: Path) -> frozenset[str]:
    """`source_key`s of a notebook's `%%feature` cells (cached by modification time)."""
    from nb2feast.notebook.select import is_feature_cell
    from nb2feast.repo.infer import source_key

    mtime = notebook.stat().st_mtime
    cached = _KEYS_SEEN.get(notebook)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        cells = json.loads(notebook.read_text()).get("cells", [])
    except (OSError, ValueError, AttributeError):
        cells = []
    keys = set()
    for cell in cells if isinstance(cells, list) else []:
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        source = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "code" and is_feature_cell(source):
            keys.add(source_key(source))
    _KEYS_SEEN[notebook] = (mtime, frozenset(keys))
    return _KEYS_SEEN[notebook][1]


def find_notebook_by_cell(source: str, folder: Path) -> tuple[Path | None, str]:
    """The one notebook in `folder` holding this `%%feature` cell, for kernels started with
    no notebook path (`jupyter nbconvert --execute`, papermill, nbclient); else (None, why)."""
    from nb2feast.repo.infer import source_key

    key = source_key(source)
    found = [nb for nb in sorted(folder.glob("*.ipynb")) if key in _feature_cell_keys(nb)]
    if len(found) == 1:
        return found[0].resolve(), ""
    if not found:
        return None, f"no notebook in {folder} holds this %%feature cell"
    return (
        None,
        f"several notebooks in {folder} hold this %%feature cell "
        f"({', '.join(p.name for p in found)})",
    )


def write_json_atomic(path: Path, payload: dict) -> None:
    text = json.dumps(payload, indent=2, sort_keys=True) + "\n"
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.chmod(partial, 0o644)  # mkstemp's 0600 would make a committed file private
    os.replace(partial, path)


@magics_class
class FeatureMagics(Magics):
    """`%%feature NAME ...` marks a pandas cell as a Feast feature view."""

    record = Bool(True, help="Record each view's dtypes in <notebook>.nb2feast.json").tag(
        config=True
    )
    repo = Unicode("feature_repo", help="Repository folder, relative to the notebook").tag(
        config=True
    )
    notebook = Unicode(
        "",
        help="The notebook file this kernel runs, where the front end does not say (headless runs)",
    ).tag(config=True)
    _told_unrecorded = False

    @cell_magic
    def feature(self, line: str, cell: str):
        try:
            flags = parse_flags(line)
        except UserError as error:
            raise UsageError(f"%%feature: {error}") from None
        ns = self.shell.user_ns
        reads, nodes = _names(cell)
        frames = [n for n in reads if _is_frame(ns.get(n))]
        input_frame = None
        before_columns: list[str] = []
        snapshot = None
        capture = os.environ.get(CAPTURE_ENV)
        if flags.on_demand:
            if len(frames) != 1:
                raise UsageError(
                    f"%%feature {flags.name}: an on-demand cell derives columns from "
                    "exactly one input "
                    f"frame; it reads {', '.join(frames) or 'none'}"
                )
            input_frame = frames[0]
            before_columns = [str(c) for c in ns[input_frame].columns]
            missing = [c for c, _ in flags.requests if c not in before_columns]
            if missing:
                raise UsageError(
                    f"%%feature {flags.name}: request column(s) {missing} are not in {input_frame}"
                )
            if capture:
                snapshot = ns[input_frame].copy()
        from nb2feast.notebook.dataflow import find_result_frame

        frozen = (
            _frozen_statistics(flags, cell, input_frame, ns, notebook_path(ns, self.notebook))
            if flags.freeze
            else None
        )
        result = self.shell.ex(cell)  # the cell runs unchanged, in the user's namespace
        del result
        if flags.on_demand:
            result = find_result_frame(nodes, flags.name, [input_frame])
            if result is not None and result.fresh:
                before_columns = []
            frame = ns.get(result.name if result else input_frame)
        else:
            frame = ns.get(flags.name)
        features = self._check(flags, frame, before_columns)
        summary_features = tuple((n, str(frame[n].dtype), t) for n, t in features)
        hazards = self._hazards(flags, cell)
        if frozen:
            from nb2feast.hazards.freeze import find_freezable
            from nb2feast.repo.freeze import mark_frozen

            hazards = tuple(mark_frozen(hazards, flags.name, find_freezable(cell, input_frame)))
        # verify's run hands frames over (capture) and leaves the user's sidecar alone
        recording = self.record and not capture
        recorded = self._record(flags, line, cell, frame, features, frozen) if recording else None
        if capture:
            _capture(Path(capture), flags, frame, snapshot, input_frame, features)
        return Summary(flags, summary_features, input_frame, hazards, recorded)

    def _check(self, flags: FeatureFlags, frame, before: list[str]) -> list[tuple[str, str]]:
        """The checks export makes when it computes types, made as the cell runs."""
        from nb2feast.repo.infer import batch_features, frame_columns

        if not _is_frame(frame):
            raise UsageError(
                f"%%feature {flags.name}: the cell must bind {flags.name} to a DataFrame"
            )
        try:
            if flags.on_demand:
                names = [str(c) for c in frame.columns if str(c) not in before]
                if not names:
                    raise UsageError(f"%%feature {flags.name}: the cell adds no column")
                columns = frame_columns(frame, names, flags.name, None)
            else:
                columns = batch_features(frame, flags, None)
                self._warn_keys(flags, frame)
        except UserError as error:
            raise UsageError(f"%%feature {flags.name}: {error.message}; {error.fix}") from None
        return [(c.name, c.feast_type) for c in columns]

    def _warn_keys(self, flags: FeatureFlags, frame) -> None:
        """A key Feast cannot store is export's refusal; the notebook keeps running."""
        from nb2feast.repo.infer import check_entity_key

        for key in flags.entities:
            try:
                check_entity_key(frame[key], key, flags.name, None)
            except UserError as error:
                print(
                    f"nb2feast: {error.message}; export will refuse it — fix: {error.fix}",
                    file=sys.stderr,
                )

    def _hazards(self, flags: FeatureFlags, cell: str) -> tuple[Hazard, ...]:
        from nb2feast.hazards import detect_hazards

        history = list(getattr(self.shell.history_manager, "input_hist_raw", []))[1:]
        ref = CellRef("<notebook>", len(history), "")
        cells = [
            NotebookCell(CellRef("<notebook>", i, ""), source) for i, source in enumerate(history)
        ]
        feature_cell = FeatureCell(
            NotebookCell(ref, f"%%feature {flags.name}\n{cell}"), flags, cell
        )
        try:
            return detect_hazards(feature_cell, cells)
        except UserError:
            return ()

    def _record(self, flags, line, cell, frame, features, frozen) -> str | None:
        from nb2feast.repo.export import sidecar_key
        from nb2feast.repo.infer import column_type, sidecar_path

        source_text = f"%%feature {line.strip()}\n{cell}"
        notebook = notebook_path(self.shell.user_ns, self.notebook)
        if notebook is None:
            notebook, why = find_notebook_by_cell(source_text, Path.cwd())
            if notebook is None:
                self._tell_unrecorded(why)
                return None
        source = NotebookCell(CellRef(str(notebook), 0, ""), f"%%feature {line.strip()}\n{cell}")
        key = sidecar_key(FeatureCell(source, flags, cell))
        path = sidecar_path(notebook)
        try:
            payload = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            payload = {}
        keys = [] if flags.on_demand else [*flags.entities]
        typed = {k: column_type(frame, k) for k in keys} | dict(features)
        payload.setdefault("views", {})[flags.name] = {
            "cell_hash": key,
            "kind": flags.kind,
            "features": [n for n, _ in features],
            "dtypes": {n: str(frame[n].dtype) for n in [*keys, *(n for n, _ in features)]},
            "feast_types": typed,
        }
        if frozen:
            payload["views"][flags.name]["frozen"] = frozen
        payload["nb2feast"] = 1
        write_json_atomic(path, payload)
        return str(path)

    def _tell_unrecorded(self, why: str) -> None:
        """Once per kernel: the types were not recorded, why, and what to do."""
        if self._told_unrecorded:
            return
        self._told_unrecorded = True
        print(
            "nb2feast: dtypes not recorded: this kernel was not told its "
            f"notebook's path and {why}; "
            f"set {NOTEBOOK_ENV}=path/to/notebook.ipynb or run "
            "`%config FeatureMagics.notebook = 'path/to/notebook.ipynb'`",
            file=sys.stderr,
        )

    @line_magic
    def feature_verify(self, line: str):
        """`%feature_verify [REPO]`: verify the current notebook against its repository."""
        from IPython.display import HTML

        from nb2feast.proof.report import render_html
        from nb2feast.proof.verify import verify_notebook

        notebook = notebook_path(self.shell.user_ns, self.notebook)
        if notebook is None:
            raise UsageError(
                "%feature_verify: cannot tell which notebook this is; set NB2FEAST_NOTEBOOK"
            )
        repo = Path(line.strip() or notebook.parent / self.repo)
        try:
            report = verify_notebook(notebook, repo)
        except UserError as error:
            raise UsageError(f"%feature_verify: {error}") from None
        return HTML(render_html(report))


def _frozen_statistics(flags, cell, input_frame, ns, notebook) -> dict | None:
    """`--freeze`: the cell's whole-frame statistics on the notebook's data, before it runs."""
    from datetime import datetime

    from nb2feast.hazards.freeze import find_freezable
    from nb2feast.repo.freeze import compute_values

    if not flags.on_demand or input_frame is None:
        raise UsageError(f"%%feature {flags.name}: --freeze applies to on-demand cells")
    targets = find_freezable(cell, input_frame)
    if not targets:
        return None
    frame = ns[input_frame]
    values = compute_values(frame, targets, input_frame, ns)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = notebook.name if notebook else "the notebook"
    return {
        "values": values,
        "provenance": f"{len(frame)} rows of {input_frame} in {where}, recorded {when}",
    }


def _is_frame(value) -> bool:
    return type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas")


def _names(cell: str) -> tuple[list[str], list]:
    """(names the cell reads before binding them, in order; its statements' nodes)."""
    from nb2feast.notebook.analyze import analyze_cell

    try:
        _, statements = analyze_cell(
            cell, CellRef("<cell>", 0, ""), line_offset=1, order_base=0, in_feature_cell=True
        )
    except UserError:
        return [], []
    free: list[str] = []
    bound: set[str] = set()
    for statement in statements:
        free.extend(n for n in sorted(statement.reads) if n not in bound and n not in free)
        bound |= statement.defines
    return free, [statement.node for statement in statements]


def _capture(directory: Path, flags, frame, snapshot, input_frame, features) -> None:
    """Hand verify what the cell read and produced (see docs/ARCHITECTURE.md)."""
    directory.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(directory / f"{flags.name}.output.parquet", index=False)
    if snapshot is not None:
        snapshot.to_parquet(directory / f"{flags.name}.input.parquet", index=False)
    meta = CaptureMeta(
        name=flags.name,
        kind=flags.kind,
        input_frame=input_frame,
        features=tuple(n for n, _ in features),
        dtypes={str(c): str(frame[c].dtype) for c in frame.columns},
    )
    write_json_atomic(directory / f"{flags.name}.json", meta.to_json())
