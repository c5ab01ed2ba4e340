"""verify against Feast on a small hand-made repository (tests/fixtures/verify_repo).

The repository follows docs/ARCHITECTURE.md's layout; the capture dir is written here as
the `%%feature` magic would. One applied repository per module; divergences are injected
into it and undone, or into a re-applied copy where Feast's definitions change.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2feast.model import ParityReport
from nb2feast.proof.sample import point_in_time

pytestmark = pytest.mark.feast

FIXTURE = Path(__file__).parent / "fixtures" / "verify_repo"
FEAST = str(Path(sys.executable).parent / "feast")
T0 = pd.Timestamp("2024-01-01", tz="UTC")
SAMPLE = 1000


def make_tables(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """The two batch views' rows, with created-time ties, gaps longer than the TTL."""
    ids = np.repeat(np.arange(1, 41), 15)
    stats = pd.DataFrame({"customer_id": ids.astype("int64")})
    stats["event_timestamp"] = T0 + pd.to_timedelta(rng.integers(0, 90 * 24, ids.size), unit="h")
    stats["created"] = stats["event_timestamp"] + pd.to_timedelta(
        rng.integers(0, 48, ids.size), unit="h"
    )
    stats["amount_sum"] = rng.gamma(2, 50, ids.size).round(2)
    stats["n_tx"] = rng.integers(0, 30, ids.size).astype("int64")
    stats["segment"] = rng.choice(["gold", "silver", "bronze"], ids.size).astype(object)
    stats["active"] = rng.random(ids.size) > 0.3
    corrections = stats.sample(20, random_state=1).assign(
        created=lambda d: d["created"] + pd.Timedelta(days=3),
        amount_sum=lambda d: d["amount_sum"] + 7,
    )
    stats = pd.concat([stats, corrections], ignore_index=True)
    profile = pd.DataFrame({"customer_id": np.arange(1, 41, dtype="int64")})
    profile["event_timestamp"] = T0 + pd.to_timedelta(rng.integers(0, 60, 40), unit="D")
    profile["age"] = rng.integers(18, 80, 40).astype("int64")
    profile["score32"] = rng.random(40).astype("float32")
    return {"customer_stats": stats, "customer_profile": profile}


