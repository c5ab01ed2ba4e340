"""`export --target local|redis|spark|snowflake`: the yaml and sources each target writes,
connection settings only as `${VAR}` that Feast substitutes, the target kept by the manifest,
and the spark target's static partitionability check (refusals name their line)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_notebook

from nb2feast.cli import main
from nb2feast.repo.targets import TARGETS, get_target

LOAD = 'import pandas as pd\ntx = pd.read_parquet("tx.parquet")'
SPEND = (
    "%%feature spend --entity customer_id --ttl 7d\n"
    'spend = tx.assign(amount_x2=lambda d: d["amount"] * 2)'
    '[["customer_id", "event_timestamp", "amount_x2"]]'
)
COLUMNS = '[["customer_id", "event_timestamp", "x"]]'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 3],
            "event_timestamp": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-05", "2024-01-03"], utc=True
            ),
            "amount": [10.0, 20.0, 5.0, 7.5, 1.0],
            "label": ["a", "b", "a", "d", "e"],
        }
    ).to_parquet(tmp_path / "tx.parquet")
    write_notebook(tmp_path / "nb.ipynb", LOAD, SPEND)
    return tmp_path


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def export(project: Path, target: str | None, out: str = "repo", *extra: str) -> int:
    argv = ["export", str(project / "nb.ipynb"), "--out", str(project / out), *extra]
    return main(argv + (["--target", target] if target else []))


def load_config(repo: Path):
    from feast.repo_config import load_repo_config

    return load_repo_config(repo, repo / "feature_store.yaml")


def test_local_is_the_default_and_unchanged(project: Path) -> None:
    # When the same notebook is exported without --target and with --target local
    assert export(project, None, "default") == 0
    assert export(project, "local", "local") == 0
    # Then the bytes are the same, the manifest names no target, sources are FileSources
    assert files(project / "default") == files(project / "local")
    assert "target" not in json.loads((project / "local" / "nb2feast.json").read_text())
    assert "FileSource(" in (project / "local" / "definitions.py").read_text()


@pytest.mark.parametrize("target", ["redis", "spark", "snowflake"])
def test_the_target_is_recorded_and_kept_by_check(project: Path, target: str) -> None:
    # Given a repository exported for a target
    assert export(project, target) == 0
    manifest = json.loads((project / "repo" / "nb2feast.json").read_text())
    assert manifest["target"] == target
    # Then --check without --target checks it against that target, and another target is stale
    assert export(project, None, "repo", "--check") == 0
    assert export(project, "local", "repo", "--check") == 1


def test_redis_connection_comes_from_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a repository exported for redis
    assert export(project, "redis") == 0
    yaml = (project / "repo" / "feature_store.yaml").read_text()
    # Then the yaml names the variable, and Feast substitutes it when it loads the file
    assert 'connection_string: "${NB2FEAST_REDIS_URL}"' in yaml
    monkeypatch.setenv("NB2FEAST_REDIS_URL", "10.1.2.3:6380,password=s3cret")
    config = load_config(project / "repo")
    assert config.online_store.type == "redis"
    assert config.online_store.connection_string == "10.1.2.3:6380,password=s3cret"
    assert config.offline_store.type == "duckdb"


def test_spark_yaml_and_sources(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a repository exported for spark
    assert export(project, "spark") == 0
    repo = project / "repo"
    definitions = (repo / "definitions.py").read_text()
    assert "SparkSource(" in definitions and 'file_format="parquet"' in definitions
    assert "FileSource" not in definitions
    # When Feast loads the yaml with the master from the environment
    monkeypatch.setenv("NB2FEAST_SPARK_MASTER", "spark://head:7077")
    conf = load_config(repo).offline_store.spark_conf
    # Then the spark_conf has the master, UTC session time and no UI
    assert conf["spark.master"] == "spark://head:7077"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.ui.enabled"] == "false"


def test_spark_master_defaults_to_local_in_nb2feast_processes() -> None:
    # Given no NB2FEAST_SPARK_MASTER (Feast's ${VAR} has no default form)
    environ: dict[str, str] = {}
    # When nb2feast prepares a spark repository's process
    get_target("spark").apply_env_defaults(environ)
    # Then the documented default applies, and a set value is never overridden
    assert environ == {"NB2FEAST_SPARK_MASTER": "local[*]"}
    environ = {"NB2FEAST_SPARK_MASTER": "local[2]"}
    get_target("spark").apply_env_defaults(environ)
    assert environ == {"NB2FEAST_SPARK_MASTER": "local[2]"}


def test_no_target_writes_a_connection_value(project: Path) -> None:
    # Every variable a target reads appears in its yaml only as ${VAR}
    for target in TARGETS.values():
        yaml = target.feature_store_yaml("p")
        for variable in target.env:
            assert f'"${{{variable}}}"' in yaml


SNOWFLAKE_ENV = {
    "NB2FEAST_SNOWFLAKE_ACCOUNT": "xy12345.eu-west-1",
    "NB2FEAST_SNOWFLAKE_USER": "FEAST",
    "NB2FEAST_SNOWFLAKE_PASSWORD": "pw",
    "NB2FEAST_SNOWFLAKE_ROLE": "FEAST_ROLE",
    "NB2FEAST_SNOWFLAKE_WAREHOUSE": "WH",
    "NB2FEAST_SNOWFLAKE_DATABASE": "FEATURES",
}


def test_snowflake_config_and_sources_are_accepted_by_feast(project: Path) -> None:
    pytest.importorskip("snowflake.connector")
    # Given a repository exported for snowflake
    assert export(project, "snowflake") == 0
    repo = project / "repo"
    # When Feast loads its yaml and parses its definitions (as `feast plan` does), in a
    # fresh process with the credentials in the environment only
    script = textwrap.dedent(
        """
        import json, os, sys
        from pathlib import Path
        from feast.repo_config import load_repo_config
        from feast.repo_operations import parse_repo
        repo = Path.cwd()
        sys.path.insert(0, str(repo))
        config = load_repo_config(repo, repo / "feature_store.yaml")
        contents = parse_repo(repo)
        print(json.dumps({
            "offline": [config.offline_store.type, config.offline_store.account,
                        config.offline_store.database],
            "online": [config.online_store.type, config.online_store.warehouse],
            "sources": [[type(s).__name__, s.table, s.get_table_query_string()]
                        for s in contents.data_sources],
            "views": [v.to_proto().spec.name for v in contents.feature_views],
        }))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, **SNOWFLAKE_ENV},
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    # Then the stores and the SnowflakeSource are what the environment and the view say
    assert got["offline"] == ["snowflake.offline", "xy12345.eu-west-1", "FEATURES"]
    assert got["online"] == ["snowflake.online", "WH"]
    assert got["sources"] == [["SnowflakeSource", "SPEND", '"SPEND"']]
    assert got["views"] == ["spend"]
    assert "pw" not in (repo / "feature_store.yaml").read_text()


