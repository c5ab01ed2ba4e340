"""The redis target on a real redis-server: export the churn example with `--target redis`,
materialize, and verify's online checks run against the server; a restart keeps the values
(persistence), and a server that lost them is reported by verify, never silently wrong."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import copy_example
from redis_server import REDIS_SERVER, RedisServer

from nb2feast.cli import main

pytestmark = [
    pytest.mark.feast,
    pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason="redis-server is not installed"),
]


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NB2FEAST_REDIS_URL", server.url)
        yield server
    server.stop()


@pytest.fixture(scope="module")
def churn(redis: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    notebook = copy_example(tmp_path_factory.mktemp("churn"))
    repo = notebook.parent / "feature_repo"
    assert main(["export", str(notebook), "--out", str(repo), "--target", "redis"]) == 0
    assert main(["materialize", str(repo), "--online"]) == 0
    return notebook, repo


def _verify(notebook: Path, repo: Path, capsys: pytest.CaptureFixture) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(
        ["verify", str(notebook), "--repo", str(repo), "--format", "json", "--sample", "300"]
    )
    return code, json.loads(capsys.readouterr().out)


def _online_lookup(repo: Path) -> dict:
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(repo))
    rows = [{"customer_id": key} for key in range(1000, 1200)]
    refs = ["customer_30d:amount_30d_sum", "customer_profile:segment_code"]
    return store.get_online_features(features=refs, entity_rows=rows).to_dict()


def test_materialize_loads_the_real_server(redis: RedisServer, churn: tuple[Path, Path]) -> None:
    # Given the churn example exported for redis and materialized
    _, repo = churn
    # Then the yaml names the variable, not the server, and the server holds the keys
    assert "${NB2FEAST_REDIS_URL}" in (repo / "feature_store.yaml").read_text()
    assert redis.url not in (repo / "feature_store.yaml").read_text()
    assert int(redis.command("DBSIZE").strip(b":\r\n")) > 0


def test_verify_passes_online_checks_against_redis(
    churn: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    # When verify runs on the redis repository
    code, report = _verify(*churn, capsys)
    # Then every view is ok, online checks included, and batch views were built by pandas
    assert code == 0, json.dumps(report)[-3000:]
    paths = {(v["name"], c["path"]) for v in report["views"] for c in v["checks"]}
    assert {("customer_30d", "online"), ("customer_profile", "online")} <= paths
    assert {v["engine"] for v in report["views"] if v["kind"] == "batch"} == {"pandas"}


def test_a_restart_keeps_the_online_values(redis: RedisServer, churn: tuple[Path, Path]) -> None:
    # Given the values served before a restart
    _, repo = churn
    before = _online_lookup(repo)
    assert any(v is not None for v in before["amount_30d_sum"])
    # When redis restarts (append-only persistence, as documented)
    redis.restart()
    # Then it serves the same values
    assert _online_lookup(repo) == before


def test_verify_reports_a_server_that_lost_its_data(
    redis: RedisServer,
    churn: tuple[Path, Path],
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a redis that restarts without its data right after verify's materialize
    from nb2feast import verify

    materialize = verify.FeastSession.materialize

    def materialize_then_lose_everything(self, *args, **kwargs) -> None:
        materialize(self, *args, **kwargs)
        redis.stop()
        shutil.rmtree(redis.folder)
        redis.folder.mkdir()
        redis.start()

    monkeypatch.setattr(verify.FeastSession, "materialize", materialize_then_lose_everything)
    # When verify reads the online store
    code, report = _verify(*churn, capsys)
    # Then the online checks of the batch views fail (offline ones still pass): reported
    assert code == 1 and report["ok"] is False
    online = {
        v["name"]: c["ok"] for v in report["views"] for c in v["checks"] if c["path"] == "online"
    }
    offline = [c["ok"] for v in report["views"] for c in v["checks"] if c["path"] == "offline"]
    assert online["customer_30d"] is False and online["customer_profile"] is False
    assert all(offline)


@pytest.mark.parametrize("name", ["orders.ipynb", "feast_quickstart.ipynb"])
def test_the_other_examples_verify_clean_on_redis(
    redis: RedisServer,
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    # Given another example notebook exported for the redis target and loaded online
    notebook = copy_example(tmp_path, name)
    repo = tmp_path / "feature_repo"
    assert main(["export", str(notebook), "--out", str(repo), "--target", "redis"]) == 0
    assert main(["materialize", str(repo), "--online"]) == 0
    # When verify runs against the real server
    code, report = _verify(notebook, repo, capsys)
    # Then every view is ok, the online checks included
    assert code == 0, json.dumps(report)[-3000:]
    assert any(c["path"] == "online" for v in report["views"] for c in v["checks"])
