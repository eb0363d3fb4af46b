"""What every partitions definition is: an ordered set of string keys.

`PartitionsDefinition` is the base of every kind (static, time window, multi, dynamic),
with Dagster's names and signatures. A subclass gives `get_partition_keys`; the other
reads have general forms here that subclasses replace where they know better (a time
window counts its keys without listing them, say).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from sheer.errors import DefinitionError


class DynamicPartitionsStore(Protocol):
    """Where the keys of dynamic partitions definitions live (the instance)."""

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]: ...

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool: ...


class PartitionKeyRange(NamedTuple):
    """The keys from `start` to `end` of one definition, both included (Dagster's shape)."""

    start: str
    end: str


class PartitionsDefinition(ABC):
    """An ordered set of partition keys (strings)."""

    @abstractmethod
    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> Sequence[str]:
        """Every key, in order, as of `current_time` (now when None)."""

    def get_first_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        return keys[0] if keys else None

    def get_last_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        return keys[-1] if keys else None

    def get_num_partitions(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> int:
        return len(self.get_partition_keys(current_time, dynamic_partitions_store))

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> bool:
        return partition_key in set(self.get_partition_keys(current_time, dynamic_partitions_store))

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> Sequence[str]:
        """The keys from `partition_key_range.start` to `.end`, both included."""
        keys = self.get_partition_keys(dynamic_partitions_store=dynamic_partitions_store)
        where = {k: i for i, k in enumerate(keys)}
        start, end = partition_key_range
        for key in (start, end):
            if key not in where:
                raise DefinitionError(
                    f"Partition key '{key}' of the range {start}...{end} is not a key of "
                    f"{self!r}. Fix: use keys the definition has (its first is "
                    f"'{keys[0] if keys else None}', its last '{keys[-1] if keys else None}')."
                )
        if where[start] > where[end]:
            raise DefinitionError(
                f"Partition range {start}...{end} ends before it starts. Fix: put the earlier "
                "key first."
            )
        return keys[where[start] : where[end] + 1]

    def validate_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> None:
        if not self.has_partition_key(partition_key, current_time, dynamic_partitions_store):
            raise DefinitionError(
                f"Partition key '{partition_key}' is not a key of {self!r}. Fix: use one of "
                "its keys (`get_partition_keys()` lists them)."
            )
