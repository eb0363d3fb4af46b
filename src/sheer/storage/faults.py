"""What a database error means for the instance, and how messages name a database.

Pure functions over driver exceptions and URLs; `SqlStorage` turns a fault into the
`StorageError` whose fix fits it (sql.py). Nothing here opens a connection.
"""

from __future__ import annotations

import re
import sqlite3
from enum import Enum
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class Fault(Enum):
    """What a database error means for the instance, when it has a fix of its own."""

    DAMAGED = "damaged"  # SQLite reports its file corrupt
    FULL = "full"  # no space left to write


def classify(exc: BaseException) -> Fault | None:
    """The fault behind a driver's exception (`DBAPIError.orig`), or None."""
    message = str(exc)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", -1) & 0xFF  # the primary result code
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or (
            "malformed" in message or "not a database" in message
        ):
            return Fault.DAMAGED
        if code == sqlite3.SQLITE_FULL or "database or disk is full" in message:
            return Fault.FULL
    if getattr(exc, "sqlstate", None) == "53100" or "No space left on device" in message:
        return Fault.FULL  # PostgreSQL's disk_full, or the OS's ENOSPC
    return None


def redacted(url: str) -> str:
    """`url` as messages show it: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # not a URL SQLAlchemy parses: mask by hand
        return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database or another backend."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)
