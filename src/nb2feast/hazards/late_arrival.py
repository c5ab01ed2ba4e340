"""late_arrival (static hint): a column named like an arrival stamp, no `--created`.

A row stamped at 09:00 that lands at 17:00 was not there for a prediction at 10:00. Only
its values tell for sure (verify checks them: NB2F610); here its name is a hint, so the
finding is info.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
import libcst.matchers as m

from nb2feast.hazards._base import HazardVisitor
from nb2feast.hazards._notebook import NotebookView
from nb2feast.model import FeatureCell, Hazard

if TYPE_CHECKING:
    from nb2feast.notebook.analyze import Statement

DESCRIPTION = "Columns named like arrival stamps in a batch view that declares no --created."

# A stamp name: the verb alone or with a time suffix (`created`, `ingested_at`,
# `updated_on`, `load_ts`, `etl_date`). Not `arrival...`: a hotel's arrival date is data.
_VERBS = (
    r"created|ingested|updated|modified|loaded|inserted|received|recorded|processed|written"
    r"|landed|synced"
)
_NOUNS = r"creation|ingestion|ingest|load|insert|update|modification|write|sync|etl|landing"
_SUFFIX = r"at|ts|on|time|timestamp|date|datetime|utc"
ARRIVAL_NAMES = re.compile(
    rf"^(?:(?:{_VERBS})(?:_(?:{_SUFFIX}))?|(?:{_NOUNS})_(?:{_SUFFIX})|(?:date|time|ts|dt)_(?:{_VERBS}))$",
    re.IGNORECASE,
)
_ANYWHERE = re.compile(rf"{_VERBS}|{_NOUNS}", re.IGNORECASE)  # the cheap test before parsing
_JOIN_KEYWORDS = frozenset({"on", "left_on", "right_on", "parse_dates", "columns", "by"})


def is_arrival_name(name: str) -> bool:
    return bool(ARRIVAL_NAMES.search(name))


class LateArrivalVisitor(HazardVisitor):
    """NB2F601 a column named like an arrival stamp in a batch view without --created."""

    CATEGORY = "late_arrival"

    @classmethod
    def applies(
        cls, feature_cell: FeatureCell, notebook: NotebookView, names: AbstractSet[str]
    ) -> bool:
        flags = feature_cell.flags
        return (
            not flags.on_demand and not flags.created and bool(_ANYWHERE.search(feature_cell.body))
        )

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.seen: set[str] = set()

    def _column(self, node: cst.CSTNode, name: object) -> None:
        if (
            isinstance(name, str)
            and is_arrival_name(name)
            and name != self.flags.timestamp
            and name not in self.seen
        ):
            self.seen.add(name)
            self.report(
                node,
                "NB2F601",
                "info",
                f"column {name!r} is named like an arrival stamp and the view declares no "
                "--created: if it says when rows arrived (often hours or days after their "
                "event time), training can use values that had not arrived when a prediction "
                "would be made",
                f"if it is one, keep it in the view's result and declare --created {name}; "
                "verify checks its values (NB2F610)",
            )

    def visit_Subscript(self, node: cst.Subscript) -> None:
        for element in node.slice:
            for string in m.findall(element, m.SimpleString()):
                self._column(string, string.evaluated_value)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value in _JOIN_KEYWORDS:
            for string in m.findall(node.value, m.SimpleString()):
                self._column(string, string.evaluated_value)

    def visit_Call(self, node: cst.Call) -> None:
        if m.matches(node.func, m.Attribute(attr=m.Name("assign"))):
            for arg in node.args:  # `.assign(ingested_at=...)`: the keyword is the column
                if arg.keyword is not None:
                    self._column(arg.keyword, arg.keyword.value)


_READERS = m.Call(
    func=m.Attribute(attr=m.Name("read_parquet") | m.Name("read_csv"))
    | m.Name("read_parquet")
    | m.Name("read_csv"),
    args=[m.Arg(value=m.SimpleString(), keyword=None), m.ZeroOrMore()],
)


# Statements of a shared preprocessing cell are in every view's slice: match each once.
_LITERALS: dict[int, tuple[cst.CSTNode, tuple[str, ...]]] = {}


def _read_literals(node: cst.CSTNode) -> tuple[str, ...]:
    """The file names `node` reads with `read_parquet`/`read_csv` (string literals only)."""
    cached = _LITERALS.get(id(node))
    if cached is None or cached[0] is not node:
        if len(_LITERALS) > 100_000:  # a long-lived process keeps no old notebooks
            _LITERALS.clear()
        literals = tuple(
            value
            for call in m.findall(node, _READERS)
            if isinstance(value := call.args[0].value.evaluated_value, str)
        )
        cached = _LITERALS[id(node)] = (node, literals)
    return cached[1]


@functools.lru_cache(maxsize=256)
def _source_columns(path: Path) -> tuple[str, ...]:
    """Column names of a source file from its schema or header, reading no data rows."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            schema = pq.read_schema(path)
            return tuple(f.name for f in schema if str(f.type).startswith(("timestamp", "date")))
        with path.open(encoding="utf-8", errors="replace") as handle:
            return tuple(next(csv.reader([handle.readline()]), []))
    except (OSError, ValueError, ImportError):
        return ()


def source_hints(
    feature_cell: FeatureCell, loading: Sequence[Statement], folder: Path | None
) -> list[Hazard]:
    """NB2F601 for a source file the view loads that has a column named like an arrival
    stamp (a timestamp column, for parquet), when the view declares no --created. Reads
    the file's schema or header only, never its rows."""
    flags = feature_cell.flags
    if folder is None or flags.on_demand or flags.created:
        return []
    found = []
    for stmt in loading:
        for literal in _read_literals(stmt.node):
            columns = [
                c
                for c in _source_columns(folder / literal)
                if is_arrival_name(c) and c != flags.timestamp
            ]
            found += [
                Hazard(
                    code="NB2F601",
                    category="late_arrival",
                    severity="info",
                    cell_index=stmt.cell.index,
                    cell_id=stmt.cell.id,
                    line=stmt.line,
                    col=0,
                    message=(
                        f"source {literal!r} has a column {column!r} named like an arrival "
                        "stamp and the view declares no --created: if it says when rows "
                        "arrived, training can use values that had not arrived when a "
                        "prediction would be made"
                    ),
                    fix=(
                        f"if it is one, keep it in the view's result and declare --created "
                        f"{column}; verify checks its values (NB2F610)"
                    ),
                    view=flags.name,
                )
                for column in columns[:1]
            ]
    return found
