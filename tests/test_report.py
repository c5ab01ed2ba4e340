"""The parity report's JSON shape (SPEC section 3), terminal table and HTML."""

from __future__ import annotations

import json

from nb2feast.model import Hazard, ParityCheck, ParityFeature, ParityReport, ViewParity
from nb2feast.report import render_html, render_json, render_text


def report() -> ParityReport:
    """One batch view with a mismatch online, one on-demand view, and a hazard."""
    good = ParityFeature("amount_30d_sum", True, 0, 0, 0.0, "float64", "float64", (), "Float64", "Float64")
    bad = ParityFeature(
        "amount_30d_sum", False, 1, 0, 0.5, "float64", "float64",
        ({"row": 3, "customer_id": 7, "notebook": 1.0, "feast": 1.5, "issue": "value differs"},),
        "Float64", "Float64",
    )
    drift = ParityFeature("score", False, 0, 0, 0.0, "float64", "float32", (), "Float32", "Float64")
    return ParityReport(
        notebook="example_notebooks/churn.ipynb",
        repo="build/feature_repo",
        views=(
            ViewParity("customer_30d", "batch", (
                ParityCheck("offline", 1000, 1000, (good,)),
                ParityCheck("online", 40, 40, (bad,)),
            )),
            ViewParity("churn_signals", "on_demand", (
                ParityCheck("offline", 1000, 999, (drift,), mode="pandas"),
                ParityCheck("online", 0, 0, (), mode="python", error="KeyError: 'x'"),
            )),
        ),
        hazards=(Hazard("NB2F101", "cross_row", "error", 7, "a1b2c3", 2, 12, "uses <mean>", "freeze it"),),
        timings={"run_notebook": 1.5, "offline": 0.25},
    )


def test_json_has_the_keys_of_spec_section_3() -> None:
    # Given a report
    # When rendered as JSON
    data = json.loads(render_json(report()))
    # Then it carries SPEC section 3's keys at every level
    assert {"ok", "notebook", "repo", "views", "hazards"} <= set(data)
    assert data["ok"] is False
    view = data["views"][0]
    assert {"name", "kind", "checks"} <= set(view) and view["kind"] == "batch"
    check = view["checks"][0]
    assert {"path", "rows_expected", "rows_returned", "features"} <= set(check) and "mode" not in check
    assert {"name", "ok", "mismatches", "null_mismatches", "max_abs_err", "dtype_notebook", "dtype_feast"} <= set(
        check["features"][0]
    )
    odfv_checks = data["views"][1]["checks"]
    assert [(c["path"], c["mode"]) for c in odfv_checks] == [("offline", "pandas"), ("online", "python")]
    assert odfv_checks[1]["error"] == "KeyError: 'x'"
    assert set(data["hazards"][0]) >= {"code", "category", "severity", "cell_index", "cell_id", "line", "col", "message", "fix"}
    assert data["views"][0]["checks"][1]["features"][0]["examples"][0]["feast"] == 1.5


def test_text_names_every_failure_with_its_rows() -> None:
    # Given a report with a value mismatch, a dropped row with type drift, and an error
    # When rendered for a terminal
    text = render_text(report())
    # Then the verdict, the offending row, the type drift, the error and the hazard are spelled out
    assert "MISMATCH" in text.splitlines()[0]
    assert "customer_30d [online] amount_30d_sum: 1 mismatching rows" in text
    assert "row 3 (customer_id=7): notebook 1.0, feast 1.5 - value differs" in text
    assert "Feast returned 999 rows for 1000 requested" in text
    assert "type drift: the notebook's float64 is Float64, Feast declares Float32" in text
    assert "churn_signals [online/python]: KeyError: 'x'" in text
    assert "NB2F101 cross_row: cell 7 (id a1b2c3), line 2: uses <mean>" in text
    assert "run_notebook 1.50s" in text


def test_html_is_escaped_and_marks_failures() -> None:
    # Given a report whose hazard message holds markup
    # When rendered as HTML
    page = render_html(report())
    # Then the markup is escaped and failures are marked
    assert "uses &lt;mean&gt;" in page and "<mean>" not in page
    assert "nb2f-fail" in page and page.count("<tr>") >= 4
