"""A step's events on PostgreSQL in one statement: its parameters, and the driver checks
around sending it.

A run writes two transactions a step. Through `engine.begin()` each took a round trip
for BEGIN, one per statement and one for COMMIT, and SQLAlchemy's work around them cost
more than the server's; here a transaction is one statement (`write_events_sql`), sent
in autocommit on the pooled driver connection. Building the SQL and the parameters needs
no connection; `SqlStorage` sends them and handles what fails (sql.py).
"""

from __future__ import annotations

import select
from collections.abc import Sequence
from typing import Any

from sheer.storage.rows import EVENT_FIELDS, INDEX_COPIES, NewEvent, event_values, latest_values
from sheer.storage.visibility import write_events_sql

_COLUMNS = EVENT_FIELDS[1:]  # every event field but the id, in the statement's order
_SHAPES = 256  # statements kept, one per (rows, positions that move the index)


class EventStatements:
    """The statement writing a list of events, its SQL built once per shape."""

    def __init__(self) -> None:
        self._sql: dict[tuple[int, tuple[tuple[str, tuple[int, ...]], ...]], str] = {}

    def build(self, events: Sequence[NewEvent]) -> tuple[str, tuple[Any, ...]]:
        """The SQL and its parameters: the events' columns, then each index column's
        copied values for the latest event of each entity (a later event wins)."""
        rows = [event_values(e) for e in events]
        latest: dict[tuple[str, str, str], tuple[int, dict[str, Any]]] = {}
        for i, (e, values) in enumerate(zip(events, rows, strict=True)):
            found = latest_values(e, values, 0)
            if found is not None:
                column, row = found
                latest[column, row["asset_key"], row["partition"]] = (i, row)
        params = [row[c] for row in rows for c in _COLUMNS]
        moves: list[tuple[str, tuple[int, ...]]] = []
        for column in sorted({c for c, _, _ in latest}):
            chosen = sorted(latest[k] for k in latest if k[0] == column)
            moves.append((column, tuple(i for i, _ in chosen)))
            params += [row[c] for _, row in chosen for c in INDEX_COPIES[column]]
        shape = (len(rows), tuple(moves))
        sql = self._sql.get(shape)
        if sql is None:
            if len(self._sql) >= _SHAPES:
                self._sql.clear()
            index = {column: (INDEX_COPIES[column], positions) for column, positions in moves}
            sql = self._sql[shape] = write_events_sql(_COLUMNS, len(rows), index)
        return sql, tuple(params)


def closed_by_server(driver: Any) -> bool:
    """Whether the server has closed this idle driver connection (a restart, an
    administrator's pg_terminate_backend), checked without a round trip before a
    statement is sent. Nothing is due from the server on an idle connection (Sheer
    listens to no channel), so anything to read is its goodbye or the end of the stream.
    (A server reloading a reported setting says so too: the connection is then replaced
    for nothing, which is rare and harmless.)"""
    return bool(select.select([driver.fileno()], [], [], 0)[0])
