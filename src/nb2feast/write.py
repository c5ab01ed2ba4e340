"""write: put rendered files into the repository — all of them, or none.

Everything is staged first; a hand-edited generated file stops the write before any file
changes (unless forced). Files are then swapped in with `os.replace`, and generated files
that no longer belong to the repository are removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from nb2feast.errors import UserError
from nb2feast.render import is_hand_edited, split_header

MANIFEST = "nb2feast.json"


def stale_files(out: Path, files: Mapping[str, str]) -> list[str]:
    """Files missing from `out` or differing from what would be written (like black --check)."""
    stale = []
    for relative, text in files.items():
        path = out / relative
        if not path.is_file() or path.read_text() != text:
            stale.append(relative)
    for path in _generated_files(out):
        relative = path.relative_to(out).as_posix()
        if relative not in files:
            stale.append(relative)
    return sorted(stale)


def _generated_files(out: Path) -> list[Path]:
    """Files under `out` that nb2feast generated earlier (they carry its header)."""
    if not out.is_dir():
        return []
    found = []
    for path in [out / "definitions.py", out / "feature_store.yaml", out / ".feastignore", *out.glob("transforms/*.py")]:
        if path.is_file() and split_header(path.read_text())[0] is not None:
            found.append(path)
    if (out / MANIFEST).is_file():
        found.append(out / MANIFEST)
    return found


def hand_edited(out: Path, files: Mapping[str, str]) -> list[str]:
    """Existing files nb2feast would change that were edited by hand (or are not ours)."""
    edited = []
    for relative, text in files.items():
        path = out / relative
        if relative == MANIFEST or not path.is_file():
            continue
        current = path.read_text()
        if current != text and is_hand_edited(current):
            edited.append(relative)
    return sorted(edited)


def write_repo(out: Path, files: Mapping[str, str], *, force: bool = False) -> list[str]:
    """Write `files` under `out`; returns the relative paths written."""
    edited = [] if force else hand_edited(out, files)
    if edited:
        raise UserError(
            f"refusing to overwrite file(s) edited by hand: {', '.join(edited)}",
            where=str(out),
            fix="move your change into the notebook, or pass --force to overwrite",
        )
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".nb2feast-staging-", dir=out))
    try:
        for relative, text in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        obsolete = [p for p in _generated_files(out) if p.relative_to(out).as_posix() not in files]
        for relative in files:
            destination = out / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, destination)
        for path in obsolete:
            path.unlink()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(files)
