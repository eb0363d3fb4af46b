"""Executing backfills: start the next runs, record what they did, finish.

Everything is read from storage: the targets from the backfill's row, the progress
from its entity rows, what a run did from the run and its events. A pass over a
backfill (`BackfillPass`) first records the runs that have finished since (each
entity DONE when the run materialized it, FAILED when its step failed, else to do
again, up to `MAX_ATTEMPTS` runs: its process was killed), then starts the runs
`BackfillPlan.next_runs` allows, each tagged `dagster/backfill=<id>` with its
partition tags; with nothing left to start or to wait for it sets COMPLETED, or
FAILED when an entity failed. An entity is marked IN_PROGRESS with its run id before
the run exists, so a crash at any point leaves storage saying what to do next.

`execute_backfill` does this in the calling process, one run after another, until the
backfill ends or is canceled (a run in progress finishes). `advance_backfills` is
what the automation daemon calls on each tick: one read of the active backfills and
their entities, then for each a pass that starts the runs through the daemon's
launcher (a process per run) under the backfill's lease.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sheer.backfills.lease import BackfillLease, new_owner
from sheer.backfills.plan import BackfillPlan, RunChunk
from sheer.backfills.progress import BackfillProgress, count_rows, progress_of
from sheer.definitions.definitions import Definitions
from sheer.errors import ExecutionError, SheerError, UnknownAssetError
from sheer.events import RunRecord, RunStatus
from sheer.execution.run import RunListener, execute_selection
from sheer.execution.run_partitions import check_upstream_partitions, resolve_run_partitions
from sheer.instance import Instance
from sheer.keys import AssetKey
from sheer.storage.backfills import (
    BackfillRecord,
    BackfillStatus,
    BackfillStorage,
    Entity,
    EntityRecord,
    EntityStatus,
    RunOutcome,
)

BACKFILL_TAG = "dagster/backfill"
MAX_ATTEMPTS = 3  # runs an entity may get whose process died before its step ended
_SHOWN = 5  # failed entities named in a message

Launch = Callable[[RunRecord], str | None]
"""Starts a QUEUED run (the daemon's launcher); an error message if it could not."""


class BackfillListener:
    """What `execute_backfill` reports as it goes (every method is optional)."""

    def backfill_started(self, record: BackfillRecord, progress: BackfillProgress) -> None:
        """Before the first run, with the progress stored so far (a resumed backfill)."""

    def run_started(self, chunk: RunChunk, run_id: str) -> RunListener | None:
        """A run starts; it may return a listener for the run's steps."""
        return None

    def run_finished(self, chunk: RunChunk, run_id: str, progress: BackfillProgress) -> None:
        """A run ended and its entities are recorded."""


def settle(row: EntityRecord, outcome: RunOutcome) -> EntityRecord | None:
    """What an IN_PROGRESS entity becomes once its run is over (None: not over yet)."""
    status = outcome.status
    if status is not None and not status.is_finished:
        return None
    if row.entity in outcome.materialized or status is RunStatus.SUCCESS:
        new = EntityStatus.DONE
    elif row.asset_key in outcome.failed_assets or row.attempts >= MAX_ATTEMPTS:
        new = EntityStatus.FAILED
    else:  # never run (killed, or no such run): to do again
        new = EntityStatus.PENDING
    return EntityRecord(
        asset_key=row.asset_key,
        partition=row.partition,
        status=new,
        run_id=row.run_id,
        attempts=row.attempts,
    )


def backfill_not_found(backfill_id: str) -> ExecutionError:
    return ExecutionError(
        f"There is no backfill {backfill_id!r} in this instance. Fix: run `sheer backfill "
        "list` to see the backfills and their ids (and check --instance)."
    )


class BackfillPass:
    """One backfill being advanced by the process that holds its lease."""

    def __init__(
        self,
        defs: Definitions,
        instance: Instance,
        store: BackfillStorage,
        record: BackfillRecord,
        rows: Sequence[EntityRecord],
    ) -> None:
        self.defs = defs
        self.instance = instance
        self.store = store
        self.record = record
        self.graph = defs.resolve_asset_graph()
        missing = sorted(k for k in record.targets if k not in self.graph)
        if missing:
            name = missing[0].to_user_string()
            raise ExecutionError(
                f"Backfill {record.backfill_id} targets asset '{name}', which the definitions "
                f"no longer have. Fix: cancel it (`sheer backfill cancel {record.backfill_id}`) "
                "and create a new backfill of the assets you have now.",
                key=missing[0],
            )
        self.plan = BackfillPlan(self.graph, record.targets, instance)
        self.rows = {r.entity: r for r in rows}

    @property
    def backfill_id(self) -> str:
        return self.record.backfill_id

    # State -------------------------------------------------------------------------
    def _with(self, status: EntityStatus) -> set[Entity]:
        return {e for e, r in self.rows.items() if r.status is status}

    def in_progress_runs(self) -> set[str]:
        return {
            r.run_id
            for r in self.rows.values()
            if r.status is EntityStatus.IN_PROGRESS and r.run_id is not None
        }

    def progress(self) -> BackfillProgress:
        return progress_of(self.record, count_rows(self.rows.values()))

    def next_runs(self) -> list[RunChunk]:
        return self.plan.next_runs(
            self._with(EntityStatus.DONE),
            self._with(EntityStatus.FAILED),
            self._with(EntityStatus.IN_PROGRESS),
        )

    def _put(self, rows: Sequence[EntityRecord]) -> None:
        self.store.put_entities(self.backfill_id, rows)
        self.rows.update((r.entity, r) for r in rows)

    # Recording ---------------------------------------------------------------------
    def record_runs(self, outcomes: Mapping[str, RunOutcome]) -> None:
        """Record the entities of every finished run among `outcomes`, in one write."""
        changed = []
        for row in self.rows.values():
            outcome = outcomes.get(row.run_id or "")
            if row.status is EntityStatus.IN_PROGRESS and outcome is not None:
                new = settle(row, outcome)
                if new is not None:
                    changed.append(new)
        self._put(changed)

    def record_finished_runs(self) -> None:
        """Read what the runs in progress did (dead ones marked failed first) and record it."""
        run_ids = sorted(self.in_progress_runs())
        if run_ids:
            self.instance.mark_dead_runs()
            self.record_runs(self.store.get_run_outcomes(run_ids))

    def finish_if_over(self) -> BackfillStatus | None:
        """COMPLETED or FAILED when no run can start and none is in progress."""
        if self.in_progress_runs() or self.next_runs():
            return None
        done = self._with(EntityStatus.DONE)
        if len(done) == self.record.num_targets:
            self.store.set_status(
                self.backfill_id, BackfillStatus.COMPLETED, only_from=[BackfillStatus.REQUESTED]
            )
            return BackfillStatus.COMPLETED
        self.store.set_status(
            self.backfill_id,
            BackfillStatus.FAILED,
            error=self._failure_message(done),
            only_from=[BackfillStatus.REQUESTED],
        )
        return BackfillStatus.FAILED

    def _failure_message(self, done: set[Entity]) -> str:
        failed = sorted(self._with(EntityStatus.FAILED), key=_entity_order)
        blocked = self.record.num_targets - len(done) - len(failed)
        names = ", ".join(_entity_name(e) for e in failed[:_SHOWN])
        more = f" and {len(failed) - _SHOWN} more" if len(failed) > _SHOWN else ""
        skipped = f"; {blocked} not run, as they read what failed" if blocked else ""
        first = self.record.error
        cause = f" First error: {first}" if first else ""
        return (
            f"{len(failed)} failed ({names}{more}){skipped}.{cause} Fix: fix the asset, then "
            f"`sheer backfill resume {self.backfill_id}` runs what is not done."
        )

    # Starting runs -----------------------------------------------------------------
    def _mark_started(self, chunk: RunChunk, run_id: str) -> None:
        rows = []
        for asset_key, partition in chunk.entities:
            before = self.rows.get((asset_key, partition))
            rows.append(
                EntityRecord(
                    asset_key=asset_key,
                    partition=partition,
                    status=EntityStatus.IN_PROGRESS,
                    run_id=run_id,
                    attempts=(before.attempts if before is not None else 0) + 1,
                )
            )
        self._put(rows)

    def _refused(self, chunk: RunChunk, run_id: str, message: str) -> None:
        """A run that could not run: what it made is DONE, the rest FAILED, the error kept."""
        outcome = self.store.get_run_outcomes([run_id])[run_id]
        rows = [
            EntityRecord(
                asset_key=a,
                partition=p,
                status=EntityStatus.DONE if (a, p) in outcome.materialized else EntityStatus.FAILED,
                run_id=run_id,
                attempts=self.rows[a, p].attempts,
            )
            for a, p in chunk.entities
        ]
        self._put(rows)
        if self.record.error is None:
            self.record = replace(self.record, error=message)
            self.store.set_error(self.backfill_id, message)

    def run_tags(self, chunk: RunChunk) -> dict[str, str]:
        return {**self.record.tags, BACKFILL_TAG: self.backfill_id, **chunk.partition_tags()}

    def run_here(self, chunk: RunChunk, listener: BackfillListener, executor: Any = None) -> str:
        """Run `chunk` in this process and record what it did; its run id."""
        run_id = uuid.uuid4().hex
        self._mark_started(chunk, run_id)
        run_listener = listener.run_started(chunk, run_id)
        try:
            execute_selection(
                self.defs,
                list(chunk.asset_keys),
                instance=self.instance,
                executor=executor,
                raise_on_error=False,
                tags=self.run_tags(chunk),
                run_id=run_id,
                listener=run_listener,
            )
        except Exception as exc:  # refused before it ran, or stopped: recorded, not raised
            message = exc.message if isinstance(exc, SheerError) else f"{type(exc).__name__}: {exc}"
            self._refused(chunk, run_id, message)
        else:
            self.record_runs(self.store.get_run_outcomes([run_id]))
        listener.run_finished(chunk, run_id, self.progress())
        return run_id

    def launch(self, chunk: RunChunk, launch: Launch) -> str:
        """Queue `chunk` as a run and hand it to `launch` (a process of its own); checked
        first as the run would check it, so a run that would be refused is not queued."""
        run_id = uuid.uuid4().hex
        self._mark_started(chunk, run_id)
        try:
            self._check(chunk)
        except SheerError as exc:
            self._refused(chunk, run_id, exc.message)
            return run_id
        run = self.instance.create_run(
            chunk.asset_keys,
            tags=self.run_tags(chunk),
            executor="in_process",
            queued=True,
            run_id=run_id,
        )
        launch(run)  # a launch that failed has failed the run: recorded on the next pass
        return run_id

    def _check(self, chunk: RunChunk) -> None:
        chosen = frozenset(chunk.asset_keys)
        scope = resolve_run_partitions(
            self.graph,
            chosen,
            partition_key=None,
            tags=chunk.partition_tags(),
            dynamic_partitions_store=self.instance,
        )
        if scope is None:
            return

        def is_stored(pairs: Sequence[tuple[AssetKey, str]]) -> set[tuple[AssetKey, str]]:
            records = self.instance.get_latest_partition_records(
                {k for k, _ in pairs}, {p for _, p in pairs}
            )
            return {pair for pair, r in records.items() if r.materialization}

        check_upstream_partitions(self.graph, chosen, scope, is_stored)


def _entity_order(entity: Entity) -> tuple[str, str]:
    return (entity[0].to_user_string(), entity[1] or "")


def _entity_name(entity: Entity) -> str:
    key, partition = entity
    return key.to_user_string() if partition is None else f"{key.to_user_string()}[{partition}]"


def _load(
    defs: Definitions, instance: Instance, store: BackfillStorage, backfill_id: str
) -> BackfillPass:
    record = store.get_backfill(backfill_id)
    if record is None:
        raise backfill_not_found(backfill_id)
    return BackfillPass(
        defs, instance, store, record, store.get_entities([backfill_id])[backfill_id]
    )


def execute_backfill(
    defs: Definitions,
    instance: Instance,
    backfill_id: str,
    *,
    listener: BackfillListener | None = None,
    executor: Any = None,
    poll_interval: float = 1.0,
) -> BackfillRecord:
    """Run a REQUESTED backfill in this process, run after run, until it ends or is
    canceled; returns it as stored at the end. Runs other processes have in progress
    for it are waited for. A failed run fails the entities it did not make; what reads
    them is not run, everything else is.

    Example:
        >>> import sheer as dg
        >>> from sheer.backfills import create_backfill
        >>> days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-02-01")
        >>> @dg.asset(partitions_def=days)
        ... def raw() -> None: ...
        >>> defs, instance = dg.Definitions(assets=[raw]), dg.Instance.ephemeral()
        >>> days_1_to_3 = ("2026-01-01", "2026-01-03")
        >>> record = create_backfill(defs, instance, "raw", partition_range=days_1_to_3)
        >>> execute_backfill(defs, instance, record.backfill_id).status
        <BackfillStatus.COMPLETED: 'COMPLETED'>
    """
    listener = listener or BackfillListener()
    store = instance.backfills
    lease = BackfillLease(instance, backfill_id, new_owner())
    if store.get_status(backfill_id) is None:
        raise backfill_not_found(backfill_id)
    if not lease.acquire():
        raise ExecutionError(
            f"Backfill {backfill_id} is being advanced by another process (it holds the "
            "backfill's lease). Fix: let that process continue it, and follow it with "
            f"`sheer backfill show {backfill_id}`; or stop it, then resume here."
        )
    with lease.kept():
        first = True
        while True:
            work = _load(defs, instance, store, backfill_id)
            work.record_finished_runs()
            if first:
                listener.backfill_started(work.record, work.progress())
                first = False
            if store.get_status(backfill_id) is not BackfillStatus.REQUESTED:
                break
            chunks = work.next_runs()
            if not chunks:
                if work.in_progress_runs():  # started by another process: wait for them
                    time.sleep(poll_interval)
                    continue
                work.finish_if_over()
                break
            for chunk in chunks:
                if lease.lost:
                    raise ExecutionError(
                        f"Backfill {backfill_id} was taken over by another process (this "
                        "process's lease lapsed). Its runs go on there. Fix: nothing; "
                        f"follow it with `sheer backfill show {backfill_id}`."
                    )
                if store.get_status(backfill_id) is not BackfillStatus.REQUESTED:
                    break  # canceled: no further run starts
                work.run_here(chunk, listener, executor)
    record = store.get_backfill(backfill_id)
    assert record is not None
    return record


def advance_backfills(
    defs: Definitions, instance: Instance, *, owner: str, launch: Launch | None = None
) -> list[str]:
    """Advance every active backfill by one pass; the ids of the runs started.

    What the automation daemon calls on each tick: the active backfills and their
    entities are one read, what their runs did one more. Each backfill is advanced under
    its lease (one held by a process executing it is left alone). With `launch` (the
    daemon's launcher) runs go to their own processes and are recorded on a later pass;
    without it they run here, wave after wave, until the backfill ends.
    """
    store = instance.backfills
    active = store.get_active_backfills()
    if not active:
        return []
    rows = store.get_entities([b.backfill_id for b in active])
    running = sorted(
        {
            r.run_id
            for rs in rows.values()
            for r in rs
            if r.status is EntityStatus.IN_PROGRESS and r.run_id
        }
    )
    if running:
        instance.mark_dead_runs()
    outcomes = store.get_run_outcomes(running)
    started: list[str] = []
    for record in active:
        lease = BackfillLease(instance, record.backfill_id, owner)
        if not lease.acquire():
            continue
        try:
            work = BackfillPass(defs, instance, store, record, rows[record.backfill_id])
            work.record_runs(outcomes)
            if record.status is BackfillStatus.REQUESTED:
                started += _advance(work, launch)
        except (UnknownAssetError, ExecutionError) as exc:
            store.set_status(
                record.backfill_id,
                BackfillStatus.FAILED,
                error=exc.message,
                only_from=[BackfillStatus.REQUESTED],
            )
        finally:
            lease.release()
    return started


def _advance(work: BackfillPass, launch: Launch | None) -> list[str]:
    """Start the runs that can start; with runs that end here, wave after wave."""
    started: list[str] = []
    for _ in range(work.record.num_targets + 1):  # each wave settles at least one entity
        chunks = work.next_runs()
        if not chunks:
            work.finish_if_over()
            return started
        for chunk in chunks:
            if work.store.get_status(work.backfill_id) is not BackfillStatus.REQUESTED:
                return started
            if launch is None:
                started.append(work.run_here(chunk, BackfillListener()))
            else:
                started.append(work.launch(chunk, launch))
        work.record_finished_runs()
        if work.in_progress_runs():  # in other processes: the next pass records them
            return started
    return started
