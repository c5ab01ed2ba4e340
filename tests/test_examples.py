"""The example notebooks end to end: export (deterministic, --check), feast apply, build, verify.

One applied repository per notebook (module-scoped): the notebook and its data are copied
aside, exported, applied and built once; `nb2feast verify --format json` runs once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nb2feast.cli import main

pytestmark = pytest.mark.feast

EXAMPLES = Path(__file__).resolve().parents[1] / "example_notebooks"
FEAST = str(Path(sys.executable).parent / "feast")
NOTEBOOKS = ["churn", "orders", "feast_quickstart"]



def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "data" not in p.relative_to(folder).parts
    }


class Example:
    """An example notebook copied aside with its data and sidecar, exported twice."""

    def __init__(self, root: Path, name: str) -> None:
        shutil.copytree(EXAMPLES / "data", root / "data")
        for suffix in (".ipynb", ".nb2feast.json"):
            shutil.copy(EXAMPLES / f"{name}{suffix}", root / f"{name}{suffix}")
        self.name = name
        self.notebook = root / f"{name}.ipynb"
        self.repo = root / "feature_repo"
        self.export_codes = [
            main(["export", str(self.notebook), "--out", str(self.repo)]) for _ in range(2)
        ]
        self.first = snapshot(self.repo)
        self.export_codes.append(main(["export", str(self.notebook), "--out", str(self.repo)]))
        self.second = snapshot(self.repo)
        self.check_code = main(["export", str(self.notebook), "--out", str(self.repo), "--check"])
        self.apply = subprocess.run(
            [FEAST, "-c", str(self.repo), "apply"], capture_output=True, text=True, check=False
        )
        self._report: dict | None = None
        self._verify_code: int | None = None

    def manifest(self) -> dict:
        return json.loads((self.repo / "nb2feast.json").read_text())

    def build(self) -> dict[str, Path]:
        from nb2feast.materialize import build_feature_tables

        return build_feature_tables(self.repo)

    def verify(self, capsys: pytest.CaptureFixture) -> tuple[int, dict]:
        if self._report is None:
            capsys.readouterr()
            self._verify_code = main(
                [
                    "verify",
                    str(self.notebook),
                    "--repo",
                    str(self.repo),
                    "--format",
                    "json",
                    "--sample",
                    "400",
                ]
            )
            self._report = json.loads(capsys.readouterr().out)
        return self._verify_code, self._report


_APPLIED: dict[str, Example] = {}


def applied(name: str, tmp_path_factory: pytest.TempPathFactory) -> Example:
    """One exported, applied and built repository per notebook, for the whole module."""
    if name not in _APPLIED:
        example = Example(tmp_path_factory.mktemp(name), name)
        assert example.apply.returncode == 0, example.apply.stderr[-2000:]
        example.tables = example.build()
        _APPLIED[name] = example
    return _APPLIED[name]


@pytest.fixture(scope="module", params=NOTEBOOKS)
def example(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Example:
    return applied(request.param, tmp_path_factory)


def checks(report: dict, kind: str | None = None) -> list[tuple[str, dict]]:
    return [
        (v["name"], c) for v in report["views"] if kind in (None, v["kind"]) for c in v["checks"]
    ]


def test_export_is_deterministic_and_fresh(example: Example) -> None:
    # Given the notebook exported twice into the same folder
    # Then both exports exit 0, write the same bytes, and --check finds nothing stale
    assert example.export_codes == [0, 0, 0]
    assert example.first == example.second
    assert example.check_code == 0


def test_feast_apply_accepts_the_repository(example: Example) -> None:
    # Then feast apply succeeded (the fixture asserts it) and registered every view
    assert example.apply.returncode == 0
    names = {v["name"] for v in example.manifest()["views"]}
    for name in names:
        assert name in example.apply.stdout or name in example.apply.stderr


def test_every_batch_table_is_built(example: Example) -> None:
    # Then every batch view has a non-empty table with its keys and features
    batch = [v for v in example.manifest()["views"] if v["kind"] == "batch"]
    assert set(example.tables) == {v["name"] for v in batch}
    for view in batch:
        table = pd.read_parquet(example.tables[view["name"]])
        assert len(table) > 0
        assert {
            *view["entities"],
            view["timestamp"],
            *(f["name"] for f in view["features"]),
        } <= set(table.columns)


def test_verify_batch_views_match_with_every_row(
    example: Example, capsys: pytest.CaptureFixture
) -> None:
    # When `nb2feast verify --format json` runs the notebook and compares
    _, report = example.verify(capsys)
    # Then every batch view is ok offline and online, and Feast returns every expected row
    batch = checks(report, "batch")
    assert {c["path"] for _, c in batch} == {"offline", "online"}
    for name, check in batch:
        assert check.get("error") is None, (name, check)
        assert check["rows_expected"] == check["rows_returned"] > 0, (name, check)
        assert all(f["ok"] for f in check["features"]), (
            name,
            [f for f in check["features"] if not f["ok"]],
        )


def test_export_reports_no_error_hazard(example: Example, capsys: pytest.CaptureFixture) -> None:
    # When exported again with --format json
    capsys.readouterr()
    code = main(["export", str(example.notebook), "--out", str(example.repo), "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    # Then it is ok and no static hazard is an error
    assert code == 0 and result["ok"] is True
    assert [h for h in result["hazards"] if h["severity"] == "error"] == []


def test_verify_exits_0_with_every_view_ok(
    example: Example, capsys: pytest.CaptureFixture
) -> None:
    # When verified; then exit 0, and every check of every view (on-demand too) is ok with all rows
    code, report = example.verify(capsys)
    bad = [
        (n, c.get("feast_view"), c["path"], c.get("error"))
        for n, c in checks(report)
        if c.get("error")
    ]
    assert not bad
    for name, check in checks(report):
        assert check["rows_expected"] == check["rows_returned"] > 0, (name, check)
        assert all(f["ok"] for f in check["features"]), name
    assert {v["kind"] for v in report["views"]} == {"batch", "on_demand"}
    assert [h for h in report["hazards"] if h["severity"] == "error"] == []
    assert code == 0 and report["ok"] is True


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Example:
    return applied("orders", tmp_path_factory)


def test_orders_corrections_are_served_by_their_latest_created(orders: Example) -> None:
    # Given orders re-sent with the same key and event time, a later `created`, another amount
    raw = pd.read_parquet(orders.notebook.parent / "data" / "orders.parquet")
    corrected = raw[raw.duplicated("order_id", keep=False)].sort_values(["order_id", "created"])
    latest = corrected.groupby("order_id").tail(1).set_index("order_id")
    earliest = corrected.groupby("order_id").head(1).set_index("order_id")
    assert len(latest) >= 20 and (latest["amount"] != earliest["amount"]).all()
    # And the view keyed by both ids keeps both versions, with their `created`
    view = next(v for v in orders.manifest()["views"] if v["name"] == "customer_merchant")
    assert view["created"] == "created" and view["entities"] == ["customer_id", "merchant_id"]
    assert 'created_timestamp_column="created"' in (orders.repo / "definitions.py").read_text()
    table = pd.read_parquet(orders.repo / view["table"])
    assert len(table) == len(raw)
    # When Feast joins entity rows stamped at each corrected order's event time
    from feast import FeatureStore

    entity_df = latest.reset_index()[["customer_id", "merchant_id", "event_timestamp"]]
    store = FeatureStore(repo_path=str(orders.repo))
    got = store.get_historical_features(
        entity_df=entity_df,
        features=["customer_merchant:order_amount", "customer_merchant:refunded"],
    ).to_df()
    # Then it serves the correction (latest created), not the row that landed first
    merged = got.merge(latest.reset_index(), on=["customer_id", "merchant_id", "event_timestamp"])
    assert len(merged) == len(latest)
    pd.testing.assert_series_equal(
        merged["order_amount"], merged["amount"], check_names=False, check_dtype=False
    )
    assert (merged["refunded"] == 1).all()
