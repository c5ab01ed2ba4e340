"""What the `/nb2feast/` endpoints do, kept apart from tornado (jupyterlab-git style).

Handlers resolve a request to a `Target` (a notebook and its feature repository, both
inside the server root) and call `cells` or `promote` here; these are thin shells over
the pipeline's entry points in `nb2feast.export` and `nb2feast.verify`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from nb2feast.errors import UserError

REPO_DIRNAME = "feature_repo"
MAX_PATH = 1024
REPORT_FILE = PurePosixPath(".nb2feast") / "last_report.json"
MANIFEST_FILE = "nb2feast.json"

# A cell's badge: the first status in this order that applies to it wins.
STATUS_ORDER = ("error", "mismatch", "hazards", "stale", "not exported", "parity ok", "exported")
# The report's per-view verdict (nb2feast.report.view_status) as the panel's badge.
BADGE_OF_STATUS = {
    "error": "error", "stale": "stale", "mismatch": "mismatch", "hazard": "hazards", "ok": "parity ok",
}


class RequestError(Exception):
    """A request the server refuses: an HTTP status and a JSON error body."""

    def __init__(
        self, status: int, message: str, *, fix: str = "", notebook: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error: dict[str, Any] = {"message": message, "fix": fix, "notebook": notebook}

    @classmethod
    def from_user_error(cls, error: UserError, root: Path) -> RequestError:
        """A 400 carrying the user error's position, its notebook named root-relative
        (no message names a path of the server's file system)."""
        refused = cls(400, error.message)
        refused.error = {k: scrub(v, root) for k, v in error.to_dict().items()}
        return refused


def scrub(value: Any, root: Path) -> Any:
    """Text with the server root's absolute path (also as resolved) made root-relative."""
    if not isinstance(value, str):
        return value
    for prefix in sorted({str(root), str(root.resolve())}, key=len, reverse=True):
        value = value.replace(prefix + "/", "").replace(prefix, ".")
    return value


@dataclass(frozen=True)
class Target:
    """A notebook and its feature repository, both resolved and inside `root`."""

    root: Path
    notebook: Path
    repo: Path

    def relative(self, path: Path) -> str:
        """`path` as the server (and the lab's file browser) names it: root-relative, POSIX."""
        return path.relative_to(self.root).as_posix()


def locate(root: Path, path: str) -> Target:
    """Resolve the root-relative notebook `path`; refuse it before reading anything if it
    leaves `root`."""
    if not path:
        raise RequestError(
            400,
            "missing query argument or field 'path'",
            fix="pass the notebook path relative to the server root",
        )
    if len(path) > MAX_PATH or "\x00" in path:
        raise RequestError(
            400, "the path is too long or holds a NUL character", fix="pass a notebook path"
        )
    try:
        return _locate(root, path)
    except (OSError, ValueError, RuntimeError) as exc:  # name too long, symlink loop, ...
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise RequestError(400, f"cannot open that path: {reason}", notebook=None) from None


def _locate(root: Path, path: str) -> Target:
    if (
        PurePosixPath(path).is_absolute()
        or PureWindowsPath(path).is_absolute()
        or PureWindowsPath(path).drive
    ):
        raise RequestError(
            403,
            f"{path!r} is an absolute path",
            fix="pass the notebook path relative to the server root",
            notebook=path,
        )
    if ".." in PurePosixPath(path).parts or ".." in PureWindowsPath(path).parts:
        raise RequestError(403, f"{path!r} leaves the server root", notebook=path)
    root = root.expanduser().resolve()
    notebook = (root / path).resolve()
    if not notebook.is_relative_to(root):
        raise RequestError(403, f"{path!r} points outside the server root", notebook=path)
    if notebook.suffix != ".ipynb":
        raise RequestError(400, f"{path!r} is not a notebook (.ipynb)", notebook=path)
    if not notebook.is_file():
        raise RequestError(404, f"no notebook at {path!r}", notebook=path)
    repo = notebook.parent / REPO_DIRNAME
    if not repo.resolve().is_relative_to(root):
        raise RequestError(
            403, f"{REPO_DIRNAME}/ beside {path!r} points outside the server root", notebook=path
        )
    return Target(root=root, notebook=notebook, repo=repo)


class Running:
    """Feature repositories with a promote in flight; a second one is refused, never interleaved."""

    def __init__(self) -> None:
        self._repos: set[Path] = set()

    @contextmanager
    def claim(self, target: Target) -> Iterator[None]:
        """Hold `target`'s repository for the duration of the block, or raise a 409."""
        key = target.repo.resolve()
        if key in self._repos:
            raise RequestError(
                409,
                f"a promote of {target.relative(target.repo)} is already running",
                fix="wait for it to finish, then promote again",
                notebook=target.relative(target.notebook),
            )
        self._repos.add(key)
        try:
            yield
        finally:
            self._repos.discard(key)


@contextmanager
def user_errors(target: Target) -> Iterator[None]:
    """Turn the pipeline's user errors into 400s that name the notebook as the lab does."""
    try:
        yield
    except UserError as error:
        raise RequestError.from_user_error(error, target.root) from error


def check_neighbours(target: Target) -> None:
    """Export re-reads the other notebooks a shared repository's manifest names: each must
    be inside the server root too (a manifest is a file anyone with write access can edit)."""
    try:
        manifest = json.loads((target.repo / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    listed = manifest.get("notebooks") if isinstance(manifest, dict) else None
    for name in listed if isinstance(listed, list) else []:
        try:
            inside = (target.repo / str(name)).resolve().is_relative_to(target.root)
        except (OSError, ValueError, RuntimeError):
            inside = False
        if not inside:
            raise RequestError(
                403,
                f"{target.relative(target.repo)}/{MANIFEST_FILE} names a notebook outside the "
                "server root",
                notebook=target.relative(target.notebook),
            )


def cells(target: Target) -> dict[str, Any]:
    """The notebook's feature cells, each with the status badge the panel shows."""
    check_neighbours(target)
    with user_errors(target):
        return _cells(target)


def _cells(target: Target) -> dict[str, Any]:
    from nb2feast import export

    summaries = [to_json(s) for s in export.feature_cell_summaries(target.notebook)]
    repo_state = export.repo_status(target.notebook, target.repo)
    report = load_report(target) if repo_state == "exported" else None
    return {
        "notebook": target.relative(target.notebook),
        "repo": target.relative(target.repo),
        "repo_status": repo_state,
        "report": report,
        "cells": [cell | {"status": cell_status(cell, repo_state, report)} for cell in summaries],
    }


def promote(target: Target, cell_id: str | None = None) -> dict[str, Any]:
    """Export the whole notebook into its repository, verify parity and keep the report.

    `cell_id` only checks that the promoted cell is a feature cell of this notebook: a
    repository is always generated from every feature cell, so views stay consistent.
    """
    check_neighbours(target)
    with user_errors(target):
        return _promote(target, cell_id)


def _promote(target: Target, cell_id: str | None) -> dict[str, Any]:
    from nb2feast import export

    if cell_id is not None:
        ids = {
            s.get("cell_id") for s in map(to_json, export.feature_cell_summaries(target.notebook))
        }
        if cell_id not in ids:
            raise RequestError(
                400,
                f"cell {cell_id!r} is not a %%feature cell",
                notebook=target.relative(target.notebook),
            )
    result = export.export_notebooks([target.notebook], target.repo)
    # The notebook's code never runs in the server: materialize and verify are child processes.
    apply_repo(target.repo)
    report = run_verify(target)
    save_report(target, report)
    written = [str(f) for f in result.files] or manifest_files(target.repo)
    hazards = [to_json(h) for h in result.hazards] or report.get("hazards", [])
    return {
        "ok": bool(result.ok and report.get("ok")),
        "notebook": target.relative(target.notebook),
        "repo": target.relative(target.repo),
        "files": [target.relative(target.repo / f) for f in written],
        "stale": [str(f) for f in result.stale],
        "report": report,
        "hazards": hazards,
    }


def apply_repo(repo: Path, timeout: float = 3600) -> None:
    """`nb2feast materialize REPO` in a child process started from the repository's folder:
    the generated transforms (the notebook's code) run there, never in the server process,
    whose working directory nothing may change."""
    run = _run_cli(["materialize", str(repo)], repo, timeout, "building the feature tables")
    if run.returncode != 0:
        raise UserError(f"building the feature tables failed: {_cli_error(run)}")


def run_verify(target: Target, timeout: float = 3600) -> dict[str, Any]:
    """`nb2feast verify NB --repo DIR` in a child process (it runs the notebook in a kernel
    and the generated transforms for time travel); the parity report as JSON."""
    with tempfile.TemporaryDirectory(prefix="nb2feast-verify-") as folder:
        path = Path(folder) / "report.json"
        arguments = ["verify", str(target.notebook), "--repo", str(target.repo), "--format", "json"]
        run = _run_cli(
            [*arguments, "--report", str(path)], target.notebook.parent, timeout, "verify"
        )
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UserError(f"verify failed: {_cli_error(run)}") from None


def _run_cli(
    arguments: list[str], cwd: Path, timeout: float, what: str
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "nb2feast.cli", *arguments]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        return subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise UserError(f"{what} took longer than {timeout:g} s and was stopped") from None


def _cli_error(run: subprocess.CompletedProcess) -> str:
    """The one-line error a failed `nb2feast` child printed (else its last line)."""
    errors = [line for line in run.stderr.splitlines() if line.startswith("nb2feast: error: ")]
    if errors:
        return errors[-1][len("nb2feast: error: ") :]
    last = run.stderr.strip().splitlines()[-1:]
    return last[0] if last else f"exit code {run.returncode}"


def cell_status(cell: dict[str, Any], repo_state: str, report: dict[str, Any] | None) -> str:
    """One badge for a cell: the most pressing of its verdict, hazards and export states.

    The verdict is the report's own per-view `status` (one verdict everywhere); a view
    with an error hazard, static or found by time travel, or a stale one is never green.
    """
    applies = {repo_state, "hazards" if cell.get("hazards") else ""}
    status = view_status(report, str(cell.get("name", "")))
    if status is not None:
        applies.add(BADGE_OF_STATUS.get(status, "mismatch"))
    return next(badge for badge in STATUS_ORDER if badge in applies)


def view_status(report: dict[str, Any] | None, name: str) -> str | None:
    """The report's verdict on view `name` (`ok`, `mismatch`, `stale`, `hazard`, `error`); None if absent.

    Reports kept by an older nb2feast have no `status`: their `ok` decides.
    """
    view = next((v for v in (report or {}).get("views", []) if v.get("name") == name), None)
    if view is None:
        return None
    if "status" in view:
        return str(view["status"])
    return "ok" if view.get("ok", all(c.get("ok", False) for c in view.get("checks", []))) else "mismatch"


def view_parity(report: dict[str, Any] | None, name: str) -> bool | None:
    """Whether the report proved view `name` at parity; None if absent."""
    status = view_status(report, name)
    return None if status is None else status == "ok"


def load_report(target: Target) -> dict[str, Any] | None:
    """The last parity report kept for this notebook, if any."""
    path = target.repo / REPORT_FILE
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if kept.get("notebook") != target.relative(target.notebook):
        return None
    return kept.get("report")


def save_report(target: Target, report: dict[str, Any]) -> None:
    """Keep `report` beside the repository so the cells' status survives a reload."""
    path = target.repo / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = {"notebook": target.relative(target.notebook), "report": report}
    path.write_text(json.dumps(kept, indent=2, default=to_json) + "\n", encoding="utf-8")


def manifest_files(repo: Path) -> list[str]:
    """The generated files of the repository, from its manifest, for when export rewrote nothing."""
    from nb2feast.model import Manifest

    try:
        manifest = Manifest.from_json(json.loads((repo / MANIFEST_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError):
        return []
    fixed = ["definitions.py", "feature_store.yaml", MANIFEST_FILE, "transforms/__init__.py"]
    found = [*fixed, *(v.module for v in manifest.views if v.module)]
    return sorted(f for f in dict.fromkeys(found) if (repo / f).is_file())


def to_json(value: Any) -> Any:
    """Pipeline objects (dataclasses with or without `to_dict`) as plain JSON values."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if isinstance(value, Path):
        return value.as_posix()
    return value
