"""Notebook text is data, never code: every field of a notebook that reaches a generated
file is escaped there, or the export is refused (exit 2). Never a traceback."""

from __future__ import annotations

import ast
import json
import os
import shlex
import tempfile
from pathlib import Path

import nbformat
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nb2feast.cli import main
from nb2feast.notebook.read import read_notebook
from nb2feast.notebook.select import select_feature_cells
from nb2feast.repo.export import sidecar_key
from nb2feast.repo.infer import sidecar_path

MARKER = "NB2FEAST_PWNED"
RUN = f"__import__('pathlib').Path('{MARKER}').touch()"
BREAKS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\x1d", "\x1e"]
PAYLOADS = [
    *(f"x{brk}{RUN}" for brk in BREAKS),
    f"x\x00{RUN}",
    f'"""\n{RUN}\n"""',
    f"'''\n{RUN}\n'''",
    f'"); {RUN}; ("',
    f"\\\n{RUN}",
    "x\\",
    '"',
    "\ud800",
    "\udfff x",
    "a" * 5000,
    "{project}",
    "${HOME}",
    "key: value\nproject: evil",
    "- a\n- b",
    "# -*- coding: latin-1 -*-",
    "\t",
    "",
    " ",
    "%%feature",
    "nb2feast-sha256: 0",
    "\x1b[31mred",
    "\u202e evil",
    "\ufeff",
]
FIELDS = [
    "cell_id",
    "notebook",
    "description",
    "owner",
    "tag_key",
    "tag_value",
    "timestamp",
    "column",
    "dtype",
]


def make_project(folder: Path, field: str, value: str) -> tuple[Path, Path]:
    """A notebook with one batch view whose `field` holds `value`, and fresh recorded
    types (so export runs no code); returns (notebook, out)."""
    flags = {
        "description": f"--description {shlex.quote(value)}",
        "owner": f"--owner {shlex.quote(value)}",
        "tag_key": f"--tag {shlex.quote(value + '=v')}",
        "tag_value": f"--tag {shlex.quote('k=' + value)}",
        "timestamp": f"--timestamp {shlex.quote(value)}",
    }.get(field, "")
    column = value if field == "column" else "amount_x2"
    name = value if field == "notebook" else "nb"
    notebook = folder / f"{name}.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('import pandas as pd\ntx = pd.read_parquet("tx.parquet")'),
        nbformat.v4.new_code_cell(f"%%feature spend --entity customer_id {flags}\nspend = tx"),
    ]
    nb.cells[0]["id"] = "c0"
    nb.cells[1]["id"] = value if field == "cell_id" else "c1"
    notebook.write_text(json.dumps(nb), encoding="utf-8", errors="surrogatepass")
    try:
        cells = select_feature_cells(read_notebook(notebook))
    except Exception:  # noqa: BLE001 - the export itself must refuse it: tested there
        return notebook, folder / "repo"
    if cells:
        dtype = value if field == "dtype" else "float64"
        views = {
            "spend": {
                "cell_hash": sidecar_key(cells[0]),
                "kind": "batch",
                "features": [column],
                "dtypes": {"customer_id": "int64", column: dtype},
                "feast_types": {"customer_id": "Int64", column: "Float64"},
            }
        }
        text = json.dumps({"nb2feast": 1, "views": views})
        sidecar_path(notebook).write_text(text, encoding="utf-8")
    return notebook, folder / "repo"


def possible_file_name(text: str) -> bool:
    try:
        encoded = os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return (
        "/" not in text
        and "\x00" not in text
        and text.strip() not in ("", ".", "..")
        and len(encoded) < 200
    )


