"""The storage schema and its numbered migrations (SQLAlchemy Core; SQLite and PostgreSQL).

The schema version lives in `sheer_schema`. Opening an instance applies every
migration above the stored version, in order, each in its own transaction, so a
newer release upgrades an older database without losing data. A database newer
than this release is refused with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.engine import Engine

from sheer.errors import StorageError

metadata = MetaData()

# Monotonic event ids: BIGINT on PostgreSQL, INTEGER (the rowid) on SQLite.
_EventId = BigInteger().with_variant(Integer(), "sqlite")

schema_version = Table(
    "sheer_schema",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("asset_selection", Text, nullable=False),  # JSON list of user strings
    Column("tags", Text, nullable=False),  # JSON object
    Column("executor", String(64)),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("ended_at", Float),
    Column("pid", Integer),
    Column("pid_started", String(32)),  # the process's start time, against pid reuse
    Column("hostname", String(255)),
    Column("error", Text),
    Index("ix_runs_created", "created_at"),
    Index("ix_runs_status", "status"),
)

event_logs = Table(
    "event_logs",
    metadata,
    Column("id", _EventId, primary_key=True, autoincrement=True),
    Column("run_id", String(64)),
    Column("timestamp", Float, nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("asset_key", Text),
    Column("partition", Text),
    Column("step_key", Text),
    Column("message", Text, nullable=False),
    Column("body", Text, nullable=False),  # JSON details
    Index("ix_events_run", "run_id", "id"),
    Index("ix_events_asset", "asset_key", "event_type", "id"),
    Index("ix_events_type", "event_type", "id"),
)

# The latest-record index: one row per (asset, partition) entity. An unpartitioned
# asset uses the partition '' so the key is a plain composite primary key.
asset_latest = Table(
    "asset_latest",
    metadata,
    Column("asset_key", Text, primary_key=True),
    Column("partition", Text, primary_key=True),
    Column("last_materialization_id", _EventId),
    Column("last_observation_id", _EventId),
    Column("last_run_id", String(64)),
    Column("updated_at", Float, nullable=False),
)

kv = Table(
    "kv",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)


automation_ticks = Table(
    "automation_ticks",
    metadata,
    Column("id", _EventId, primary_key=True, autoincrement=True),
    Column("timestamp", Float, nullable=False),
    Column("evaluation_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # SUCCESS, SKIPPED, FAILURE
    Column("requested", Text, nullable=False),  # JSON list of user strings
    Column("run_ids", Text, nullable=False),  # JSON list
    Column("error", Text),
    Column("duration", Float),
    Index("ix_ticks_time", "timestamp"),
)

automation_evaluations = Table(
    "automation_evaluations",
    metadata,
    Column("tick_id", _EventId, primary_key=True),
    Column("asset_key", Text, primary_key=True),
    Column("value", Integer, nullable=False),
    Column("requested", Integer, nullable=False),
    Column("error", Text),
    Column("tree", Text),  # JSON explanation tree
    Index("ix_evaluations_asset", "asset_key", "tick_id"),
)

# Leases: one holder at a time per name (e.g. the automation daemon), until it expires.
leases = Table(
    "leases",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("expires_at", Float, nullable=False),
)


def _migration_1(conn: Connection) -> None:
    for table in (runs, event_logs, asset_latest, kv):
        table.create(conn, checkfirst=True)


def _migration_2(conn: Connection) -> None:
    for table in (automation_ticks, automation_evaluations, leases):
        table.create(conn, checkfirst=True)


# Append new migrations here; never edit a released one.
MIGRATIONS: list[Callable[[Connection], None]] = [_migration_1, _migration_2]
CURRENT_VERSION = len(MIGRATIONS)


def migrate(engine: Engine, url: str) -> int:
    """Bring the database up to `CURRENT_VERSION`; returns the version it was at."""
    with engine.begin() as conn:
        schema_version.create(conn, checkfirst=True)
        row = conn.execute(select(schema_version.c.version).where(schema_version.c.id == 1)).first()
        if row is None:
            conn.execute(schema_version.insert().values(id=1, version=0))
            found = 0
        else:
            found = int(row[0])
    if found > CURRENT_VERSION:
        raise StorageError(
            f"The instance at {url} has schema version {found}, newer than this Sheer "
            f"release understands ({CURRENT_VERSION}). Fix: upgrade Sheer "
            "(pip install -U sheer), or point at another instance.",
            file=url,
        )
    for number in range(found + 1, CURRENT_VERSION + 1):
        with engine.begin() as conn:
            MIGRATIONS[number - 1](conn)
            conn.execute(
                schema_version.update().where(schema_version.c.id == 1).values(version=number)
            )
    return found
