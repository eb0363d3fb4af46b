"""Storage for automation: ticks, per-asset evaluations, leases, and the tick's lean read.

Leases make sure only one daemon acts on an instance: a holder renews its lease each
tick; another daemon may take it once it has expired, by the database's clock (hosts'
clocks may differ), or at once when the holder is a dead process on its own host.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from sheer.events import EventType, from_json, to_json
from sheer.keys import AssetKey
from sheer.processes import HOST, process_alive, process_start_marker
from sheer.storage.schema import (
    automation_evaluations,
    automation_ticks,
    db_now,
    event_logs,
    leases,
)
from sheer.storage.sql import SqlStorage


class TickStatus(StrEnum):
    """How a tick ended; the value is what the `automation_ticks.status` column holds."""

    SUCCESS = "SUCCESS"  # requested assets, and launched them
    SKIPPED = "SKIPPED"  # requested nothing
    FAILURE = "FAILURE"  # requested assets, and launching them failed


@dataclass(frozen=True, slots=True, kw_only=True)
class TickRecord:
    """One automation tick as stored."""

    tick_id: int
    timestamp: float
    evaluation_id: int
    status: TickStatus
    requested: tuple[AssetKey, ...]
    run_ids: tuple[str, ...]
    error: str | None
    duration: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationRecord:
    """One asset's evaluation on one tick, with its explanation tree."""

    tick_id: int
    asset_key: AssetKey
    value: bool
    requested: bool
    error: str | None
    tree: dict[str, Any] | None


class AutomationStorage:
    """Ticks, evaluations and leases, in the instance's database."""

    def __init__(self, storage: SqlStorage) -> None:
        self.storage = storage
        self.engine = storage.engine

    def get_latest_ids(
        self, partition: str | None = None
    ) -> dict[str, tuple[int, int, str | None]]:
        """For every asset with a record: the ids of its latest materialization and
        observation (0 when none) and the run of that materialization, as a sound cursor
        (`SqlStorage.get_latest_ids`: none at or above an id that can still commit).

        What a tick needs of the latest-record index, without reading the events
        themselves (`SqlStorage.get_latest_records` parses every event's body).
        """
        return self.storage.get_latest_ids(partition)

    def get_materialization_runs(
        self, *, after_id: int, up_to_id: int, partition: str | None = None
    ) -> dict[str, set[str | None]]:
        """For each asset materialized in the event ids (after_id, up_to_id]: the runs of
        those materializations (None for a report outside any run), in one query."""
        stmt = (
            select(event_logs.c.asset_key, event_logs.c.run_id)
            .where(event_logs.c.event_type == EventType.ASSET_MATERIALIZATION.value)
            .where(event_logs.c.id > after_id, event_logs.c.id <= up_to_id)
            .where(
                event_logs.c.partition.is_(None)
                if partition is None
                else event_logs.c.partition == partition
            )
            .distinct()
        )
        out: dict[str, set[str | None]] = {}
        with self.engine.connect() as conn:
            for name, run_id in conn.execute(stmt):
                out.setdefault(name, set()).add(run_id)
        return out

    def add_tick(
        self,
        *,
        timestamp: float,
        evaluation_id: int,
        status: TickStatus,
        requested: Iterable[AssetKey],
        run_ids: Sequence[str],
        error: str | None,
        duration: float | None,
        evaluations: Iterable[dict[str, Any]],
    ) -> int:
        """Record a tick and its evaluations in one transaction; returns the tick id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(automation_ticks).values(
                    timestamp=timestamp,
                    evaluation_id=evaluation_id,
                    status=status.value,
                    requested=to_json(sorted(k.to_user_string() for k in requested)),
                    run_ids=to_json(list(run_ids)),
                    error=error,
                    duration=duration,
                )
            )
            inserted = result.inserted_primary_key
            assert inserted is not None  # an INSERT always has one
            tick_id = int(inserted[0])
            rows = [
                {
                    "tick_id": tick_id,
                    "asset_key": e["key"],
                    "value": int(e["value"]),
                    "requested": int(e["requested"]),
                    "error": e.get("error"),
                    "tree": to_json(e["tree"]) if e.get("tree") is not None else None,
                }
                for e in evaluations
            ]
            if rows:
                conn.execute(insert(automation_evaluations), rows)
        return tick_id

    def get_ticks(self, limit: int = 50, before_id: int | None = None) -> list[TickRecord]:
        stmt = select(automation_ticks).order_by(automation_ticks.c.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(automation_ticks.c.id < before_id)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [
            TickRecord(
                tick_id=r["id"],
                timestamp=r["timestamp"],
                evaluation_id=r["evaluation_id"],
                status=TickStatus(r["status"]),
                requested=tuple(AssetKey(k) for k in from_json(r["requested"]) or []),
                run_ids=tuple(from_json(r["run_ids"]) or []),
                error=r["error"],
                duration=r["duration"],
            )
            for r in rows
        ]

    def get_evaluations(
        self, *, tick_id: int | None = None, asset_key: AssetKey | None = None, limit: int = 100
    ) -> list[EvaluationRecord]:
        stmt = select(automation_evaluations)
        conds = []
        if tick_id is not None:
            conds.append(automation_evaluations.c.tick_id == tick_id)
        if asset_key is not None:
            conds.append(automation_evaluations.c.asset_key == asset_key.to_user_string())
        if conds:
            stmt = stmt.where(and_(*conds))
        stmt = stmt.order_by(automation_evaluations.c.tick_id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [
            EvaluationRecord(
                tick_id=r["tick_id"],
                asset_key=AssetKey(r["asset_key"]),
                value=bool(r["value"]),
                requested=bool(r["requested"]),
                error=r["error"],
                tree=from_json(r["tree"]) if r["tree"] else None,
            )
            for r in rows
        ]

    def acquire_lease(self, name: str, owner: str, ttl: float) -> bool:
        """Take or renew the lease `name` for `owner` (held by this process); False while
        another live holder has it."""
        now = db_now(self.engine.dialect.name)
        pid = os.getpid()
        holder = {"hostname": HOST, "pid": pid, "pid_started": process_start_marker(pid)}
        with self.engine.begin() as conn:
            self._free_if_holder_died(conn, name, owner)
            taken = conn.execute(
                update(leases)
                .where(leases.c.name == name)
                .where(or_(leases.c.owner == owner, leases.c.expires_at < now))
                .values(owner=owner, expires_at=now + ttl, **holder)
            )
            if taken.rowcount == 1:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(leases).values(name=name, owner=owner, expires_at=now + ttl, **holder)
                )
            return True
        except IntegrityError:
            return False  # another owner holds a live lease

    def _free_if_holder_died(self, conn: Connection, name: str, owner: str) -> None:
        """Delete the lease when another owner holds it from a process of this host that
        has exited (its start time tells a reused pid apart)."""
        row = conn.execute(
            select(leases.c.owner, leases.c.hostname, leases.c.pid, leases.c.pid_started).where(
                leases.c.name == name
            )
        ).first()
        if row is None or row.owner == owner or row.hostname != HOST or row.pid is None:
            return
        if not process_alive(row.pid, row.pid_started):
            conn.execute(delete(leases).where(leases.c.name == name, leases.c.owner == row.owner))

    def release_lease(self, name: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(leases).where(leases.c.name == name, leases.c.owner == owner))