PARTITIONABLE = [
    'spend = tx[tx["amount"] > 1.0].assign(x=lambda d: d["amount"] * 2)' + COLUMNS,
    'spend = tx.assign(x=tx.groupby("customer_id")["amount"].cumsum())' + COLUMNS,
    'spend = tx.assign(x=tx.groupby(["customer_id"])["amount"].shift(1))' + COLUMNS,
    'g = tx.groupby("customer_id")["amount"]\nspend = tx.assign(x=g.transform("mean"))' + COLUMNS,
    'spend = tx.assign(x=tx[["amount", "amount"]].sum(axis=1))' + COLUMNS,
    'spend = tx.assign(x=tx["amount"].apply(abs))' + COLUMNS,
    'spend = tx.drop_duplicates(["customer_id", "event_timestamp"]).assign(x=1.0)' + COLUMNS,
]


@pytest.mark.parametrize("body", PARTITIONABLE)
def test_partitionable_cells_export_for_spark(project: Path, body: str) -> None:
    write_notebook(project / "nb.ipynb", LOAD, "%%feature spend --entity customer_id\n" + body)
    assert export(project, "spark") == 0


REFUSED = [
    (
        'spend = tx.assign(\n    x=tx["amount"] - tx["amount"].mean()\n)' + COLUMNS,
        3,
        "`.mean()` runs over the whole frame",
    ),
    (
        'spend = tx.assign(x=tx.groupby("label")["amount"].cumsum())' + COLUMNS,
        2,
        "grouped by other keys",
    ),
    (
        'other = tx[["label", "amount"]]\nspend = tx.merge(other, on="label")',
        3,
        "`merge` with another frame is not keyed",
    ),
    (
        'spend = tx.assign(x=pd.qcut(tx["amount"], 2, labels=False))' + COLUMNS,
        2,
        "`pd.qcut(...)` is computed over every row",
    ),
    ("spend = tx.iloc[::2].assign(x=1.0)" + COLUMNS, 2, "`.iloc[...]` selects by position"),
    ('spend = tx.sort_values("amount").head(3).assign(x=1.0)' + COLUMNS, 2, "`.head()`"),
    (
        'spend = tx.drop_duplicates("label").assign(x=1.0)' + COLUMNS,
        2,
        "`.drop_duplicates()` is not keyed",
    ),
]


