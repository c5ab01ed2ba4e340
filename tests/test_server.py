"""The `/nb2feast/` endpoints, through a real Jupyter server (pytest-jupyter's jp_fetch)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
import types
from pathlib import Path

import nbformat
import pytest

import nb2feast
from nb2feast.errors import UserError
from nb2feast.model import CellRef, Hazard, ParityCheck, ParityFeature, ParityReport, ViewParity
from nb2feast.server import core

pytest_plugins = ["pytest_jupyter.jupyter_server"]

FEATURE_CELL = """%%feature customer_stats --entity customer_id
customer_stats = orders.groupby("customer_id", as_index=False).agg(total=("amount", "sum"))
customer_stats["event_timestamp"] = pd.Timestamp("2024-01-01", tz="UTC")"""


def write_notebook(path: Path, *sources: str) -> Path:
    """A notebook whose code cells hold `sources`, with stable cell ids."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, id=f"cell{i}") for i, src in enumerate(sources)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


class FakePipeline:
    """Stands in for nb2feast.export / nb2feast.verify; records what it was asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Path]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.export_error: UserError | None = None

    def feature_cell_summaries(self, notebook: Path) -> list[dict]:
        self.calls.append(("summaries", notebook))
        cells = nbformat.read(notebook, as_version=4).cells
        return [
            {
                "name": cell.source.split()[1],
                "kind": "batch",
                "entities": ["customer_id"],
                "features": [{"name": "total", "dtype": "float64"}],
                "hazards": [],
                "cell_index": index,
                "cell_id": cell.id,
            }
            for index, cell in enumerate(cells)
            if cell.source.startswith("%%feature")
        ]

    def repo_status(self, notebook: Path, repo: Path) -> str:
        return "exported" if (repo / "definitions.py").exists() else "not exported"

    def export_notebooks(self, notebooks, out: Path, **_: object) -> types.SimpleNamespace:
        self.calls.append(("export", notebooks[0]))
        self.started.set()
        self.release.wait(10)
        if self.export_error:
            raise self.export_error
        out.mkdir(parents=True, exist_ok=True)
        (out / "definitions.py").write_text("# generated\n")
        (out / "feature_store.yaml").write_text("project: test\n")
        hazard = Hazard(
            "NB2F201", "nondeterministic", "warning", 1, "cell1", 2, 4, "now()", "pass a time"
        )
        return types.SimpleNamespace(
            ok=True,
            files=("definitions.py", "feature_store.yaml"),
            stale=(),
            hazards=(hazard,),
            views=(),
        )

    def verify_notebook(self, notebook: Path, repo: Path, **_: object) -> ParityReport:
        self.calls.append(("verify", notebook))
        feature = ParityFeature("total", False, 3, 0, 1.5, "float64", "float64")
        check = ParityCheck("offline", 10, 10, (feature,))
        return ParityReport(
            str(notebook), str(repo), (ViewParity("customer_stats", "batch", (check,)),)
        )


@pytest.fixture
def jp_server_config() -> dict:
    return {"ServerApp": {"jpserver_extensions": {"nb2feast": True}}}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakePipeline:
    """The pipeline entry points replaced by a recording fake."""
    pipeline = FakePipeline()
    export = types.ModuleType("nb2feast.export")
    verify = types.ModuleType("nb2feast.verify")
    for name in ("feature_cell_summaries", "repo_status", "export_notebooks"):
        setattr(export, name, getattr(pipeline, name))
    verify.verify_notebook = pipeline.verify_notebook
    for name, module in (("export", export), ("verify", verify)):
        monkeypatch.setitem(__import__("sys").modules, f"nb2feast.{name}", module)
        monkeypatch.setattr(nb2feast, name, module, raising=False)
    monkeypatch.setattr(core, "apply_repo", lambda repo: pipeline.calls.append(("apply", repo)))
    monkeypatch.setattr(
        core,
        "run_verify",
        lambda target: pipeline.verify_notebook(target.notebook, target.repo).to_dict(),
    )
    return pipeline


@pytest.fixture
def notebook(jp_root_dir: Path) -> Path:
    return write_notebook(jp_root_dir / "proj" / "churn.ipynb", "import pandas as pd", FEATURE_CELL)


async def fetch_json(jp_fetch, *parts: str, **kwargs) -> tuple[int, dict]:
    response = await jp_fetch(*parts, raise_error=False, **kwargs)
    return response.code, json.loads(response.body or b"{}")


async def promote(jp_fetch, body: dict, timeout: float = 20) -> tuple[int, dict]:
    return await fetch_json(
        jp_fetch,
        "nb2feast",
        "promote",
        method="POST",
        body=json.dumps(body),
        request_timeout=timeout,
    )


async def test_cells_lists_feature_cells_before_export(jp_fetch, fake, notebook) -> None:
    code, body = await fetch_json(
        jp_fetch, "nb2feast", "cells", params={"path": "proj/churn.ipynb"}
    )

    assert code == 200
    assert body["repo"] == "proj/feature_repo"
    assert body["repo_status"] == "not exported"
    assert [(c["name"], c["cell_id"], c["status"]) for c in body["cells"]] == [
        ("customer_stats", "cell1", "not exported")
    ]


async def test_promote_exports_verifies_and_keeps_the_report(jp_fetch, fake, notebook) -> None:
    code, body = await promote(jp_fetch, {"path": "proj/churn.ipynb"})

    assert code == 200
    assert body["ok"] is False
    assert body["files"] == [
        "proj/feature_repo/definitions.py",
        "proj/feature_repo/feature_store.yaml",
    ]
    assert body["report"]["views"][0]["checks"][0]["features"][0]["mismatches"] == 3
    assert body["hazards"][0]["code"] == "NB2F201"
    assert (notebook.parent / "feature_repo" / ".nb2feast" / "last_report.json").is_file()

    code, cells = await fetch_json(
        jp_fetch, "nb2feast", "cells", params={"path": "proj/churn.ipynb"}
    )
    assert cells["cells"][0]["status"] == "mismatch"
    assert cells["report"]["ok"] is False


async def test_promote_reports_user_errors_with_their_position(jp_fetch, fake, notebook) -> None:
    where = CellRef(str(notebook), 1, "cell1")
    fake.export_error = UserError(
        "orders is never loaded", where=where, line=2, fix="load it with pd.read_parquet"
    )

    code, body = await promote(jp_fetch, {"path": "proj/churn.ipynb"})

    assert code == 400
    expected = {
        "message": "orders is never loaded",
        "notebook": "proj/churn.ipynb",
        "cell_index": 1,
        "cell_id": "cell1",
        "line": 2,
        "fix": "load it with pd.read_parquet",
    }
    assert body["error"].items() >= expected.items()


async def test_promote_of_an_unknown_cell_is_refused(jp_fetch, fake, notebook) -> None:
    code, body = await promote(jp_fetch, {"path": "proj/churn.ipynb", "cell_id": "nope"})

    assert code == 400
    assert "nope" in body["error"]["message"]
    assert ("export", notebook) not in fake.calls


async def test_second_promote_while_one_runs_is_409(jp_fetch, fake, notebook) -> None:
    fake.release.clear()
    first = asyncio.ensure_future(promote(jp_fetch, {"path": "proj/churn.ipynb"}))
    await asyncio.to_thread(fake.started.wait, 10)

    second_code, second = await promote(jp_fetch, {"path": "proj/churn.ipynb"})
    fake.release.set()
    first_code, _ = await first

    assert second_code == 409
    assert "already running" in second["error"]["message"]
    assert first_code == 200
    assert [call for call, _ in fake.calls].count("export") == 1


@pytest.mark.parametrize("verb", ["GET", "POST"])
async def test_endpoints_need_a_token(jp_fetch, fake, notebook, verb: str) -> None:
    kwargs = (
        {"params": {"path": "proj/churn.ipynb"}}
        if verb == "GET"
        else {"body": json.dumps({"path": "proj/churn.ipynb"})}
    )
    endpoint = "cells" if verb == "GET" else "promote"

    response = await jp_fetch(
        "nb2feast",
        endpoint,
        method=verb,
        headers={"Authorization": ""},
        raise_error=False,
        **kwargs,
    )

    assert response.code == 403
    assert fake.calls == []
    assert not (notebook.parent / "feature_repo").exists()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A notebook outside the server root (jp_root_dir is tmp_path/root_dir)."""
    return write_notebook(tmp_path / "outside" / "secret.ipynb", FEATURE_CELL)


