"""The latest-record index read per entity: the latest materialization and observation
of assets in some partitions, in one query."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, select

from sheer.keys import AssetKey
from sheer.storage.rows import EVENT_FIELDS, LatestRecords, event_columns, record_from_row
from sheer.storage.schema import asset_latest, event_logs

BULK_THRESHOLD = 2000  # above this many keys or partitions, read them all rather than IN (...)


def latest_partition_records(
    run_read: Callable[[Callable[[Connection], Any]], Any],
    keys: Iterable[AssetKey] | None,
    partitions: Iterable[str],
) -> dict[tuple[AssetKey, str], LatestRecords]:
    """Latest materialization and observation of each key (all when None) in each of
    `partitions` ('' for the unpartitioned entity), read with `run_read` (the storage's
    retrying read) in one query."""
    wanted = None if keys is None else {k.to_user_string(): k for k in keys}
    among = set(partitions)
    mat, obs = event_logs.alias("mat"), event_logs.alias("obs")
    stmt = select(
        asset_latest.c.asset_key,
        asset_latest.c.partition,
        asset_latest.c.last_run_id,
        *event_columns(mat),
        *event_columns(obs),
    ).select_from(
        asset_latest.outerjoin(mat, mat.c.id == asset_latest.c.last_materialization_id).outerjoin(
            obs, obs.c.id == asset_latest.c.last_observation_id
        )
    )
    if not among or (wanted is not None and not wanted):
        return {}
    if len(among) <= BULK_THRESHOLD:
        stmt = stmt.where(asset_latest.c.partition.in_(sorted(among)))
    if wanted is not None and len(wanted) <= BULK_THRESHOLD:
        stmt = stmt.where(asset_latest.c.asset_key.in_(list(wanted)))
    width = len(EVENT_FIELDS)

    def read(conn: Connection) -> dict[tuple[AssetKey, str], LatestRecords]:
        out: dict[tuple[AssetKey, str], LatestRecords] = {}
        for row in conn.execute(stmt):
            name, partition = row[0], row[1]
            if (wanted is not None and name not in wanted) or partition not in among:
                continue
            key = wanted[name] if wanted is not None else AssetKey(name)
            out[key, partition] = LatestRecords(
                materialization=record_from_row(row[3 : 3 + width]),
                observation=record_from_row(row[3 + width : 3 + 2 * width]),
                last_run_id=row[2],
            )
        return out

    found: dict[tuple[AssetKey, str], LatestRecords] = run_read(read)
    return found


# Every entity's latest versions from the index alone (no join, no event body): the
# read behind a per-entity staleness pass. Row: (asset key, partition, materialization
# id, data version, code version, inputs text, observation id, observation version).
_ENTITY_VERSIONS_SQL = (
    "SELECT asset_key, partition, last_materialization_id, data_version, code_version, "
    "inputs, last_observation_id, observation_data_version FROM asset_latest"
)


def latest_entity_versions(
    run_read: Callable[[Callable[[Connection], Any]], Any],
) -> list[tuple[Any, ...]]:
    """Every (asset, partition) entity's latest versions, in one query."""

    def read(conn: Connection) -> list[tuple[Any, ...]]:
        result = conn.exec_driver_sql(_ENTITY_VERSIONS_SQL)
        # The driver's own rows: SQLAlchemy's Row objects cost more than the query.
        rows: list[tuple[Any, ...]] = result.cursor.fetchall()  # type: ignore[assignment]
        return rows

    found: list[tuple[Any, ...]] = run_read(read)
    return found


def latest_provenances(
    run_read: Callable[[Callable[[Connection], Any]], Any], key: AssetKey
) -> dict[str, str | None]:
    """`{partition: provenance JSON}` of every entity of one asset, in one query."""
    stmt = select(asset_latest.c.partition, asset_latest.c.provenance).where(
        asset_latest.c.asset_key == key.to_user_string()
    )

    def read(conn: Connection) -> dict[str, str | None]:
        return {row[0]: row[1] for row in conn.execute(stmt)}

    found: dict[str, str | None] = run_read(read)
    return found


def materialized_partitions(
    run_read: Callable[[Callable[[Connection], Any]], Any], key: AssetKey
) -> set[str]:
    """The partitions of one asset that have a materialization, in one query."""
    stmt = select(asset_latest.c.partition).where(
        asset_latest.c.asset_key == key.to_user_string(),
        asset_latest.c.partition != "",
        asset_latest.c.last_materialization_id.is_not(None),
    )

    def read(conn: Connection) -> set[str]:
        return {row[0] for row in conn.execute(stmt)}

    found: set[str] = run_read(read)
    return found
