"""CST utilities shared by extraction and the hazard checks: parsing cell code with IPython
magics neutralized, and LibCST's ScopeProvider without its per-cell cost of listing
visitor methods."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Mapping
from functools import cache

import libcst as cst
from libcst.metadata import ScopeProvider

__all__ = ["FastScopeProvider", "neutralize_magics", "parse_cell_code"]

_MAGIC_LINE = re.compile(
    r"^(?P<indent>\s*)(?:[%!]|(?P<target>[A-Za-z_][\w.]*)\s*=\s*[%!]|[\w.]+\?{1,2}\s*$)"
)



class FastScopeProvider(ScopeProvider):
    """Same scopes as `ScopeProvider`; its visitor methods are found once per class.

    LibCST's default `get_visitors` inspects every attribute (~700) of the provider on
    every resolve, about a third of the cost of analysing a small cell.
    """

    @classmethod
    @cache
    def _handler_names(cls) -> tuple[str, ...]:
        return tuple(
            name
            for name in dir(cls)
            if name.startswith(("visit_", "leave_"))
            and callable(getattr(cls, name))
            and not getattr(getattr(cls, name), "_is_no_op", False)
        )

    def get_visitors(self) -> Mapping[str, Callable[[cst.CSTNode], None]]:
        return {name: getattr(self, name) for name in self._handler_names()}


def _starts_statement(prefix: str) -> bool:
    """Whether code after `prefix` begins a new statement (not inside brackets, strings or `\\`)."""
    try:
        for _ in tokenize.generate_tokens(io.StringIO(prefix).readline):
            pass
    except tokenize.TokenError:
        return False
    except SyntaxError:
        return True
    return True


def neutralize_magics(source: str) -> str:
    """Replace IPython `%magic`, `!shell` and `x?` lines by `pass`, keeping line numbers.

    `x = %magic` and `x = !cmd` become `x = None`, so the name stays bound.
    Only lines that start a statement are magics: a `% 3` continuing an expression or a
    line inside a triple-quoted string stays as written.
    """
    lines = source.split("\n")
    for i, line in enumerate(lines):
        match = _MAGIC_LINE.match(line)
        if match and _starts_statement("\n".join(lines[:i]) + "\n" if i else ""):
            target = match["target"]
            lines[i] = match["indent"] + (f"{target} = None" if target else "pass")
    return "\n".join(lines)


def parse_cell_code(source: str) -> cst.Module:
    """Parse cell code with magics neutralized; else the raw text (`%` may be a modulo)."""
    try:
        return cst.parse_module(neutralize_magics(source))
    except cst.ParserSyntaxError:
        return cst.parse_module(source)
