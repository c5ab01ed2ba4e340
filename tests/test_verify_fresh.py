"""`export` then `verify`, nothing in between: verify makes a fresh repository ready itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import copy_example

from nb2feast.cli import main

pytestmark = pytest.mark.feast


def test_verify_builds_and_applies_a_fresh_repository(tmp_path: Path, capsys):
    notebook = copy_example(tmp_path)
    repo = tmp_path / "feature_repo"
    assert main(["export", str(notebook), "--out", str(repo)]) == 0
    assert not (repo / "data" / "registry.db").exists()
    capsys.readouterr()
    # When verified straight after export
    code = main(
        ["verify", str(notebook), "--repo", str(repo), "--format", "json", "--sample", "200"]
    )
    report = json.loads(capsys.readouterr().out)
    # Then the tables were built and applied, and every check of every view holds
    assert code == 0, [c for v in report["views"] for c in v["checks"] if not c["ok"]]
    assert (repo / "data" / "customer_30d.parquet").is_file() and (
        repo / "data" / "registry.db"
    ).is_file()
    assert report["timings"]["apply"] > 0
    assert {v["name"] for v in report["views"]} == {
        "customer_30d",
        "customer_profile",
        "churn_signals",
    }
