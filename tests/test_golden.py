"""Golden repositories: the example notebooks export to exactly the reviewed files.

After an intended change to the generated code, run `python tests/golden/regenerate.py`
and review the diff.
"""

from pathlib import Path

import pytest
from golden.regenerate import GOLDEN, HERE, export_example


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_example_exports_to_the_golden_repository(name: str, tmp_path: Path):
    repo = export_example(name, tmp_path)
    produced = {
        p.relative_to(repo).as_posix(): p.read_text() for p in repo.rglob("*") if p.is_file()
    }
    golden = {
        p.relative_to(HERE / name).as_posix(): p.read_text()
        for p in (HERE / name).rglob("*")
        if p.is_file()
    }
    assert sorted(produced) == sorted(golden)
    for path, text in golden.items():
        assert produced[path] == text, (
            f"{path} differs from tests/golden/{name}/{path}; regenerate and review"
        )
