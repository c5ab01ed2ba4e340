"""The fast paths of nb2feast.hazards: the trigger prefilter and the `ast` cell summaries.

A cell that mentions no detector's trigger is not parsed with LibCST at all; these tests
pin that the shortcut is taken for clean cells and never hides a hazard reached through
an import alias, an f-string or a global.
"""

from __future__ import annotations

import pytest

from nb2feast import hazards
from nb2feast.errors import UserError
from nb2feast.hazards import detect_hazards
from nb2feast.hazards._notebook import _OPAQUE_SOURCE, _fast_summary, _libcst_summary
from nb2feast.model import CellRef, FeatureCell, Hazard, NotebookCell
from nb2feast.notebook.flags import parse_flags

BATCH = "spend --entity customer_id"
ON_DEMAND = "scored --on-demand"


def check(
    flags: str, body: str, before: tuple[str, ...] = (), after: tuple[str, ...] = ()
) -> tuple[Hazard, ...]:
    sources = [*before, f"%%feature {flags}\n{body}", *after]
    cells = [NotebookCell(CellRef("nb.ipynb", i, f"id{i}"), s) for i, s in enumerate(sources)]
    return detect_hazards(FeatureCell(cells[len(before)], parse_flags(flags), body), cells)


def where(found: tuple[Hazard, ...]) -> list[tuple[str, int, int]]:
    return [(h.code, h.line, h.col) for h in found]


