"""Living beside IPython in one process: Feast's SQLite online store and IPython's history
both register a *global* sqlite3 converter for columns declared `timestamp` — Feast's
reads epoch seconds, IPython's ISO text. Whichever registered last wins, so after an
IPython shell starts in a process that imported Feast (a kernel running `%feature_verify`,
a test run), Feast's online reads fail with `Invalid isoformat string: '1704153600'`.
Feast calls are made inside `feast_sqlite_converters()`, which puts Feast's converter in
place for their duration and then restores whatever was there.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator


@contextlib.contextmanager
def feast_sqlite_converters() -> Iterator[None]:
    from feast.infra.online_stores import sqlite as feast_sqlite

    before = sqlite3.converters.get("TIMESTAMP")  # type: ignore[attr-defined]
    sqlite3.register_converter("timestamp", feast_sqlite.convert_timestamp)
    try:
        yield
    finally:
        if before is not None:
            sqlite3.register_converter("timestamp", before)