def escaping_paths(root: Path, outside: Path) -> dict[str, str]:
    (root / "link.ipynb").symlink_to(outside)
    (root / "linkdir").symlink_to(outside.parent, target_is_directory=True)
    return {
        "dotdot": "../outside/secret.ipynb",
        "nested_dotdot": "proj/../../outside/secret.ipynb",
        "absolute": str(outside),
        "symlink_file": "link.ipynb",
        "symlink_dir": "linkdir/secret.ipynb",
    }


@pytest.mark.parametrize(
    "kind", ["dotdot", "nested_dotdot", "absolute", "symlink_file", "symlink_dir"]
)
@pytest.mark.parametrize("verb", ["GET", "POST"])
async def test_paths_leaving_the_root_are_refused(
    jp_fetch, jp_root_dir, fake, outside, kind, verb
) -> None:
    path = escaping_paths(jp_root_dir, outside)[kind]

    if verb == "GET":
        code, body = await fetch_json(jp_fetch, "nb2feast", "cells", params={"path": path})
    else:
        code, body = await promote(jp_fetch, {"path": path})

    assert 400 <= code < 500
    assert body["error"]["message"]
    assert fake.calls == []
    assert not (outside.parent / "feature_repo").exists()
    assert not (jp_root_dir / "feature_repo").exists()


