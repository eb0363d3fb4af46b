"""What happened: event types, asset events users report, and the stored records.

These records are what storage writes and reads back. They are plain immutable
data, JSON-serializable through `to_json`/`from_json`; nothing is ever pickled into
the database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from sheer.keys import AssetKey, coerce_key
from sheer.metadata import (
    MetadataValue,
    TableSchema,
    decode_metadata,
    metadata_kinds,
    normalize_metadata,
)
from sheer.versioning import DataVersion, Provenance

DATA_VERSION_TAG = "dagster/data_version"


class EventType(StrEnum):
    RUN_START = "RUN_START"
    RUN_SUCCESS = "RUN_SUCCESS"
    RUN_FAILURE = "RUN_FAILURE"
    STEP_START = "STEP_START"
    STEP_SUCCESS = "STEP_SUCCESS"
    STEP_FAILURE = "STEP_FAILURE"
    STEP_SKIPPED = "STEP_SKIPPED"
    ASSET_MATERIALIZATION = "ASSET_MATERIALIZATION"
    ASSET_OBSERVATION = "ASSET_OBSERVATION"
    LOG_MESSAGE = "LOG_MESSAGE"

    # Dagster's spelling for the two asset events
    @classmethod
    def asset_event_types(cls) -> tuple[EventType, ...]:
        return (cls.ASSET_MATERIALIZATION, cls.ASSET_OBSERVATION)


class RunStatus(StrEnum):
    QUEUED = "QUEUED"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELED = "CANCELED"

    @property
    def is_finished(self) -> bool:
        return self in (RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED)


def _coerce_version(value: Any) -> DataVersion | None:
    if value is None or isinstance(value, DataVersion):
        return value
    return DataVersion(str(value))


@dataclass(frozen=True, slots=True)
class _AssetEvent:
    """What reported materializations and observations share.

    Metadata is held as `MetadataValue`s, as Dagster holds it: `event.metadata["rows"].value`.
    """

    asset_key: AssetKey
    description: str | None
    metadata: Mapping[str, MetadataValue]
    partition: str | None
    tags: Mapping[str, str]
    data_version: DataVersion | None

    def __init__(
        self,
        asset_key: Any,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        partition: str | None = None,
        tags: Mapping[str, str] | None = None,
        *,
        data_version: Any = None,
    ) -> None:
        tags = dict(tags or {})
        version = _coerce_version(
            data_version if data_version is not None else tags.get(DATA_VERSION_TAG)
        )
        s = object.__setattr__
        s(self, "asset_key", coerce_key(asset_key))
        s(self, "description", description)
        s(self, "metadata", normalize_metadata(metadata))
        s(self, "partition", partition)
        s(self, "tags", tags)
        s(self, "data_version", version)


@dataclass(frozen=True, slots=True, init=False)
class AssetMaterialization(_AssetEvent):
    """A report that an asset's contents were (re)created, with metadata and a data version.

    Example:
        >>> AssetMaterialization("orders", metadata={"rows": 3}, data_version="v1").data_version
        DataVersion(value='v1')
    """


@dataclass(frozen=True, slots=True, init=False)
class AssetObservation(_AssetEvent):
    """A report of an asset's current state (usually an external asset's data version)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRecord:
    """One stored event; `storage_id` grows monotonically with every write.

    Attributes:
        storage_id: the event's id, also the cursor for paging.
        run_id: the run it belongs to, or None for reported events.
        timestamp: seconds since the epoch.
        event_type: what happened.
        asset_key: the asset, for asset events and asset steps.
        partition: the partition key, or None (partitions come later).
        step_key: the step, for step events.
        message: a human line ("Asset 'a' failed: ...").
        data: the event's details (metadata, data version, provenance, error, timings).
    """

    storage_id: int
    run_id: str | None
    timestamp: float
    event_type: EventType
    asset_key: AssetKey | None = None
    partition: str | None = None
    step_key: str | None = None
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The metadata as stored: plain JSON values (see `asset_materialization` for typed)."""
        metadata: Mapping[str, Any] = self.data.get("metadata", {})
        return metadata

    @property
    def typed_metadata(self) -> dict[str, MetadataValue]:
        """The metadata as `MetadataValue`s, each of the kind it was recorded with."""
        return decode_metadata(self.metadata, self.data.get("metadata_kinds"))

    @property
    def data_version(self) -> DataVersion | None:
        value = self.data.get("data_version")
        return DataVersion(value) if value is not None else None

    @property
    def code_version(self) -> str | None:
        return self.data.get("code_version")

    @property
    def provenance(self) -> Provenance | None:
        raw = self.data.get("provenance")
        return Provenance.from_json(raw) if raw is not None else None

    @property
    def error(self) -> Mapping[str, Any] | None:
        return self.data.get("error")

    @property
    def asset_materialization(self) -> AssetMaterialization | None:
        if self.event_type is not EventType.ASSET_MATERIALIZATION or self.asset_key is None:
            return None
        return AssetMaterialization(
            self.asset_key,
            description=self.data.get("description"),
            metadata=self.typed_metadata,
            partition=self.partition,
            tags=self.data.get("tags"),
            data_version=self.data.get("data_version"),
        )

    @property
    def asset_observation(self) -> AssetObservation | None:
        if self.event_type is not EventType.ASSET_OBSERVATION or self.asset_key is None:
            return None
        return AssetObservation(
            self.asset_key,
            description=self.data.get("description"),
            metadata=self.typed_metadata,
            partition=self.partition,
            tags=self.data.get("tags"),
            data_version=self.data.get("data_version"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """A run as stored: what it targeted, its status and its timings."""

    run_id: str
    status: RunStatus
    asset_selection: tuple[AssetKey, ...]
    tags: Mapping[str, str]
    executor: str | None
    created_at: float
    started_at: float | None
    ended_at: float | None
    error: str | None = None

    @property
    def is_finished(self) -> bool:
        return self.status.is_finished

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


def to_json(value: Any) -> str:
    """JSON for storage; values JSON cannot hold are stored as their text."""
    return json.dumps(value, default=_json_default, separators=(",", ":"), allow_nan=False)


def from_json(text: str | None) -> Any:
    return json.loads(text) if text else {}


def _json_default(value: Any) -> Any:
    if isinstance(value, MetadataValue):
        return value.to_json_value()
    if isinstance(value, TableSchema):
        return value.to_json()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, AssetKey):
        return value.to_user_string()
    if isinstance(value, DataVersion):
        return value.value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    inner = getattr(value, "value", None)  # MetadataValue-like wrappers
    if isinstance(inner, (str, int, float, bool)):
        return inner
    return str(value)


def clean_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata as JSON round-trips it, so what is read back equals what was written."""
    cleaned: dict[str, Any] = json.loads(to_json(_finite(dict(metadata))))  # a dict in, a dict out
    return cleaned


def metadata_event_data(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The `data` entries an asset event stores for its metadata: JSON values, and the
    kinds JSON does not show (a URL, a table schema, ...) so they read back typed."""
    data: dict[str, Any] = {"metadata": clean_metadata(metadata)}
    kinds = metadata_kinds(metadata)
    if kinds:
        data["metadata_kinds"] = kinds
    return data


def _finite(value: Any) -> Any:
    if isinstance(value, MetadataValue):
        value = value.to_json_value()
    elif isinstance(value, TableSchema):
        value = value.to_json()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
