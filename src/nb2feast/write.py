"""write: put rendered files into the repository — all of them, or none.

The new repository is built in a staging folder beside `DIR` (in its parent, named
`.DIR.nb2feast-staging-*`, so nothing Feast imports ever sees it): the files nb2feast
does not own (`data/`, the registry, your own files) are hard-linked in, the generated
files written fresh. One atomic exchange of the two folders (`renameat2(RENAME_EXCHANGE)`)
then makes it `DIR`: killed at any moment, `DIR` is the old repository or the new one.
A lock on the parent folder keeps concurrent exports apart; a dead run's staging folder
is removed by the next run. A hand-edited generated file (the manifest included) stops
the write before anything changes, unless forced.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import glob
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from nb2feast.errors import UserError
from nb2feast.names import escape_text
from nb2feast.render import is_hand_edited, split_header

MANIFEST = "nb2feast.json"
MANIFEST_HASH = "sha256"  # the manifest's own content hash (JSON has no comment header)
LOCK_WAIT_SECONDS = 10.0
_STAGING = ".nb2feast-staging-"


def seal_manifest(body: dict) -> str:
    """The manifest text, carrying the hash of its content (hand-edit detection)."""
    content = {k: v for k, v in body.items() if k != MANIFEST_HASH}
    digest = hashlib.sha256(json.dumps(content, indent=2).encode()).hexdigest()
    return json.dumps(content | {MANIFEST_HASH: digest}, indent=2) + "\n"


def manifest_edited(text: str) -> bool:
    """Whether a manifest was changed since nb2feast wrote it (one without a hash is from
    an older nb2feast and counts as unedited)."""
    try:
        body = json.loads(text)
    except ValueError:
        return True
    if not isinstance(body, dict):
        return True
    if MANIFEST_HASH not in body:
        return False
    return seal_manifest(body) != text


def _edited(relative: str, text: str) -> bool:
    return manifest_edited(text) if relative == MANIFEST else is_hand_edited(text)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None


def stale_files(out: Path, files: Mapping[str, str]) -> list[str]:
    """Files missing from `out` or differing from what would be written (like black --check)."""
    stale = [relative for relative, text in files.items() if _read(out / relative) != text]
    stale += [r for r in generated_files(out) if r not in files]
    return sorted(stale)


def generated_files(out: Path) -> list[str]:
    """Files under `out` that nb2feast generated earlier (they carry its header)."""
    if not out.is_dir():
        return []
    candidates = ["definitions.py", "feature_store.yaml", ".feastignore", MANIFEST]
    candidates += [p.relative_to(out).as_posix() for p in sorted(out.glob("transforms/*.py"))]
    found = []
    for relative in candidates:
        text = _read(out / relative)
        if text is None:
            continue
        if relative == MANIFEST or split_header(text)[0] is not None:
            found.append(relative)
    return found


def hand_edited(out: Path, files: Mapping[str, str]) -> list[str]:
    """Existing files nb2feast would change or delete that were edited by hand."""
    edited = []
    for relative, text in files.items():
        current = _read(out / relative)
        if current is not None and current != text and _edited(relative, current):
            edited.append(relative)
    for relative in generated_files(out):
        current = _read(out / relative)
        if relative not in files and current is not None and _edited(relative, current):
            edited.append(relative)
    return sorted(edited)


def write_repo(
    out: Path, files: Mapping[str, str], *, force: bool = False, lock: bool = True
) -> list[str]:
    """Make `out` hold `files` (plus everything in it nb2feast does not own), atomically;
    returns the relative paths written. `lock=False`: the caller holds `locked(out)`."""
    out = writable_target(out)
    with locked(out) if lock else contextlib.nullcontext():
        remove_dead_staging(out)
        edited = [] if force else hand_edited(out, files)
        if edited:
            raise UserError(
                f"refusing to overwrite or delete file(s) edited by hand: {', '.join(edited)}",
                where=escape_text(str(out)),
                fix="move your change into the notebook, or pass --force to overwrite",
            )
        obsolete = set(generated_files(out)) - set(files)
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(out), dir=out.parent))
        try:
            if out.is_dir():
                _link_tree(out, staging, skip=obsolete | set(files))
                shutil.copymode(out, staging)
            else:
                os.chmod(staging, 0o755)
            for relative, text in files.items():
                target = _real_folder(staging, relative) / Path(relative).name
                with open(target, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
            _fsync_dir(staging)
            _swap_in(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # after the swap: the old repository
    return sorted(files)


def writable_target(out: Path) -> Path:
    """The folder to write: absolute, symlinks resolved (the link stays, its target swaps)."""
    out = Path(os.path.abspath(out))
    if out.is_symlink():
        out = out.resolve()
    if out.exists() and not out.is_dir():
        raise UserError(
            "--out is a file, not a folder",
            where=escape_text(str(out)),
            fix="pass a folder (it is created if missing)",
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create the folder: {exc.strerror}", where=escape_text(str(out.parent))
        ) from None
    try:  # a real probe: permissions, read-only mounts, /proc, ...
        os.rmdir(tempfile.mkdtemp(prefix=_staging_prefix(out), dir=out.parent))
    except OSError as exc:
        raise UserError(
            f"cannot write there: {exc.strerror or exc}",
            where=escape_text(str(out)),
            fix="choose a folder you can write to",
        ) from None
    if out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        raise UserError(
            "cannot write there: permission denied",
            where=escape_text(str(out)),
            fix="choose a folder you can write to",
        )
    return out


@contextmanager
def locked(out: Path, wait: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `out`'s parent folder (no lock file is left behind);
    a second export waits up to `wait` (default LOCK_WAIT_SECONDS) seconds, then exits 2."""
    descriptor = os.open(out.parent, os.O_RDONLY)
    try:
        deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait is None else wait)
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UserError(
                        "another nb2feast export is writing this repository",
                        where=escape_text(str(out)),
                        fix="wait for it to finish, then export again",
                    ) from None
                time.sleep(0.05)
            except OSError:  # a file system without flock (some NFS): the swap stays atomic
                break
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _staging_prefix(out: Path) -> str:
    name = out.name if len(out.name) <= 100 else hashlib.sha256(out.name.encode()).hexdigest()[:16]
    return f".{name}{_STAGING}"


