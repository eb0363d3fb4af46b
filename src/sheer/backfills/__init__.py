"""Backfills: persisted runs of many partitions, ordered per entity, resumable.

A backfill targets (asset, partition) entities, is stored when created, and is then
executed from storage: by `execute_backfill` in the calling process or, on each tick,
by the automation daemon (`advance_backfills`). Runs are split by each asset's
`BackfillPolicy` and ordered so that D[d] runs after every targeted partition it
reads, through virtual assets too (`plan.py`); progress is recorded per entity after
each run, so a crash, a failure or a cancel loses nothing (`executor.py`).
"""

from sheer.backfills.executor import (
    BACKFILL_TAG,
    BackfillListener,
    advance_backfills,
    execute_backfill,
)
from sheer.backfills.lifecycle import (
    cancel_backfill,
    create_backfill,
    get_backfill,
    get_backfill_progress,
    resume_backfill,
)
from sheer.backfills.plan import BackfillPlan, RunChunk
from sheer.backfills.progress import BackfillProgress, Counts
from sheer.storage.backfills import BackfillRecord, BackfillStatus, EntityStatus

__all__ = [
    "BACKFILL_TAG",
    "BackfillListener",
    "BackfillPlan",
    "BackfillProgress",
    "BackfillRecord",
    "BackfillStatus",
    "Counts",
    "EntityStatus",
    "RunChunk",
    "advance_backfills",
    "cancel_backfill",
    "create_backfill",
    "execute_backfill",
    "get_backfill",
    "get_backfill_progress",
    "resume_backfill",
]
