"""What a deployment target decides: its `feature_store.yaml`, its batch source objects,
the engine that builds its feature tables, and the environment variables it reads.

Pure data: rendering a target imports neither Feast nor an engine. Connection settings are
never written into a file: the yaml names environment variables and Feast substitutes them
when it loads the file (`os.path.expandvars` in `feast.repo_config.load_repo_config`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst

Engine = str  # "pandas" | "spark": what runs the generated transforms into feature tables


@dataclass(frozen=True)
class SourceParts:
    """The expressions a target's source call is made of; render escapes them."""

    name: cst.BaseExpression  # the source's name, a string literal
    path: cst.BaseExpression  # the feature table's path, built from REPO_DIR
    table: cst.BaseExpression  # the feature table's name in a warehouse, a string literal
    timestamp: cst.BaseExpression
    created: cst.BaseExpression | None


@dataclass(frozen=True)
class Target:
    name: str
    engine: Engine
    yaml: str  # the feature_store.yaml body; `{project}` is the only placeholder
    source_class: str
    source_module: str  # where `source_class` is imported from in definitions.py
    env: tuple[str, ...] = ()  # the environment variables the yaml names
    env_defaults: tuple[tuple[str, str], ...] = ()  # applied by nb2feast's own processes

    def feature_store_yaml(self, project: str) -> str:
        # Not str.format: the yaml holds `${VAR}` braces for Feast's substitution.
        return self.yaml.replace("{project}", project)

    def source_kwargs(self, parts: SourceParts) -> dict[str, cst.BaseExpression | None]:
        """Keyword arguments of the source call, in the order they are written."""
        return {
            "name": parts.name,
            "path": parts.path,
            "timestamp_field": parts.timestamp,
            "created_timestamp_column": parts.created,
        }

    def apply_env_defaults(self, environ: Mapping[str, str] | None = None) -> None:
        """Feast's substitution has no `${VAR:-default}` (a variable that is not set stays
        literally `${VAR}`), so nb2feast sets the documented defaults in its own process."""
        target = os.environ if environ is None else environ
        for variable, value in self.env_defaults:
            target.setdefault(variable, value)  # type: ignore[union-attr]

    @property
    def imports_from_feast(self) -> bool:
        return self.source_module == "feast"