async def test_a_feature_repo_symlinked_out_of_the_root_is_refused(
    jp_fetch, fake, notebook, tmp_path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (notebook.parent / "feature_repo").symlink_to(elsewhere, target_is_directory=True)

    code, _ = await promote(jp_fetch, {"path": "proj/churn.ipynb"})

    assert code == 403
    assert fake.calls == []
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    ("path", "code"), [("", 400), ("proj/missing.ipynb", 404), ("proj/notes.txt", 400)]
)
async def test_bad_paths_inside_the_root(jp_fetch, fake, notebook, path, code) -> None:
    (notebook.parent / "notes.txt").write_text("hi")

    got, body = await fetch_json(jp_fetch, "nb2feast", "cells", params={"path": path})

    assert got == code
    assert body["error"]["message"]


REAL_PIPELINE = all(
    importlib.util.find_spec(f"nb2feast.{m}") for m in ("export", "verify", "magic")
)


def write_tiny_project(folder: Path) -> Path:
    """A notebook with one batch feature cell over a three-row parquet file."""
    import pandas as pd

    folder.mkdir(parents=True)
    orders = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "amount": [10.0, 5.0, 7.5],
            "event_timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02"], utc=True),
        }
    )
    orders.to_parquet(folder / "orders.parquet")
    feature = """%%feature customer_total --entity customer_id
customer_total = orders.groupby("customer_id", as_index=False).agg(
    total=("amount", "sum"), event_timestamp=("event_timestamp", "max")
)"""
    return write_notebook(
        folder / "tiny.ipynb",
        "%load_ext nb2feast\nimport pandas as pd",
        'orders = pd.read_parquet("orders.parquet")',
        feature,
    )


@pytest.mark.feast
@pytest.mark.skipif(not REAL_PIPELINE, reason="nb2feast.export, .verify or .magic not written yet")
async def test_promote_with_the_real_pipeline(jp_fetch, jp_root_dir) -> None:
    write_tiny_project(jp_root_dir / "tiny")

    code, cells = await fetch_json(
        jp_fetch, "nb2feast", "cells", params={"path": "tiny/tiny.ipynb"}
    )
    assert code == 200, cells
    assert [c["name"] for c in cells["cells"]] == ["customer_total"]

    code, body = await promote(jp_fetch, {"path": "tiny/tiny.ipynb"}, timeout=600)
    assert code == 200, body
    assert body["report"]["ok"] is True, body["report"]
    assert "tiny/feature_repo/definitions.py" in body["files"]

    code, cells = await fetch_json(
        jp_fetch, "nb2feast", "cells", params={"path": "tiny/tiny.ipynb"}
    )
    assert cells["cells"][0]["status"] == "parity ok"


