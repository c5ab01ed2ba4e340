"""child: run the generated transforms — the notebook's own code — in a child process.

Export learns exact types by running that code when no fresh types were recorded. It
never runs in the calling process (a Jupyter server, a CI job): a child started from the
notebook's folder runs it under a time budget (`--timeout`), so an infinite loop, a
`chdir`, a crash or a `print` stays there. Messages are length-prefixed pickles on a
private pipe (the child's stdout goes to its stderr, so user prints cannot corrupt them).
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from nb2feast.errors import UserError
from nb2feast.model import CellRef, Column

DEFAULT_TIMEOUT = 300.0
_HEADER = struct.Struct("!Q")


class ExecutionRefused(UserError):
    """Types would need running the notebook's code, and running it is not allowed."""


@dataclass(frozen=True)
class ViewJob:
    """A view to run in the child: its `ViewSpec` (pickled, CST and all), the views it
    reads (on-demand), the statistics to compute (`--freeze`)."""

    view: Any  # ViewSpec
    upstream: tuple[Any, ...] = ()  # ViewSpecs
    targets: tuple[Any, ...] = field(default=())  # FreezeTargets

    @property
    def name(self) -> str:
        return self.view.name

    @property
    def ref(self) -> CellRef:
        return self.view.cell.ref


# ---------------------------------------------------------------- the parent's side


