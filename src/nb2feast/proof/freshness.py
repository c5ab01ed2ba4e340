"""Is the repository what the notebook says now, and is Feast serving those files?

Two questions verify asks before it compares a single value:
- notebook -> files: would `export` write this repository from the notebook as it is now?
  Answered by export's own planning and rendering (`export_notebooks(check=True)`), never
  by a second comparison: views, features, flags and types come out of the same code.
- files -> Feast: were the registry and the feature tables built from the files on disk?
  `materialize` (apply) records fingerprints of the files it built from
  (`AppliedState`); verify recomputes them.

Python files are fingerprinted by their syntax tree, so a hand edit that changes no value
(a comment, formatting) is a note naming the file, never `stale`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nb2feast.model import AppliedState, Manifest, ViewEntry

MANIFEST = "nb2feast.json"
_IGNORED_KEYS = {"cell_index", "cell_id", "cell_hash", "notebook", "module", "table"}


@dataclass
class Freshness:
    """What changed, per view (each reason ends with the command that fixes it), and notes."""

    stale: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    new_views: dict[str, ViewEntry] = field(default_factory=dict)  # in the notebook, not the repo

    def add(self, views: Iterable[str], reason: str) -> None:
        for name in views:
            reasons = self.stale.setdefault(name, [])
            if reason not in reasons:
                reasons.append(reason)

    def merge(self, other: Freshness) -> Freshness:
        for name, reasons in other.stale.items():
            for reason in reasons:
                self.add([name], reason)
        self.notes += [n for n in other.notes if n not in self.notes]
        self.new_views |= other.new_views
        return self


# notebook -> files -------------------------------------------------------------------


def export_command(notebooks: Sequence[Path], repo: Path) -> str:
    return f"nb2feast export {' '.join(str(n) for n in notebooks)} --out {repo}"


def notebook_drift(notebooks: Sequence[Path], repo: Path, manifest: Manifest) -> Freshness:
    """Views whose generated files or manifest entry differ from what export writes now."""
    from nb2feast.repo.export import export_notebooks

    result = export_notebooks(list(notebooks), repo, check=True)
    fix = f"run `{export_command(notebooks, repo)}`, then `nb2feast materialize {repo}`"
    fresh = {v["name"]: ViewEntry.from_json(v) for v in result.views}
    kept = {v.name: v for v in manifest.views}
    out = Freshness()
    for name, view in fresh.items():
        if name not in kept:
            out.new_views[name] = view
            out.add(
                [name],
                f"the %%feature cell {name!r} ({view.where}) is not in the repository: {fix}",
            )
            continue
        changes = entry_changes(kept[name], view)
        if changes:
            out.add([name], f"the notebook changed {'; '.join(changes)} since export: {fix}")
    for name in kept.keys() - fresh.keys():
        out.add([name], f"view {name!r} is no longer a %%feature cell of the notebook: {fix}")
    for relative in result.stale:
        if relative == MANIFEST:
            continue
        path = repo / relative
        expected = result.texts.get(relative)
        if (
            expected is not None
            and path.is_file()
            and same_values(relative, path.read_text(), expected)
        ):
            out.notes.append(f"{relative} was edited by hand; the edit changes no value")
            continue
        owners = file_views(relative, list(dict.fromkeys([*kept, *fresh])), path, expected)
        if relative == "transforms/__init__.py" and (out.new_views or kept.keys() - fresh.keys()):
            continue  # it lists the views: the ones added or removed are named already
        if not path.is_file():
            out.add(owners, f"{relative} is missing: {fix}")
        elif expected is None:
            out.add(owners, f"{relative} is no longer generated from the notebook: {fix}")
        else:
            out.add(
                owners, f"{relative} differs from what export writes from the notebook now: {fix}"
            )
    _propagate(out, {**kept, **fresh})
    return out


def _propagate(out: Freshness, views: Mapping[str, ViewEntry]) -> None:
    """An on-demand view built on a stale source view serves the old values too."""
    for name, view in views.items():
        stale_sources = [s for s in view.sources if s in out.stale and s != name]
        if stale_sources:
            out.add(
                [name],
                "it is computed from stale source view(s) "
                f"{', '.join(stale_sources)}: fix those first",
            )


def entry_changes(old: ViewEntry, new: ViewEntry) -> list[str]:
    """What differs between two manifest entries of a view, in words."""
    before = {k: v for k, v in old.to_json().items() if k not in _IGNORED_KEYS}
    after = {k: v for k, v in new.to_json().items() if k not in _IGNORED_KEYS}
    changes = []
    if before.get("features") != after.get("features"):
        was = {f["name"]: f for f in before.get("features", [])}
        now = {f["name"]: f for f in after.get("features", [])}
        added, removed = sorted(now.keys() - was.keys()), sorted(was.keys() - now.keys())
        retyped = sorted(n for n in now.keys() & was.keys() if now[n] != was[n])
        if added:
            changes.append(f"new feature(s) {', '.join(added)}")
        if removed:
            changes.append(f"removed feature(s) {', '.join(removed)}")
        for name in retyped:
            changes.append(f"{name}: {was[name]['feast_type']} -> {now[name]['feast_type']}")
        if not (added or removed or retyped):
            changes.append("the order of the features")
    for key in sorted(set(before) | set(after)):
        if key != "features" and before.get(key) != after.get(key):
            changes.append(f"{key}: {before.get(key)!r} -> {after.get(key)!r}")
    return changes


def same_values(relative: str, text: str, expected: str) -> bool:
    """Whether two versions of a generated file mean the same (comments, layout aside)."""
    return fingerprint_text(relative, text) == fingerprint_text(relative, expected)


def file_views(relative: str, views: Sequence[str], path: Path, expected: str | None) -> list[str]:
    """The views a generated file belongs to; definitions.py by the objects that differ."""
    if relative.startswith("transforms/") and relative != "transforms/__init__.py":
        name = Path(relative).stem
        return [name] if name in views else list(views)
    if relative == "definitions.py" and expected is not None and path.is_file():
        names = _differing_objects(path.read_text(), expected)
        return _owners(names, views)
    return list(views)


def _owners(names: Iterable[str], views: Sequence[str]) -> list[str]:
    """Views named by Feast objects (`v`, `v_source`, `v_request`, `v_pandas`); else all."""
    names = set(names)
    owners = [v for v in views if any(n == v or n.startswith(f"{v}_") for n in names)]
    return owners or list(views)


def _differing_objects(text: str, expected: str) -> set[str]:
    """Top-level names whose definitions differ between two module texts."""
    try:
        mine, theirs = _top_level(text), _top_level(expected)
    except SyntaxError:
        return set()
    return {n for n in mine.keys() | theirs.keys() if mine.get(n) != theirs.get(n)}


def _top_level(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[node.name] = ast.dump(node)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = ast.dump(node.value)
    return out


# files -> Feast ----------------------------------------------------------------------


def fingerprint_text(relative: str, text: str) -> str:
    """A digest of what a file means: Python by its syntax tree, JSON/YAML by their data."""
    canonical = text
    try:
        if relative.endswith(".py"):
            canonical = ast.dump(ast.parse(text))
        elif relative.endswith(".json"):
            canonical = json.dumps(json.loads(text), sort_keys=True)
        elif relative.endswith((".yaml", ".yml")):
            import yaml

            canonical = json.dumps(yaml.safe_load(text), sort_keys=True, default=str)
    except (SyntaxError, ValueError, ImportError):
        canonical = text
    except Exception:  # noqa: BLE001 - yaml's errors; the raw text is then what counts
        canonical = text
    return hashlib.sha256(canonical.encode()).hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def served_files(repo: Path) -> list[str]:
    """The files Feast's registry and feature tables are built from."""
    found = [p for p in ("definitions.py", "feature_store.yaml") if (repo / p).is_file()]
    found += sorted(p.relative_to(repo).as_posix() for p in (repo / "transforms").glob("*.py"))
    return found


