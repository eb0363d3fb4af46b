"""The storage schema and its numbered migrations (SQLAlchemy Core; SQLite and PostgreSQL).

The schema version lives in `sheer_schema`. Opening an instance applies every
migration above the stored version, in order, each in its own transaction, so a
newer release upgrades an older database without losing data. A database newer
than this release is refused with a clear message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

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
    bindparam,
    inspect,
    literal_column,
    select,
    text,
)
from sqlalchemy.engine import Engine

from sheer.errors import StorageError
from sheer.events import to_json
from sheer.fingerprints import inputs_text

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
    # When the run's process last said it is alive, by the database's clock (migration 4).
    Column("heartbeat_at", Float),
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
    # Copied from the latest events (migration 3), so staleness reads one narrow table
    # instead of joining and decoding every event body: the materialization's data
    # version, code version, input versions (`fingerprints.inputs_text`) and provenance
    # (JSON), and the observation's version.
    Column("data_version", Text),
    Column("code_version", Text),
    Column("inputs", Text),
    Column("provenance", Text),
    Column("observation_data_version", Text),
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
    Column("expires_at", Float, nullable=False),  # by the database's clock
    # The holder's process (migration 4): a dead holder on the same host is seen at once.
    Column("hostname", String(255)),
    Column("pid", Integer),
    Column("pid_started", String(32)),
)


# The keys of each DynamicPartitionsDefinition (migration 5), as Dagster's instance keeps
# them: the row id orders them by first addition (a key deleted and added again gets a
# new, higher id, so it goes last), and (name, key) is unique, so a concurrent adder of
# the same key does nothing (ON CONFLICT DO NOTHING). The SQL is in `dynamic_partitions.py`.
dynamic_partitions = Table(
    "dynamic_partitions",
    metadata,
    Column("id", _EventId, primary_key=True, autoincrement=True),
    Column("partitions_def_name", Text, nullable=False),
    Column("partition", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ux_dynamic_partitions", "partitions_def_name", "partition", unique=True),
)


# Backfills (migration 6): one row per backfill, what it targets as JSON (each distinct
# list of partition keys once, and per asset the index of its list, null when the asset
# is unpartitioned), and one row per entity it has touched (IN_PROGRESS with the run
# that has it, DONE, FAILED, or PENDING again after a run that died before its step);
# an entity with no row is still to do. The SQL is in `backfills.py`.
backfills = Table(
    "backfills",
    metadata,
    Column("backfill_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("asset_selection", Text, nullable=False),  # JSON list of user strings
    Column("targets", Text, nullable=False),  # JSON, see above
    Column("tags", Text, nullable=False),  # JSON object
    Column("error", Text),
    Index("ix_backfills_created", "created_at"),
    Index("ix_backfills_status", "status"),
)

backfill_entities = Table(
    "backfill_entities",
    metadata,
    Column("backfill_id", String(64), primary_key=True),
    Column("asset_key", Text, primary_key=True),
    Column("partition", Text, primary_key=True),  # '' for an unpartitioned asset
    Column("status", String(16), nullable=False),
    Column("run_id", String(64)),
    Column("attempts", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_backfill_entities_status", "backfill_id", "status"),
)


def db_now(dialect: str) -> Any:
    """The database's clock, in seconds since the epoch, as a SQL expression: what
    heartbeats and leases are written and compared with, so hosts whose clocks differ
    still agree on who is late."""
    if dialect == "postgresql":
        return literal_column("CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)")
    return literal_column("((julianday('now') - 2440587.5) * 86400.0)")


def _migration_1(conn: Connection) -> None:
    for table in (runs, event_logs, asset_latest, kv):
        table.create(conn, checkfirst=True)


def _migration_2(conn: Connection) -> None:
    for table in (automation_ticks, automation_evaluations, leases):
        table.create(conn, checkfirst=True)


_VERSION_COLUMNS = (
    "data_version",
    "code_version",
    "inputs",
    "provenance",
    "observation_data_version",
)


def _migration_3(conn: Connection) -> None:
    """The latest-record index carries the versions staleness needs, backfilled from
    the events it points at (a database made by migration 1 of this release already
    has the columns)."""
    have = {c["name"] for c in inspect(conn).get_columns("asset_latest")}
    for name in _VERSION_COLUMNS:
        if name not in have:
            conn.execute(text(f"ALTER TABLE asset_latest ADD COLUMN {name} TEXT"))
    _backfill_versions(conn)


def _backfill_versions(conn: Connection, batch: int = 5000) -> None:
    mat = event_logs.alias("mat")
    obs = event_logs.alias("obs")
    rows = conn.execute(
        select(
            asset_latest.c.asset_key, asset_latest.c.partition, mat.c.body, obs.c.body
        ).select_from(
            asset_latest.outerjoin(
                mat, mat.c.id == asset_latest.c.last_materialization_id
            ).outerjoin(obs, obs.c.id == asset_latest.c.last_observation_id)
        )
    ).all()
    stmt = (
        asset_latest.update()
        .where(asset_latest.c.asset_key == bindparam("k"))
        .where(asset_latest.c.partition == bindparam("p"))
        .values(
            data_version=bindparam("dv"),
            code_version=bindparam("cv"),
            inputs=bindparam("iv"),
            provenance=bindparam("pv"),
            observation_data_version=bindparam("odv"),
        )
    )
    values = []
    for key, partition, mat_body, obs_body in rows:
        m = json.loads(mat_body) if mat_body else {}
        o = json.loads(obs_body) if obs_body else {}
        prov = m.get("provenance")
        values.append(
            {
                "k": key,
                "p": partition,
                "dv": _text(m.get("data_version")),
                "cv": _text(m.get("code_version")),
                "iv": provenance_inputs(prov),
                "pv": to_json(prov) if prov is not None else None,
                "odv": _text(o.get("data_version")),
            }
        )
    for start in range(0, len(values), batch):
        conn.execute(stmt, values[start : start + batch])


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def provenance_inputs(provenance: Any) -> str | None:
    """The index's `inputs` text of a stored provenance (None without one)."""
    if provenance is None:
        return None
    return inputs_text(
        provenance.get("code_version"), (provenance.get("input_versions") or {}).items()
    )


def _add_missing_columns(conn: Connection, table: Table, names: tuple[str, ...]) -> None:
    """ALTER TABLE for the columns of `table` the database lacks (a database made by
    migration 1 or 2 of this release already has them)."""
    have = {c["name"] for c in inspect(conn).get_columns(table.name)}
    for name in names:
        if name not in have:
            column = table.c[name]
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))


def _migration_4(conn: Connection) -> None:
    """Run heartbeats, and the process holding each lease."""
    _add_missing_columns(conn, runs, ("heartbeat_at",))
    _add_missing_columns(conn, leases, ("hostname", "pid", "pid_started"))


def _migration_5(conn: Connection) -> None:
    """The keys of dynamic partitions definitions, with their unique (name, key) index."""
    dynamic_partitions.create(conn, checkfirst=True)


def _migration_6(conn: Connection) -> None:
    """Backfills and the progress of each of their entities."""
    backfills.create(conn, checkfirst=True)
    backfill_entities.create(conn, checkfirst=True)


# Append new migrations here; never edit a released one.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
]
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
