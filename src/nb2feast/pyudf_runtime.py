"""Null-safe scalar helpers that compiled python-mode udfs call once per row.

Each helper reproduces, for one value, what pandas does to a whole column: a missing
value (`None` from Feast, NaN, NaT) behaves like NaN, comparisons with it are False,
numpy's IEEE rules hold for division. They are real functions, linted and tested against
pandas directly; `compile_python` inlines the source of the ones a udf uses (and of the
helpers those call), because Feast 0.67 re-creates a udf from its source text with only
`pd` and `np` in scope. So a helper may use `np`, `pd`, builtins and other helpers here,
and imports anything else inside its body.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _isna(x):
    return x is None or (isinstance(x, (float, np.floating)) and x != x)  # noqa: PLR0124 - NaN test, fast


def _in(x):
    """A value from Feast as pandas holds it: numpy ints and bools (for numpy's rules on
    overflow and division by zero); floats, strings and None pass as they are."""
    if x is None or type(x) is float or type(x) is str:
        return x
    if isinstance(x, (bool, np.bool_)):
        return np.bool_(x)
    if isinstance(x, (int, np.integer)):
        return np.int64(x)
    if isinstance(x, (float, np.floating)):
        return np.float64(x)
    return x


def _out(x):
    if x is None or type(x) is float or type(x) is str:
        return x
    return x.item() if isinstance(x, np.generic) else x


def _out_single_float(x):
    """A Float32 feature as np.float32: Feast infers a python-mode view's schema from the
    values' Python types at `feast apply`, and a Python float would read as Float64."""
    x = _out(x)
    return x if x is None or isinstance(x, str) else np.float32(x)


def _out_small_int(x):
    """An Int32 feature as np.int32 (a Python int would read as Int64); a missing value
    stays missing."""
    x = _out(x)
    if x is None or isinstance(x, str) or (isinstance(x, float) and x != x):
        return x
    return np.int32(x)


def _nan_if_none(x):
    return np.float64("nan") if x is None else x


def _arith(ufunc, a, b):
    """`a <ufunc> b` with numpy's rules (x / 0.0 is inf); numpy scalars' operators are
    several times faster than calling the ufunc on one value."""
    if a is None or b is None or _isna(a) or _isna(b):
        return np.float64("nan")
    if isinstance(a, str) or isinstance(b, str):
        return a + b if ufunc is np.add else a * b
    if type(a) is float or type(a) is int:
        a = np.float64(a) if type(a) is float else np.int64(a)
    if ufunc is np.add:
        return a + b
    if ufunc is np.subtract:
        return a - b
    if ufunc is np.multiply:
        return a * b
    if ufunc is np.true_divide:
        return a / b
    return ufunc(a, b)


def _int_by_zero(a, b):
    """pandas turns an integer division by zero into float division (inf/nan), not 0."""
    ints = (int, np.integer)
    return isinstance(a, ints) and isinstance(b, ints) and not isinstance(a, bool) and b == 0


def _fill_left(a, b, fill):
    """`fill_value` of `s.add(o, fill_value=...)`: a missing where the other side is not."""
    return fill if _isna(a) and not _isna(b) else a


def _floordiv(a, b):
    if _isna(a) or _isna(b):
        return np.float64("nan")
    if _int_by_zero(a, b):
        return np.floor_divide(np.float64(a), np.float64(b))
    return np.floor_divide(a, b)


def _mod(a, b):
    if _isna(a) or _isna(b):
        return np.float64("nan")
    if _int_by_zero(a, b):
        return np.float64("nan")
    return np.remainder(a, b)


def _time_sub(a, b):
    if _isna(a) or _isna(b):
        return None
    return pd.Timestamp(a) - pd.Timestamp(b)


def _neg(x):
    return np.float64("nan") if _isna(x) else np.negative(x)


def _compare(op, a, b):
    if _isna(a) or _isna(b):
        return op == "!="
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    return bool(a == b) if op == "==" else bool(a != b)


def _np(ufunc, *args):
    return ufunc(*[np.float64("nan") if a is None else a for a in args])


def _scalar_min(*args):
    """Python's `min` on the values pandas hands a lambda (NaN for a missing float)."""
    return min(*[_nan_if_none(a) for a in args])


def _scalar_max(*args):
    return max(*[_nan_if_none(a) for a in args])


def _scalar_round(x, digits=None):
    """Python's `round` on an element: NaN stays NaN instead of raising."""
    if _isna(x):
        return np.float64("nan")
    return round(x) if digits is None else round(x, digits)


def _clip(x, lower, upper):
    """`clip` as numpy's min(max(x, lower), upper); a missing bound is no bound."""
    if _isna(x):
        return np.float64("nan")
    floats = isinstance(x, (float, np.floating))
    if not _isna(lower) and x < lower:
        x = np.float64(lower) if floats else lower
    if not _isna(upper) and x > upper:
        x = np.float64(upper) if floats else upper
    return x


def _where(condition, a, b):
    """`np.where` on one row: numpy promotes the two branches to a common type."""
    if type(a) is type(b) and a is not None:
        return a if condition else b
    return np.where(condition, _nan_if_none(a), _nan_if_none(b))[()]


def _pick(condition, a, b):
    """`Series.where`/`mask` on one row: the kept value keeps its type."""
    return a if condition else _nan_if_none(b)


def _truth(x):
    """A value as pandas' object-dtype logic sees it: missing is False."""
    return False if _isna(x) else bool(x)


