"""Records as rows: the events to write, and reading events and runs back from rows.

What `SqlStorage` writes and returns, and the pure conversions between them and the
columns of `schema.py`; no SQL is run here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping

from sheer.events import EventRecord, EventType, RunRecord, RunStatus, from_json, to_json
from sheer.keys import AssetKey
from sheer.storage.schema import provenance_inputs


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEvent:
    """An event to write; storage assigns its id."""

    event_type: EventType
    run_id: str | None = None
    timestamp: float = 0.0
    asset_key: AssetKey | None = None
    partition: str | None = None
    step_key: str | None = None
    message: str = ""
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class LatestRecords:
    """The latest materialization and observation of one asset entity."""

    materialization: EventRecord | None
    observation: EventRecord | None
    last_run_id: str | None


VersionRow = tuple[
    str, int | None, str | None, str | None, str | None, int | None, str | None, str | None
]
"""(asset key, materialization id, data version, code version, inputs text, observation
id, observation data version, provenance JSON) of one entity."""


def event_values(e: NewEvent) -> dict[str, Any]:
    return {
        "run_id": e.run_id,
        "timestamp": e.timestamp or time.time(),
        "event_type": e.event_type.value,
        "asset_key": e.asset_key.to_user_string() if e.asset_key is not None else None,
        "partition": e.partition,
        "step_key": e.step_key,
        "message": e.message,
        "body": to_json(dict(e.data or {})),
    }


def latest_values(
    e: NewEvent, values: Mapping[str, Any], event_id: int
) -> tuple[str, dict[str, Any]] | None:
    """The latest-index column an event updates and the row to upsert, or None."""
    key = values["asset_key"]
    if key is None or e.event_type not in EventType.asset_event_types():
        return None
    data = e.data or {}
    if e.event_type is EventType.ASSET_MATERIALIZATION:
        provenance = data.get("provenance")
        return "last_materialization_id", {
            "asset_key": key,
            "partition": e.partition or "",
            "last_materialization_id": event_id,
            "updated_at": values["timestamp"],
            "last_run_id": e.run_id,
            "data_version": _text_or_none(data.get("data_version")),
            "code_version": _text_or_none(data.get("code_version")),
            "inputs": provenance_inputs(provenance),
            "provenance": to_json(provenance) if provenance is not None else None,
        }
    return "last_observation_id", {
        "asset_key": key,
        "partition": e.partition or "",
        "last_observation_id": event_id,
        "updated_at": values["timestamp"],
        "observation_data_version": _text_or_none(data.get("data_version")),
    }


INDEX_COPIES = {
    "last_materialization_id": ("data_version", "code_version", "inputs", "provenance"),
    "last_observation_id": ("observation_data_version",),
}
"""Per latest-index column: what the index copies from that event's `latest_values`
beyond the entity, the id, the time and (of a materialization) the run."""


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


EVENT_FIELDS = (
    "id",
    "run_id",
    "timestamp",
    "event_type",
    "asset_key",
    "partition",
    "step_key",
    "message",
    "body",
)


def event_columns(table: Any) -> list[Any]:
    return [table.c[name] for name in EVENT_FIELDS]


def record_from_row(row: Sequence[Any]) -> EventRecord | None:
    if row[0] is None:
        return None
    return EventRecord(
        storage_id=int(row[0]),
        run_id=row[1],
        timestamp=row[2],
        event_type=EventType(row[3]),
        asset_key=AssetKey(row[4]) if row[4] is not None else None,
        partition=row[5],
        step_key=row[6],
        message=row[7],
        data=from_json(row[8]),
    )


def run_from_row(r: RowMapping) -> RunRecord:
    return RunRecord(
        run_id=r["run_id"],
        status=RunStatus(r["status"]),
        asset_selection=tuple(AssetKey(k) for k in from_json(r["asset_selection"]) or []),
        tags=from_json(r["tags"]),
        executor=r["executor"],
        created_at=r["created_at"],
        started_at=r["started_at"],
        ended_at=r["ended_at"],
        error=r["error"],
    )
