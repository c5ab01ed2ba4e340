"""Freezing whole-frame statistics of an on-demand cell (before/after source strings)."""

from __future__ import annotations

import math

import pytest

from nb2feast.hazards.freeze import FreezeTarget, apply_freeze, find_freezable

BODY = 'df["z"] = (df["x"] - df["x"].mean()) / df["x"].std()\n'


def test_find_freezable_names_each_column_statistic() -> None:
    # Given a standardization and a quantile threshold on the input frame `df`
    body = BODY + 'df["hi"] = df.amount > df.amount.quantile(0.9)\n'
    # When the freezable statistics are looked up
    targets = find_freezable(body, "df")
    # Then each has its source, its body position and a deterministic constant name
    assert targets == [
        FreezeTarget('df["x"].mean()', 1, 21, "X_MEAN"),
        FreezeTarget('df["x"].std()', 1, 39, "X_STD"),
        FreezeTarget("df.amount.quantile(0.9)", 2, 23, "AMOUNT_Q90"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        'df["m"] = df[["a", "b"]].max(axis=1)\n',
        'df["q"] = df["x"].quantile([0.1, 0.9])\n',
        'df["s"] = df["x"].rolling(3).mean()\n',
        'df["o"] = other["x"].mean()\n',
        'df["c"] = df["tags"].str.count(",")\n',
    ],
)
def test_row_wise_windowed_list_valued_or_other_frame_statistics_are_not_freezable(
    body: str,
) -> None:
    assert find_freezable(body, "df") == []


def test_the_same_expression_shares_a_name_and_different_ones_do_not_clash() -> None:
    # Given the same mean twice, and two different standard deviations of one column
    body = 'a = df["x"].mean() + df["x"].mean()\nb = df["x"].std() - df["x"].std(ddof=0)\n'
    # When the freezable statistics are looked up
    names = [t.const_name for t in find_freezable(body, "df")]
    # Then the repeated mean reuses X_MEAN and the second std is X_STD_2
    assert names == ["X_MEAN", "X_MEAN", "X_STD", "X_STD_2"]


def test_quantile_names_and_odd_column_names() -> None:
    body = 'a = df["2nd amount"].quantile(0.995)\nb = df["x"].quantile()\nc = df["x"].median()\n'
    assert [t.const_name for t in find_freezable(body, "df")] == [
        "COL_2ND_AMOUNT_Q99_5",
        "X_Q50",
        "X_MEDIAN",
    ]


def test_apply_freeze_inlines_constants_with_their_provenance() -> None:
    # Given a cell body with a leading comment and the values the caller computed
    before = "# standardize\n" + BODY
    # When the statistics are frozen
    after = apply_freeze(
        before, {"X_MEAN": 12.5, "X_STD": 3}, "churn.ipynb cell 12, 1000 rows", frame_name="df"
    )
    # Then each statistic is replaced by its constant, defined at the top with a comment
    assert after == (
        "# standardize\n"
        'X_MEAN = 12.5  # frozen: mean of df["x"] on churn.ipynb cell 12, 1000 rows\n'
        'X_STD = 3  # frozen: std of df["x"] on churn.ipynb cell 12, 1000 rows\n'
        "\n"
        'df["z"] = (df["x"] - X_MEAN) / X_STD\n'
    )


def test_apply_freeze_only_touches_named_statistics_and_is_idempotent() -> None:
    # Given values for the mean only (a quantile is left as it is)
    body = 'df["a"] = df["x"].mean()\ndf["b"] = df["x"].quantile(0.9)\n'
    # When frozen twice
    once = apply_freeze(body, {"X_MEAN": 1.0}, "nb")
    # Then only the mean is replaced, and freezing again changes nothing
    assert (
        once == """X_MEAN = 1.0  # frozen: mean of df["x"] on nb\n\ndf["a"] = X_MEAN\ndf["b"] = """
        """df["x"].quantile(0.9)\n"""
    )
    assert apply_freeze(once, {"X_MEAN": 1.0}, "nb") == once


def test_apply_freeze_writes_quantiles_negatives_and_nan_as_valid_python() -> None:
    body = 'df["a"] = df["x"].quantile(0.9) + df["y"].min() + df["z"].max()\n'
    after = apply_freeze(body, {"X_Q90": 0.25, "Y_MIN": -4, "Z_MAX": math.nan}, "nb")
    assert after.splitlines()[:3] == [
        'X_Q90 = 0.25  # frozen: 0.9 quantile of df["x"] on nb',
        'Y_MIN = -4  # frozen: min of df["y"] on nb',
        'Z_MAX = float("nan")  # frozen: max of df["z"] on nb',
    ]
    compile(after, "<frozen>", "exec")


def test_apply_freeze_rejects_non_numeric_values() -> None:
    with pytest.raises(TypeError):
        apply_freeze(BODY, {"X_MEAN": "12"}, "nb")  # type: ignore[dict-item]