def remove_dead_staging(out: Path) -> None:
    """Staging folders of runs that died (we hold the lock, so none is alive). A run that
    died inside the fallback swap left the old repository in one: it goes back first."""
    for path in sorted(out.parent.glob(f"{glob.escape(_staging_prefix(out))}*")):
        if not path.is_dir() or path.is_symlink():
            continue
        if (
            not out.exists()
            and (path / "repo").is_dir()
            and path.name.startswith(_staging_prefix(out) + "old-")
        ):
            os.rename(path / "repo", out)
        shutil.rmtree(path, ignore_errors=True)


def _link_tree(source: Path, destination: Path, skip: set[str]) -> None:
    """Replicate `source` under `destination` by hard links (cheap: same file system),
    leaving out the relative paths in `skip`."""
    for folder, dirs, names in os.walk(source):
        here = Path(folder)
        relative_dir = here.relative_to(source)
        for name in dirs:
            src = here / name
            dst = destination / relative_dir / name
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
            else:
                dst.mkdir()
                shutil.copymode(src, dst)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
        for name in names:
            relative = (relative_dir / name).as_posix()
            if relative in skip:
                continue
            src, dst = here / name, destination / relative_dir / name
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
                continue
            try:
                os.link(src, dst, follow_symlinks=False)
            except OSError:  # another owner's file under protected_hardlinks, ...
                shutil.copy2(src, dst, follow_symlinks=False)


def _swap_in(staging: Path, out: Path) -> None:
    """Make `staging` be `out` in one step; the old repository ends up at `staging`."""
    if not out.exists():
        os.rename(staging, out)
    elif not _exchange(staging, out):
        # No atomic exchange on this file system: a short window without `out`, which the
        # next run repairs (remove_dead_staging puts the old repository back).
        old = Path(tempfile.mkdtemp(prefix=_staging_prefix(out) + "old-", dir=out.parent))
        os.rename(out, old / "repo")
        os.rename(staging, out)
        os.rename(old, staging)
    _fsync_dir(out.parent)


def _real_folder(staging: Path, relative: str) -> Path:
    """The folder of `relative` under `staging`, made of real folders: a generated file is
    never written through a symlink the user put in the repository (`transforms -> ...`)."""
    folder = staging
    for part in Path(relative).parts[:-1]:
        folder = folder / part
        if folder.is_symlink():
            folder.unlink()
        folder.mkdir(exist_ok=True)
    return folder


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically: Linux `renameat2(RENAME_EXCHANGE)`, macOS
    `renamex_np(RENAME_SWAP)`; False where neither is available."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    renamex_np = getattr(libc, "renamex_np", None)
    if renameat2 is not None:
        at_fdcwd, rename_exchange = -100, 2
        result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    elif renamex_np is not None:
        rename_swap = 2
        result = renamex_np(os.fsencode(a), os.fsencode(b), rename_swap)
    else:
        return False
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
