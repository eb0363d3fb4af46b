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