@pytest.mark.parametrize("verb", ["GET", "POST"])
async def test_a_5000_character_path_is_a_4xx_without_server_paths(
    jp_fetch, jp_root_dir, fake, notebook, verb
) -> None:
    path = "proj/" + "a" * 5000 + ".ipynb"
    if verb == "GET":
        code, body = await fetch_json(jp_fetch, "nb2feast", "cells", params={"path": path})
    else:
        code, body = await promote(jp_fetch, {"path": path})
    assert 400 <= code < 500
    assert str(jp_root_dir) not in json.dumps(body)
    assert fake.calls == []


@pytest.mark.parametrize(
    "body", [{"path": "proj/churn.ipynb", "cell_id": ["x"]}, {"path": ["proj/churn.ipynb"]}]
)
async def test_a_promote_body_of_the_wrong_shape_is_400(jp_fetch, fake, notebook, body) -> None:
    code, answer = await promote(jp_fetch, body)
    assert code == 400
    assert "must be strings" in answer["error"]["message"]
    assert fake.calls == []


async def test_user_errors_never_name_the_servers_absolute_paths(
    jp_fetch, jp_root_dir, fake, notebook
) -> None:
    # Given an error that names the notebook and the repository by absolute path
    where = str(notebook.resolve())
    message = f"cannot write {notebook.parent.resolve()}/feature_repo"
    fake.export_error = UserError(message, where=where)
    # When promoting
    code, body = await promote(jp_fetch, {"path": "proj/churn.ipynb"})
    # Then the 400 names them relative to the root
    assert code == 400
    assert str(jp_root_dir.resolve()) not in json.dumps(body)
    assert body["error"]["notebook"] == "proj/churn.ipynb"
    assert body["error"]["message"] == "cannot write proj/feature_repo"


@pytest.mark.skipif(not REAL_PIPELINE, reason="nb2feast.export not written yet")
async def test_listing_cells_never_runs_notebook_code(jp_fetch, jp_root_dir) -> None:
    import os

    import pandas as pd

    # Given a notebook without recorded types, whose loading code leaves a marker when run
    folder = jp_root_dir / "proj"
    folder.mkdir()
    pd.DataFrame(
        {
            "customer_id": [1],
            "amount": [1.0],
            "event_timestamp": pd.to_datetime(["2024-01-01"], utc=True),
        }
    ).to_parquet(folder / "orders.parquet")
    write_notebook(
        folder / "nb.ipynb",
        "import pathlib\nimport pandas as pd",
        'orders = pd.read_parquet("orders.parquet") if not pathlib.Path("ran").touch() else None',
        "%%feature spend --entity customer_id\nspend = orders",
    )
    (folder / "feature_repo").mkdir()
    (folder / "feature_repo" / "nb2feast.json").write_text('{"views": []}')
    cwd = os.getcwd()
    # When the panel lists its cells (also with a repository to compare against)
    code, body = await fetch_json(jp_fetch, "nb2feast", "cells", params={"path": "proj/nb.ipynb"})
    # Then nothing ran: no marker, the server's working directory unchanged
    assert code == 200, body
    assert body["repo_status"] == "stale"
    assert not (folder / "ran").exists()
    assert os.getcwd() == cwd


def test_apply_repo_runs_in_a_child_process_and_fails_in_one_line(tmp_path: Path) -> None:
    import os

    cwd = os.getcwd()
    with pytest.raises(UserError) as refused:
        core.apply_repo(tmp_path)
    assert "not an nb2feast repository" in refused.value.message
    assert os.getcwd() == cwd


@pytest.mark.parametrize("verb", ["GET", "POST"])
async def test_a_manifest_naming_a_notebook_outside_the_root_is_refused(
    jp_fetch, fake, notebook, outside, verb
) -> None:
    # Given a shared repository whose manifest names a notebook outside the server root
    repo = notebook.parent / "feature_repo"
    repo.mkdir()
    (repo / "nb2feast.json").write_text(json.dumps({"notebooks": [str(outside)], "views": []}))
    # When the notebook beside it is listed or promoted
    if verb == "GET":
        code, body = await fetch_json(
            jp_fetch, "nb2feast", "cells", params={"path": "proj/churn.ipynb"}
        )
    else:
        code, body = await promote(jp_fetch, {"path": "proj/churn.ipynb"})
    # Then it is refused before anything is read or written
    assert code == 403
    assert "outside the server root" in body["error"]["message"]
    assert fake.calls == []
