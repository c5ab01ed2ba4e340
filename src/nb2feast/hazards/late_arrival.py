"""late_arrival (static hint): a column named like an arrival stamp, no `--created`.

A row stamped at 09:00 that lands at 17:00 was not there for a prediction at 10:00. Only
its values tell for sure (verify checks them: NB2F610); here its name is a hint, so the
finding is info.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet

import libcst as cst
import libcst.matchers as m

from nb2feast.hazards._base import HazardVisitor
from nb2feast.hazards._notebook import NotebookView
from nb2feast.model import FeatureCell

DESCRIPTION = "Columns named like arrival stamps in a batch view that declares no --created."

_WORDS = (
    r"created|creation|ingest(?:ed|ion)?|updated|modified|loaded|arrived|arrival|"
    r"received|inserted|recorded|processed|etl|written"
)
ARRIVAL_NAMES = re.compile(rf"(?:^|_)(?:{_WORDS})(?:_|$)", re.IGNORECASE)
_ANYWHERE = re.compile(_WORDS, re.IGNORECASE)  # the cheap test before parsing
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