@pytest.fixture
def libcst_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The bodies detect_hazards parses with LibCST."""
    parsed: list[str] = []
    real = hazards._parse

    def spy(header: str, body: str) -> object:
        parsed.append(body)
        return real(header, body)

    monkeypatch.setattr(hazards, "_parse", spy)
    return parsed


def test_a_clean_batch_cell_without_trigger_identifiers_is_not_parsed(
    libcst_parses: list[str],
) -> None:
    # Given a batch cell whose identifiers trigger no detector ("shift" only in a string and
    # a comment)
    body = (
        'spend = tx.assign(f=lambda d: d["amount"] * SCALE)[["customer_id", "shift"]]  # shift(-1)'
    )
    before = ('import pandas as pd\nSCALE = 2.0\ntx = pd.read_parquet("tx.parquet")',)
    # When it is checked
    found = check(BATCH, body, before=before, after=("other = 1",))
    # Then nothing is reported, without a LibCST parse
    assert found == ()
    assert libcst_parses == []


def test_a_body_that_is_not_python_still_raises_without_triggers() -> None:
    with pytest.raises(UserError) as caught:
        check(BATCH, "spend = 1\nspend = tx[")
    assert caught.value.line == 3


@pytest.mark.parametrize(
    "imports,body,code",
    [
        ("from numpy.random import rand", "x = rand(3)\nspend = tx", "NB2F202"),
        ("from numpy.random import rand as r", "x = r(3)\nspend = tx", "NB2F202"),
        ("import numpy.random as npr", "spend = tx.assign(a=npr.normal())", "NB2F202"),
        ("import datetime as dt", "spend = tx.assign(a=dt.datetime.now())", "NB2F201"),
        ("from uuid import uuid4 as u", "spend = tx.assign(i=str(u()))", "NB2F203"),
        ("from pandas import read_csv as rc", 'spend = rc("x.csv")', "NB2F404"),
        ("import requests as rq", 'spend = rq.get("https://x")', "NB2F404"),
        (
            "from pandas import merge_asof as ma",
            'spend = ma(a, b, direction="forward")',
            "NB2F305",
        ),
        ("from pandas import Timestamp as T", 'spend = tx[tx.ts > T("2024-01-01")]', "NB2F501"),
        ("import numpy as np", 'spend = tx.assign(a=f"{np.random.rand()}")', "NB2F202"),
    ],
)
def test_hazards_reached_through_an_alias_are_not_hidden_by_the_prefilter(
    imports: str, body: str, code: str
) -> None:
    # Given a call whose hazardous name appears only in an earlier cell's import (or an f-string)
    # When it is checked
    found = check(BATCH, body, before=(imports, "tx = a = b = 1"))
    # Then it is still reported, at the call
    assert [h.code for h in found] == [code]


def test_aliased_numpy_reduction_in_an_on_demand_cell_is_reported() -> None:
    found = check(ON_DEMAND, 'df["x"] = avg(df["a"])', before=("from numpy import mean as avg",))
    assert where(found) == [("NB2F101", 2, 10)]


def test_globals_trigger_notebook_state_without_any_method_name() -> None:
    # Given plain reads and mutations of globals: no trigger method in sight
    assert where(
        check(BATCH, "spend = tx.assign(a=LATER)", before=("tx = 1",), after=("LATER = 1",))
    ) == [("NB2F402", 2, 20)]
    assert where(check(ON_DEMAND, 'SEEN["k"] = 1\ndf["a"] = 1', before=("SEEN = {}",))) == [
        ("NB2F403", 2, 0)
    ]
    body = "def f():\n    global G\n    G = 1\nspend = tx"
    assert where(check(BATCH, body, before=("tx = 1",))) == [("NB2F403", 3, 4)]


def test_a_name_imported_by_the_notebook_and_rebound_later_is_not_a_global_read() -> None:
    # Given `pd` imported before the cell and rebound after it
    found = check(
        BATCH,
        "spend = pd.DataFrame(tx)",
        before=("import pandas as pd", "tx = 1"),
        after=("pd = 3",),
    )
    # Then the header import binds it: no notebook_state warning
    assert found == ()


CELLS = [
    "x: int\ny: int = 1\ndel z",
    "for a, (b, *c) in q: pass\nelse:\n  e1 = 1",
    "with o as (w1, w2), p as w3: pass",
    "try:\n  import foo\nexcept ImportError as err:\n  foo = None\nfinally:\n  fin = 1",
    "def f(x=[i for i in r]):\n  import os\n  inner = 1\nclass C(B):\n  attr = []",
    "k += 1\n[i for i in r]\nlam = lambda lp: lp",
    "import a.b.c\nimport d.e as f\nfrom g import h, i as j\nfrom . import rel\nfrom k import *",
    "import numpy  as  np\nfrom x import (a,\n  b as c)",
    "if 1:\n  x1 = 1\nelse:\n  import os",
    "x.y = 1\nz[0] = 1\n(t1, t2) = [t3] = 1, 2",
    "a = b = []\nc = []; d = {}\ne = list(x)\nf = dict()\ng = [i for i in r]\nh = (1,)"
    "\ni = x.list()",
    "x = 1 % 3\n%time y = 2\n!ls\nfiles = !ls",
    "%run setup.py\nq = 1",
    "async def g():\n  async with a as b: pass",
]


@pytest.mark.parametrize("source", CELLS)
def test_ast_summaries_match_libcst_scope_analysis(source: str) -> None:
    opaque = bool(_OPAQUE_SOURCE.search(source))
    fast, exact = _fast_summary(source, opaque), _libcst_summary(source, opaque)
    assert fast is not None
    assert (fast.bindings, fast.containers, fast.opaque) == (
        exact.bindings,
        exact.containers,
        exact.opaque,
    )
    assert dict(fast.imports).keys() == dict(exact.imports).keys()
    assert {k: " ".join(v.split()) for k, v in fast.imports} == {
        k: " ".join(v.split()) for k, v in exact.imports
    }


@pytest.mark.parametrize(
    "source",
    [
        "(j := 1)",
        "[(jj := i) for i in r]",
        "def g():\n  global gg\n  gg = 1",
        "match p:\n  case [m1]: pass",
        "import a\nimport a.b",
    ],
)
def test_cells_whose_scoping_libcst_sees_differently_take_the_libcst_path(source: str) -> None:
    assert _fast_summary(source, False) is None
