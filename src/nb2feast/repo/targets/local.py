"""local: the embedded default. DuckDB offline store over parquet files, SQLite online store."""

from __future__ import annotations

from nb2feast.repo.targets._base import Target

FEATURE_STORE_YAML = """\
project: {project}
# Paths are relative to this folder.
registry: data/registry.db
provider: local
offline_store:
  type: duckdb
online_store:
  type: sqlite
  path: data/online_store.db
entity_key_serialization_version: 3
"""

TARGET = Target(
    name="local",
    engine="pandas",
    yaml=FEATURE_STORE_YAML,
    source_class="FileSource",
    source_module="feast",
)
