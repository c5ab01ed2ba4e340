"""nondeterministic: the value depends on when or where the code runs.

`datetime.now()` in training is the time the notebook ran, in serving the time of the
request; unseeded randomness differs on every run. Both make parity impossible.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from nb2feast.hazards._base import CellContext, HazardVisitor
from nb2feast.hazards.late_arrival import is_arrival_name

DESCRIPTION = "Wall-clock reads, unseeded randomness and random identifiers."

WALL_CLOCK = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
    }
    | {"pandas.Timestamp.now", "pandas.Timestamp.today", "pandas.Timestamp.utcnow"}
    | {"time.time", "time.time_ns", "time.localtime", "time.gmtime"}
)
NOW_PARSERS = frozenset(
    {"pandas.to_datetime", "pandas.Timestamp", "numpy.datetime64", "pandas.DatetimeIndex"}
)
_NOW = m.SimpleString(value=m.MatchIfTrue(lambda s: s.strip("'\"").lower() in {"now", "today"}))
SEEDED_CONSTRUCTORS = frozenset(
    {
        "numpy.random.default_rng",
        "numpy.random.RandomState",
        "numpy.random.Generator",
        "numpy.random.PCG64",
    }
    | {
        "numpy.random.SeedSequence",
        "numpy.random.MT19937",
        "numpy.random.Philox",
        "numpy.random.SFC64",
    }
    | {"random.Random", "random.seed", "numpy.random.seed"}
)
RANDOM_IDS = frozenset(
    {"uuid.uuid1", "uuid.uuid4", "os.urandom", "secrets.token_hex", "secrets.token_bytes"}
)


class NondeterministicVisitor(HazardVisitor):
    """NB2F201 wall clock, NB2F202 unseeded randomness, NB2F203 random identifiers,
    NB2F204 wall clock as the ingestion stamp (info)."""

    CATEGORY = "nondeterministic"
    # Every numpy.random.* / random.* name has the part `random`; `.sample` is a method.
    TRIGGERS = frozenset(
        {"random", "sample"}
        | {
            part
            for name in WALL_CLOCK | NOW_PARSERS | SEEDED_CONSTRUCTORS | RANDOM_IDS
            for part in name.split(".")
        }
    )

    def __init__(self, ctx: CellContext) -> None:
        super().__init__(ctx)
        self.seeded_modules: set[str] = set()
        self.stamp_calls: dict[int, str] = {}  # id of a call -> the ingestion column it stamps

    def _is_stamp(self, name: object) -> bool:
        return isinstance(name, str) and (
            name == self.flags.created or (name != self.flags.timestamp and is_arrival_name(name))
        )

    def _stamps(self, column: str, value: cst.CSTNode) -> None:
        for call in m.findall(value, m.Call()):
            self.stamp_calls[id(call)] = column

    def visit_Module(self, node: cst.Module) -> None:
        """`np.random.seed(N)` / `random.seed(N)` anywhere in the cell seeds its module; a
        value assigned to the `--created` column (or one named like it) is its stamp."""
        for assign in m.findall(node, m.Assign()):
            for target in assign.targets:
                names = (
                    [target.target.value]
                    if isinstance(target.target, cst.Name)
                    else [
                        s.evaluated_value
                        for element in getattr(target.target, "slice", ())
                        for s in m.findall(element, m.SimpleString())
                    ]
                )
                for name in names:
                    if self._is_stamp(name):
                        self._stamps(name, assign.value)
        for call in m.findall(node, m.Call(func=m.Attribute(attr=m.Name("assign")))):
            for arg in call.args:
                if arg.keyword is not None and self._is_stamp(arg.keyword.value):
                    self._stamps(arg.keyword.value, arg.value)
        for call in m.findall(node, m.Call(args=[m.AtLeastN(n=1)])):
            for module, seed in (("numpy.random", "numpy.random.seed"), ("random", "random.seed")):
                if self.has_qualified(call.func, {seed}):
                    self.seeded_modules.add(module)

    def visit_Call(self, call: cst.Call) -> None:
        names = self.qualified(call.func)
        clock = names & WALL_CLOCK or (
            names & NOW_PARSERS and call.args and m.matches(call.args[0].value, _NOW)
        )
        if clock and id(call) in self.stamp_calls:
            column = self.stamp_calls[id(call)]
            self.report(
                call,
                "NB2F204",
                "info",
                f"`{self.code(call)}` stamps {column!r} with the time the code ran: an ingestion "
                "stamp, whose meaning is the wall clock (when the row arrived), not a feature "
                "computed from data",
                f"nothing to fix; keep the wall clock out of the features (declare the stamp "
                f"with --created {column} if it is not yet)",
            )
        elif clock:
            self.report(
                call,
                "NB2F201",
                "error",
                f"`{self.code(call)}` reads the wall clock: the notebook computed it when it ran, "
                "Feast computes it when it serves, so the values differ",
                f"use the row's event time (column '{self.flags.timestamp}') or a request field "
                "(--request now:UnixTimestamp) instead of the clock",
            )
        elif names & RANDOM_IDS:
            self.report(
                call,
                "NB2F203",
                "error",
                f"`{self.code(call)}` makes a new random value on every run",
                "derive identifiers from the entity key and event time (e.g. a hash of them)",
            )
        elif self._unseeded(call, names):
            self.report(
                call,
                "NB2F202",
                "error",
                f"`{self.code(call)}` draws random numbers without a seed; training and serving "
                "get different values",
                "seed it: np.random.default_rng(SEED), random.Random(SEED) or "
                ".sample(..., random_state=SEED); better, keep randomness out of feature cells",
            )

    def _unseeded(self, call: cst.Call, names: set[str]) -> bool:
        if names & SEEDED_CONSTRUCTORS:
            return not call.args and not names & {"random.seed", "numpy.random.seed"}
        for module in ("numpy.random", "random"):
            if any(
                n.startswith(module + ".") and n.count(".") == module.count(".") + 1 for n in names
            ):
                return module not in self.seeded_modules
        if m.matches(call.func, m.Attribute(attr=m.Name("sample"))):
            return self._unseeded_sample(call)
        return False

    def _unseeded_sample(self, call: cst.Call) -> bool:
        """`df.sample(n)` without random_state; `rng.sample(population, k)` is random.Random's."""
        if self.frame_root(call.func.value) is None or self.keyword(call, "random_state"):
            return False
        return self.positional(call, 1) is None and self.keyword(call, "k") is None
