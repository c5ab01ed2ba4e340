"""verify end to end on the example notebook: export, apply, build tables, run, compare.

The notebook runs once per module (a fresh kernel, capturing its `%%feature` frames);
divergences are then injected into the generated repository and checked against that
capture, and one goes through the CLI to see its exit code and JSON.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nb2feast.model import ParityReport

pytestmark = pytest.mark.feast

EXAMPLES = Path(__file__).resolve().parents[1] / "example_notebooks"
FEAST = str(Path(sys.executable).parent / "feast")


def apply(repo: Path) -> None:
    subprocess.run([FEAST, "-c", str(repo), "apply"], check=True, capture_output=True)


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The example notebook copied aside, exported, applied, its tables built and run once."""
    from nb2feast.proof.verify import run_notebook
    from nb2feast.repo.export import export_notebooks
    from nb2feast.repo.materialize import build_feature_tables

    root = tmp_path_factory.mktemp("churn")
    shutil.copytree(
        EXAMPLES, root / "nb", ignore=shutil.ignore_patterns("feature_repo", ".ipynb_checkpoints")
    )
    notebook, repo = root / "nb" / "churn.ipynb", root / "nb" / "feature_repo"
    assert export_notebooks([notebook], repo).ok
    apply(repo)
    build_feature_tables(repo)
    capture = root / "capture"
    run_notebook(notebook, capture, lambda _message: None)
    return {"notebook": notebook, "repo": repo, "capture": capture}


def verify(churn: dict) -> ParityReport:
    from nb2feast.proof.verify import verify_captures

    return verify_captures(
        churn["repo"], churn["capture"], notebook=str(churn["notebook"]), sample=1000
    )


def failing(report: ParityReport) -> set[tuple[str, str, str, str]]:
    """(Feast view, path, mode, feature) of every feature that is not ok; `<error>` for errors."""
    return {
        (c.feast_view or v.name, c.path, c.mode or "", f.name)
        for v in report.views
        for c in v.checks
        for f in c.features
        if not f.ok
    } | {
        (c.feast_view or v.name, c.path, c.mode or "", "<error>")
        for v in report.views
        for c in v.checks
        if c.error
    }


@contextlib.contextmanager
def edited(path: Path, old: str, new: str) -> Iterator[None]:
    original = path.read_text()
    assert original.count(old) >= 1, old
    path.write_text(original.replace(old, new))
    try:
        yield
    finally:
        path.write_text(original)


def test_the_notebook_captures_every_feature_cell(churn: dict) -> None:
    # Given the example notebook run with NB2FEAST_CAPTURE_DIR
    # Then each view left its output, the on-demand view its input too
    names = sorted(p.name for p in churn["capture"].iterdir())
    assert {
        "customer_30d.output.parquet",
        "customer_profile.output.parquet",
        "churn_signals.input.parquet",
        "churn_signals.output.parquet",
    } <= set(names)


def test_exported_repository_verifies_ok(churn: dict) -> None:
    # Given the exported, applied and built repository
    # When verified against the notebook's capture
    report = verify(churn)
    # Then every view is ok, on every path and mode
    assert report.ok, failing(report)
    paths = {(v.name, c.path, c.mode) for v in report.views for c in v.checks}
    assert ("churn_signals", "online", "pandas") in paths and (
        "customer_profile",
        "online",
        None,
    ) in paths


def test_a_diverging_batch_transform_fails_exactly_its_feature(churn: dict) -> None:
    # Given the generated batch transform using another threshold than the notebook
    repo = churn["repo"]
    from nb2feast.repo.materialize import build_feature_tables

    with edited(
        repo / "transforms" / "customer_30d.py", "HIGH_VALUE = 100.0", "HIGH_VALUE = 120.0"
    ):
        build_feature_tables(repo)
        report = verify(churn)
    build_feature_tables(repo)
    # Then high_value_30d fails offline and online, and nothing else
    assert {(v, f) for v, _, _, f in failing(report)} == {("customer_30d", "high_value_30d")}
    assert {p for _, p, _, _ in failing(report)} == {"offline", "online"}


def test_a_diverging_pandas_twin_fails_only_that_mode(churn: dict) -> None:
    # Given the pandas twin's udf rounding the ratio; the served view untouched
    definitions = churn["repo"] / "definitions.py"
    served, twin = definitions.read_text().split("def churn_signals_pandas(")
    line = next(ln for ln in twin.splitlines() if '["cart_to_30d_ratio"] =' in ln)
    diverged = served + "def churn_signals_pandas(" + twin.replace(line, line + ".round(1)")
    with edited(definitions, served + "def churn_signals_pandas(" + twin, diverged):
        apply(churn["repo"])
        report = verify(churn)
    apply(churn["repo"])
    # Then cart_to_30d_ratio fails for churn_signals_pandas, offline and online, nothing else
    assert failing(report) == {
        ("churn_signals_pandas", "offline", "pandas", "cart_to_30d_ratio"),
        ("churn_signals_pandas", "online", "pandas", "cart_to_30d_ratio"),
    }


def test_the_cli_exits_1_with_the_json_report_on_a_mismatch(
    churn: dict, capsys: pytest.CaptureFixture
) -> None:
    # Given a diverging batch transform, its tables rebuilt
    from nb2feast.cli import main
    from nb2feast.repo.materialize import build_feature_tables

    repo = churn["repo"]
    with edited(
        repo / "transforms" / "customer_30d.py", "HIGH_VALUE = 100.0", "HIGH_VALUE = 120.0"
    ):
        build_feature_tables(repo)
        # When `nb2feast verify --format json` runs the notebook and compares
        code = main(
            [
                "verify",
                str(churn["notebook"]),
                "--repo",
                str(repo),
                "--format",
                "json",
                "--sample",
                "500",
            ]
        )
    build_feature_tables(repo)
    # Then it exits 1 and stdout is the JSON report naming the feature
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["ok"] is False
    bad = {
        (v["name"], f["name"])
        for v in data["views"]
        for c in v["checks"]
        for f in c["features"]
        if not f["ok"]
    }
    assert bad == {("customer_30d", "high_value_30d")}
    assert data["timings"]["run_notebook"] > 0
