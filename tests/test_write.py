"""write: all-or-nothing, locked, never losing a hand edit or another notebook's views."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_notebook

from nb2feast.cli import main
from nb2feast.repo import write

LOAD = 'import pandas as pd\ntx = pd.read_parquet("tx.parquet")'
SPEND = (
    "%%feature spend --entity customer_id --ttl 7d\n"
    'spend = tx.assign(amount_x2=lambda d: d["amount"] * 2)'
    '[["customer_id", "event_timestamp", "amount_x2"]]'
)
ORDERS = SPEND.replace("spend", "orders").replace("amount_x2", "amount_x3")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "event_timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
            "amount": [10.0, 20.0, 5.0],
        }
    ).to_parquet(tmp_path / "tx.parquet")
    write_notebook(tmp_path / "churn.ipynb", LOAD, SPEND)
    write_notebook(tmp_path / "orders.ipynb", LOAD, ORDERS)
    return tmp_path


def export(*argv: str) -> int:
    return main(["export", *argv])


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_files_nb2feast_does_not_own_survive_and_no_staging_is_left(project: Path):
    # Given an exported repository holding feature tables, a registry and a file of the user's
    out = project / "feature_repo"
    assert export(str(project / "churn.ipynb"), "--out", str(out)) == 0
    (out / "data").mkdir()
    (out / "data" / "registry.db").write_bytes(b"registry")
    (out / "notes.txt").write_text("mine")
    # When the notebook changes and is exported again
    write_notebook(project / "churn.ipynb", LOAD, SPEND.replace("* 2", "* 4"))
    assert export(str(project / "churn.ipynb"), "--out", str(out)) == 0
    # Then the new code is there, the user's files are untouched, nothing else is left around
    assert "* 4" in (out / "transforms" / "spend.py").read_text()
    assert (out / "data" / "registry.db").read_bytes() == b"registry"
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in project.iterdir()) == [
        "churn.ipynb",
        "feature_repo",
        "orders.ipynb",
        "tx.parquet",
    ]


def test_a_dead_runs_staging_is_removed_by_the_next_run(project: Path):
    # Given the staging folder a killed export left beside the repository
    out = project / "feature_repo"
    dead = project / ".feature_repo.nb2feast-staging-dead"
    (dead / "transforms").mkdir(parents=True)
    (dead / "definitions.py").write_text("raise SystemExit('stale staging imported')\n")
    # When the next export runs
    assert export(str(project / "churn.ipynb"), "--out", str(out)) == 0
    # Then it is gone
    assert not dead.exists()


def test_a_second_export_waits_for_the_lock_then_exits_2(project: Path, monkeypatch, capsys):
    # Given an export holding the repository's lock
    out = project / "feature_repo"
    monkeypatch.setattr(write, "LOCK_WAIT_SECONDS", 0.2)
    with write.locked(out.resolve()):
        # When another export of the same folder starts
        code = export(str(project / "churn.ipynb"), "--out", str(out))
    # Then it exits 2 saying why, having written nothing
    assert code == 2
    assert "another nb2feast export is writing" in capsys.readouterr().err
    assert not out.exists()


def test_a_hand_edited_manifest_is_not_overwritten_without_force(project: Path, capsys):
    out = project / "feature_repo"
    assert export(str(project / "churn.ipynb"), "--out", str(out)) == 0
    # Given a manifest edited by hand
    manifest = json.loads((out / "nb2feast.json").read_text())
    manifest["project"] = "renamed"
    (out / "nb2feast.json").write_text(json.dumps(manifest, indent=2) + "\n")
    write_notebook(project / "churn.ipynb", LOAD, SPEND.replace("* 2", "* 4"))
    # When exported again: refused, nothing changed
    before = tree(out)
    assert export(str(project / "churn.ipynb"), "--out", str(out)) == 2
    assert "nb2feast.json" in capsys.readouterr().err
    assert tree(out) == before
    # And with --force it is overwritten
    assert export(str(project / "churn.ipynb"), "--out", str(out), "--force") == 0
    assert "* 4" in (out / "transforms" / "spend.py").read_text()


def test_a_hand_edited_transform_of_a_renamed_view_is_kept_without_force(project: Path, capsys):
    out = project / "feature_repo"
    assert export(str(project / "churn.ipynb"), "--out", str(out)) == 0
    # Given a hand edit to the transform of view `spend`
    edited = out / "transforms" / "spend.py"
    edited.write_text(edited.read_text() + "# my tweak\n")
    # When the view is renamed in the notebook and exported
    write_notebook(project / "churn.ipynb", LOAD, SPEND.replace("spend", "spend_v2"))
    assert export(str(project / "churn.ipynb"), "--out", str(out)) == 2
    # Then the edited file is neither deleted nor is anything else written
    assert "transforms/spend.py" in capsys.readouterr().err
    assert edited.read_text().endswith("# my tweak\n")
    assert not (out / "transforms" / "spend_v2.py").exists()
    # And --force deletes it
    assert export(str(project / "churn.ipynb"), "--out", str(out), "--force") == 0
    assert not edited.exists() and (out / "transforms" / "spend_v2.py").exists()


def test_each_notebook_owns_its_views_in_a_shared_repository(project: Path, capsys):
    # Given orders.ipynb exported into the repository
    out = project / "feature_repo"
    assert export(str(project / "orders.ipynb"), "--out", str(out)) == 0
    # When churn.ipynb is exported into the same repository
    assert export(str(project / "churn.ipynb"), "--out", str(out), "--format", "json") == 0
    capsys.readouterr()
    # Then orders' view, transform and manifest entries are still there
    manifest = json.loads((out / "nb2feast.json").read_text())
    assert sorted((v["name"], v["notebook"]) for v in manifest["views"]) == [
        ("orders", "../orders.ipynb"),
        ("spend", "../churn.ipynb"),
    ]
    assert manifest["project"] == "orders"
    assert (out / "transforms" / "orders.py").exists()
    assert 'name="orders"' in (out / "definitions.py").read_text()
    # And a view name used by both notebooks is exit 2
    write_notebook(project / "churn.ipynb", LOAD, ORDERS)
    assert export(str(project / "churn.ipynb"), "--out", str(out)) == 2
    assert "view 'orders' is defined twice" in capsys.readouterr().err


def test_a_neighbour_notebook_that_is_gone_needs_force(project: Path, capsys):
    out = project / "feature_repo"
    assert export(str(project / "orders.ipynb"), "--out", str(out)) == 0
    os.remove(project / "orders.ipynb")
    assert export(str(project / "churn.ipynb"), "--out", str(out)) == 2
    assert "orders.ipynb" in capsys.readouterr().err
    assert export(str(project / "churn.ipynb"), "--out", str(out), "--force") == 0
    assert not (out / "transforms" / "orders.py").exists()


@pytest.mark.parametrize("kind", ["file", "unwritable"])
def test_out_that_cannot_be_a_repository_exits_2(project: Path, capsys, kind: str):
    if kind == "file":
        out = project / "tx.parquet"
    else:
        out = Path("/proc/nb2feast-cannot-write")
    assert export(str(project / "churn.ipynb"), "--out", str(out)) == 2
    err = capsys.readouterr().err
    # Then one line says why, before any of the notebook's code ran
    assert err.startswith("nb2feast: error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 2  # the message and its fix


def test_a_symlinked_transforms_folder_is_never_written_through(project: Path, tmp_path: Path):
    # Given a repository whose transforms/ the user replaced by a link to a folder elsewhere
    out = project / "feature_repo"
    assert export(str(project / "churn.ipynb"), "--out", str(out)) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    os.rename(out / "transforms", tmp_path / "old_transforms")
    (out / "transforms").symlink_to(elsewhere, target_is_directory=True)
    # When exported again
    assert export(str(project / "churn.ipynb"), "--out", str(out), "--force") == 0
    # Then the generated modules are in a real folder and the linked folder is untouched
    assert not (out / "transforms").is_symlink()
    assert (out / "transforms" / "spend.py").is_file()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
