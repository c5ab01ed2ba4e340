"""The static checks see the slice a view runs: helpers and loading statements from
earlier cells are checked with the view, and each finding is placed at its own cell."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import write_notebook

from nb2feast.cli import main
from nb2feast.hazards import detect_hazards
from nb2feast.model import CellRef, FeatureCell, Hazard, NotebookCell
from nb2feast.notebook.flags import parse_flags

IMPORTS = "%load_ext nb2feast\nimport numpy as np\nimport pandas as pd"
LOAD = 'tx = pd.read_parquet("tx.parquet")'
HELPER = """def jitter(values):
    # a little noise keeps the model honest
    return values + np.random.normal(0, 0.1, len(values))"""
FEATURE = """%%feature noisy --entity customer_id
noisy = tx.assign(amount_jitter=jitter(tx["amount"]))"""


def hazards_of(*sources: str) -> tuple[Hazard, ...]:
    cells = [NotebookCell(CellRef("nb.ipynb", i, f"c{i}"), s) for i, s in enumerate(sources)]
    (cell,) = [c for c in cells if c.source.startswith("%%feature")]
    magic, _, body = cell.source.partition("\n")
    return detect_hazards(FeatureCell(cell, parse_flags(magic[len("%%feature") :]), body), cells)


def test_an_unseeded_draw_in_a_helper_of_an_earlier_cell_is_reported_at_the_helper() -> None:
    # Given a helper in cell 2 drawing unseeded numbers, called by the feature cell 3
    hazards = hazards_of(IMPORTS, LOAD, HELPER, FEATURE)
    # Then NB2F202 is reported at the helper's own cell and line, for the view that runs it
    (hazard,) = hazards
    assert (hazard.code, hazard.cell_index, hazard.cell_id, hazard.line) == (
        "NB2F202",
        2,
        "c2",
        3,
    )
    assert hazard.view == "noisy" and hazard.severity == "error"


def test_a_helper_the_view_does_not_run_is_not_its_hazard() -> None:
    # Given the same helper, but a feature cell that does not call it
    hazards = hazards_of(IMPORTS, LOAD, HELPER, FEATURE.replace('jitter(tx["amount"])', "1.0"))
    # Then nothing is reported
    assert hazards == ()


def test_a_zone_dropped_in_a_loading_cell_and_joined_in_the_feature_cell_is_seen_at_both() -> None:
    # Given UTC encounter times made naive in a loading cell, then as-of joined with
    # naive local vitals in the feature cell
    loading = """enc = pd.read_parquet("enc.parquet")
vitals = pd.read_parquet("vitals.parquet")
enc["start"] = enc["start"].dt.tz_localize(None)
enc = enc.sort_values("start")"""
    feature = """%%feature enc_vitals --entity patient_id --timestamp start
enc_vitals = pd.merge_asof(enc, vitals.sort_values("start"), on="start", by="patient_id")"""
    hazards = hazards_of(IMPORTS, loading, feature)
    # Then the drop (cell 1, line 3) and the join (cell 2, line 2) are both timezone findings
    assert [(h.code, h.category, h.cell_index, h.line) for h in hazards] == [
        ("NB2F502", "timezone", 1, 3),
        ("NB2F503", "timezone", 2, 2),
    ]
    assert "cell 1 (id c1), line 3" in hazards[1].message


def test_export_reports_slice_hazards_at_their_own_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # Given a notebook whose feature cell calls an unseeded helper of an earlier cell
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "customer_id": rng.integers(1, 4, 20).astype("int64"),
            "event_timestamp": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(np.arange(20), unit="h"),
            "amount": rng.gamma(2, 10, 20),
        }
    ).to_parquet(tmp_path / "tx.parquet")
    notebook = write_notebook(tmp_path / "nb.ipynb", IMPORTS, LOAD, HELPER, FEATURE)
    # When it is exported
    code = main(["export", str(notebook), "--out", str(tmp_path / "repo"), "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    # Then export fails on the helper's error, placed at the helper's cell and line
    assert code == 1
    assert [(h["code"], h["cell_index"], h["cell_id"], h["line"]) for h in result["hazards"]] == [
        ("NB2F202", 2, "c2", 3)
    ]


def test_the_magic_sees_the_slice_of_the_running_cell() -> None:
    # Given the cells run so far (the magic's history) and the running feature cell, not in it
    history = [
        NotebookCell(CellRef("<notebook>", i, ""), s) for i, s in enumerate([IMPORTS, LOAD, HELPER])
    ]
    running = NotebookCell(CellRef("<notebook>", 3, ""), FEATURE)
    magic, _, body = FEATURE.partition("\n")
    feature = FeatureCell(running, parse_flags(magic[len("%%feature") :]), body)
    # When its hazards are detected
    (hazard,) = detect_hazards(feature, history)
    # Then the helper's draw is found, at the helper's cell
    assert (hazard.code, hazard.cell_index, hazard.line) == ("NB2F202", 2, 3)
