"""The `%%feature` line: shell quoting, strict flags, clear errors."""

import pytest

from nb2feast.errors import UserError
from nb2feast.notebook.flags import parse_flags, parse_ttl


def test_full_line_is_parsed_with_shell_quoting():
    flags = parse_flags(
        "spend --entity customer_id --entity store_id --timestamp ts --created ingested "
        '--ttl 30d --description "Spend over 7 days" --owner me --tag team=growth --offline-only'
    )
    assert flags.name == "spend"
    assert flags.entities == ("customer_id", "store_id")
    assert (flags.timestamp, flags.created) == ("ts", "ingested")
    assert flags.ttl_seconds == 30 * 86400
    assert flags.description == "Spend over 7 days"
    assert flags.tags == (("team", "growth"),)
    assert flags.offline_only and not flags.on_demand


@pytest.mark.parametrize(
    "text,expected",
    [
        ("float64", "Float64"),
        ("FLOAT32", "Float32"),
        ("int64", "Int64"),
        ("string", "String"),
        ("str", "String"),
        ("bool", "Bool"),
        ("datetime64[ns, UTC]", "UnixTimestamp"),
        ("unixtimestamp", "UnixTimestamp"),
    ],
)
def test_request_types_accept_dtypes_and_feast_names(text, expected):
    flags = parse_flags(f"odfv --on-demand --request 'x:{text}'")
    assert flags.requests == (("x", expected),)


@pytest.mark.parametrize(
    "line,message",
    [
        ("v --entity k --color red", "unrecognized arguments: --color red"),
        ("v --entity k --ttl 3 days", "unrecognized arguments: days"),
        ("v --entity k --ttl soon", "malformed --ttl 'soon'"),
        ("v --on-demand --request x:decimal", "unknown type 'decimal'"),
        ("v --on-demand --request x", "malformed --request 'x'"),
        ("v", "needs at least one --entity"),
        ("v --entity 'not an id'", "is not a Python identifier"),
        ("v --entity k --description 'unclosed", "cannot parse"),
    ],
)
def test_bad_lines_raise_user_errors(line, message):
    with pytest.raises(UserError) as error:
        parse_flags(line)
    assert message in str(error.value)


def test_ttl_units():
    assert [parse_ttl(t) for t in ("0", "90m", "12h", "2w", "45s")] == [0, 5400, 43200, 1209600, 45]
