"""The spark engine: a batch view's generated transform run per entity key, as
`groupBy(<entity bucket>).applyInPandas(fn, schema)`, with the same generated function.

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

import libcst as cst
import libcst.matchers as m
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nb2feast.repo.targets.spark import TARGET

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructType

ROW = "__nb2feast_row"
BUCKET = "__nb2feast_bucket"
SAMPLE_KEYS = 50
ROWS_PER_BUCKET = 1_000_000  # bounds what one pandas call holds


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
    return {str(c): str(t.tz) for c, t in frame.dtypes.items() if isinstance(t, pd.DatetimeTZDtype)}


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
    """The function each partition runs: its rows back in notebook order (the row number
    becomes the index), aware timestamps again, then the cell."""
    columns = list(columns)

    def run(part: pd.DataFrame) -> pd.DataFrame:
        part = part.drop(columns=[BUCKET]).sort_values(ROW, kind="stable")
        part.index = pd.Index(part.pop(ROW).to_numpy())
        for column, zone in zones.items():
            part[column] = part[column].dt.tz_localize("UTC").dt.tz_convert(zone)
        return fn(**{input_name: part})[columns]

    return run


def bucket_count(rows: int | None, cores: int) -> int:
    """4 buckets per core, and enough that a bucket holds about a million rows or fewer
    (a pandas call holds its bucket and the cell's intermediates in memory)."""
    return max(4 * cores, -(-(rows or 0) // ROWS_PER_BUCKET))


def run_partitioned(
    frame: SparkFrame,
    fn: Callable[..., pd.DataFrame],
    input_name: str,
    keys: Sequence[str],
    schema: StructType,
    zones: dict[str, str],
    buckets: int | None = None,
) -> SparkFrame:
    """`fn` (a generated transform) per entity key, `groupBy(bucket).applyInPandas(...)`.

    A bucket is a hash partition of whole entity keys: the cell is partitionable by entity,
    so running it on the rows of a few keys equals running it per key, and one pandas call
    per bucket (not per key) keeps its fixed cost (about 50 ms for a rolling window here)
    from dominating when keys are many and small. Default: `bucket_count(None, cores)`.
    """
    from pyspark.sql import functions as sql

    if ROW not in frame.columns:
        frame = frame.withColumn(ROW, sql.monotonically_increasing_id())
    buckets = buckets or bucket_count(None, frame.sparkSession.sparkContext.defaultParallelism)
    bucket = sql.pmod(sql.hash(*[sql.col(k) for k in keys]), sql.lit(buckets))
    run = per_entity(fn, input_name, schema.fieldNames(), zones)
    return frame.withColumn(BUCKET, bucket).groupBy(BUCKET).applyInPandas(run, schema)


def _sample(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """The rows of the first few keys, with their index (for the output's schema)."""
    index = pd.MultiIndex.from_frame(frame[list(keys)])
    return frame[index.isin(index.unique()[:SAMPLE_KEYS])]


_READ_PARQUET = m.Assign(
    targets=[m.AssignTarget(target=m.Name())],
    value=m.Call(
        func=m.Attribute(value=m.Name("pd") | m.Name("pandas"), attr=m.Name("read_parquet")),
        args=[m.Arg(value=m.SimpleString(), keyword=None)],
    ),
)


def parquet_input(transform_source: str) -> tuple[str, str] | None:
    """(frame, path) when `load_inputs()` is exactly `frame = pd.read_parquet("path")`:
    then Spark reads the file itself and the driver never holds the whole input."""
    module = cst.parse_module(transform_source)
    load = next(
        (n for n in module.body if m.matches(n, m.FunctionDef(name=m.Name("load_inputs")))), None
    )
    block = next((n for n in load.body.body if isinstance(n, cst.With)), None) if load else None
    if block is None or len(block.body.body) != 1:
        return None
    line = block.body.body[0]
    if not (isinstance(line, cst.SimpleStatementLine) and m.matches(line.body[0], _READ_PARQUET)):
        return None
    assign = line.body[0]
    return assign.targets[0].target.value, assign.value.args[0].value.evaluated_value


def _spark_readable(source: Path) -> bool:
    """Spark reads no nanosecond parquet timestamps (pandas' default unit)."""
    return not any(
        pa.types.is_timestamp(field.type) and field.type.unit == "ns"
        for field in pq.read_schema(source)
    )


def _spark_input(session: SparkSession, module: ModuleType, keys: Sequence[str]):
    """(input name, Spark frame, time zones, sample rows of a few keys)."""
    direct = parquet_input(Path(module.__file__).read_text())
    source = Path(module.NOTEBOOK_DIR) / direct[1] if direct else None
    if direct is not None and source.is_file() and _spark_readable(source):
        name = direct[0]
        frame = session.read.parquet(str(source))
        parquet = pq.ParquetFile(source)
        first = parquet.read_row_group(0).to_pandas()
        rows = parquet.metadata.num_rows
        return name, frame, time_zones(first), _sample(first, keys), rows
    inputs = module.load_inputs()
    (name, pandas_frame), *others = inputs.items()
    if others:  # export refuses these; a repository edited by hand could still have one
        raise ValueError(f"{module.__name__}: the spark engine partitions one input frame")
    pandas_frame = pandas_frame.reset_index(drop=True)
    frame = session.createDataFrame(pandas_frame.assign(**{ROW: np.arange(len(pandas_frame))}))
    return name, frame, time_zones(pandas_frame), _sample(pandas_frame, keys), len(pandas_frame)


def build_with_spark(
    repo: Path, module: ModuleType, view: dict, columns: Sequence[str]
) -> pd.DataFrame:
    """A batch view's feature table built on Spark. A parquet input the notebook reads with
    one `pd.read_parquet` is read by Spark; any other loading code runs as in the notebook
    (in the driver) and its frame is handed to Spark."""
    from pyspark import cloudpickle

    keys = list(view["entities"])
    session = spark_session(spark_conf(repo))
    input_name, frame, zones, sample_rows, rows = _spark_input(session, module, keys)
    buckets = bucket_count(rows, session.sparkContext.defaultParallelism)
    fn = getattr(module, view["name"])
    sample = fn(**{input_name: sample_rows})
    schema = result_schema(sample, columns)
    cloudpickle.register_pickle_by_value(module)  # workers cannot import the repo's package
    table = run_partitioned(frame, fn, input_name, keys, schema, zones, buckets).toPandas()
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
