"""The spark target on a real local-mode Spark (`local[2]`, one session for the module):
the churn example exported with `--target spark`, its batch tables built per entity key by
`applyInPandas` with the generated functions, equal to the pandas build; verify passes on
Feast's Spark offline store and says `"engine": "spark"`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from helpers import copy_example

from nb2feast.cli import main

pytestmark = [
    pytest.mark.spark,
    pytest.mark.feast,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17"),
]


@pytest.fixture(scope="module")
def spark_env() -> Iterator[None]:
    pytest.importorskip("pyspark")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NB2FEAST_SPARK_MASTER", "local[2]")
        yield
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


@pytest.fixture(scope="module")
def churn(spark_env: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    notebook = copy_example(tmp_path_factory.mktemp("churn"))
    repo = notebook.parent / "feature_repo"
    assert main(["export", str(notebook), "--out", str(repo), "--target", "spark"]) == 0
    assert main(["materialize", str(repo)]) == 0
    return notebook, repo


def test_spark_tables_equal_the_pandas_build(churn: tuple[Path, Path]) -> None:
    # Given the churn repository materialized on Spark
    _, repo = churn
    from nb2feast.materialize import load_repo_transforms, read_manifest, table_columns

    package = load_repo_transforms(repo)
    for view in read_manifest(repo)["views"]:
        if view["kind"] != "batch":
            continue
        # When the same generated transform runs in one pandas process
        columns = table_columns(view)
        order = [*view["entities"], view["timestamp"]]
        expected = package.__dict__[view["name"]].build()[columns]
        got = pd.read_parquet(repo / view["table"])
        # Then the Spark-built table has the same rows, values and dtypes
        expected = expected.sort_values(order, kind="stable").reset_index(drop=True)
        got = got.sort_values(order, kind="stable").reset_index(drop=True)
        expected[view["timestamp"]] = expected[view["timestamp"]].astype(
            got[view["timestamp"]].dtype
        )
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


def test_verify_passes_on_the_spark_offline_store(
    churn: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    # When verify runs on the spark repository (Feast's Spark offline store)
    notebook, repo = churn
    capsys.readouterr()
    code = main(
        ["verify", str(notebook), "--repo", str(repo), "--format", "json", "--sample", "200"]
    )
    report = json.loads(capsys.readouterr().out)
    # Then every view is ok and the batch views say Spark built them
    assert code == 0, json.dumps(report)[-3000:]
    assert {v["engine"] for v in report["views"] if v["kind"] == "batch"} == {"spark"}
    assert all(
        c["rows_expected"] == c["rows_returned"] for v in report["views"] for c in v["checks"]
    )


def test_a_parquet_input_is_read_by_spark_itself(
    spark_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a notebook that loads its input with one pd.read_parquet of a microsecond file
    from helpers import write_notebook

    from nb2feast.materialize import build_feature_tables, load_repo_transforms
    from nb2feast.targets import spark_engine

    rows = 3000
    pd.DataFrame(
        {
            "customer_id": [i % 37 for i in range(rows)],
            "event_timestamp": pd.date_range("2024-01-01", periods=rows, freq="17min", tz="UTC"),
            "amount": [float(i % 11) for i in range(rows)],
        }
    ).to_parquet(tmp_path / "tx.parquet", coerce_timestamps="us")
    cell = (
        "%%feature spend --entity customer_id\n"
        'spend = tx.assign(total=tx.groupby("customer_id")["amount"].cumsum(),'
        ' prev=tx.groupby("customer_id")["amount"].shift(1))'
        '[["customer_id", "event_timestamp", "total", "prev"]]'
    )
    write_notebook(
        tmp_path / "nb.ipynb", 'import pandas as pd\ntx = pd.read_parquet("tx.parquet")', cell
    )
    repo = tmp_path / "repo"
    assert (
        main(["export", str(tmp_path / "nb.ipynb"), "--out", str(repo), "--target", "spark"]) == 0
    )
    handed_over = []
    monkeypatch.setattr(
        spark_engine, "_spark_readable", lambda path: handed_over.append(path) or True
    )
    # When the spark engine builds its table
    build_feature_tables(repo)
    # Then Spark read the file itself, and the table equals the pandas build, row for row
    assert handed_over == [tmp_path / "tx.parquet"]
    expected = load_repo_transforms(repo).spend.build()
    got = pd.read_parquet(repo / "data" / "spend.parquet")
    order = ["customer_id", "event_timestamp"]
    expected = expected.sort_values(order).reset_index(drop=True)
    got = got.sort_values(order).reset_index(drop=True)
    expected["event_timestamp"] = expected["event_timestamp"].astype(got["event_timestamp"].dtype)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("name", ["orders.ipynb", "feast_quickstart.ipynb"])
def test_the_other_examples_verify_clean_on_spark(
    spark_env: None, name: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # Given another example notebook exported for the spark target, its tables built on Spark
    notebook = copy_example(tmp_path, name)
    repo = tmp_path / "feature_repo"
    assert main(["export", str(notebook), "--out", str(repo), "--target", "spark"]) == 0
    assert main(["materialize", str(repo)]) == 0
    # When verify runs on Feast's Spark offline store
    capsys.readouterr()
    code = main(
        ["verify", str(notebook), "--repo", str(repo), "--format", "json", "--sample", "200"]
    )
    report = json.loads(capsys.readouterr().out)
    # Then every view is ok and the batch views say Spark built them
    assert code == 0, json.dumps(report)[-3000:]
    assert {v["engine"] for v in report["views"] if v["kind"] == "batch"} == {"spark"}
