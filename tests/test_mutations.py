"""Mutations: each case changes one thing after export (or after materialize) and asserts
verify's exit code and the view it names, through the CLI and its JSON report.

The base notebook has a batch view on a rolling window (`spend_7d`, TTL 30 days), a
profile view, and an on-demand view on `spend_7d` with a request column (`cart_ratio`).
It is exported and materialized once; each case works on a copy.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from nb2feast.cli import main

pytestmark = pytest.mark.feast

NOTEBOOK = "shop.ipynb"
SAMPLE = "200"


def write_data(folder: Path) -> None:
    """8 customers, 25 transactions each over 60 days; profiles; labels with missing carts."""
    rng = np.random.default_rng(11)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    ids = np.repeat(np.arange(1, 9, dtype="int64"), 25)
    minutes = np.concatenate([rng.choice(60 * 24 * 60, 25, replace=False) for _ in range(8)])
    tx = pd.DataFrame(
        {
            "customer_id": ids,
            "event_timestamp": start + pd.to_timedelta(minutes, unit="min"),
            "amount": rng.gamma(2, 30, ids.size).round(2),
        }
    )
    profiles = pd.DataFrame(
        {
            "customer_id": np.arange(1, 9, dtype="int64"),
            "updated_at": start + pd.to_timedelta(rng.integers(0, 30, 8), unit="D"),
            "age": rng.integers(18, 80, 8).astype("int64"),
            "tier": rng.choice(["basic", "plus"], 8).astype(object),
        }
    )
    labels = pd.DataFrame(
        {
            "customer_id": rng.integers(1, 9, 120).astype("int64"),
            "event_timestamp": start
            + pd.to_timedelta(rng.integers(0, 70 * 24 * 60, 120), unit="min"),
            "cart_value": rng.gamma(2, 40, 120).round(2),
        }
    )
    labels.loc[labels.index % 17 == 0, "cart_value"] = np.nan
    (folder / "data").mkdir(parents=True)
    tx.to_parquet(folder / "data" / "tx.parquet")
    profiles.to_parquet(folder / "data" / "profiles.parquet")
    labels.to_parquet(folder / "data" / "labels.parquet")


CELLS = {
    "setup": "%load_ext nb2feast\nimport numpy as np\nimport pandas as pd",
    "consts": 'WINDOW = "7D"',
    "load": 'tx = pd.read_parquet("data/tx.parquet")\n'
    'profiles = pd.read_parquet("data/profiles.parquet")\n'
    'labels = pd.read_parquet("data/labels.parquet")',
    "spend": "%%feature spend_7d --entity customer_id --ttl 30d\n"
    "spend_7d = (\n"
    '    tx.sort_values(["customer_id", "event_timestamp"])\n'
    '    .set_index("event_timestamp")\n'
    '    .groupby("customer_id")["amount"]\n'
    "    .rolling(WINDOW)\n"
    "    .sum()\n"
    "    .reset_index()\n"
    '    .rename(columns={"amount": "spend_7d"})\n'
    ")",
    "profile": "%%feature profile --entity customer_id --timestamp updated_at\n"
    'profile = profiles[["customer_id", "updated_at", "age", "tier"]]',
    "training": "training = pd.merge_asof(\n"
    '    labels.sort_values("event_timestamp"), spend_7d.sort_values("event_timestamp"),\n'
    '    on="event_timestamp", by="customer_id", tolerance=pd.Timedelta("30D"),\n'
    ")",
    "ratio": "%%feature cart_ratio --on-demand --request cart_value:float64\n"
    'training["cart_ratio"] = training["cart_value"] / (training["spend_7d"] + 1.0)',
}


def write_notebook(path: Path, cells: dict[str, str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source, id=key) for key, source in cells.items()]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook exported and materialized (tables built, feast apply, state recorded)."""
    from nb2feast.repo.materialize import apply_repo

    folder = tmp_path_factory.mktemp("mutations") / "base"
    folder.mkdir()
    write_data(folder)
    write_notebook(folder / NOTEBOOK, CELLS)
    assert main(["export", str(folder / NOTEBOOK), "--out", str(folder / "feature_repo")]) == 0
    apply_repo(folder / "feature_repo")
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