def fingerprint_repo(repo: Path, manifest: Manifest) -> AppliedState:
    """Fingerprints of the definitions, transforms and feature tables as they are now."""
    files = {p: fingerprint_text(p, (repo / p).read_text()) for p in served_files(repo)}
    if "definitions.py" in files:
        try:
            objects = _top_level((repo / "definitions.py").read_text())
        except SyntaxError:
            objects = {}
        for name, dump in objects.items():
            files[f"definitions.py:{name}"] = hashlib.sha256(dump.encode()).hexdigest()
    tables = {
        v.name: _file_digest(repo / v.table)
        for v in manifest.views
        if v.kind == "batch" and v.table and (repo / v.table).is_file()
    }
    return AppliedState(files=files, tables=tables)


def read_applied(repo: Path) -> AppliedState | None:
    try:
        return AppliedState.from_json(json.loads((repo / AppliedState.PATH).read_text()))
    except (OSError, ValueError):
        return None


def record_applied(repo: Path) -> None:
    """After the tables are built and `feast apply` ran: what they were built from."""
    repo = Path(repo)
    manifest = Manifest.from_json(json.loads((repo / MANIFEST).read_text()))
    state = fingerprint_repo(repo, manifest)
    target = repo / AppliedState.PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(state.to_json(), indent=2) + "\n")
    os.replace(partial, target)


def served_drift(repo: Path, manifest: Manifest, applied: AppliedState) -> Freshness:
    """Views whose registry entry or feature table was built from other files than these."""
    now = fingerprint_repo(repo, manifest)
    fix = f"run `nb2feast materialize {repo}` (rebuilds the tables and runs feast apply)"
    views = [v.name for v in manifest.views]
    manifest_views = {v.name: v for v in manifest.views}
    out = Freshness()
    changed = [
        p
        for p in sorted(applied.files.keys() | now.files.keys())
        if applied.files.get(p) != now.files.get(p)
    ]
    objects = [p.partition(":")[2] for p in changed if p.startswith("definitions.py:")]
    for relative in changed:
        if relative.startswith("definitions.py:"):
            continue
        owners = file_views(relative, views, repo / relative, None)
        if relative == "definitions.py" and objects:
            owners = _owners(objects, views)
        elif relative == "transforms/__init__.py":
            owners = [v.name for v in manifest.views if v.kind == "batch"]
        out.add(
            owners,
            f"{relative} changed after the last feast apply: Feast serves the old one; {fix}",
        )
    for name in sorted(applied.tables.keys() | now.tables.keys()):
        if applied.tables.get(name) != now.tables.get(name) and name in views:
            table = manifest.view(name).table if manifest.view(name) else name
            out.add([name], f"{table} is not the table built at the last apply; {fix}")
    _propagate(out, manifest_views)
    return out
