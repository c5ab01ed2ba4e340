"""Extraction: each feature cell's inputs traced back through the notebook (LibCST scopes)."""


import pytest

from nb2feast.errors import UserError
from nb2feast.extract import extract_views
from nb2feast.model import CellRef, NotebookCell
from nb2feast.select import select_feature_cells


def views_of(*sources: str):
    cells = tuple(NotebookCell(CellRef("nb.ipynb", i, f"c{i}"), s) for i, s in enumerate(sources))
    return extract_views(cells, select_feature_cells(cells))


def codes(statements) -> list[str]:
    return [s.code.strip() for s in statements]


def test_batch_cell_carries_imports_constants_helpers_and_the_loading_slice():
    # Given a notebook that loads, prepares and then features a frame
    (view,) = views_of(
        "import pandas as pd\nimport numpy as np\n%matplotlib inline",
        'WINDOW = "7D"\nUNUSED = 1\ndef clip(s):\n    return s.clip(upper=CAP)\nCAP = 99',
        'tx = pd.read_csv("tx.csv")\nother = pd.read_csv("other.csv")',
        'tx["amount"] = tx["amount"].astype("float64")\nother["x"] = 1',
        "%%feature spend --entity customer_id\n"
        'spend = tx.groupby("customer_id").rolling(WINDOW, on="ts")["amount"].sum().reset_index()\n'
        'spend["amount"] = clip(spend["amount"])',
    )
    # Then the support is what the cell needs, in notebook order; the loading slice is tx's
    assert codes(view.support) == ["import pandas as pd", 'WINDOW = "7D"', "def clip(s):\n    return s.clip(upper=CAP)", "CAP = 99"]
    assert codes(view.loading) == ['tx = pd.read_csv("tx.csv")', 'tx["amount"] = tx["amount"].astype("float64")']
    assert view.inputs == ("tx",)
    assert view.binds_name


def test_batch_cell_reading_an_earlier_view_depends_on_it():
    views = views_of(
        "import pandas as pd",
        'tx = pd.read_parquet("tx.parquet")',
        "%%feature base --entity k\nbase = tx[['k', 'event_timestamp', 'a']]",
        "%%feature derived --entity k\nderived = base.assign(b=lambda d: d['a'] * 2)",
    )
    assert views[1].upstream == ("base",)
    assert views[1].inputs == ("base",)
    assert views[1].loading == ()


def test_on_demand_cell_reads_one_frame_and_knows_its_columns():
    (_, view) = views_of(
        "import pandas as pd\nimport numpy as np\nLIMIT = 3",
        'tx = pd.read_parquet("tx.parquet")',
        "%%feature f --entity k\nf = tx",
        "train = f.copy()",
        '%%feature ratio --on-demand --request r:float64\ntrain["ratio"] = np.log1p(train["a"]) / train.r * LIMIT',
    )
    assert view.input_frame == "train"
    assert codes(view.support) == ["import numpy as np", "LIMIT = 3"]
    assert {"a", "ratio", "r"} <= view.columns_read
    assert not view.binds_name


def test_input_defined_only_in_a_later_cell_is_an_error_at_its_line():
    with pytest.raises(UserError) as error:
        views_of(
            "import pandas as pd",
            "%%feature v --entity k\nx = 1\nv = late.head()",
            'late = pd.read_csv("x.csv")',
        )
    assert error.value.where == CellRef("nb.ipynb", 1, "c1")
    assert error.value.line == 3
    assert "'late' cannot be traced to an earlier cell (it is defined later, in cell 2)" in str(error.value)


def test_batch_cell_that_never_binds_its_name_is_an_error():
    with pytest.raises(UserError, match="never binds 'v'"):
        views_of("import pandas as pd\ndf = pd.read_csv('a.csv')", "%%feature v --entity k\nw = df")


def test_on_demand_cell_with_two_input_frames_is_an_error():
    with pytest.raises(UserError, match="exactly one input frame; it reads 'a', 'b'"):
        views_of(
            "import pandas as pd\na = pd.read_csv('a.csv')\nb = pd.read_csv('b.csv')",
            "%%feature v --on-demand\na['x'] = a['y'] + b['y']",
        )


def test_syntax_error_names_cell_and_line_as_the_user_sees_it():
    with pytest.raises(UserError) as error:
        views_of("import pandas as pd", "%%feature v --entity k\nv = (\n  1 +")
    assert error.value.where.index == 1
    assert error.value.line in (3, 4)
    assert "syntax error" in str(error.value)


def test_two_cells_with_one_view_name_is_an_error():
    with pytest.raises(UserError, match="defined twice"):
        views_of("%%feature v --entity k\nv = 1", "%%feature v --entity k\nv = 2")


ON_DEMAND_SETUP = (
    "import pandas as pd",
    'tx = pd.read_parquet("tx.parquet")',
    "%%feature f --entity k\nf = tx",
    "training = f.copy()\nrequests = f.copy()",
)


@pytest.mark.parametrize(
    "body,result,derived_from,fresh",
    [
        ('df = training.copy()\ndf["x"] = df["a"] / (df["r"] + 1.0)', "df", "training", False),
        ('req = requests.copy()\nreq["z"] = req["a"] * 2', "req", "requests", False),
        ('out = pd.DataFrame()\nout["x"] = training["a"] + 1\nv = out', "v", "training", True),
        ('out = pd.DataFrame(index=training.index)\nout["x"] = training["a"] + 1', "out", "training", True),
        ("v = training.assign(x=lambda d: d['a'] * 2)", "v", "training", False),
        ("y = training.assign(x=1).assign(w=lambda d: d['x'] + d['a'])", "y", "training", False),
        ("extra = training[['a']] * 2\ny = pd.concat([training, extra.add_suffix('_2')], axis=1)", "y", "training", False),
        ('training["x"] = training["a"] + 1', "training", "training", False),
        ('training = training.assign(x=1)', "training", "training", False),
        ('df = training.copy()\ndf.loc[:, "x"] = df["a"] + 1\nn = len(df)', "df", "training", False),
        ('df = training.copy()\ndf.insert(0, "x", df["a"] + 1)', "df", "training", False),
        ('df = training.copy()\ndf.eval("x = a + 1", inplace=True)', "df", "training", False),
    ],
)
def test_on_demand_result_frame_is_found_by_dataflow(body, result, derived_from, fresh):
    # Given an on-demand cell that works on a copy, builds a new frame or chains assigns
    view = views_of(*ON_DEMAND_SETUP, "%%feature v --on-demand --request r:float64\n" + body)[-1]
    # Then the frame holding the new columns is found from the bindings, not from names
    assert view.input_frame == derived_from
    assert (view.result.name, view.result.derived_from, view.result.fresh) == (result, derived_from, fresh)
    assert view.result_name == result
