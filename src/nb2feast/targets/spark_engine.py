"""The spark engine: a batch view's generated transform run per entity key, as
`groupBy(*entities).applyInPandas(fn, schema)`, with the same generated function.

Each partition gets the rows of its keys in their original order (a row number travels with
them, and becomes the partition's index), and the time zones the notebook's frame had;
export has already refused transforms that are not partitionable (`targets.partition`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from nb2feast.targets.spark import TARGET

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructType

ROW = "__nb2feast_row"
SAMPLE_KEYS = 50


def spark_conf(repo: Path) -> dict[str, str]:
    """The `spark_conf` of the repository's feature_store.yaml, as Feast loads it."""
    from feast.repo_config import load_repo_config

    TARGET.apply_env_defaults()
    config = load_repo_config(Path(repo), Path(repo) / "feature_store.yaml")
    return dict(config.offline_store.spark_conf or {})


def spark_session(conf: dict[str, str]) -> SparkSession:
    """The process's one session (Feast's Spark offline store reuses the active one)."""
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Python workers run the generated transforms: the same interpreter as this process.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return SparkSession.builder.config(conf=SparkConf().setAll(list(conf.items()))).getOrCreate()


def time_zones(frame: pd.DataFrame) -> dict[str, str]:
    """Aware timestamp columns and their zone: Spark hands them to pandas as naive UTC."""
    return {
        str(c): str(t.tz) for c, t in frame.dtypes.items() if isinstance(t, pd.DatetimeTZDtype)
    }


def result_schema(sample: pd.DataFrame, columns: Sequence[str]) -> StructType:
    """The Spark schema of the transform's output, from its output on a sample of keys."""
    from pyspark.sql.pandas.types import from_arrow_schema
    from pyspark.sql.types import StringType, StructField, StructType

    arrow = pa.Schema.from_pandas(sample[list(columns)], preserve_index=False)
    fields = []
    for field in from_arrow_schema(arrow).fields:
        kind = StringType() if field.dataType.typeName() == "void" else field.dataType
        fields.append(StructField(field.name, kind, True))
    return StructType(fields)


def per_entity(
    fn: Callable[..., pd.DataFrame],
    input_name: str,
    columns: Sequence[str],
    zones: dict[str, str],
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The function each partition runs: the rows back in notebook order, then the cell."""
    columns = list(columns)

    def run(part: pd.DataFrame) -> pd.DataFrame:
        part = part.sort_values(ROW, kind="stable")
        part.index = pd.Index(part.pop(ROW).to_numpy())
        for column, zone in zones.items():
            part[column] = part[column].dt.tz_localize("UTC").dt.tz_convert(zone)
        return fn(**{input_name: part})[columns]

    return run


def run_partitioned(
    frame: SparkFrame,
    fn: Callable[..., pd.DataFrame],
    input_name: str,
    keys: Sequence[str],
    schema: StructType,
    zones: dict[str, str],
) -> SparkFrame:
    """`fn` (a generated transform) per entity key: `groupBy(keys).applyInPandas`."""
    from pyspark.sql import functions as sql

    if ROW not in frame.columns:
        frame = frame.withColumn(ROW, sql.monotonically_increasing_id())
    run = per_entity(fn, input_name, schema.fieldNames(), zones)
    return frame.groupBy(*keys).applyInPandas(run, schema)


def _sample(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """The rows of the first few keys, with their index (for the output's schema)."""
    index = pd.MultiIndex.from_frame(frame[list(keys)])
    return frame[index.isin(index.unique()[:SAMPLE_KEYS])]


def build_with_spark(
    repo: Path, module: ModuleType, view: dict, columns: Sequence[str]
) -> pd.DataFrame:
    """A batch view's feature table built on Spark from the notebook's loading code."""
    from pyspark import cloudpickle

    inputs = module.load_inputs()
    (input_name, frame), *others = inputs.items()
    if others:  # export refuses these; a repository edited by hand could still have one
        raise ValueError(f"{view['name']}: the spark engine partitions one input frame")
    keys = list(view["entities"])
    frame = frame.reset_index(drop=True)
    zones = time_zones(frame)
    sample = getattr(module, view["name"])(**{input_name: _sample(frame, keys)})
    schema = result_schema(sample, columns)
    cloudpickle.register_pickle_by_value(module)  # workers cannot import the repo's package
    session = spark_session(spark_conf(repo))
    spark_frame = session.createDataFrame(frame.assign(**{ROW: np.arange(len(frame))}))
    fn = getattr(module, view["name"])
    table = run_partitioned(spark_frame, fn, input_name, keys, schema, zones).toPandas()
    return restore_types(table, sample)


def restore_types(table: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """Spark's pandas conversion drops time zones and widens nothing else we rely on:
    put the dtypes of the transform's own output back."""
    out = table.copy()
    for column in out.columns:
        dtype = like[column].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            out[column] = pd.to_datetime(out[column]).dt.tz_localize("UTC").dt.tz_convert(dtype.tz)
        elif out[column].dtype != dtype and not out[column].isna().any():
            out[column] = out[column].astype(dtype)
    return out
