"""SQL storage for runs, the event log, the latest-record index and key/values.

One class, `SqlStorage`, over SQLAlchemy Core, for SQLite (embedded, WAL) and
PostgreSQL. Writes of one step go in one transaction; reads for a whole graph are
one query. It stores and returns records; it knows nothing of graphs or versions.

Event ids are a sound cursor: a read of events (or of the latest ids, what the
automation tick follows) that returns id n returns every event below n. SQLite gets
this from its one writer at a time. On PostgreSQL writers commit in parallel, in any
order, and those reads stop below the oldest id still in flight (`visibility.py`); the
latest-record index keeps the newest id whatever the commit order.

On PostgreSQL a step's events are one statement, its own transaction (`postgres.py`).
A connection lost before the commit is retried once on a new connection (for that one
statement: found closed by the server before it was sent); one lost during the commit
(once the statement was sent) is a `StorageError`, as whether it landed is unknown. A
read that loses its connection is run again, once: it changes nothing.

Database errors that have a fix become `StorageError`s saying so, at one place (the
engine's `handle_error` hook, and `_fault` for the driver calls of the SQLite hot path):
a damaged SQLite file (move it aside or restore a backup; from then on this object
writes nothing more into it), a full disk (free space). No message shows a password.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, and_, create_engine, event, or_, select, update
from sqlalchemy.engine import Engine, ExceptionContext, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.pool import StaticPool

from sheer.errors import StorageError
from sheer.events import EventRecord, EventType, RunRecord, RunStatus, to_json
from sheer.keys import AssetKey
from sheer.storage.faults import Fault, classify, redacted, sqlite_file
from sheer.storage.latest import (
    latest_entity_versions,
    latest_partition_records,
    latest_provenances,
    materialized_partitions,
)
from sheer.storage.postgres import EventStatements, closed_by_server
from sheer.storage.rows import (
    EVENT_FIELDS,
    LatestRecords,
    NewEvent,
    VersionRow,
    event_columns,
    event_values,
    latest_values,
    record_from_row,
    run_from_row,
)
from sheer.storage.schema import (
    asset_latest,
    db_now,
    event_logs,
    kv,
    migrate,
    runs,
)
from sheer.storage.visibility import (
    REGISTER_WRITER,
    LatestIds,
    insert_events_sql,
    latest_ids_below,
    watermark,
)

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert


T = TypeVar("T")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )
        if not memory:
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url)
    # A pooled connection idle for a while may have been cut (a restarted server): it is
    # pinged before use, and replaced when it fails. Not one used a moment ago: a ping
    # per transaction cost a fifth of a writer's time. One lost meanwhile is retried
    # by `_read` and `_write`.
    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", lambda conn, record, _: _ping_if_idle(engine, conn, record))
    return engine


_PING_AFTER = 1.0  # seconds idle in the pool after which a connection is pinged before use


def _note_idle(_dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: Engine, dbapi_conn: Any, record: Any) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < _PING_AFTER:
        return
    try:
        engine.dialect.do_ping(dbapi_conn)
    except Exception as exc:  # the pool then opens a new connection in its place
        raise DisconnectionError("a pooled connection failed its ping") from exc


_EMPTY_FILE_GRACE = 1.0  # seconds a 0-byte file may take to grow: another opener creating it
_READS = ("SELECT", "PRAGMA", "WITH", "EXPLAIN")  # statements a damaged file still runs


class SqlStorage:
    """Runs, events, the latest-record index and key/values in one SQL database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = redacted(url)  # the URL in messages
        self._file = sqlite_file(url)
        self._damage: str | None = None  # why nothing more may be written, once damaged
        self._opening = True
        if self._file is not None:
            self._refuse_empty_file(self._file)
        try:
            self.engine = make_engine(url)
            self.dialect = self.engine.dialect.name
            event.listen(self.engine, "handle_error", self._on_error)
            self._upserts: dict[str, Any] = {}  # latest-index column -> its upsert statement
            # SQLite only: (statement, columns) -> (SQL, parameter order), see _execute_sqlite.
            self._sqlite_sql: dict[tuple[Any, tuple[str, ...]], tuple[str, tuple[str, ...]]] | None
            self._sqlite_sql = {} if self.dialect == "sqlite" else None
            self._insert_sql: dict[int, str] = {}  # PostgreSQL: rows -> its INSERT of events
            self._upsert_sql: dict[str, str] = {}  # PostgreSQL: column -> its upsert's SQL
            self._event_statements = EventStatements()  # PostgreSQL: a step's one statement
            _retry(lambda: migrate(self.engine, self.where))
        except SQLAlchemyError as exc:
            reason = self._redact(str(exc).splitlines()[0])  # not "(Background on ...)"
            if isinstance(exc, ArgumentError):
                fix = (
                    "check the URL, e.g. sqlite:///path/to/sheer.db or "
                    "postgresql+psycopg://user@host/db."
                )
            elif self._file is not None:  # a local file: no server to blame
                fix = (
                    "check the path and that its folder is writable; a file that is damaged or "
                    "not a Sheer database: move it aside (or restore a backup) to start afresh."
                )
            else:
                fix = "check the URL, and that the database server is running and reachable."
            raise StorageError(
                f"Cannot open the instance storage at {self.where}: {reason}. Fix: {fix}",
                file=self.where,
            ) from exc
        self._opening = False

    def dispose(self) -> None:
        self.engine.dispose()

    # Errors -----------------------------------------------------------------
    def _refuse_empty_file(self, path: Path) -> None:
        """SQLite takes an empty file for a new database; Sheer refuses one it did not just
        create: a file that lost its content would be set up afresh over lost history.
        (Another process creating the database leaves it empty for a moment only.)"""
        deadline = time.monotonic() + _EMPTY_FILE_GRACE
        while path.is_file() and path.stat().st_size == 0:
            if time.monotonic() > deadline:
                raise StorageError(
                    f"Cannot open the instance storage at {self.where}: the file {path} is "
                    "empty (0 bytes). Its content was lost (or it is not a Sheer instance), "
                    "and Sheer does not set up a new database over it. Fix: move it aside to "
                    "start afresh, or restore a backup.",
                    file=self.where,
                )
            time.sleep(0.05)

    def _on_error(self, context: ExceptionContext) -> None:
        """The engine's `handle_error` hook: raise a fault's `StorageError` instead."""
        if context.is_pre_ping:
            return
        orig = context.original_exception
        if self._opening and "not a database" in str(orig):
            return  # the URL names another file: the message of __init__ says so
        error = self._fault(orig)
        if error is not None:
            raise error from context.sqlalchemy_exception or orig

    def _fault(self, orig: BaseException) -> StorageError | None:
        """The `StorageError` for a driver's exception that has a fix of its own (None:
        not one). A damaged file is remembered: no later write goes into it."""
        fault = classify(orig)
        reason = self._redact(str(orig).splitlines()[0] if str(orig) else type(orig).__name__)
        if fault is Fault.DAMAGED:
            if self._damage is None:
                self._damage = (
                    f"The instance storage at {self.where} is damaged: SQLite reports "
                    f'"{reason}". Nothing more is written to it. Fix: stop what uses it, then '
                    "move it aside or restore a backup (Sheer creates a new, empty database "
                    "where there is none)."
                )
                event.listen(self.engine, "before_cursor_execute", self._refuse_writes)
            return StorageError(self._damage, file=self.where)
        if fault is Fault.FULL:
            disk = f"on {self._file.resolve().parent}" if self._file else "for the database server"
            return StorageError(
                f"The instance storage at {self.where} has no space left ({reason}): what was "
                f"being written was rolled back. Fix: free space {disk}, then run it again.",
                file=self.where,
            )
        return None

    def _refuse_writes(self, *args: Any) -> None:
        """`before_cursor_execute` hook, once the file is damaged: only reads still run."""
        statement = str(args[2]).lstrip()[:8].upper()
        if self._damage is not None and not statement.startswith(_READS):
            raise StorageError(self._damage, file=self.where)

    def _check_writable(self) -> None:
        if self._damage is not None:
            raise StorageError(self._damage, file=self.where)

    def _redact(self, message: str) -> str:
        try:
            password = make_url(self.url).password
        except (ArgumentError, ValueError):
            return message
        return message.replace(str(password), "***") if password else message

    def _lost(self, reason: str, what: str) -> StorageError:
        return StorageError(
            f"Cannot {what} the instance storage at {self.where}: the connection was lost "
            f"({reason}), and again on a new connection. Fix: check that the database "
            "server is running and reachable.",
            file=self.where,
        )

    # Writes -----------------------------------------------------------------
    def store_events(self, events: Sequence[NewEvent]) -> list[int]:
        """Write events (and update the latest-record index) in one transaction."""
        if self._sqlite_sql is not None:
            self._check_writable()
            return self._store_events_sqlite(events)
        if 0 < len(events) <= _PG_BATCH:
            return self._store_events_postgres(events)
        return self._write(lambda conn: self._insert_events(conn, events))

    def _store_events_postgres(self, events: Sequence[NewEvent]) -> list[int]:
        """Write events in one statement, its own transaction (`postgres.py`): one round
        trip. A pooled connection the server closed meanwhile was sent nothing: it is
        replaced and the write goes to a new one, once. One lost after the statement was
        sent is a `StorageError`, as at a commit: whether it landed is unknown."""
        self._check_writable()
        sql, params = self._event_statements.build(events)
        for attempt in (1, 2):
            pooled = self.engine.raw_connection()
            try:
                driver = pooled.driver_connection
                if not closed_by_server(driver):
                    return self._send_events(pooled, driver, sql, params)
                pooled.invalidate()
            finally:
                pooled.close()
            if attempt == 2:
                raise self._lost("the server had closed it", "write to")
            self.engine.dispose()  # a server that closed one closed them all: a new pool
        raise AssertionError("unreachable")

    def _send_events(
        self, pooled: Any, driver: Any, sql: str, params: tuple[Any, ...]
    ) -> list[int]:
        driver.autocommit = True  # the one statement is the transaction
        try:
            # Drawn in the rows' order; RETURNING need not keep it.
            return sorted(int(i) for (i,) in driver.execute(sql, params))
        except self.engine.dialect.loaded_dbapi.Error as exc:
            if driver.broken:
                pooled.invalidate()
                reason = self._redact(str(exc).splitlines()[0])
                raise self._unknown_commit(reason) from exc
            error = DBAPIError.instance(sql, params, exc, self.engine.dialect.loaded_dbapi.Error)
            raise self._fault(exc) or error from exc
        finally:
            if not driver.closed:
                driver.autocommit = False

    def _write(self, work: Callable[[Connection], T], *, events: bool = False) -> T:
        """Run `work` in one transaction; with `events`, after registering as a writer of
        event ids (PostgreSQL, see `visibility.py`; `_insert_events` registers itself). A
        connection lost before the commit rolled everything back, so the transaction is
        run again, once, on a new connection."""
        self._check_writable()
        register = events and self.dialect == "postgresql"
        for attempt in (1, 2):
            committing = False
            try:
                with self.engine.begin() as conn:
                    if register:
                        conn.execute(REGISTER_WRITER)
                    result = work(conn)
                    committing = True  # leaving the block commits
                return result
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                reason = self._redact(str(exc.orig or exc).splitlines()[0])
                if committing:
                    raise self._unknown_commit(reason) from exc
                if attempt == 2:
                    raise self._lost(reason, "write to") from exc
        raise AssertionError("unreachable")

    def _unknown_commit(self, reason: str) -> StorageError:
        return StorageError(
            f"The connection to the instance storage at {self.where} was lost while "
            f"committing ({reason}), so whether the write was recorded is unknown. Fix: "
            "check the database server and its logs; a run that hit this is recorded as "
            "failed when its run process can still reach it.",
            file=self.where,
        )

    def _read(self, work: Callable[[Connection], T]) -> T:
        """Run the read `work` on a pooled connection. A read changes nothing: one that
        lost its connection (a restarted server, a cut network) is run again, once."""
        for attempt in (1, 2):
            try:
                with self.engine.connect() as conn:
                    return work(conn)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                if attempt == 2:
                    reason = self._redact(str(exc.orig or exc).splitlines()[0])
                    raise self._lost(reason, "read from") from exc
        raise AssertionError("unreachable")

    def _store_events_sqlite(self, events: Sequence[NewEvent]) -> list[int]:
        # A run writes two transactions a step; on SQLite, SQLAlchemy's Connection around
        # them cost as much as SQLite itself, so the pooled driver connection is used
        # directly: the driver begins the transaction at the first write, and it is
        # committed or rolled back here, as `engine.begin()` would.
        dbapi_conn = self.engine.raw_connection()
        try:
            ids = [self._insert_event(dbapi_conn, e) for e in events]
            dbapi_conn.commit()
            return ids
        except sqlite3.Error as exc:  # from commit; statements raise SQLAlchemy's errors
            dbapi_conn.rollback()
            wrapped = DBAPIError.instance("COMMIT", None, exc, sqlite3.Error)
            raise self._fault(exc) or wrapped from exc
        except BaseException:
            dbapi_conn.rollback()
            raise
        finally:
            dbapi_conn.close()  # back to the pool

    def _insert_event(self, conn: Any, e: NewEvent) -> int:
        """Insert one event; `conn` is a Connection, or on SQLite a driver connection."""
        # One statement object with bound parameters, compiled once (building
        # `.values(...)` per event cost ~0.4 ms).
        values = event_values(e)
        if self._sqlite_sql is not None:
            event_id = self._execute_sqlite(conn, _INSERT_EVENT, values)
        else:
            event_id = int(conn.execute(_INSERT_EVENT, values).inserted_primary_key[0])
        latest = latest_values(e, values, event_id)
        if latest is not None:
            column, row = latest
            if self._sqlite_sql is not None:
                self._execute_sqlite(conn, self._upsert(column, row), row)
            else:
                conn.execute(self._upsert(column, row), row)
        return event_id

    def _insert_events(self, conn: Connection, events: Sequence[NewEvent]) -> list[int]:
        """Insert events (PostgreSQL), registering as a writer of event ids in the same
        statement, one statement per `_PG_BATCH` events; then update the latest-record
        index in one statement per kind (on a database server every statement is a round
        trip). The driver's SQL, built once per batch size: SQLAlchemy's compiling cost
        as much as the statement."""
        if not events:
            return []
        rows = [event_values(e) for e in events]
        ids: list[int] = []
        for start in range(0, len(rows), _PG_BATCH):
            batch = rows[start : start + _PG_BATCH]
            sql = self._insert_sql.get(len(batch))
            if sql is None:
                sql = self._insert_sql[len(batch)] = insert_events_sql(_EVENT_COLUMNS, len(batch))
            params = tuple(row[c] for row in batch for c in _EVENT_COLUMNS)
            # Drawn in the rows' order; RETURNING need not keep it.
            ids += sorted(int(i) for i in conn.exec_driver_sql(sql, params).scalars())
        latest: dict[tuple[str, str, str], dict[str, Any]] = {}  # a later event wins
        for e, values, event_id in zip(events, rows, ids, strict=True):
            found = latest_values(e, values, event_id)
            if found is not None:
                column, row = found
                latest[column, row["asset_key"], row["partition"]] = row
        for column in sorted({c for c, _, _ in latest}):
            batch = [latest[k] for k in sorted(latest) if k[0] == column]
            sql = self._upsert_sql.get(column)
            if sql is None:  # named placeholders: the rows are passed as they are
                stmt = self._upsert(column, batch[0])
                compiled = stmt.compile(dialect=self.engine.dialect, column_keys=list(batch[0]))
                sql = self._upsert_sql[column] = str(compiled)
            conn.exec_driver_sql(sql, batch if len(batch) > 1 else batch[0])
        return ids

    def _upsert(self, column: str, row: Mapping[str, Any]) -> Any:
        stmt = self._upserts.get(column)
        if stmt is None:
            stmt = self._upserts[column] = self._upsert_statement(list(row))
        return stmt

    def _execute_sqlite(self, conn: Any, stmt: Any, values: Mapping[str, Any]) -> int:
        """Run a write statement on the SQLite driver's cursor, inside `conn`'s transaction
        (`conn` is a Connection or a driver connection); returns the row id it inserted.

        The SQL is compiled once per statement and set of columns. The hot path of a run
        (three or four statements a step) spent more time in SQLAlchemy's per-execution
        work than in SQLite; errors are still raised as SQLAlchemy's exceptions.
        """
        assert self._sqlite_sql is not None
        columns = tuple(values)
        compiled = self._sqlite_sql.get((stmt, columns))
        if compiled is None:
            c = stmt.compile(dialect=self.engine.dialect, column_keys=list(columns))
            compiled = self._sqlite_sql[stmt, columns] = (str(c), tuple(c.positiontup or ()))
        sql, order = compiled
        params = tuple(values[k] for k in order)
        cursor = (conn.connection if isinstance(conn, Connection) else conn).cursor()
        try:
            cursor.execute(sql, params)
            return int(cursor.lastrowid or 0)
        except sqlite3.Error as exc:  # the fault's StorageError, as `_on_error` gives
            wrapped = DBAPIError.instance(sql, params, exc, sqlite3.Error)
            raise self._fault(exc) or wrapped from exc
        finally:
            cursor.close()

    def _upsert_statement(self, columns: list[str]) -> Any:
        """INSERT ... ON CONFLICT DO UPDATE of `columns`, taking values as bound parameters."""
        stmt: PgInsert | SqliteInsert
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(asset_latest)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(asset_latest)
        changes = {c: stmt.excluded[c] for c in columns if c not in ("asset_key", "partition")}
        # Only a newer event moves the index: on PostgreSQL, writers commit in any order.
        (kind,) = (c for c in columns if c in ("last_materialization_id", "last_observation_id"))
        newer = or_(asset_latest.c[kind].is_(None), asset_latest.c[kind] < stmt.excluded[kind])
        return stmt.on_conflict_do_update(
            index_elements=["asset_key", "partition"], set_=changes, where=newer
        )

    def add_run(
        self,
        run: RunRecord,
        *,
        pid: int | None,
        pid_started: str | None,
        hostname: str | None,
        values: Mapping[str, str] | None = None,
    ) -> None:
        """Insert a run, and set `values` (key/values) in the same transaction."""
        self.add_runs([run], pid=pid, pid_started=pid_started, hostname=hostname, values=values)

    def add_runs(
        self,
        new_runs: Sequence[RunRecord],
        *,
        pid: int | None,
        pid_started: str | None,
        hostname: str | None,
        values: Mapping[str, str] | None = None,
    ) -> None:
        """Insert runs, and set `values` (key/values), all in one transaction."""
        rows = [self._run_row(run, pid, pid_started, hostname) for run in new_runs]

        def add(conn: Connection) -> None:
            if rows:
                conn.execute(runs.insert(), rows)
            for key, value in (values or {}).items():
                conn.execute(self._kv_upsert(key, value))

        self._write(add)

    @staticmethod
    def _run_row(
        run: RunRecord, pid: int | None, pid_started: str | None, hostname: str | None
    ) -> dict[str, Any]:
        return {
            "run_id": run.run_id,
            "status": run.status.value,
            "asset_selection": to_json([k.to_user_string() for k in run.asset_selection]),
            "tags": to_json(dict(run.tags)),
            "executor": run.executor,
            "created_at": run.created_at,
            "started_at": run.started_at,
            "ended_at": run.ended_at,
            "pid": pid,
            "pid_started": pid_started,
            "hostname": hostname,
        }

    def set_run_launcher(
        self, run_id: str, *, pid: int, pid_started: str | None, hostname: str
    ) -> None:
        """Record the process launched to claim a QUEUED run (no-op once it is claimed)."""
        self._write(
            lambda conn: conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id)
                .where(runs.c.status == RunStatus.QUEUED.value)
                .values(pid=pid, pid_started=pid_started, hostname=hostname)
            )
        )

    def claim_run(
        self, run_id: str, *, pid: int, pid_started: str | None, hostname: str, event: NewEvent
    ) -> bool:
        """Move a QUEUED run to STARTED in this process and write its RUN_START, atomically."""

        def claim(conn: Connection) -> bool:
            done = conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id)
                .where(runs.c.status == RunStatus.QUEUED.value)
                .values(
                    status=RunStatus.STARTED.value,
                    started_at=event.timestamp or time.time(),
                    pid=pid,
                    pid_started=pid_started,
                    hostname=hostname,
                )
            )
            if done.rowcount != 1:
                return False
            self._insert_event(conn, event)
            return True

        return self._write(claim, events=True)

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        event: NewEvent,
        error: str | None = None,
        *,
        only_if_started: bool = False,
    ) -> bool:
        """Set a run's final status and write its closing event, atomically."""

        def finish(conn: Connection) -> bool:
            stmt = update(runs).where(runs.c.run_id == run_id)
            if only_if_started:
                stmt = stmt.where(
                    runs.c.status.in_([RunStatus.STARTED.value, RunStatus.QUEUED.value])
                )
            ended_at = event.timestamp or time.time()
            done = conn.execute(stmt.values(status=status.value, ended_at=ended_at, error=error))
            if done.rowcount != 1:
                return False
            self._insert_event(conn, event)
            return True

        return self._write(finish, events=True)

    def set_kv(self, key: str, value: str) -> None:
        stmt = self._kv_upsert(key, value)
        self._write(lambda conn: conn.execute(stmt))

    def _kv_upsert(self, key: str, value: str) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            insert: Any = pg_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            insert = sqlite_insert
        now = time.time()
        return (
            insert(kv)
            .values(key=key, value=value, updated_at=now)
            .on_conflict_do_update(index_elements=["key"], set_={"value": value, "updated_at": now})
        )

    def get_kv(self, key: str) -> str | None:
        stmt = select(kv.c.value).where(kv.c.key == key)
        row = self._read(lambda conn: conn.execute(stmt).first())
        return row[0] if row else None

    # Reads ------------------------------------------------------------------
    def get_latest_records(
        self, keys: Iterable[AssetKey] | None, partition: str | None = None
    ) -> dict[AssetKey, LatestRecords]:
        """Latest materialization and observation of each key, in one query."""
        found = self.get_latest_partition_records(keys, [partition or ""])
        return {key: records for (key, _), records in found.items()}

    def get_latest_partition_records(
        self, keys: Iterable[AssetKey] | None, partitions: Iterable[str]
    ) -> dict[tuple[AssetKey, str], LatestRecords]:
        """Latest materialization and observation of each key (all when None) in each of
        `partitions` ('' for the unpartitioned entity), in one query (`latest.py`)."""
        return latest_partition_records(self._read, keys, partitions)

    def get_latest_entity_versions(self) -> list[tuple[Any, ...]]:
        """Every (asset, partition) entity's latest versions, in one query (`latest.py`)."""
        return latest_entity_versions(self._read)

    def get_latest_provenances(self, key: AssetKey) -> dict[str, str | None]:
        """`{partition: provenance JSON}` of one asset's entities, in one query."""
        return latest_provenances(self._read, key)

    def get_materialized_partitions(self, key: AssetKey) -> set[str]:
        """The partitions of one asset that have a materialization, in one query."""
        return materialized_partitions(self._read, key)

    def get_latest_versions(self, partition: str | None = None) -> list[VersionRow]:
        """Every entity's latest versions from the index alone, in one query: no join, no
        event body decoded. What staleness reads for a whole graph."""
        sql = _SELECT_VERSIONS[self.dialect == "postgresql"]

        def read(conn: Connection) -> list[VersionRow]:
            result = conn.exec_driver_sql(sql, (partition or "",))
            # The driver's own rows: SQLAlchemy's Row objects cost more than the query.
            rows: list[VersionRow] = result.cursor.fetchall()  # type: ignore[assignment]
            return rows

        return self._read(read)

    def get_event_records(
        self,
        *,
        event_type: EventType | None = None,
        asset_key: AssetKey | None = None,
        run_id: str | None = None,
        after_id: int | None = None,
        before_id: int | None = None,
        limit: int | None = None,
        ascending: bool = True,
    ) -> list[EventRecord]:
        stmt = select(*event_columns(event_logs))
        conds = []
        if event_type is not None:
            conds.append(event_logs.c.event_type == event_type.value)
        if asset_key is not None:
            conds.append(event_logs.c.asset_key == asset_key.to_user_string())
        if run_id is not None:
            conds.append(event_logs.c.run_id == run_id)
        if after_id is not None:
            conds.append(event_logs.c.id > after_id)
        if before_id is not None:
            conds.append(event_logs.c.id < before_id)
        if conds:
            stmt = stmt.where(and_(*conds))
        stmt = stmt.order_by(event_logs.c.id.asc() if ascending else event_logs.c.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)

        def read(conn: Connection) -> list[EventRecord]:
            query = stmt
            if self.dialect == "postgresql":  # ids that can still commit are read later
                query = stmt.where(event_logs.c.id < watermark(conn))
            return [r for r in (record_from_row(row) for row in conn.execute(query)) if r]

        return self._read(read)

    def get_latest_ids(self, partition: str | None = None) -> dict[str, LatestIds]:
        """For every asset with a record: the ids of its latest materialization and
        observation (0 when none) and the run of that materialization. What a tick needs
        of the latest-record index, without reading the events themselves.

        The ids are a sound cursor: none is at or above an id that can still commit. On
        PostgreSQL, an entity the writers in flight have overtaken (its latest id is at
        or above the watermark) gets its latest ids below the watermark from the event
        log: one more query, on a handful of entities.
        """
        stmt = select(
            asset_latest.c.asset_key,
            asset_latest.c.last_materialization_id,
            asset_latest.c.last_observation_id,
            asset_latest.c.last_run_id,
        ).where(asset_latest.c.partition == (partition or ""))

        def read(conn: Connection) -> dict[str, LatestIds]:
            below = watermark(conn) if self.dialect == "postgresql" else None
            out = {name: (m or 0, o or 0, run_id) for name, m, o, run_id in conn.execute(stmt)}
            if below is not None:
                ahead = [name for name, (m, o, _) in out.items() if max(m, o) >= below]
                if ahead:
                    settled = latest_ids_below(conn, ahead, below, partition)
                    for name in ahead:
                        if name in settled:
                            out[name] = settled[name]
                        else:
                            del out[name]  # its first record is still in flight
            return out

        return self._read(read)

    def get_latest_entity_ids(self) -> dict[tuple[str, str], LatestIds]:
        """`get_latest_ids` for every entity: `{(asset, partition): (materialization id,
        observation id, run)}`, the unpartitioned entity's partition being ''. One query
        (on PostgreSQL, one more per partition that writers in flight have overtaken).
        What an automation tick over partitions reads."""
        stmt = select(
            asset_latest.c.asset_key,
            asset_latest.c.partition,
            asset_latest.c.last_materialization_id,
            asset_latest.c.last_observation_id,
            asset_latest.c.last_run_id,
        )

        def read(conn: Connection) -> dict[tuple[str, str], LatestIds]:
            below = watermark(conn) if self.dialect == "postgresql" else None
            out = {
                (name, part or ""): (m or 0, o or 0, run_id)
                for name, part, m, o, run_id in conn.execute(stmt)
            }
            if below is not None:
                ahead: dict[str, list[str]] = {}
                for (name, part), (m, o, _) in out.items():
                    if max(m, o) >= below:
                        ahead.setdefault(part, []).append(name)
                for part, names in ahead.items():
                    settled = latest_ids_below(conn, names, below, part or None)
                    for name in names:
                        if name in settled:
                            out[name, part] = settled[name]
                        else:
                            del out[name, part]  # its first record is still in flight
            return out

        return self._read(read)

    def beat_runs(self, run_ids: Sequence[str]) -> None:
        """Record that the process running these STARTED runs is alive, by the database's
        clock (hosts' clocks may differ)."""
        if not run_ids:
            return
        now = db_now(self.dialect)
        self._write(
            lambda conn: conn.execute(
                update(runs)
                .where(runs.c.run_id.in_(list(run_ids)))
                .where(runs.c.status == RunStatus.STARTED.value)
                .values(heartbeat_at=now)
            )
        )

    def heartbeat_ages(self, run_ids: Sequence[str]) -> dict[str, float | None]:
        """Seconds since each run's last heartbeat, by the database's clock (None: the
        run never beat, e.g. one started before heartbeats existed)."""
        if not run_ids:
            return {}
        age = (db_now(self.dialect) - runs.c.heartbeat_at).label("age")
        stmt = select(runs.c.run_id, age).where(runs.c.run_id.in_(list(run_ids)))
        rows = self._read(lambda conn: conn.execute(stmt).all())
        return {run_id: (None if value is None else float(value)) for run_id, value in rows}

    def get_run_rows(
        self,
        *,
        run_id: str | None = None,
        status: RunStatus | None = None,
        limit: int | None = None,
        before_created: float | None = None,
    ) -> list[tuple[RunRecord, int | None, str | None, str | None]]:
        """Runs, newest first, each with (pid, pid_started, hostname) for liveness checks."""
        stmt = select(runs)
        if run_id is not None:
            stmt = stmt.where(runs.c.run_id == run_id)
        if status is not None:
            stmt = stmt.where(runs.c.status == status.value)
        if before_created is not None:
            stmt = stmt.where(runs.c.created_at < before_created)
        stmt = stmt.order_by(runs.c.created_at.desc(), runs.c.run_id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = self._read(lambda conn: conn.execute(stmt).mappings().all())
        return [(run_from_row(r), r["pid"], r["pid_started"], r["hostname"]) for r in rows]


# The narrow read of the latest-record index (constant SQL, one bound parameter).
_VERSION_SQL = (
    "SELECT asset_key, last_materialization_id, data_version, code_version, inputs, "
    "last_observation_id, observation_data_version, provenance "
    "FROM asset_latest WHERE partition = {}"
)
_SELECT_VERSIONS = {False: _VERSION_SQL.format("?"), True: _VERSION_SQL.format("%s")}
_INSERT_EVENT = event_logs.insert()
# The keys of `event_values`, in the order of the insert's columns: every field but the id.
_EVENT_COLUMNS = EVENT_FIELDS[1:]
_PG_BATCH = 1000  # events per INSERT: 8 parameters each, PostgreSQL takes 65,535


def _retry(fn: Any, attempts: int = 5) -> Any:
    # Two processes opening a new database at once race on creating the schema;
    # the loser sees "table exists" or a lock and simply tries again.
    for attempt in range(attempts):
        try:
            return fn()
        except (OperationalError, SQLAlchemyError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    return None