class TransformRunner:
    """A child process holding the generated transforms; started on first use, with every
    request counted against one time budget. `allowed=False` (`--no-exec`) refuses."""

    def __init__(
        self,
        cwd: Path,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        allowed: bool = True,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.cwd = cwd
        self.timeout = timeout
        self.allowed = allowed
        self.say = say
        self._process: subprocess.Popen | None = None
        self._pipe: tuple[int, int] | None = None
        self._deadline = 0.0
        self._loaded: tuple[dict[str, str], str] | None = None

    def load(self, transforms: dict[str, str], repo: Path, views: Sequence[Any] = ()) -> None:
        """The transform modules to run and their `ViewSpec`s (to place a failure at its
        notebook line); sent to the child when it is first needed."""
        self._loaded = (dict(transforms), str(repo), tuple(views))
        if self._process is not None:
            self._call("load", None, *self._loaded)

    def batch(self, job: ViewJob, why: str) -> tuple[tuple[Column, ...], tuple[Column, ...]]:
        """(features, entity key columns) of a batch view, from running its `build()`."""
        return self._call("batch", job, why=why)

    def on_demand(self, job: ViewJob, why: str) -> tuple[Column, ...]:
        return self._call("on_demand", job, why=why)

    def freeze(self, job: ViewJob, why: str) -> tuple[dict, int]:
        """(the statistics' values, rows of the input frame)."""
        return self._call("freeze", job, why=why)

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            os.close(self._pipe[0])
            os.close(self._pipe[1])
            self._process = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _refuse(self, job: ViewJob) -> None:
        raise ExecutionRefused(
            f"types must come from running cell {job.ref.index} (view {job.name!r}), "
            "and --no-exec forbids running the notebook's code",
            where=job.ref,
            line=1,
            fix="run the notebook (its types are then recorded beside it), or drop --no-exec",
        )

    def _start(self, job: ViewJob) -> None:
        if self._loaded is None:
            raise RuntimeError("TransformRunner.load() was never called")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        command = [sys.executable, "-m", "nb2feast.child", str(to_child_r), str(from_child_w)]
        self._process = subprocess.Popen(
            command,
            cwd=self.cwd,
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr if _has_fileno(sys.stderr) else subprocess.DEVNULL,
            env=os.environ | {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._pipe = (from_child_r, to_child_w)
        self._deadline = time.monotonic() + self.timeout
        self._send(("load", self._loaded))
        self._receive(job)

    def _call(self, kind: str, job: ViewJob | None, *payload: Any, why: str = "") -> Any:
        if job is not None and not self.allowed:
            self._refuse(job)
        if self._process is None:
            if self.say and job is not None:
                self.say(
                    f"running the code of {job.ref.notebook}, cell {job.ref.index} "
                    f"(view {job.name}) in a child process: {why}"
                )
            self._start(job)
        elif self.say and job is not None:
            self.say(f"running the code of cell {job.ref.index} (view {job.name}): {why}")
        self._send((kind, payload or job))
        return self._receive(job)

    def _send(self, message: Any) -> None:
        data = pickle.dumps(message)
        try:
            _write_all(self._pipe[1], _HEADER.pack(len(data)) + data)
        except BrokenPipeError:
            self._died(None)

    def _receive(self, job: ViewJob | None) -> Any:
        header = self._read(_HEADER.size, job)
        status, value = pickle.loads(self._read(_HEADER.unpack(header)[0], job))
        if status == "ok":
            return value
        message, where, line, col, fix = value
        if where is None and job is not None:
            where, line = job.ref, line or 1
        raise UserError(message, where=where, line=line, col=col, fix=fix)

    def _read(self, size: int, job: ViewJob | None) -> bytes:
        chunks, wanted = [], size
        while wanted:
            remaining = self._deadline - time.monotonic()
            ready, _, _ = select.select([self._pipe[0]], [], [], max(remaining, 0))
            if not ready:
                self.close()
                what = f"the code of view {job.name!r}" if job else "the notebook's code"
                raise UserError(
                    f"{what} ran longer than --timeout {self.timeout:g} s and was stopped",
                    where=job.ref if job else None,
                    line=1 if job else None,
                    fix="make the cell faster (or sample its input), or raise --timeout",
                )
            chunk = os.read(self._pipe[0], wanted)
            if not chunk:
                self._died(job)
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)

    def _died(self, job: ViewJob | None) -> None:
        code = self._process.wait() if self._process else None
        self.close()
        raise UserError(
            f"the child process running the notebook's code died (exit code {code})",
            where=job.ref if job else None,
            line=1 if job else None,
            fix="run the notebook top to bottom; the cell must work on the notebook's own data",
        )


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


# ---------------------------------------------------------------- the child's side


class _Child:
    def __init__(self) -> None:
        self.package = None
        self.frames: dict[str, Any] = {}
        self.transforms: dict[str, str] = {}
        self.views: tuple[Any, ...] = ()
        self._maps: dict | None = None

    def load(self, payload: tuple[dict[str, str], str, tuple[Any, ...]]) -> None:
        from nb2feast.infer import load_transforms

        self.transforms, repo, self.views = payload
        self.package = load_transforms(self.transforms, Path(repo))
        self.frames, self._maps = {}, None

    def line_maps(self) -> dict:
        """Generated lines -> notebook cells and lines, to place a failing transform's error."""
        from nb2feast.linemap import maps_for_views

        if self._maps is None:
            self._maps = maps_for_views(self.transforms, list(self.views))
        return self._maps

    def frame(self, view: Any) -> Any:
        from nb2feast.infer import run_build

        return run_build(self.package, view, self.frames, self.line_maps)

    def batch(self, job: ViewJob) -> tuple[tuple[Column, ...], tuple[Column, ...]]:
        from nb2feast.infer import batch_features, check_entity_key, frame_columns

        view = job.view
        frame = self.frame(view)
        line = view.body[-1].line if view.body else 1
        features = batch_features(frame, view.flags, job.ref, line=line)
        for key in view.flags.entities:
            check_entity_key(frame[key], key, view.name, job.ref, line)
        keys = frame_columns(frame, view.flags.entities, view.name, job.ref)
        return features, keys

    def on_demand(self, job: ViewJob) -> tuple[Column, ...]:
        from nb2feast.infer import on_demand_columns

        frames = {}
        for source in job.upstream:
            frame = self.frame(source)
            frames[source.name] = frame[
                [c for c in frame.columns if c not in source.flags.entities]
            ]
        return on_demand_columns(self.package, job.view, frames, self.line_maps)

    def freeze(self, job: ViewJob) -> tuple[dict, int]:
        from nb2feast.freeze import compute_values

        view = job.view
        module = getattr(self.package, view.name)
        frame = module.load_inputs()[view.input_frame]
        return compute_values(frame, job.targets, view.input_frame, vars(module)), len(frame)


def _serve(read_fd: int, write_fd: int) -> None:
    child = _Child()
    while True:
        header = _read_exact(read_fd, _HEADER.size)
        if not header:
            return
        kind, payload = pickle.loads(_read_exact(read_fd, _HEADER.unpack(header)[0]))
        try:
            value = getattr(child, kind)(payload)
            answer = ("ok", value)
        except UserError as error:
            answer = ("error", (error.message, error.where, error.line, error.col, error.fix))
        except BaseException as exc:  # noqa: BLE001 - the user's code failed: say where
            text = f"running the generated transform failed: {type(exc).__name__}: {exc}"
            answer = (
                "error",
                (
                    text,
                    None,
                    None,
                    None,
                    "run the notebook top to bottom; the cell must work on its own data",
                ),
            )
        data = pickle.dumps(answer)
        _write_all(write_fd, _HEADER.pack(len(data)) + data)


def _read_exact(descriptor: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(descriptor, size)
        if not chunk:
            return b""
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]))
