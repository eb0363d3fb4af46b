"""Storage for backfills: one row per backfill, one row per entity it has touched.

A backfill's row holds what it targets (as JSON: each distinct list of partition keys
once, so a hundred assets over the same year cost one list), its status and tags. Its
progress is a row per (asset, partition) entity it has started: IN_PROGRESS with the
run that has it, then DONE or FAILED, or PENDING again when that run ended without
the entity's step failing (its process was killed). An entity without a row is still
to do. Everything the executor needs to continue after a crash is here, never in the
arguments of the process that started it.

Reads are batched: the backfills to advance are one query, their entities one more,
and what a set of finished runs did (status, materializations, failed steps) two
queries whatever the number of runs. This module stores and returns records; it
knows nothing of graphs, mappings or policies.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select, update
from sqlalchemy.engine import RowMapping

from sheer.events import EventType, RunStatus, from_json, to_json
from sheer.keys import AssetKey
from sheer.storage.schema import backfill_entities, backfills, event_logs, runs
from sheer.storage.sql import SqlStorage

Entity = tuple[AssetKey, str | None]
"""An (asset, partition) pair; the partition is None for an unpartitioned asset."""


class BackfillStatus(StrEnum):
    """A backfill's state, as Dagster's bulk actions name it."""

    REQUESTED = "REQUESTED"  # runs still to start or to finish
    COMPLETED = "COMPLETED"  # every targeted entity is materialized
    FAILED = "FAILED"  # nothing more can run, and some entity failed
    CANCELED = "CANCELED"  # no further run starts; runs in progress finish


class EntityStatus(StrEnum):
    """Where one targeted entity of a backfill stands (no row: still to do)."""

    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    FAILED = "FAILED"
    PENDING = "PENDING"  # to do again: its run ended before its step did


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillRecord:
    """One backfill as stored.

    Attributes:
        targets: per targeted asset, its partition keys in its definition's order
            (`(None,)` for an unpartitioned asset).
        asset_selection: the targeted assets, in the order they were selected.
    """

    backfill_id: str
    status: BackfillStatus
    created_at: float
    updated_at: float
    asset_selection: tuple[AssetKey, ...]
    targets: Mapping[AssetKey, tuple[str | None, ...]]
    tags: Mapping[str, str]
    error: str | None = None

    @property
    def num_targets(self) -> int:
        """How many (asset, partition) entities the backfill targets."""
        return sum(len(keys) for keys in self.targets.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityRecord:
    """The progress of one targeted entity."""

    asset_key: AssetKey
    partition: str | None
    status: EntityStatus
    run_id: str | None = None
    attempts: int = 0

    @property
    def entity(self) -> Entity:
        return (self.asset_key, self.partition)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOutcome:
    """What one run did, as far as a backfill needs to know.

    Attributes:
        status: the run's status; None when there is no such run (its creator died
            between recording the entities and creating the run).
        materialized: the entities the run materialized.
        failed_assets: the assets of the run's steps that failed.
    """

    run_id: str
    status: RunStatus | None
    materialized: frozenset[Entity]
    failed_assets: frozenset[AssetKey]


def encode_targets(targets: Mapping[AssetKey, Sequence[str | None]]) -> str:
    """The `targets` column: each distinct key list once, and per asset its index."""
    lists: list[list[str]] = []
    index: dict[tuple[str, ...], int] = {}
    assets: dict[str, int | None] = {}
    for key, partitions in targets.items():
        if tuple(partitions) == (None,):
            assets[key.to_user_string()] = None
            continue
        keys = tuple(str(p) for p in partitions)
        if keys not in index:
            index[keys] = len(lists)
            lists.append(list(keys))
        assets[key.to_user_string()] = index[keys]
    return to_json({"lists": lists, "assets": assets})


def decode_targets(text: str) -> dict[AssetKey, tuple[str | None, ...]]:
    data = from_json(text)
    lists = [tuple(keys) for keys in data.get("lists", [])]
    return {
        AssetKey.from_user_string(name): ((None,) if i is None else lists[i])
        for name, i in data.get("assets", {}).items()
    }


def _record(row: RowMapping) -> BackfillRecord:
    return BackfillRecord(
        backfill_id=row["backfill_id"],
        status=BackfillStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        asset_selection=tuple(
            AssetKey.from_user_string(k) for k in from_json(row["asset_selection"]) or []
        ),
        targets=decode_targets(row["targets"]),
        tags=dict(from_json(row["tags"])),
        error=row["error"],
    )


def _partition(stored: str | None) -> str | None:
    return stored if stored else None  # '' in the entities' key, NULL in the event log


class BackfillStorage:
    """Backfills and their entities' progress, in the instance's database."""

    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage

    # Backfills ---------------------------------------------------------------------
    def add_backfill(self, record: BackfillRecord) -> None:
        row = {
            "backfill_id": record.backfill_id,
            "status": record.status.value,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "asset_selection": to_json([k.to_user_string() for k in record.asset_selection]),
            "targets": encode_targets(record.targets),
            "tags": to_json(dict(record.tags)),
            "error": record.error,
        }
        self._storage._write(lambda conn: conn.execute(backfills.insert().values(**row)))

    def get_backfill(self, backfill_id: str) -> BackfillRecord | None:
        stmt = select(backfills).where(backfills.c.backfill_id == backfill_id)
        row = self._storage._read(lambda conn: conn.execute(stmt).mappings().first())
        return _record(row) if row is not None else None

    def get_status(self, backfill_id: str) -> BackfillStatus | None:
        """Only the status (what an executor checks before each run: a cancel)."""
        stmt = select(backfills.c.status).where(backfills.c.backfill_id == backfill_id)
        found = self._storage._read(lambda conn: conn.execute(stmt).scalar())
        return BackfillStatus(found) if found is not None else None

    def get_backfills(
        self, *, statuses: Iterable[BackfillStatus] | None = None, limit: int | None = None
    ) -> list[BackfillRecord]:
        """Backfills, newest first, in one query."""
        stmt = select(backfills)
        if statuses is not None:
            stmt = stmt.where(backfills.c.status.in_([s.value for s in statuses]))
        stmt = stmt.order_by(backfills.c.created_at.desc(), backfills.c.backfill_id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = self._storage._read(lambda conn: conn.execute(stmt).mappings().all())
        return [_record(r) for r in rows]

    def get_active_backfills(self) -> list[BackfillRecord]:
        """What a daemon advances, oldest first, in one query: the REQUESTED backfills,
        and the CANCELED ones whose runs in progress are still to be recorded."""
        in_progress = exists().where(
            backfill_entities.c.backfill_id == backfills.c.backfill_id,
            backfill_entities.c.status == EntityStatus.IN_PROGRESS.value,
        )
        stmt = (
            select(backfills)
            .where(
                or_(
                    backfills.c.status == BackfillStatus.REQUESTED.value,
                    and_(backfills.c.status == BackfillStatus.CANCELED.value, in_progress),
                )
            )
            .order_by(backfills.c.created_at, backfills.c.backfill_id)
        )
        rows = self._storage._read(lambda conn: conn.execute(stmt).mappings().all())
        return [_record(r) for r in rows]

    def set_status(
        self,
        backfill_id: str,
        status: BackfillStatus,
        *,
        error: str | None = None,
        only_from: Iterable[BackfillStatus] | None = None,
    ) -> bool:
        """Set the status (and the error, kept when None); with `only_from`, only when the
        backfill is in one of those statuses. Whether it changed."""
        stmt = update(backfills).where(backfills.c.backfill_id == backfill_id)
        if only_from is not None:
            stmt = stmt.where(backfills.c.status.in_([s.value for s in only_from]))
        values: dict[str, Any] = {"status": status.value, "updated_at": time.time()}
        if error is not None:
            values["error"] = error
        done = self._storage._write(lambda conn: conn.execute(stmt.values(**values)))
        return bool(done.rowcount)

    def set_error(self, backfill_id: str, error: str) -> None:
        """Keep the first error a run of the backfill met (a later one leaves it)."""
        stmt = (
            update(backfills)
            .where(backfills.c.backfill_id == backfill_id, backfills.c.error.is_(None))
            .values(error=error, updated_at=time.time())
        )
        self._storage._write(lambda conn: conn.execute(stmt))

    def resume(self, backfill_id: str) -> bool:
        """REQUESTED again, its failed entities to do again (attempts reset) and its error
        cleared, in one transaction; False when it is COMPLETED or does not exist."""
        resumable = [BackfillStatus.REQUESTED, BackfillStatus.FAILED, BackfillStatus.CANCELED]

        def work(conn: Connection) -> bool:
            now = time.time()
            done = conn.execute(
                update(backfills)
                .where(backfills.c.backfill_id == backfill_id)
                .where(backfills.c.status.in_([s.value for s in resumable]))
                .values(status=BackfillStatus.REQUESTED.value, error=None, updated_at=now)
            )
            if done.rowcount != 1:
                return False
            conn.execute(
                update(backfill_entities)
                .where(backfill_entities.c.backfill_id == backfill_id)
                .where(backfill_entities.c.status == EntityStatus.FAILED.value)
                .values(status=EntityStatus.PENDING.value, attempts=0, run_id=None, updated_at=now)
            )
            return True

        return bool(self._storage._write(work))

    # Entities ----------------------------------------------------------------------
    def get_entities(self, backfill_ids: Sequence[str]) -> dict[str, list[EntityRecord]]:
        """The entity rows of each backfill, in one query."""
        out: dict[str, list[EntityRecord]] = {b: [] for b in backfill_ids}
        if not backfill_ids:
            return out
        stmt = select(backfill_entities).where(
            backfill_entities.c.backfill_id.in_(list(backfill_ids))
        )
        rows = self._storage._read(lambda conn: conn.execute(stmt).mappings().all())
        for r in rows:
            out[r["backfill_id"]].append(
                EntityRecord(
                    asset_key=AssetKey.from_user_string(r["asset_key"]),
                    partition=_partition(r["partition"]),
                    status=EntityStatus(r["status"]),
                    run_id=r["run_id"],
                    attempts=r["attempts"],
                )
            )
        return out

    def count_entities(
        self, backfill_ids: Sequence[str]
    ) -> dict[str, dict[AssetKey, dict[EntityStatus, int]]]:
        """Per backfill, per asset, how many entities are in each status: one query."""
        out: dict[str, dict[AssetKey, dict[EntityStatus, int]]] = {b: {} for b in backfill_ids}
        if not backfill_ids:
            return out
        c = backfill_entities.c
        stmt = (
            select(c.backfill_id, c.asset_key, c.status, func.count())
            .where(c.backfill_id.in_(list(backfill_ids)))
            .group_by(c.backfill_id, c.asset_key, c.status)
        )
        rows = self._storage._read(lambda conn: conn.execute(stmt).all())
        for backfill_id, name, status, count in rows:
            per_asset = out[backfill_id].setdefault(AssetKey.from_user_string(name), {})
            per_asset[EntityStatus(status)] = int(count)
        return out

    def put_entities(self, backfill_id: str, entities: Sequence[EntityRecord]) -> None:
        """Insert or update entity rows, in one statement."""
        if not entities:
            return
        now = time.time()
        rows = [
            {
                "backfill_id": backfill_id,
                "asset_key": e.asset_key.to_user_string(),
                "partition": e.partition or "",
                "status": e.status.value,
                "run_id": e.run_id,
                "attempts": e.attempts,
                "updated_at": now,
            }
            for e in entities
        ]
        stmt = self._upsert()
        self._storage._write(lambda conn: conn.execute(stmt, rows))

    def _upsert(self) -> Any:
        if self._storage.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(backfill_entities)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(backfill_entities)
        changed = ("status", "run_id", "attempts", "updated_at")
        return stmt.on_conflict_do_update(
            index_elements=["backfill_id", "asset_key", "partition"],
            set_={c: stmt.excluded[c] for c in changed},
        )

    # What runs did -----------------------------------------------------------------
    def get_run_outcomes(self, run_ids: Sequence[str]) -> dict[str, RunOutcome]:
        """Each run's status, the entities it materialized and the assets whose steps
        failed: two queries, whatever the number of runs."""
        if not run_ids:
            return {}
        ids = sorted(set(run_ids))
        status_stmt = select(runs.c.run_id, runs.c.status).where(runs.c.run_id.in_(ids))
        kinds = (EventType.ASSET_MATERIALIZATION, EventType.STEP_START, EventType.STEP_FAILURE)
        c = event_logs.c
        event_stmt = select(c.run_id, c.event_type, c.asset_key, c.partition, c.step_key, c.body)
        event_stmt = event_stmt.where(c.run_id.in_(ids), c.event_type.in_([k.value for k in kinds]))

        def read(conn: Connection) -> tuple[list[Any], list[Any]]:
            return list(conn.execute(status_stmt).all()), list(conn.execute(event_stmt).all())

        statuses, events = self._storage._read(read)
        made: dict[str, set[Entity]] = {r: set() for r in ids}
        step_assets: dict[tuple[str, str], list[str]] = {}
        failed_steps: dict[str, list[tuple[str | None, str | None]]] = {r: [] for r in ids}
        for run_id, kind, name, partition, step_key, body in events:
            if kind == EventType.ASSET_MATERIALIZATION.value and name is not None:
                made[run_id].add((AssetKey.from_user_string(name), _partition(partition)))
            elif kind == EventType.STEP_START.value and step_key is not None:
                step_assets[run_id, step_key] = list(from_json(body).get("asset_keys", []))
            elif kind == EventType.STEP_FAILURE.value:
                failed_steps[run_id].append((name, step_key))
        found = {run_id: RunStatus(status) for run_id, status in statuses}
        out = {}
        for run_id in ids:
            failed: set[AssetKey] = set()
            for name, step_key in failed_steps[run_id]:
                names = (
                    [name] if name is not None else step_assets.get((run_id, step_key or ""), [])
                )
                failed.update(AssetKey.from_user_string(n) for n in names)
            out[run_id] = RunOutcome(
                run_id=run_id,
                status=found.get(run_id),
                materialized=frozenset(made[run_id]),
                failed_assets=frozenset(failed),
            )
        return out
