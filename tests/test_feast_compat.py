"""Feast's online store keeps working after an IPython shell starts in the same process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.feast

SCRIPT = r"""
import sys
from datetime import datetime, timezone
from pathlib import Path
import pandas as pd
repo = Path(sys.argv[1])
(repo / "data").mkdir(parents=True)
pd.DataFrame({"k": [1, 2], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True), "x": [1.5, 2.5]}).to_parquet(repo / "data" / "t.parquet")
(repo / "feature_store.yaml").write_text("project: compat\nregistry: data/registry.db\nprovider: local\noffline_store:\n  type: duckdb\nonline_store:\n  type: sqlite\n  path: data/online.db\nentity_key_serialization_version: 3\n")
from feast import Entity, FeatureStore, FeatureView, Field, FileSource
from feast.types import Float64
store = FeatureStore(repo_path=str(repo))
k = Entity(name="k", join_keys=["k"])
fv = FeatureView(name="t", entities=[k], schema=[Field(name="x", dtype=Float64)],
                 source=FileSource(path=str(repo / "data" / "t.parquet"), timestamp_field="ts"))
store.apply([k, fv])
store.materialize(datetime(2023, 1, 1, tzinfo=timezone.utc), datetime(2025, 1, 1, tzinfo=timezone.utc))
from IPython.core.interactiveshell import InteractiveShell
InteractiveShell.instance()  # its history manager registers sqlite3's "timestamp" converter
from nb2feast.feast_compat import feast_sqlite_converters
mode = sys.argv[2]
if mode == "wrapped":
    with feast_sqlite_converters():
        print(store.get_online_features(features=["t:x"], entity_rows=[{"k": 2}]).to_dict()["x"])
else:
    print(store.get_online_features(features=["t:x"], entity_rows=[{"k": 2}]).to_dict()["x"])
"""  # noqa: E501 - a script run with `python -c`, kept as written


def run(tmp_path: Path, mode: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / mode), mode], capture_output=True, text=True
    )


def test_bare_online_read_breaks_once_ipython_registered_its_converter(tmp_path: Path):
    result = run(tmp_path, "bare")
    assert result.returncode != 0 and "Invalid isoformat string" in result.stderr


def test_online_read_inside_feast_sqlite_converters_works(tmp_path: Path):
    result = run(tmp_path, "wrapped")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("[2.5]")
