"""Parse the `%%feature` line into `FeatureFlags` (shell quoting, strict flags)."""

from __future__ import annotations

import argparse
import re
import shlex

from nb2feast.errors import UserError
from nb2feast.model import FeatureFlags
from nb2feast.names import MAX_NAME, check_name, escape_text
from nb2feast.repo.types import feast_type_name

_TTL = re.compile(r"^(?P<n>[0-9]{1,15})(?P<unit>[smhdw]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_TTL_SECONDS = 36_500 * 86_400
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage and exit
        raise UserError(message, fix=USAGE)


USAGE = (
    "%%feature NAME [--entity KEY]... [--timestamp COL] [--created COL] [--ttl DURATION] "
    "[--on-demand] [--request COL:TYPE]... [--offline-only] [--description TEXT] "
    "[--owner TEXT] [--tag KEY=VALUE]... [--freeze]"
)


def _parser() -> _Parser:
    p = _Parser(prog="%%feature", add_help=False, allow_abbrev=False, exit_on_error=False)
    p.add_argument("name")
    p.add_argument("--entity", action="append", default=[])
    p.add_argument("--timestamp", default="event_timestamp")
    p.add_argument("--created")
    p.add_argument("--ttl")
    p.add_argument("--on-demand", action="store_true")
    p.add_argument("--request", action="append", default=[])
    p.add_argument("--offline-only", action="store_true")
    p.add_argument("--description", default="")
    p.add_argument("--owner", default="")
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--freeze", action="store_true")
    return p


def parse_ttl(text: str) -> int:
    """`30d`, `12h`, `90m`, `45s`, `2w`, `0` -> seconds (0 means never expires)."""
    match = _TTL.match(text.strip().lower())
    if not match:
        raise UserError(
            f"malformed --ttl {text!r}", fix="use a number with a unit: 30d, 12h, 90m, 0"
        )
    seconds = int(match["n"]) * _UNIT_SECONDS[match["unit"]]
    if seconds > MAX_TTL_SECONDS:
        raise UserError(
            f"--ttl {text!r} is longer than 100 years",
            fix="use at most 36500d, or 0 (never expires)",
        )
    return seconds


def parse_flags(line: str) -> FeatureFlags:
    """Parse the text after `%%feature` (errors carry no position; callers add it)."""
    try:
        argv = shlex.split(line, comments=False)
    except ValueError as exc:
        raise UserError(f"cannot parse the %%feature line: {exc}", fix=USAGE) from None
    try:
        args = _parser().parse_args(argv)
    except argparse.ArgumentError as exc:
        raise UserError(str(exc), fix=USAGE) from None
    check_name(args.name, "view name")
    for label, value in [("entity", e) for e in args.entity]:
        if not _IDENTIFIER.match(value) or len(value) > MAX_NAME:
            raise UserError(f"{label} {escape_text(value)[:60]!r} is not a Python identifier")
    requests = []
    for spec in args.request:
        col, sep, dtype = spec.partition(":")
        if not sep or not col or not dtype:
            raise UserError(
                f"malformed --request {spec!r}",
                fix="write --request COLUMN:TYPE, e.g. --request amount:float64",
            )
        requests.append((col, feast_type_name(dtype)))
    if args.request and not args.on_demand:
        raise UserError("--request is only meaningful with --on-demand")
    tags = []
    for spec in args.tag:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise UserError(f"malformed --tag {spec!r}", fix="write --tag KEY=VALUE")
        tags.append((key, value))
    if not args.on_demand and not args.entity:
        raise UserError(
            f"batch view {args.name!r} needs at least one --entity",
            fix="add --entity KEY for the entity key column",
        )
    return FeatureFlags(
        name=args.name,
        entities=tuple(args.entity),
        timestamp=args.timestamp,
        created=args.created,
        ttl_seconds=None if args.ttl is None else parse_ttl(args.ttl),
        on_demand=args.on_demand,
        requests=tuple(requests),
        offline_only=args.offline_only,
        description=args.description,
        owner=args.owner,
        tags=tuple(tags),
        freeze=args.freeze,
    )
