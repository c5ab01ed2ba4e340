"""spark: Feast's Spark offline store over `SparkSource` parquet tables; the batch transforms
themselves run on Spark as `groupBy(entity).applyInPandas(fn, schema)`.

The master comes from NB2FEAST_SPARK_MASTER (Feast substitutes it in feature_store.yaml);
nb2feast's own processes default it to `local[*]`, because Feast's substitution has no
`${VAR:-default}` form. On a cluster only the master and the storage paths change.
"""

from __future__ import annotations

import libcst as cst

from nb2feast.repo.targets._base import SourceParts, Target

SPARK_MASTER = "NB2FEAST_SPARK_MASTER"
DEFAULT_MASTER = "local[*]"
SPARK_SOURCE_MODULE = "feast.infra.offline_stores.contrib.spark_offline_store.spark_source"

FEATURE_STORE_YAML = """\
project: {project}
# Paths are relative to this folder. The Spark master comes from the environment variable
# NB2FEAST_SPARK_MASTER (nb2feast defaults it to local[*]), which Feast substitutes when it
# loads this file.
registry: data/registry.db
provider: local
offline_store:
  type: spark
  spark_conf:
    spark.master: "${NB2FEAST_SPARK_MASTER}"
    spark.sql.session.timeZone: UTC
    spark.ui.enabled: "false"
    spark.sql.execution.arrow.pyspark.enabled: "true"
    spark.ui.showConsoleProgress: "false"
online_store:
  type: sqlite
  path: data/online_store.db
entity_key_serialization_version: 3
"""


class _SparkTarget(Target):
    def source_kwargs(self, parts: SourceParts) -> dict[str, cst.BaseExpression | None]:
        return {
            "name": parts.name,
            "path": parts.path,
            "file_format": cst.SimpleString('"parquet"'),
            "timestamp_field": parts.timestamp,
            "created_timestamp_column": parts.created,
        }


TARGET = _SparkTarget(
    name="spark",
    engine="spark",
    yaml=FEATURE_STORE_YAML,
    source_class="SparkSource",
    source_module=SPARK_SOURCE_MODULE,
    env=(SPARK_MASTER,),
    env_defaults=((SPARK_MASTER, DEFAULT_MASTER),),
)