def edit_cell(key: str, old: str, new: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        cells = dict(CELLS)
        assert cells[key].count(old) == 1, old
        cells[key] = cells[key].replace(old, new)
        write_notebook(folder / NOTEBOOK, cells)

    return mutate


def add_view(folder: Path) -> None:
    cells = dict(CELLS)
    cells["count"] = (
        "%%feature tx_count --entity customer_id\n"
        'tx_count = tx.assign(n=1).groupby("customer_id", as_index=False).agg('
        'event_timestamp=("event_timestamp", "max"), tx_count=("n", "sum"))'
    )
    write_notebook(folder / NOTEBOOK, cells)


def edit_repo(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        edit(folder / "feature_repo" / relative, old, new)

    return mutate


def tiny_data_change(folder: Path) -> None:
    """The notebook's data off by a relative 1e-10 (within verify's rtol 1e-9)."""
    path = folder / "data" / "tx.parquet"
    tx = pd.read_parquet(path)
    tx.assign(amount=tx["amount"] * (1 + 1e-10)).to_parquet(path)


def duplicate_rows(folder: Path) -> None:
    """Every profile row twice, exactly; the tables rebuilt (`nb2feast materialize`)."""
    path = folder / "data" / "profiles.parquet"
    profiles = pd.read_parquet(path)
    pd.concat([profiles, profiles], ignore_index=True).to_parquet(path)
    reapply(folder / "feature_repo")


def reapply(repo: Path) -> None:
    """`nb2feast materialize` in a copy: its registry is dropped first, or `feast apply` would
    tear down the online tables the copied registry records (the base repository's)."""
    (repo / "data" / "registry.db").unlink()
    assert main(["materialize", str(repo)]) == 0


def one_entity_changed(folder: Path) -> None:
    """Feast's table differs from the notebook for customer 3 only, and nothing on disk says so:
    rebuilt and applied here, then the table edited and the apply record renewed."""
    from nb2feast.proof.freshness import record_applied

    repo = folder / "feature_repo"
    reapply(repo)
    table = pd.read_parquet(repo / "data" / "spend_7d.parquet")
    table.loc[table["customer_id"] == 3, "spend_7d"] += 5.0
    table.to_parquet(repo / "data" / "spend_7d.parquet")
    record_applied(repo)


# (case, mutation, --sample, exit code, {view: status} of the views it names, a note it must make)
CASES = [
    (
        "notebook: batch window 7D -> 3D",
        edit_cell("consts", '"7D"', '"3D"'),
        SAMPLE,
        1,
        {"spend_7d": "stale", "cart_ratio": "stale"},
        None,
    ),
    (
        "notebook: on-demand constant + 1.0 -> + 10.0",
        edit_cell("ratio", "+ 1.0", "+ 10.0"),
        SAMPLE,
        1,
        {"cart_ratio": "stale"},
        None,
    ),
    (
        "notebook: new feature column",
        edit_cell("profile", '"tier"]]', '"tier"]].assign(age2=lambda d: d["age"] * 2)'),
        SAMPLE,
        1,
        {"profile": "stale"},
        None,
    ),
    ("notebook: new %%feature view", add_view, SAMPLE, 1, {"tx_count": "stale"}, None),
    (
        "notebook: --ttl 30d -> 7d",
        edit_cell("spend", "--ttl 30d", "--ttl 7d"),
        SAMPLE,
        1,
        {"spend_7d": "stale", "cart_ratio": "stale"},
        None,
    ),
    (
        "repo after materialize: TTL in definitions.py",
        edit_repo("definitions.py", "ttl=timedelta(days=30)", "ttl=timedelta(days=7)"),
        SAMPLE,
        1,
        {"spend_7d": "stale", "cart_ratio": "stale"},
        None,
    ),
    (
        "repo after materialize: transform body",
        edit_repo("transforms/spend_7d.py", ".sum()", ".sum() * 1.01"),
        SAMPLE,
        1,
        {"spend_7d": "stale", "cart_ratio": "stale"},
        None,
    ),
    (
        "Feast's table off for one entity (--sample 10)",
        one_entity_changed,
        "10",
        1,
        {"spend_7d": "mismatch"},
        None,
    ),
    (
        "control: comment-only hand edit",
        edit_repo("definitions.py", "\n\n# The key of", "\n\n# edited by hand\n# The key of"),
        SAMPLE,
        0,
        {},
        "definitions.py was edited by hand; the edit changes no value",
    ),
    ("control: data off by 1e-10", tiny_data_change, SAMPLE, 0, {}, None),
    ("control: exact duplicate rows", duplicate_rows, SAMPLE, 0, {}, None),
]


@pytest.mark.parametrize(
    ("mutate", "sample", "exit_code", "named", "note"),
    [pytest.param(m, s, e, n, note, id=case) for case, m, s, e, n, note in CASES],
)
def test_mutation(
    base: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    mutate: Callable[[Path], None],
    sample: str,
    exit_code: int,
    named: dict[str, str],
    note: str | None,
) -> None:
    # Given the exported, materialized notebook with one thing changed
    folder = tmp_path / "case"
    shutil.copytree(base, folder, symlinks=True)
    mutate(folder)
    capsys.readouterr()
    # When verified through the CLI
    code = main(
        [
            "verify",
            str(folder / NOTEBOOK),
            "--repo",
            str(folder / "feature_repo"),
            "--format",
            "json",
            "--sample",
            sample,
        ]
    )
    report = json.loads(capsys.readouterr().out)
    statuses = {v["name"]: v["status"] for v in report["views"]}
    # Then the exit code, and exactly the named views with their status (the others ok)
    assert code == exit_code, (statuses, [v["stale"] or v.get("error") for v in report["views"]])
    assert report["ok"] is (exit_code == 0)
    assert {n: s for n, s in statuses.items() if s != "ok"} == named, report["views"]
    for view in report["views"]:
        if view["status"] == "stale":
            assert all("nb2feast " in r or "source view" in r for r in view["stale"]), view["stale"]
    if note is not None:
        assert note in report["notes"], report["notes"]
