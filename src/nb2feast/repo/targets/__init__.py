"""Deployment targets of a generated repository: `local` (DuckDB + SQLite, the default),
`redis`, `spark`, `snowflake`. One module per target; each renders its feature_store.yaml
and its batch sources and names the engine that builds its feature tables."""

from __future__ import annotations

from collections.abc import Mapping

from nb2feast.errors import UserError
from nb2feast.model import Manifest
from nb2feast.repo.targets import local, redis, snowflake, spark
from nb2feast.repo.targets._base import Engine, SourceParts, Target

TARGETS: dict[str, Target] = {
    t.name: t for t in (local.TARGET, redis.TARGET, spark.TARGET, snowflake.TARGET)
}
DEFAULT = "local"

__all__ = ["DEFAULT", "TARGETS", "Engine", "SourceParts", "Target", "get_target", "repo_target"]


def get_target(name: str | None) -> Target:
    try:
        return TARGETS[name or DEFAULT]
    except KeyError:
        raise UserError(
            f"unknown target {name!r}", fix=f"use one of: {', '.join(TARGETS)}"
        ) from None


def repo_target(manifest: Manifest | Mapping) -> Target:
    """The target a repository was exported for (a manifest without one is `local`)."""
    data = manifest.extra if isinstance(manifest, Manifest) else manifest
    return get_target(data.get("target", DEFAULT))
