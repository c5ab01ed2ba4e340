"""Regenerate the golden repositories: python tests/golden/regenerate.py (then review the diff).

Each golden folder is `nb2feast export` of an example notebook into `<folder>/feature_repo`
layout (a repository beside the notebook), with the recorded sidecar types.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from helpers import copy_example  # noqa: E402

from nb2feast.repo.export import export_notebooks  # noqa: E402

GOLDEN = {"churn": "churn.ipynb"}


def export_example(name: str, into: Path) -> Path:
    notebook = copy_example(into, GOLDEN[name])
    export_notebooks([notebook], into / "feature_repo")
    return into / "feature_repo"


def main() -> None:
    for name in GOLDEN:
        with tempfile.TemporaryDirectory() as tmp:
            repo = export_example(name, Path(tmp))
            target = HERE / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(repo, target)
            print(f"wrote {target}")


if __name__ == "__main__":
    main()
