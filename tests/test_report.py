"""The parity report's JSON shape (SPEC section 3), terminal table and HTML."""

from __future__ import annotations

import json

from nb2feast.model import Hazard, ParityCheck, ParityFeature, ParityReport, ViewError, ViewParity
from nb2feast.proof.report import headline, render_html, render_json, render_text, view_status


def report() -> ParityReport:
    """One batch view with a mismatch online, one on-demand view, and a hazard."""
    good = ParityFeature(
        "amount_30d_sum", True, 0, 0, 0.0, "float64", "float64", (), "Float64", "Float64"
    )
    bad = ParityFeature(
        "amount_30d_sum",
        False,
        1,
        0,
        0.5,
        "float64",
        "float64",
        ({"row": 3, "customer_id": 7, "notebook": 1.0, "feast": 1.5, "issue": "value differs"},),
        "Float64",
        "Float64",
    )
    drift = ParityFeature("score", False, 0, 0, 0.0, "float64", "float32", (), "Float32", "Float64")
    return ParityReport(
        notebook="example_notebooks/churn.ipynb",
        repo="build/feature_repo",
        views=(
            ViewParity(
                "customer_30d",
                "batch",
                (
                    ParityCheck("offline", 1000, 1000, (good,)),
                    ParityCheck("online", 40, 40, (bad,)),
                ),
            ),
            ViewParity(
                "churn_signals",
                "on_demand",
                (
                    ParityCheck("offline", 1000, 999, (drift,), mode="pandas"),
                    ParityCheck("online", 0, 0, (), mode="python", error="KeyError: 'x'"),
                ),
            ),
        ),
        hazards=(
            Hazard("NB2F101", "cross_row", "error", 7, "a1b2c3", 2, 12, "uses <mean>", "freeze it"),
        ),
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
    assert {"path", "rows_expected", "rows_returned", "features"} <= set(
        check
    ) and "mode" not in check
    assert {
        "name",
        "ok",
        "mismatches",
        "null_mismatches",
        "max_abs_err",
        "dtype_notebook",
        "dtype_feast",
    } <= set(check["features"][0])
    odfv_checks = data["views"][1]["checks"]
    assert [(c["path"], c["mode"]) for c in odfv_checks] == [
        ("offline", "pandas"),
        ("online", "python"),
    ]
    assert odfv_checks[1]["error"] == "KeyError: 'x'"
    assert set(data["hazards"][0]) >= {
        "code",
        "category",
        "severity",
        "cell_index",
        "cell_id",
        "line",
        "col",
        "message",
        "fix",
    }
    assert data["views"][0]["checks"][1]["features"][0]["examples"][0]["feast"] == 1.5


def test_text_names_every_failure_with_its_rows() -> None:
    # Given a report with a value mismatch, a dropped row with type drift, and an error
    # When rendered for a terminal
    text = render_text(report())
    # Then the verdict, the offending row, the type drift, the error and the hazard are spelled out
    assert (
        text.splitlines()[0]
        == "nb2feast verify: Not ok: 1 error, 1 mismatch, 1 error hazard of 2 views"
    )
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


def clean(name: str = "daily_spend") -> ViewParity:
    feature = ParityFeature(
        "spend", True, 0, 0, 0.0, "float64", "float64", (), "Float64", "Float64"
    )
    return ViewParity(name, "batch", (ParityCheck("offline", 10, 10, (feature,)),))


def leak(view: str = "daily_spend", severity: str = "error") -> Hazard:
    return Hazard(
        "NB2F310", "time_travel", severity, 3, "c3", 2, 0, "value changes", "stamp at the end", view
    )


def test_a_view_with_an_error_hazard_is_never_ok_in_any_rendering() -> None:
    # Given a view whose checks all pass but time travel found a leak (NB2F310, error)
    report = ParityReport("nb.ipynb", "repo", (clean(), clean("other")), hazards=(leak(),))
    # When judged and rendered
    data = json.loads(render_json(report))
    # Then the view is "hazard", the report is not ok, and no headline says parity ok
    assert [v["status"] for v in data["views"]] == ["hazard", "ok"]
    assert data["ok"] is False and data["views"][0]["ok"] is False
    assert data["summary"] == headline(report) == "Not ok: 1 hazard of 2 views"
    assert "Parity ok" not in render_text(report) and "Parity ok" not in render_html(report)


def test_a_warning_hazard_leaves_the_view_ok() -> None:
    report = ParityReport("nb.ipynb", "repo", (clean(),), hazards=(leak(severity="warning"),))
    assert report.ok and headline(report) == "Parity ok: 1 view"


def test_stale_beats_error_beats_mismatch() -> None:
    # Given views that are stale, broken in one phase, and mismatching
    stale = ViewParity(
        "a", "batch", clean().checks, stale=("definitions.py changed: run nb2feast materialize",)
    )
    broken = ViewParity("b", "batch", (), error=ViewError("materialize", "ValueError: boom"))
    bad = ParityFeature("spend", False, 1, 0, 1.0, "float64", "float64")
    mismatch = ViewParity("c", "batch", (ParityCheck("online", 1, 1, (bad,)),))
    # Then each gets its own status, and the text names the stale reason and the failed phase
    assert [view_status(v, ()) for v in (stale, broken, mismatch)] == ["stale", "error", "mismatch"]
    text = render_text(ParityReport("nb", "repo", (stale, broken, mismatch)))
    assert "a [stale]: definitions.py changed: run nb2feast materialize" in text
    assert "b [materialize]: ValueError: boom" in text
    assert json.loads(render_json(ParityReport("nb", "repo", (broken,))))["views"][0]["error"] == {
        "phase": "materialize",
        "message": "ValueError: boom",
    }


def test_an_infinite_error_prints_inf_and_stays_strict_json() -> None:
    feature = ParityFeature("ratio", False, 1, 0, float("inf"), "float64", "float64")
    report = ParityReport(
        "nb", "repo", (ViewParity("v", "batch", (ParityCheck("offline", 1, 1, (feature,)),)),)
    )
    assert "max abs error inf" in render_text(report)
    assert '"max_abs_err": "inf"' in render_json(report)


def test_feasts_int64_null_widening_is_said_once_not_listed_as_drift() -> None:
    # Given two offline Int64 features that Feast returned as float64 (its null handling)
    widened = ParityFeature("n", True, 0, 0, 0.0, "int64", "float64", (), "Int64", "Int64")
    checks = (ParityCheck("offline", 5, 5, (widened, widened)),)
    text = render_text(ParityReport("nb", "repo", (ViewParity("v", "batch", checks),)))
    # Then no row shows int64 -> float64, and one note says why
    assert "int64 -> float64" not in text
    assert text.count("Feast's null handling") == 1


def test_github_annotations_name_the_notebook_line_of_each_problem(tmp_path) -> None:
    # Given a notebook whose %%feature cell is cell 1, and a report with a stale view and a leak
    import nbformat

    from nb2feast.cli import notebook_lines
    from nb2feast.proof.report import render_github

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import pandas as pd", id="a"),
        nbformat.v4.new_code_cell(
            "%%feature daily_spend --entity k\nx = 1\ndaily_spend = x", id="b"
        ),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    lines = notebook_lines(path)
    text = path.read_text().splitlines()
    assert '"%%feature daily_spend --entity k\\n"' in text[lines[(1, 1)] - 1]
    assert '"daily_spend = x"' in text[lines[(1, 3)] - 1]
    stale = ViewParity(
        "daily_spend", "batch", (), stale=("definitions.py differs: run `nb2feast export`",)
    )
    leaking = Hazard(
        "NB2F310", "future_leakage", "error", 1, "b", 3, 0, "leaks, 50%", "fix it", "daily_spend"
    )
    report = ParityReport(
        str(path), "repo", (stale,), hazards=(leaking,), cells=(("daily_spend", 1),)
    )
    # When rendered for GitHub Actions
    out = render_github(report, lines).splitlines()
    # Then each problem is an ::error at its notebook line, with workflow-command escaping
    assert out[0].startswith(
        f"::error file={path},line={lines[(1, 1)]},title=nb2feast verify%3A daily_spend::"
    )
    assert "view daily_spend is stale: definitions.py differs" in out[0]
    assert out[1].startswith(f"::error file={path},line={lines[(1, 3)]},title=nb2feast NB2F310::")
    assert "leaks, 50%25" in out[1]
    assert out[-1].startswith("::error title=nb2feast verify::Not ok")


def test_junit_has_a_case_per_view_and_check() -> None:
    from xml.etree import ElementTree as ET

    from nb2feast.proof.report import render_junit

    # Given the report with a mismatch online, an error, and an error hazard without a view
    root = ET.fromstring(render_junit(report()))
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    # Then each view has its freshness, each check, and (batch) hazards as test cases
    assert set(cases) == {
        ("nb2feast.customer_30d", "fresh"),
        ("nb2feast.customer_30d", "offline"),
        ("nb2feast.customer_30d", "online"),
        ("nb2feast.customer_30d", "hazards"),
        ("nb2feast.churn_signals", "fresh"),
        ("nb2feast.churn_signals", "offline[pandas]"),
        ("nb2feast.churn_signals", "online[python]"),
    }
    assert cases[("nb2feast.customer_30d", "online")].find("failure") is not None
    assert cases[("nb2feast.churn_signals", "online[python]")].find("error") is not None
    assert cases[("nb2feast.customer_30d", "offline")].find("failure") is None
    assert root.get("tests") == "7" and root.get("errors") == "1" and root.get("failures") == "2"


def test_verify_keeps_stdout_for_the_report(capfd) -> None:
    # Given code that prints the Python way, at the descriptor, and from a child process
    import os
    import subprocess
    import sys

    from nb2feast.cli import stdout_to_stderr

    # When it runs inside verify's redirection, and the report is printed after it
    with stdout_to_stderr():
        print("from python")
        os.write(1, b"from the descriptor\n")
        subprocess.run([sys.executable, "-c", "print('from a child')"], check=True)
    print('{"ok": true}')
    out, err = capfd.readouterr()
    # Then stdout holds the report alone and the rest went to stderr
    assert out == '{"ok": true}\n'
    assert "from python" in err and "from the descriptor" in err and "from a child" in err
