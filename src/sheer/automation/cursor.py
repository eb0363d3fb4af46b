"""AutomationCursor: what one automation tick hands the next.

A plain record, stored as JSON (never pickled): the newest event id seen, the keys
requested, code versions, the condition ids (a changed condition starts from
scratch), the state of `since` / `newly_true` nodes, per evaluated asset, and the
data versions `data_version_changed()` compares against.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from sheer.keys import AssetKey, coerce_key


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationCursor:
    """What one tick hands the next; JSON-serializable (`to_json` / `from_json`).

    Example:
        >>> cursor = AutomationCursor(evaluation_id=3, requested=frozenset([AssetKey("d")]))
        >>> AutomationCursor.from_json(cursor.to_json()) == cursor
        True
    """

    evaluation_id: int = 0
    evaluation_time: float | None = None
    last_event_id: int = 0
    requested: frozenset[AssetKey] = frozenset()
    code_versions: Mapping[AssetKey, str | None] = field(default_factory=dict)
    condition_ids: Mapping[AssetKey, str] = field(default_factory=dict)
    # asset -> {"<node path>@<target>": True} for the since / newly_true nodes that were true
    state: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)
    # the data version of each target data_version_changed() looked at
    data_versions: Mapping[AssetKey, str | None] = field(default_factory=dict)
    # the partitions requested of each partitioned asset (its key is in `requested` too)
    requested_partitions: Mapping[AssetKey, tuple[str, ...]] = field(default_factory=dict)
    # per partitioned target data_version_changed() looked at: {partition: data version}
    partition_versions: Mapping[AssetKey, Mapping[str, str | None]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "evaluation_id": self.evaluation_id,
                "evaluation_time": self.evaluation_time,
                "last_event_id": self.last_event_id,
                "requested": sorted(k.to_user_string() for k in self.requested),
                "code_versions": {k.to_user_string(): v for k, v in self.code_versions.items()},
                "condition_ids": {k.to_user_string(): v for k, v in self.condition_ids.items()},
                "state": self.state,
                "data_versions": {k.to_user_string(): v for k, v in self.data_versions.items()},
                "requested_partitions": {
                    k.to_user_string(): list(v) for k, v in self.requested_partitions.items()
                },
                "partition_versions": {
                    k.to_user_string(): dict(v) for k, v in self.partition_versions.items()
                },
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | None) -> AutomationCursor | None:
        if not text:
            return None
        raw = json.loads(text)
        return cls(
            evaluation_id=raw["evaluation_id"],
            evaluation_time=raw["evaluation_time"],
            last_event_id=raw["last_event_id"],
            requested=frozenset(coerce_key(k) for k in raw["requested"]),
            code_versions={coerce_key(k): v for k, v in raw["code_versions"].items()},
            condition_ids={coerce_key(k): v for k, v in raw["condition_ids"].items()},
            state=raw["state"],
            # cursors stored before data_version_changed() have none
            data_versions={coerce_key(k): v for k, v in raw.get("data_versions", {}).items()},
            # cursors stored before partitions have neither
            requested_partitions={
                coerce_key(k): tuple(v) for k, v in raw.get("requested_partitions", {}).items()
            },
            partition_versions={
                coerce_key(k): v for k, v in raw.get("partition_versions", {}).items()
            },
        )
