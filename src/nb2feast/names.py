"""names: notebook text that becomes a Python name is checked; text that lands in a
comment or docstring is escaped. Notebook text is data, never code.

Pure and light (no libcst, no pandas): flags, render and export share it.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable

from nb2feast.errors import UserError

MAX_NAME = 100  # a view name becomes a module file name (plus `_pandas`, `.parquet.partial`)

# What a generated module imports or defines at top level besides the views' own names:
# a view or entity named like one of these would shadow it.
RESERVED = frozenset(
    {
        # definitions.py
        "timedelta",
        "Path",
        "pd",
        "np",
        "Entity",
        "Field",
        "FeatureView",
        "FileSource",
        "ValueType",
        "RequestSource",
        "on_demand_feature_view",
        "REPO_DIR",
        "Int32",
        "Int64",
        "Float32",
        "Float64",
        "String",
        "Bytes",
        "Bool",
        "UnixTimestamp",
        # transforms/<view>.py and transforms/__init__.py
        "contextlib",
        "pathlib",
        "NOTEBOOK_DIR",
        "load_inputs",
        "build",
        "BUILDERS",
        # builtins the generated code calls
        "str",
        "dict",
        "type",
        "print",
    }
)
SOFT_KEYWORDS = frozenset({*keyword.softkwlist, "type", "_"})


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a generated Python name (None when it can)."""
    if not isinstance(name, str) or not name:
        return "is empty"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long (at most {MAX_NAME})"
    if not name.isascii() or not name.isidentifier():
        return "is not a Python identifier (ASCII letters, digits and _, not starting with a digit)"
    if keyword.iskeyword(name) or name in SOFT_KEYWORDS or name in ("None", "True", "False"):
        return "is a Python keyword"
    if name.startswith("__"):
        return "starts with __ (reserved for Python's own names)"
    if name in RESERVED:
        return "is a name the generated code imports or defines"
    return None


def check_name(name: str, label: str) -> str:
    """`name` if it can be a generated Python name; else a UserError (exit 2)."""
    problem = name_problem(name)
    if problem is not None:
        shown = escape_text(name if len(name) <= 60 else name[:60] + "...")
        raise UserError(
            f"{label} {shown!r} {problem}",
            fix="use a short snake_case name such as customer_30d",
        )
    return name


def check_unique_names(names: Iterable[tuple[str, str]]) -> None:
    """Generated top-level names `(name, what defines it)` must not collide."""
    seen: dict[str, str] = {}
    for name, what in names:
        if name in seen and seen[name] != what:
            raise UserError(
                f"{what} and {seen[name]} would both define {name!r} in the generated repository",
                fix="rename one of the views",
            )
        seen[name] = what


def escape_text(text: str) -> str:
    """`text` with every character that is not printable written as its escape (`\\n`,
    `\\r`, `\\x00`, `\\u2028`, lone surrogates, ...): the result holds no line break of
    Python's tokenizer or `str.splitlines()`, no NUL, and encodes as UTF-8."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text)
    )


def comment_text(text: str) -> str:
    """Text safe to follow `# ` on one line of a generated file."""
    return escape_text(text)


def docstring_literal(text: str) -> str:
    """A triple-quoted string literal whose value is `escape_text(text)`-readable text."""
    body = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"""' + escape_text(body) + '"""'
