"""SQL storage for runs, the event log, the latest-record index and key/values.

One class, `SqlStorage`, over SQLAlchemy Core, for SQLite (embedded, WAL) and
PostgreSQL. Writes of one step go in one transaction; reads for a whole graph are
one query. It stores and returns records; it knows nothing of graphs or versions.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, create_engine, event, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from sheer.errors import StorageError
from sheer.events import EventRecord, EventType, RunRecord, RunStatus, from_json, to_json
from sheer.keys import AssetKey
from sheer.storage.schema import asset_latest, event_logs, kv, migrate, runs

_BULK_THRESHOLD = 2000  # above this many keys, read the whole index rather than IN (...)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEvent:
    """An event to write; storage assigns its id."""

    event_type: EventType
    run_id: str | None = None
    timestamp: float = 0.0
    asset_key: AssetKey | None = None
    partition: str | None = None
    step_key: str | None = None
    message: str = ""
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class LatestRecords:
    """The latest materialization and observation of one asset entity."""

    materialization: EventRecord | None
    observation: EventRecord | None
    last_run_id: str | None


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
    return create_engine(url, pool_pre_ping=True)


class SqlStorage:
    """Runs, events, the latest-record index and key/values in one SQL database."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = make_engine(url)
            self.dialect = self.engine.dialect.name
            self._upserts: dict[str, Any] = {}  # latest-index column -> its upsert statement
            # SQLite only: (statement, columns) -> (SQL, parameter order), see _execute_sqlite.
            self._sqlite_sql: dict[tuple[Any, tuple[str, ...]], tuple[str, tuple[str, ...]]] | None
            self._sqlite_sql = {} if self.dialect == "sqlite" else None
            _retry(lambda: migrate(self.engine, url))
        except SQLAlchemyError as exc:
            reason = str(exc).splitlines()[0]  # not SQLAlchemy's "(Background on ...)" line
            raise StorageError(
                f"Cannot open the instance storage at {url}: {reason}. Fix: check the URL, "
                "that the database server is running, and that the folder is writable.",
                file=url,
            ) from exc

    def dispose(self) -> None:
        self.engine.dispose()

    # Writes -----------------------------------------------------------------
    def store_events(self, events: Sequence[NewEvent]) -> list[int]:
        """Write events (and update the latest-record index) in one transaction."""
        if self._sqlite_sql is not None:
            return self._store_events_sqlite(events)
        with self.engine.begin() as conn:
            return [self._insert_event(conn, e) for e in events]

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
            raise DBAPIError.instance("COMMIT", None, exc, sqlite3.Error) from exc
        except BaseException:
            dbapi_conn.rollback()
            raise
        finally:
            dbapi_conn.close()  # back to the pool

    def _insert_event(self, conn: Any, e: NewEvent) -> int:
        """Insert one event; `conn` is a Connection, or on SQLite a driver connection."""
        ts = e.timestamp or time.time()
        key = e.asset_key.to_user_string() if e.asset_key is not None else None
        # One statement object with bound parameters, compiled once (building
        # `.values(...)` per event cost ~0.4 ms).
        values = {
            "run_id": e.run_id,
            "timestamp": ts,
            "event_type": e.event_type.value,
            "asset_key": key,
            "partition": e.partition,
            "step_key": e.step_key,
            "message": e.message,
            "body": to_json(dict(e.data or {})),
        }
        if self._sqlite_sql is not None:
            event_id = self._execute_sqlite(conn, _INSERT_EVENT, values)
        else:
            event_id = int(conn.execute(_INSERT_EVENT, values).inserted_primary_key[0])
        if key is not None and e.event_type in EventType.asset_event_types():
            column = (
                "last_materialization_id"
                if e.event_type is EventType.ASSET_MATERIALIZATION
                else "last_observation_id"
            )
            self._upsert_latest(conn, key, e.partition or "", column, event_id, e.run_id, ts)
        return event_id

    def _upsert_latest(
        self, conn: Any, key: str, partition: str, column: str, event_id: int,
        run_id: str | None, ts: float,
    ) -> None:
        values = {"asset_key": key, "partition": partition, column: event_id, "updated_at": ts}
        if column == "last_materialization_id":
            values["last_run_id"] = run_id
        stmt = self._upserts.get(column)
        if stmt is None:
            stmt = self._upserts[column] = self._upsert_statement(list(values))
        if self._sqlite_sql is not None:
            self._execute_sqlite(conn, stmt, values)
        else:
            conn.execute(stmt, values)

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
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc
        finally:
            cursor.close()

    def _upsert_statement(self, columns: list[str]) -> Any:
        """INSERT ... ON CONFLICT DO UPDATE of `columns`, taking values as bound parameters."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(asset_latest)
        changes = {c: stmt.excluded[c] for c in columns if c not in ("asset_key", "partition")}
        return stmt.on_conflict_do_update(index_elements=["asset_key", "partition"], set_=changes)

    def add_run(self, run: RunRecord, *, pid: int | None, pid_started: str | None,
                hostname: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                runs.insert().values(
                    run_id=run.run_id,
                    status=run.status.value,
                    asset_selection=to_json([k.to_user_string() for k in run.asset_selection]),
                    tags=to_json(dict(run.tags)),
                    executor=run.executor,
                    created_at=run.created_at,
                    started_at=run.started_at,
                    ended_at=run.ended_at,
                    pid=pid,
                    pid_started=pid_started,
                    hostname=hostname,
                )
            )

    def claim_run(self, run_id: str, *, pid: int, pid_started: str | None, hostname: str,
                  event: NewEvent) -> bool:
        """Move a QUEUED run to STARTED in this process and write its RUN_START, atomically."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(runs).where(runs.c.run_id == run_id)
                .where(runs.c.status == RunStatus.QUEUED.value)
                .values(status=RunStatus.STARTED.value, started_at=event.timestamp or time.time(),
                        pid=pid, pid_started=pid_started, hostname=hostname)
            )
            if done.rowcount != 1:
                return False
            self._insert_event(conn, event)
            return True

    def finish_run(self, run_id: str, status: RunStatus, event: NewEvent,
                   error: str | None = None, *, only_if_started: bool = False) -> bool:
        """Set a run's final status and write its closing event, atomically."""
        with self.engine.begin() as conn:
            stmt = update(runs).where(runs.c.run_id == run_id)
            if only_if_started:
                stmt = stmt.where(runs.c.status.in_([RunStatus.STARTED.value,
                                                      RunStatus.QUEUED.value]))
            done = conn.execute(
                stmt.values(status=status.value, ended_at=event.timestamp or time.time(), error=error)
            )
            if done.rowcount != 1:
                return False
            self._insert_event(conn, event)
            return True

    def set_kv(self, key: str, value: str) -> None:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        now = time.time()
        stmt = insert(kv).values(key=key, value=value, updated_at=now)
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                                    set_={"value": value, "updated_at": now}))

    def get_kv(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(kv.c.value).where(kv.c.key == key)).first()
        return row[0] if row else None

    # Reads ------------------------------------------------------------------
    def get_latest_records(
        self, keys: Iterable[AssetKey] | None, partition: str | None = None
    ) -> dict[AssetKey, LatestRecords]:
        """Latest materialization and observation of each key, in one query."""
        wanted = None if keys is None else {k.to_user_string(): k for k in keys}
        mat = event_logs.alias("mat")
        obs = event_logs.alias("obs")
        stmt = (
            select(asset_latest.c.asset_key, asset_latest.c.last_run_id, *_event_columns(mat),
                   *_event_columns(obs))
            .select_from(
                asset_latest.outerjoin(mat, mat.c.id == asset_latest.c.last_materialization_id)
                .outerjoin(obs, obs.c.id == asset_latest.c.last_observation_id)
            )
            .where(asset_latest.c.partition == (partition or ""))
        )
        if wanted is not None:
            if not wanted:
                return {}
            if len(wanted) <= _BULK_THRESHOLD:
                stmt = stmt.where(asset_latest.c.asset_key.in_(list(wanted)))
        out: dict[AssetKey, LatestRecords] = {}
        width = len(_EVENT_FIELDS)
        with self.engine.connect() as conn:
            for row in conn.execute(stmt):
                name = row[0]
                if wanted is not None and name not in wanted:
                    continue
                key = wanted[name] if wanted is not None else AssetKey(name)
                m = _record_from_row(row[2 : 2 + width])
                o = _record_from_row(row[2 + width : 2 + 2 * width])
                out[key] = LatestRecords(materialization=m, observation=o, last_run_id=row[1])
        return out

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
        stmt = select(*_event_columns(event_logs))
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
        with self.engine.connect() as conn:
            return [r for r in (_record_from_row(row) for row in conn.execute(stmt)) if r]

    def get_run_rows(
        self, *, run_id: str | None = None, status: RunStatus | None = None,
        limit: int | None = None, before_created: float | None = None,
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
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [(_run_from_row(r), r["pid"], r["pid_started"], r["hostname"]) for r in rows]


_INSERT_EVENT = event_logs.insert()

_EVENT_FIELDS = ("id", "run_id", "timestamp", "event_type", "asset_key", "partition",
                 "step_key", "message", "body")


def _event_columns(table: Any) -> list[Any]:
    return [table.c[name] for name in _EVENT_FIELDS]


def _record_from_row(row: Sequence[Any]) -> EventRecord | None:
    if row[0] is None:
        return None
    return EventRecord(
        storage_id=int(row[0]),
        run_id=row[1],
        timestamp=row[2],
        event_type=EventType(row[3]),
        asset_key=AssetKey(row[4]) if row[4] is not None else None,
        partition=row[5],
        step_key=row[6],
        message=row[7],
        data=from_json(row[8]),
    )


def _run_from_row(r: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        run_id=r["run_id"],
        status=RunStatus(r["status"]),
        asset_selection=tuple(AssetKey(k) for k in from_json(r["asset_selection"]) or []),
        tags=from_json(r["tags"]),
        executor=r["executor"],
        created_at=r["created_at"],
        started_at=r["started_at"],
        ended_at=r["ended_at"],
        error=r["error"],
    )


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