def _and_object(a, b):
    """`&` with an object (bool + None) operand: a missing left side is False."""
    return False if _isna(a) else bool(a) and _truth(b)


def _or_object(a, b):
    """`|` with an object operand: a missing left side is False, a missing right is False."""
    return False if _isna(a) else bool(a) or _truth(b)


def _and_kleene(a, b):
    """`&` on pandas' nullable `boolean` dtype: Kleene logic, missing is None."""
    if (not _isna(a) and not a) or (not _isna(b) and not b):
        return False
    return None if _isna(a) or _isna(b) else True


def _or_kleene(a, b):
    if (not _isna(a) and a) or (not _isna(b) and b):
        return True
    return None if _isna(a) or _isna(b) else False


def _not_kleene(a):
    return None if _isna(a) else not a


def _fillna(x, value):
    """`fillna` on a numeric column: a number fills as float64."""
    if not _isna(x):
        return x
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    ):
        return np.float64(value)
    return value


def _fillna_object(x, value):
    """`fillna` on an object column: the fill value keeps its own type."""
    return value if _isna(x) else x


def _astype(x, dtype):
    if dtype == "float64":
        return np.float64("nan") if x is None else np.float64(x)
    if dtype == "int64":
        return np.float64("nan") if _isna(x) or not np.isfinite(x) else np.int64(x)
    if dtype == "bool":
        return True if x is None else bool(x)
    return "nan" if x is None else str(x)


def _astype_object(x, dtype):
    """`astype` on an object column: None is falsy and prints as 'None'."""
    if x is None and dtype == "bool":
        return False
    if x is None and dtype == "str":
        return "None"
    return _astype(x, dtype)


def _str(x, method, *args):
    if isinstance(x, str):
        return len(x) if method == "len" else getattr(x, method)(*args)
    return x if _isna(x) else np.float64("nan")


def _str_contains(x, pattern, case, regex, na):
    import re

    if not isinstance(x, str):
        if _isna(x):
            return x if na is None else na
        return np.float64("nan") if na is None else na
    if regex:
        return re.search(pattern, x, 0 if case else re.IGNORECASE) is not None
    return pattern in x if case else pattern.lower() in x.lower()


def _str_replace(x, pattern, replacement, regex):
    import re

    if not isinstance(x, str):
        return x if _isna(x) else np.float64("nan")
    return re.sub(pattern, replacement, x) if regex else x.replace(pattern, replacement)


def _str_slice(x, start, stop, step):
    if not isinstance(x, str):
        return x if _isna(x) else np.float64("nan")
    return x[start:stop:step]


def _str_get(x, index):
    """`.str[i]` on a string or on the list a `.str.split` made: NaN out of range."""
    if isinstance(x, (str, list)):
        return x[index] if -len(x) <= index < len(x) else np.float64("nan")
    return x if _isna(x) else np.float64("nan")


def _str_split(x, separator):
    if not isinstance(x, str):
        return x if _isna(x) else np.float64("nan")
    return x.split(separator)


def _str_extract(x, pattern, missing):
    """`.str.extract` with one group; `missing` is what a missing input becomes."""
    import re

    if not isinstance(x, str):
        return missing if _isna(x) else np.float64("nan")
    found = re.search(pattern, x)
    if found is None or found.group(1) is None:
        return np.float64("nan")
    return found.group(1)


def _isin(x, values):
    if _isna(x):
        return any(_isna(v) for v in values)
    return any(not _isna(v) and x == v for v in values)


def _map(x, mapping):
    """`Series.map(dict)`: a value not in the dict (or missing) becomes NaN."""
    if _isna(x):
        return np.float64("nan")
    return mapping.get(x, np.float64("nan"))


def _replace(x, mapping):
    if _isna(x):
        return x
    return mapping.get(x, x)


def _between(x, lower, upper, inclusive):
    if _isna(x) or _isna(lower) or _isna(upper):
        return False
    above = x >= lower if inclusive in ("both", "left") else x > lower
    below = x <= upper if inclusive in ("both", "right") else x < upper
    return bool(above and below)


def _cut(x, bins, labels, right, include_lowest):
    """`pd.cut` with explicit bins: the label (or bin number) of the interval holding x."""
    if _isna(x):
        return np.float64("nan")
    for i in range(len(bins) - 1):
        low, high = bins[i], bins[i + 1]
        first = include_lowest and i == 0
        if right:
            inside = (low <= x if first else low < x) and x <= high
        else:
            inside = low <= x and (x <= high if first else x < high)
        if inside:
            return i if labels is False else labels[i]
    return np.float64("nan")


def _row_reduce(how, values):
    """`frame[[...]].max(axis=1)` and friends on one row: missing values are skipped; with
    none left, max/min/mean are NaN and sum is 0.0."""
    present = [v for v in values if not _isna(v)]
    if how == "sum":
        return sum(present) if present else np.float64(0.0)
    if not present:
        return np.float64("nan")
    if how == "mean":
        return np.float64(sum(present)) / len(present)
    return max(present) if how == "max" else min(present)


def _dt(x, field):
    """A `.dt` field of a timestamp; NaN when missing."""
    if _isna(x):
        return np.float64("nan")
    value = getattr(pd.Timestamp(x), field)
    return value() if callable(value) else value


def _td(x, field):
    """A `.dt` field of a time difference (`days`, `seconds`, `total_seconds`)."""
    if _isna(x):
        return np.float64("nan")
    value = getattr(pd.Timedelta(x), field)
    return value() if callable(value) else value
