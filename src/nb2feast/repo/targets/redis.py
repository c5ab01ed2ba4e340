"""redis: Feast's Redis online store; offline stays DuckDB over the parquet feature tables."""

from __future__ import annotations

from nb2feast.repo.targets._base import Target

REDIS_URL = "NB2FEAST_REDIS_URL"

FEATURE_STORE_YAML = """\
project: {project}
# Paths are relative to this folder. The Redis connection comes from the environment
# variable NB2FEAST_REDIS_URL (host:port[,password=...][,ssl=true]), which Feast
# substitutes when it loads this file.
registry: data/registry.db
provider: local
offline_store:
  type: duckdb
online_store:
  type: redis
  connection_string: "${NB2FEAST_REDIS_URL}"
entity_key_serialization_version: 3
"""

TARGET = Target(
    name="redis",
    engine="pandas",
    yaml=FEATURE_STORE_YAML,
    source_class="FileSource",
    source_module="feast",
    env=(REDIS_URL,),
)
