"""materialize: run a repository's generated transforms and write its feature tables.

The tables the `FileSource`s point at are produced by the generated transform modules —
the notebook's own code — never by a re-typed copy. `nb2feast materialize REPO` is the
entry point a scheduler calls; `--online` then loads the tables into the online store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nb2feast.errors import UserError
from nb2feast.repo.infer import TRANSFORM_LOCK, load_transforms
from nb2feast.repo.targets import repo_target
from nb2feast.repo.write import MANIFEST


def read_manifest(repo: Path) -> dict:
    try:
        return json.loads((repo / MANIFEST).read_text())
    except FileNotFoundError:
        raise UserError(
            f"{repo} is not an nb2feast repository (no {MANIFEST})",
            where=str(repo),
            fix="run `nb2feast export NOTEBOOK --out DIR` first",
        ) from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{MANIFEST} is not valid JSON: {exc}", where=str(repo)) from None


def load_repo_transforms(repo: Path):
    files = {
        path.relative_to(repo).as_posix(): path.read_text()
        for path in sorted((repo / "transforms").glob("*.py"))
    }
    return load_transforms(files, repo)


def table_columns(view: dict) -> list[str]:
    keys = [
        *view["entities"],
        view["timestamp"],
        *([view["created"]] if view.get("created") else []),
    ]
    return keys + [f["name"] for f in view["features"]]


def build_feature_tables(
    repo: Path, progress: Callable[[str], None] | None = None
) -> dict[str, Path]:
    """Recompute every batch view's table from the notebook's sources; atomic per table."""
    manifest = read_manifest(repo)
    engine = repo_target(manifest).engine
    package = load_repo_transforms(repo)
    written = {}
    (repo / "data").mkdir(exist_ok=True)
    for view in manifest["views"]:
        if view["kind"] != "batch":
            continue
        if progress:
            progress(f"building {view['name']}")
        with TRANSFORM_LOCK:
            try:
                frame = _build(repo, getattr(package, view["name"]), view, engine)
            except UserError:
                raise
            except Exception as exc:  # noqa: BLE001 - the user's code failed: point at the cell
                from nb2feast.repo.linemap import maps_for_repo, transform_failure

                where = f"{view['notebook']}: cell {view['cell_index']} (id {view['cell_id']})"
                raise transform_failure(
                    exc, maps_for_repo(repo, manifest), where, f"building {view['name']!r}"
                ) from None
        missing = [c for c in table_columns(view) if c not in frame.columns]
        if missing:
            raise UserError(
                f"the transform of {view['name']!r} no longer produces {missing}",
                where=f"{view['notebook']}: cell {view['cell_index']} (id {view['cell_id']})",
                fix="run `nb2feast export` again",
            )
        target = repo / view["table"]
        partial = target.with_suffix(".parquet.partial")
        # Spark reads microsecond timestamps only (pandas writes nanoseconds by default).
        spark_ready = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}
        frame[table_columns(view)].to_parquet(
            partial, index=False, **(spark_ready if engine == "spark" else {})
        )
        os.replace(partial, target)
        written[view["name"]] = target
    return written


def _build(repo: Path, module, view: dict, engine: str):
    """The view's feature table on the repository's engine: the cell in one pandas process,
    or per entity key on Spark (`groupBy(entity).applyInPandas`)."""
    if engine == "spark":
        from nb2feast.repo.targets.spark_engine import build_with_spark

        return build_with_spark(repo, module, view, table_columns(view))
    return module.build()


def feast_apply(repo: Path) -> None:
    """`feast apply` in its own process: it imports every module of the repository."""
    command = [sys.executable, "-m", "feast.cli.cli", "-c", str(repo), "apply"]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        output = "\n".join((run.stderr or run.stdout).strip().splitlines()[-15:])
        raise UserError(
            f"feast apply failed:\n{output}", where=str(repo), fix="run `nb2feast export` again"
        )


def apply_repo(repo: Path, progress: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Build the feature tables with the generated transforms, then `feast apply`:
    the repository is then what `verify` and Feast's retrieval expect."""
    repo_target(read_manifest(repo)).apply_env_defaults()
    tables = build_feature_tables(repo, progress)
    if progress:
        progress("feast apply")
    feast_apply(repo)
    from nb2feast.proof.freshness import record_applied

    record_applied(repo)  # verify tells a registry built from other files by these
    return tables


def materialize_online(repo: Path, end: datetime | None = None) -> None:
    """Load every online batch view into the online store, from the start of its data."""
    from feast import FeatureStore

    from nb2feast.feast_compat import feast_sqlite_converters

    repo_target(read_manifest(repo)).apply_env_defaults()
    store = FeatureStore(repo_path=str(repo))
    end = end or datetime.now(UTC) + timedelta(days=1)
    with feast_sqlite_converters():
        store.materialize(start_date=datetime(1970, 1, 2, tzinfo=UTC), end_date=end)