def blank_strings(tree: ast.AST) -> str:
    """The module's code with every string constant emptied: what would run."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


def export_and_check(folder: Path, field: str, value: str, capsys) -> int:
    """Export; exit 0 means every file is sound and holds `value` only as data."""
    notebook, out = make_project(folder, field, value)
    code = main(["export", str(notebook), "--out", str(out), "--no-exec"])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        assert err.startswith("nb2feast: error: ") and len(err.strip().splitlines()) <= 2, err
        return code
    baseline_folder = folder / "baseline"
    baseline_folder.mkdir()
    base_notebook, base_out = make_project(baseline_folder, field, "x" if value else "")
    assert main(["export", str(base_notebook), "--out", str(base_out), "--no-exec"]) == 0
    capsys.readouterr()
    for path in out.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "\x00" not in text
        relative = path.relative_to(out)
        # Same code as with a harmless value: the value changed string constants only
        expected = (base_out / relative).read_text(encoding="utf-8")
        assert blank_strings(ast.parse(text)) == blank_strings(ast.parse(expected)), relative
        # And no line break but LF anywhere: tokenizer, splitlines() and editors agree
        assert text.splitlines() == text.split("\n")[:-1], relative
    config = yaml.safe_load((out / "feature_store.yaml").read_text())
    assert (
        config["project"]
        == yaml.safe_load((base_out / "feature_store.yaml").read_text())["project"]
        or field == "notebook"
    )
    manifest = json.loads((out / "nb2feast.json").read_text())
    if field == "column":
        assert manifest["views"][0]["features"][0]["name"] == value
    if field == "dtype":
        assert manifest["views"][0]["features"][0]["dtype"] == value
    assert not list(folder.rglob(MARKER))
    return code


@pytest.mark.parametrize("field", FIELDS)
def test_injection_corpus_is_escaped_or_refused(tmp_path: Path, capsys, field: str):
    outcomes = {0: 0, 2: 0}
    for number, payload in enumerate(PAYLOADS):
        if field == "notebook" and not possible_file_name(payload):
            continue
        folder = tmp_path / str(number)
        folder.mkdir()
        outcomes[export_and_check(folder, field, payload, capsys)] += 1
    with capsys.disabled():
        print(f"\n{field}: {len(PAYLOADS)} payloads, exit 0 (escaped) / exit 2: {outcomes}")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(FIELDS), value=st.text(max_size=40))
def test_arbitrary_text_in_any_field_is_escaped_or_refused(capsys, field: str, value: str):
    if field == "notebook" and not possible_file_name(value):
        value = "nb"
    with tempfile.TemporaryDirectory() as folder:
        export_and_check(Path(folder), field, value, capsys)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("def --entity k", "view name 'def' is a Python keyword"),
        ("lambda --entity k", "view name 'lambda' is a Python keyword"),
        ("None --entity k", "view name 'None' is a Python keyword"),
        ("match --entity k", "view name 'match' is a Python keyword"),
        ("Field --entity k", "view name 'Field' is a name the generated code imports or defines"),
        ("__init__ --entity k", "starts with __"),
        ("v" * 300 + " --entity k", "is 300 characters long"),
        ("spend --entity k --ttl 99999999999d", "longer than 100 years"),
        ("spend --entity k --ttl " + "9" * 5000, "malformed --ttl"),
    ],
)
def test_names_and_ttls_that_cannot_be_generated_exit_2(tmp_path: Path, capsys, flags, message):
    notebook = tmp_path / "nb.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"%%feature {flags}\nx = 1")]
    nb.cells[0]["id"] = "c0"
    nbformat.write(nb, notebook)
    out = tmp_path / "repo"
    assert main(["export", str(notebook), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "nb.ipynb: cell 0 (id c0), line 1" in err
    assert not out.exists()


def test_entity_keys_named_like_keywords_or_imports_get_safe_variables(tmp_path: Path, capsys):
    for key in ("import_id", "Field", "class", "timedelta_id"):
        folder = tmp_path / key
        folder.mkdir()
        notebook = folder / "nb.ipynb"
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_code_cell('import pandas as pd\ntx = pd.read_parquet("tx.parquet")'),
            nbformat.v4.new_code_cell(f"%%feature spend --entity {key}\nspend = tx"),
        ]
        nbformat.write(nb, notebook)
        cells = select_feature_cells(read_notebook(notebook))
        views = {
            "spend": {
                "cell_hash": sidecar_key(cells[0]),
                "features": ["f"],
                "dtypes": {"f": "float64"},
                "feast_types": {"f": "Float64", key: "Int64"},
            }
        }
        sidecar_path(notebook).write_text(json.dumps({"views": views}))
        assert main(["export", str(notebook), "--out", str(folder / "repo")]) == 0, (
            capsys.readouterr()
        )
        tree = ast.parse((folder / "repo" / "definitions.py").read_text())
        assigned = [t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets]
        imported = {
            a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names
        }
        assert not set(assigned) & imported and len(assigned) == len(set(assigned)), key


def test_a_sidecar_claiming_an_unknown_feast_type_exits_2(tmp_path: Path, capsys):
    notebook, out = make_project(tmp_path, "column", "amount")
    recorded = json.loads(sidecar_path(notebook).read_text())
    recorded["views"]["spend"]["feast_types"]["amount"] = "os"
    sidecar_path(notebook).write_text(json.dumps(recorded))
    assert main(["export", str(notebook), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown Feast type 'os'" in err and "cell 1 (id c1)" in err
    assert not out.exists()


def test_a_project_name_that_is_not_a_feast_name_exits_2(tmp_path: Path, capsys):
    notebook, out = make_project(tmp_path, "column", "amount")
    assert main(["export", str(notebook), "--out", str(out), "--project", "a\nb: c"]) == 2
    assert "is not a Feast project name" in capsys.readouterr().err


@pytest.mark.feast
def test_feast_apply_and_importing_the_transforms_run_no_payload(tmp_path: Path):
    import subprocess
    import sys

    # Given a notebook whose name, cell id, flags and column carry code after line breaks
    name = f"x\r{RUN}"
    notebook = tmp_path / f"{name}.ipynb"
    flags = (
        f"--description {shlex.quote(chr(13) + RUN)} --owner {shlex.quote(chr(0x2028) + RUN)} "
        f"--tag {shlex.quote('k=' + chr(0x85) + RUN)}"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('import pandas as pd\ntx = pd.read_parquet("tx.parquet")'),
        nbformat.v4.new_code_cell(f"%%feature spend --entity customer_id {flags}\nspend = tx"),
    ]
    nb.cells[0]["id"], nb.cells[1]["id"] = "c0", f"c1\n{RUN}"
    notebook.write_text(json.dumps(nb))
    column = f"amount\n{RUN}"
    cells = select_feature_cells(read_notebook(notebook))
    views = {
        "spend": {
            "cell_hash": sidecar_key(cells[0]),
            "features": [column],
            "dtypes": {column: "float64"},
            "feast_types": {column: "Float64", "customer_id": "Int64"},
        }
    }
    sidecar_path(notebook).write_text(json.dumps({"views": views}))
    out = tmp_path / "feature_repo"
    assert main(["export", str(notebook), "--out", str(out), "--no-exec"]) == 0
    # When Feast applies the repository and every transform module is imported
    apply = subprocess.run(
        [sys.executable, "-m", "feast.cli.cli", "-c", str(out), "apply"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    importer = (
        "import importlib, pathlib, sys\n"
        f"sys.path.insert(0, {str(out)!r})\n"
        "for path in sorted(pathlib.Path('transforms').glob('*.py')):\n"
        "    importlib.import_module('transforms.' + path.stem.replace('__init__', '')[:99] "
        "if path.stem != '__init__' else 'transforms')\n"
    )
    imported = subprocess.run(
        [sys.executable, "-c", importer], cwd=out, capture_output=True, text=True, check=False
    )
    # Then both succeed and no payload ran
    assert apply.returncode == 0, apply.stderr[-2000:]
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert not list(tmp_path.rglob(MARKER))


def _nb(*cells: dict, **top: object) -> str:
    body = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": list(cells)} | top
    return json.dumps(body)


def _code(source: object, cell_id: object = "c0", **extra: object) -> dict:
    return {
        "cell_type": "code",
        "id": cell_id,
        "source": source,
        "metadata": {},
        "outputs": [],
        "execution_count": None,
    } | extra


FEATURE = "%%feature spend --entity customer_id\nspend = tx"
ODD_NOTEBOOKS = {
    "nul_in_cell": _nb(_code("x = 1\ny = '\x00'")),
    "surrogate_in_cell": _nb(_code("x = 1\ny = '\ud800'")),
    "source_null": _nb(_code(None)),
    "source_number": _nb(_code(5)),
    "source_list_of_numbers": _nb(_code([1, 2])),
    "no_source_key": _nb({"cell_type": "code", "id": "c0", "metadata": {}, "outputs": []}),
    "cells_not_a_list": _nb(cells={}),
    "cell_is_a_string": _nb("print(1)"),
    "cell_id_number": _nb(_code(FEATURE, cell_id=5)),
    "cell_id_newline": _nb(_code(FEATURE, cell_id=f"a\n{RUN}")),
    "duplicate_cell_ids": _nb(_code("tx = 1", "c0"), _code(FEATURE, "c0")),
    "metadata_null": _nb(_code(FEATURE), metadata=None),
    "top_level_list": "[1, 2, 3]",
    "truncated": _nb(_code(FEATURE))[:40],
    "empty_file": "",
    "not_utf8": b"\xff\xfe\x00garbage",
    "deep_nesting": "[" * 100_000 + "]" * 100_000,
    "nbformat_3": json.dumps(
        {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}
    ),
    "magic_without_name": _nb(_code("%%feature\nx = 1")),
    "syntax_error_in_cell": _nb(_code("tx = (1"), _code(FEATURE, "c1")),
    "unknown_flag": _nb(_code("%%feature v --entity k --bogus\nv = 1")),
    "unbalanced_quote_in_flags": _nb(_code("%%feature v --entity k --description 'oops\nv = 1")),
    "view_named_def": _nb(_code("%%feature def --entity k\nx = 1")),
    "view_named_300_chars": _nb(_code(f"%%feature {'v' * 300} --entity k\nx = 1")),
    "entity_not_identifier": _nb(_code("%%feature v --entity 'a b'\nv = 1")),
    "ttl_overflow": _nb(_code("%%feature v --entity k --ttl 99999999999d\nv = 1")),
    "no_feature_cell": _nb(_code("x = 1")),
    "huge_line": _nb(_code("x = '" + "a" * 1_000_000 + "'")),
}


@pytest.mark.parametrize("kind", [*ODD_NOTEBOOKS, "symlink_loop", "a_folder", "missing"])
def test_odd_notebooks_exit_0_or_2_with_one_line_never_a_traceback(tmp_path: Path, capsys, kind):
    notebook = tmp_path / "odd.ipynb"
    if kind == "symlink_loop":
        notebook.symlink_to(tmp_path / "odd2.ipynb")
        (tmp_path / "odd2.ipynb").symlink_to(notebook)
    elif kind == "a_folder":
        notebook.mkdir()
    elif kind != "missing":
        text = ODD_NOTEBOOKS[kind]
        if isinstance(text, bytes):
            notebook.write_bytes(text)
        else:
            notebook.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = tmp_path / "repo"
    code = main(["export", str(notebook), "--out", str(out), "--no-exec"])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err and not list(tmp_path.rglob(MARKER))
    if code == 2:
        lines = err.strip().splitlines()
        assert lines[0].startswith(f"nb2feast: error: {notebook}"), err
        assert len(lines) <= 2 and (len(lines) == 1 or lines[1].startswith("  fix: ")), err
        assert not out.exists()
