"""A killed export leaves the previous repository or the new one, never a mix, and no debris
Feast would import: SIGKILL `nb2feast export` the moment it starts writing, many times."""

from __future__ import annotations

import ast
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from helpers import write_notebook

from nb2feast.cli import main

KILLS = 30
LOAD = 'import pandas as pd\ntx = pd.read_parquet("tx.parquet")'
SPEND = (
    "%%feature spend --entity customer_id --ttl 7d\n"
    'spend = tx.assign(amount_x2=lambda d: d["amount"] * 2)'
    '[["customer_id", "event_timestamp", "amount_x2"]]'
)
MORE = SPEND.replace("spend", "more").replace("amount_x2", "amount_x5").replace("* 2", "* 5")


def generated(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.relative_to(folder).as_posix().startswith("data/")
    }


def staging(folder: Path) -> list[str]:
    return [
        p.name for p in folder.iterdir() if p.name.startswith(".feature_repo.nb2feast-staging-")
    ]


def test_a_killed_export_leaves_all_old_or_all_new(tmp_path: Path):
    # Given a repository exported from the old notebook, with a registry beside it
    pd.DataFrame(
        {
            "customer_id": [1, 2],
            "event_timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
            "amount": [1.0, 2.0],
        }
    ).to_parquet(tmp_path / "tx.parquet")
    notebook = tmp_path / "nb.ipynb"
    out, new_ref = tmp_path / "feature_repo", tmp_path / "new_ref"
    write_notebook(notebook, LOAD, MORE.replace("* 5", "* 3"))
    assert main(["export", str(notebook), "--out", str(new_ref)]) == 0  # warms nothing; a shape
    write_notebook(notebook, LOAD, SPEND)
    assert main(["export", str(notebook), "--out", str(out)]) == 0
    (out / "data").mkdir()
    (out / "data" / "registry.db").write_bytes(b"registry")
    old = generated(out)
    pristine = tmp_path / "pristine"
    shutil.copytree(out, pristine)
    # And the new notebook: one view changed, one added, so a mix would show
    write_notebook(notebook, LOAD, SPEND.replace("* 2", "* 4"), MORE)
    shutil.rmtree(new_ref)
    assert main(["export", str(notebook), "--out", str(new_ref)]) == 0
    new = generated(new_ref)
    shutil.rmtree(new_ref)
    env = os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "nb2feast.cli", "export", str(notebook), "--out", str(out)]
    outcomes = {"old": 0, "new": 0}
    for attempt in range(KILLS):
        shutil.rmtree(out)
        shutil.copytree(pristine, out)
        # When export is killed the moment its staging folder appears (plus a random delay)
        dead = set(staging(tmp_path))  # what earlier kills left: the next run removes it
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        delay = attempt * 0.002 * random.Random(attempt).uniform(0.5, 1.5)  # 0 to ~0.09 s
        while process.poll() is None:
            if set(staging(tmp_path)) - dead:
                time.sleep(delay)
                break
            time.sleep(0.0005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        # Then the repository is all old or all new, its registry kept, no debris inside it
        now = generated(out)
        assert now in (old, new), f"kill {attempt}: a mix of old and new files"
        outcomes["old" if now == old else "new"] += 1
        assert (out / "data" / "registry.db").read_bytes() == b"registry"
        assert not [p for p in out.rglob("*nb2feast-staging*")]
        for path in out.rglob("*.py"):
            ast.parse(path.read_text())
    print(f"{KILLS} kills: {outcomes}")
    # And the next run removes what the killed ones left beside the repository
    assert main(["export", str(notebook), "--out", str(out)]) == 0
    assert generated(out) == new
    assert not [p for p in tmp_path.iterdir() if "nb2feast-staging" in p.name]


def test_two_concurrent_exports_to_one_folder_do_not_mix(tmp_path: Path):
    # Given two notebooks with different views, exported at the same moment into one folder
    pd.DataFrame(
        {
            "customer_id": [1, 2],
            "event_timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
            "amount": [1.0, 2.0],
        }
    ).to_parquet(tmp_path / "tx.parquet")
    first = write_notebook(tmp_path / "a.ipynb", LOAD, SPEND)
    second = write_notebook(tmp_path / "b.ipynb", LOAD, MORE)
    out = tmp_path / "feature_repo"
    env = os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "nb2feast.cli", "export", str(nb), "--out", str(out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for nb in (first, second)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in processes]
    # Then each waited for the other (or gave up with exit 2), and the repository is whole:
    # the later export kept the earlier notebook's view (each notebook owns its views)
    assert all(code in (0, 2) for code, _ in results), results
    assert all(code == 0 or "another nb2feast export" in err for code, err in results), results
    manifest = (out / "nb2feast.json").read_text()
    views = {name for name in ("spend", "more") if f'"name": "{name}"' in manifest}
    assert views == {"spend", "more"} or [c for c, _ in results].count(0) == 1
    for path in out.rglob("*.py"):
        ast.parse(path.read_text())
    assert not [p for p in tmp_path.iterdir() if "nb2feast-staging" in p.name]
