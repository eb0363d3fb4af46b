"""A backfill's progress as counts: per asset and in total, from its stored rows.

Pure: it counts what `BackfillStorage` returns (the entity rows of one backfill, or
the grouped counts of many), so the CLI, the web payloads and the executor's
progress bar all say the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sheer.keys import AssetKey
from sheer.storage.backfills import BackfillRecord, EntityRecord, EntityStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Counts:
    """How many targeted entities are done, failed, in progress; the rest is to do."""

    total: int
    done: int = 0
    failed: int = 0
    in_progress: int = 0

    @property
    def remaining(self) -> int:
        return self.total - self.done - self.failed - self.in_progress

    @property
    def finished(self) -> int:
        """Done or failed: what a progress bar has passed."""
        return self.done + self.failed

    def to_json(self) -> dict[str, int]:
        return {
            "total": self.total,
            "done": self.done,
            "failed": self.failed,
            "in_progress": self.in_progress,
            "remaining": self.remaining,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillProgress:
    """A backfill's counts in total and per targeted asset (in the targets' order)."""

    total: Counts
    per_asset: Mapping[AssetKey, Counts]


def count_rows(rows: Iterable[EntityRecord]) -> dict[AssetKey, dict[EntityStatus, int]]:
    """Entity rows as per-asset counts by status (the shape `count_entities` returns)."""
    out: dict[AssetKey, dict[EntityStatus, int]] = {}
    for row in rows:
        per_status = out.setdefault(row.asset_key, {})
        per_status[row.status] = per_status.get(row.status, 0) + 1
    return out


def progress_of(
    record: BackfillRecord, counts: Mapping[AssetKey, Mapping[EntityStatus, int]]
) -> BackfillProgress:
    """The backfill's progress from its per-asset counts by status (PENDING counts as
    still to do)."""
    per_asset = {}
    for key, partitions in record.targets.items():
        found = counts.get(key, {})
        per_asset[key] = Counts(
            total=len(partitions),
            done=found.get(EntityStatus.DONE, 0),
            failed=found.get(EntityStatus.FAILED, 0),
            in_progress=found.get(EntityStatus.IN_PROGRESS, 0),
        )
    total = Counts(
        total=sum(c.total for c in per_asset.values()),
        done=sum(c.done for c in per_asset.values()),
        failed=sum(c.failed for c in per_asset.values()),
        in_progress=sum(c.in_progress for c in per_asset.values()),
    )
    return BackfillProgress(total=total, per_asset=per_asset)


def backfill_json(record: BackfillRecord, progress: BackfillProgress) -> dict[str, Any]:
    """A backfill and its progress as JSON: what `sheer backfill show --json` prints and
    the web API answers."""
    return {
        "backfill_id": record.backfill_id,
        "status": record.status.value,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "assets": [k.to_user_string() for k in record.asset_selection],
        "tags": dict(record.tags),
        "error": record.error,
        "progress": progress.total.to_json(),
        "per_asset": {k.to_user_string(): c.to_json() for k, c in progress.per_asset.items()},
    }