@pytest.mark.parametrize("body,line,reason", REFUSED)
def test_non_partitionable_cells_are_refused_with_reason_and_line(
    project: Path, capsys: pytest.CaptureFixture, body: str, line: int, reason: str
) -> None:
    # Given a cell with a step that is not per entity
    write_notebook(project / "nb.ipynb", LOAD, "%%feature spend --entity customer_id\n" + body)
    # When it is exported for spark
    code = export(project, "spark")
    # Then export exits 2 naming the cell, the line and the reason, and writes nothing
    err = capsys.readouterr().err
    assert code == 2
    assert f"nb.ipynb: cell 1 (id c1), line {line}" in err
    assert reason in err and "cannot run on the spark target" in err
    assert not (project / "repo").exists()
    # And the same cell exports for the local target
    assert export(project, "local") == 0


def test_a_helper_the_cell_calls_is_checked_at_its_own_line(
    project: Path, capsys: pytest.CaptureFixture
) -> None:
    helper = "def latest(frame):\n    return frame.drop_duplicates('label', keep='last')"
    cell = "%%feature spend --entity customer_id\nspend = latest(tx).assign(x=1.0)" + COLUMNS
    write_notebook(project / "nb.ipynb", LOAD, helper, cell)
    assert export(project, "spark") == 2
    assert "cell 1 (id c1), line 2" in capsys.readouterr().err


def test_the_spark_engine_reads_a_single_read_parquet_itself() -> None:
    from nb2feast.repo.targets.spark_engine import parquet_input

    def transform(*loading: str) -> str:
        body = "".join(f"        {line}\n" for line in loading)
        return (
            "def load_inputs() -> dict[str, pd.DataFrame]:\n"
            "    with contextlib.chdir(NOTEBOOK_DIR):\n" + body + '    return {"tx": tx}\n'
        )

    # A lone pd.read_parquet of a literal path: Spark reads the file
    assert parquet_input(transform('tx = pd.read_parquet("data/tx.parquet")')) == (
        "tx",
        "data/tx.parquet",
    )
    # Any further loading code (or another reader): the notebook's code loads it
    fixed = 'tx["amount"] = tx["amount"].astype("float64")'
    assert parquet_input(transform('tx = pd.read_parquet("data/tx.parquet")', fixed)) is None
    assert parquet_input(transform('tx = pd.read_csv("data/tx.csv")')) is None
    assert parquet_input(transform("tx = pd.read_parquet(PATH)")) is None


def test_spark_buckets_hold_about_a_million_rows_at_most() -> None:
    from nb2feast.repo.targets.spark_engine import bucket_count

    # 4 per core for small inputs; more as rows grow, so one pandas call stays bounded
    assert bucket_count(None, 2) == 8
    assert bucket_count(3_000, 2) == 8
    assert bucket_count(50_000_000, 2) == 50
    assert bucket_count(50_000_001, 2) == 51