def write_capture(capture: Path, tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    """What `%%feature` leaves behind: batch outputs, the on-demand input and output."""
    capture.mkdir()
    for name, table in tables.items():
        table.to_parquet(capture / f"{name}.output.parquet")
    labels = pd.DataFrame(
        {
            "customer_id": rng.integers(1, 41, 300).astype("int64"),
            "event_timestamp": T0 + pd.to_timedelta(rng.integers(0, 100 * 24, 300), unit="h"),
            "discount": rng.random(300).round(2),
            "label": rng.random(300) > 0.5,
            "nb2feast_row_id": np.arange(300),
        }
    )
    training = point_in_time(
        labels,
        tables["customer_stats"],
        ["customer_id"],
        "event_timestamp",
        ["amount_sum", "n_tx", "segment", "active"],
        created="created",
        ttl_seconds=7 * 86400,
    ).reset_index(drop=True)
    training.to_parquet(capture / "spend_ratio.input.parquet")
    training.assign(
        ratio=training["amount_sum"] / (training["n_tx"] + 1) * (1 - training["discount"])
    ).to_parquet(capture / "spend_ratio.output.parquet")


def build_repo(
    target: Path, tables: dict[str, pd.DataFrame], edit_definitions: tuple[str, str] | None = None
) -> Path:
    """Copy the fixture repository, write its feature tables and `feast apply` it."""
    shutil.copytree(FIXTURE, target)
    (target / "data").mkdir()
    for name, table in tables.items():
        table.to_parquet(target / "data" / f"{name}.parquet")
    if edit_definitions is not None:
        definitions = target / "definitions.py"
        old, new = edit_definitions
        text = definitions.read_text()
        assert text.count(old) == 1, old
        definitions.write_text(text.replace(old, new))
    subprocess.run([FEAST, "-c", str(target), "apply"], check=True, capture_output=True)
    return target


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("verify_feast")
    rng = np.random.default_rng(7)
    tables = make_tables(rng)
    write_capture(root / "capture", tables, rng)
    return {
        "root": root,
        "tables": tables,
        "capture": root / "capture",
        "repo": build_repo(root / "repo", tables),
    }


def verify(world: dict, repo: Path | None = None) -> ParityReport:
    from nb2feast.proof.verify import verify_captures

    return verify_captures(repo or world["repo"], world["capture"], sample=SAMPLE, seed=0)


def failing(report: ParityReport) -> set[tuple[str, str, str | None, str]]:
    """(view, path, mode, feature) of every feature that is not ok."""
    return {
        (v.name, c.path, c.mode, f.name)
        for v in report.views
        for c in v.checks
        for f in c.features
        if not f.ok
    }


@contextlib.contextmanager
def edited_table(
    repo: Path, view: str, edit: Callable[[pd.DataFrame], pd.DataFrame]
) -> Iterator[pd.DataFrame]:
    """Apply `edit` to a feature table for the duration of the block."""
    path = repo / "data" / f"{view}.parquet"
    original = path.read_bytes()
    table = edit(pd.read_parquet(path))
    table.to_parquet(path)
    try:
        yield table
    finally:
        path.write_bytes(original)


def test_clean_repository_verifies_ok(world: dict) -> None:
    # Given a repository whose tables and transforms match the notebook
    # When verified
    report = verify(world)
    # Then every view, path and generated mode is checked and ok, with every row returned
    assert report.ok, failing(report)
    shape = {(v.name, c.path, c.mode) for v in report.views for c in v.checks}
    assert shape == {
        ("customer_stats", "offline", None),
        ("customer_stats", "online", None),
        ("customer_profile", "offline", None),
        ("customer_profile", "online", None),
        ("spend_ratio", "offline", "python"),
        ("spend_ratio", "offline", "pandas"),
        ("spend_ratio", "online", "python"),
        ("spend_ratio", "online", "pandas"),
    }
    offline = report.views[0].checks[0]
    assert offline.rows_expected == offline.rows_returned == SAMPLE
    assert set(report.timings) >= {
        "run_notebook",
        "sample",
        "offline",
        "materialize",
        "online",
        "compare",
    }
    # And the report is plain JSON
    assert json.loads(json.dumps(report.to_dict()))["ok"] is True


def test_an_edited_value_fails_exactly_that_feature(world: dict) -> None:
    # Given one customer's latest amount changed in Feast's table
    def bump(table: pd.DataFrame) -> pd.DataFrame:
        rows = table[table["customer_id"] == 1].sort_values(["event_timestamp", "created"])
        table.loc[rows.index[-1], "amount_sum"] += 0.01
        return table

    with edited_table(world["repo"], "customer_stats", bump):
        # When verified
        report = verify(world)
    # Then amount_sum is reported online (the latest value) and nothing else fails
    assert not report.ok
    assert ("customer_stats", "online", None, "amount_sum") in failing(report)
    assert {f for _, _, _, f in failing(report)} == {"amount_sum"}
    online = {f.name: f for f in report.views[0].checks[1].features}["amount_sum"]
    assert online.mismatches == 1 and online.max_abs_err == pytest.approx(0.01)
    assert online.examples[0]["customer_id"] == 1


def test_a_dropped_row_fails_its_view_offline(world: dict) -> None:
    # Given the most recent row of every customer removed from Feast's table
    def drop_latest(table: pd.DataFrame) -> pd.DataFrame:
        ordered = table.sort_values(["event_timestamp", "created"])
        return table.drop(ordered.drop_duplicates("customer_id", keep="last").index)

    with edited_table(world["repo"], "customer_stats", drop_latest):
        report = verify(world)
    # Then the view's features mismatch (older or no values served), and only that view's
    assert {(v, p) for v, p, _, _ in failing(report)} >= {("customer_stats", "offline")}
    assert {v for v, _, _, _ in failing(report)} <= {"customer_stats", "spend_ratio"}
    assert all(c.ok for c in report.views[1].checks)


def test_a_shorter_ttl_in_feast_fails_the_view_offline_only(world: dict, tmp_path: Path) -> None:
    # Given Feast's view with a 2-day TTL where the notebook meant 7 days
    repo = build_repo(
        tmp_path / "repo", world["tables"], ("ttl=timedelta(days=7)", "ttl=timedelta(days=2)")
    )
    # When verified
    report = verify(world, repo)
    # Then customer_stats fails offline with nulls on Feast's side; online (no TTL) stays ok
    bad = failing(report)
    assert {(v, p) for v, p, _, _ in bad} == {("customer_stats", "offline")}
    amount = {f.name: f for f in report.views[0].checks[0].features}["amount_sum"]
    assert amount.null_mismatches == amount.mismatches > 0
    assert all(e["feast"] is None for e in amount.examples)


def test_float64_declared_float32_is_type_drift_on_that_feature(
    world: dict, tmp_path: Path
) -> None:
    # Given Feast declaring amount_sum Float32 where the notebook computes float64
    repo = build_repo(
        tmp_path / "repo",
        world["tables"],
        ('Field(name="amount_sum", dtype=Float64)', 'Field(name="amount_sum", dtype=Float32)'),
    )
    # When verified
    report = verify(world, repo)
    # Then exactly amount_sum fails, offline and online, naming both types
    assert {(v, f) for v, _, _, f in failing(report)} == {("customer_stats", "amount_sum")}
    offline, online = report.views[0].checks
    for check in (offline, online):
        amount = {f.name: f for f in check.features}["amount_sum"]
        assert (amount.feast_type, amount.feast_type_notebook, amount.dtype_notebook) == (
            "Float32",
            "Float64",
            "float64",
        )
    # And online the float32 rounding shows up as value mismatches
    assert {f.name: f for f in online.features}["amount_sum"].mismatches > 0


def test_a_diverging_python_mode_view_fails_only_its_mode(world: dict, tmp_path: Path) -> None:
    # Given the served python-mode view computing `1 + discount` where the cell has `1 - discount`
    repo = build_repo(
        tmp_path / "repo",
        world["tables"],
        (
            "ratio.append(amount / (n_tx + 1) * (1 - discount))",
            "ratio.append(amount / (n_tx + 1) * (1 + discount))",
        ),
    )
    # When verified
    report = verify(world, repo)
    # Then spend_ratio fails in python mode, offline and online; the pandas twin stays ok
    assert failing(report) == {
        ("spend_ratio", "offline", "python", "ratio"),
        ("spend_ratio", "online", "python", "ratio"),
    }


def test_the_cells_own_output_is_the_oracle_not_the_generated_module(world: dict) -> None:
    # Given the cell's output as the notebook computed it now: `+ 10` on the ratio, which the
    # generated views (computing the old cell) do not have
    output = world["capture"] / "spend_ratio.output.parquet"
    original = pd.read_parquet(output)
    original.assign(ratio=original["ratio"] + 10).to_parquet(output)
    try:
        changed = verify(world)
    finally:
        original.to_parquet(output)
    # Then every spend_ratio check fails on ratio (both modes, offline and online), nothing else
    assert {(v, f) for v, _, _, f in failing(changed)} == {("spend_ratio", "ratio")}
    assert len(failing(changed)) == 4
    assert {v.name: changed.status(v) for v in changed.views}["spend_ratio"] == "mismatch"


def test_the_generated_module_is_not_the_reference(world: dict) -> None:
    # Given the generated transform module (not what Feast serves) edited to round the ratio
    module = world["repo"] / "transforms" / "spend_ratio.py"
    original = module.read_text()
    module.write_text(
        original.replace('* (1 - training["discount"])', '* (1 - training["discount"]).round(1)')
    )
    try:
        report = verify(world)
    finally:
        module.write_text(original)
    # Then the comparison of Feast with the cell's output is unchanged (verify_notebook's
    # freshness check is what reports the edited file as stale)
    assert not failing(report)
