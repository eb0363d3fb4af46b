"""Creating, canceling and resuming backfills, and reading them back.

`create_backfill` checks the selection and every partition key against each asset's
definition, then stores a REQUESTED backfill: from then on its work is read from
storage, by `execute_backfill` in the calling process or by the daemon. `cancel_backfill`
stops further runs (a run in progress finishes); `resume_backfill` makes a failed,
canceled or interrupted backfill REQUESTED again, its failed partitions to do again.
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from sheer.backfills.executor import backfill_not_found
from sheer.backfills.progress import BackfillProgress, progress_of
from sheer.backfills.targets import resolve_targets
from sheer.definitions.definitions import Definitions
from sheer.errors import ExecutionError
from sheer.instance import Instance
from sheer.partitions.base import PartitionKeyRange
from sheer.storage.backfills import BackfillRecord, BackfillStatus

_ID_LETTERS = string.ascii_lowercase
_ID_LENGTH = 8  # as Dagster's backfill ids


def _new_id() -> str:
    return "".join(random.choices(_ID_LETTERS, k=_ID_LENGTH))


def create_backfill(
    defs: Definitions,
    instance: Instance,
    selection: Any,
    *,
    partition_range: PartitionKeyRange | tuple[str, str] | None = None,
    partitions: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> BackfillRecord:
    """Store a REQUESTED backfill of `selection` over a partition range (both ends
    included) or a list of keys; nothing runs yet (`execute_backfill`, or the daemon).

    Example:
        >>> import sheer as dg
        >>> days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-02-01")
        >>> @dg.asset(partitions_def=days)
        ... def raw() -> None: ...
        >>> defs, instance = dg.Definitions(assets=[raw]), dg.Instance.ephemeral()
        >>> create_backfill(defs, instance, "raw", partitions=["2026-01-02"]).num_targets
        1
    """
    graph = defs.resolve_asset_graph()
    targets = resolve_targets(
        graph,
        selection,
        partition_range=partition_range,
        partitions=partitions,
        dynamic_partitions_store=instance,
    )
    bad = sorted(k for k in (tags or {}) if not isinstance(k, str) or not k)
    if bad:
        raise ExecutionError(f"Backfill tag {bad[0]!r} has no name. Fix: pass tags as name=value.")
    store = instance.backfills
    now = time.time()
    for attempt in range(5):  # a clash of random ids is retried with a new one
        record = BackfillRecord(
            backfill_id=_new_id(),
            status=BackfillStatus.REQUESTED,
            created_at=now,
            updated_at=now,
            asset_selection=tuple(targets),
            targets=targets,
            tags=dict(tags or {}),
        )
        try:
            store.add_backfill(record)
            return record
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def get_backfill(instance: Instance, backfill_id: str) -> BackfillRecord:
    """One backfill, or an error naming the fix when there is none."""
    record = instance.backfills.get_backfill(backfill_id)
    if record is None:
        raise backfill_not_found(backfill_id)
    return record


def get_backfill_progress(instance: Instance, backfill_id: str) -> BackfillProgress:
    """A backfill's counts, per asset and in total (one query beside the backfill's)."""
    record = get_backfill(instance, backfill_id)
    counts = instance.backfills.count_entities([backfill_id])[backfill_id]
    return progress_of(record, counts)


def cancel_backfill(instance: Instance, backfill_id: str) -> BackfillRecord:
    """Mark a REQUESTED backfill CANCELED: no further run starts, a run in progress
    finishes (and is recorded). Canceling a canceled backfill does nothing."""
    store = instance.backfills
    if not store.set_status(
        backfill_id, BackfillStatus.CANCELED, only_from=[BackfillStatus.REQUESTED]
    ):
        record = get_backfill(instance, backfill_id)
        if record.status is not BackfillStatus.CANCELED:
            raise ExecutionError(
                f"Backfill {backfill_id} is {record.status.value}: there is nothing to cancel. "
                f"Fix: nothing; `sheer backfill show {backfill_id}` shows what it did."
            )
    return get_backfill(instance, backfill_id)


def resume_backfill(instance: Instance, backfill_id: str) -> BackfillRecord:
    """Make a backfill REQUESTED again, its failed partitions to do again; what is done
    stays done. For a backfill stopped by a failure, a cancel or a crash."""
    if not instance.backfills.resume(backfill_id):
        record = get_backfill(instance, backfill_id)
        raise ExecutionError(
            f"Backfill {backfill_id} is {record.status.value}: every partition it targets "
            "is done, so there is nothing to resume. Fix: create a new backfill to run them "
            "again: sheer backfill --assets ... --partition-range K1...K2."
        )
    return get_backfill(instance, backfill_id)
