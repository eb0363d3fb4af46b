"""A partitions definition whose keys are a fixed list given at definition time.

`StaticPartitionsDefinition` keeps its keys in a tuple and, built once beside it, a dict
from key to position, so membership, position and ranges cost O(1) (plus the slice a range
returns) however many keys there are. The key rules shared with dynamic partitions
(`check_partition_keys`) live here too. This module reads no storage and knows nothing of
time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sheer.errors import DefinitionError, MultipleDefinitionErrors
from sheer.partitions.base import DynamicPartitionsStore, PartitionKeyRange, PartitionsDefinition

# Dagster's INVALID_PARTITION_SUBSTRINGS: "..." separates the ends of a range
# ("2026-01-01...2026-01-31"); the control characters do not display in a UI.
INVALID_PARTITION_SUBSTRINGS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")


def find_key_problems(partition_keys: Sequence[object]) -> list[DefinitionError]:
    """Every problem with a list of partition keys: non-strings, bad substrings, duplicates."""
    problems: list[DefinitionError] = []
    seen: set[str] = set()
    duplicates: dict[str, None] = {}
    for key in partition_keys:
        if not isinstance(key, str):
            problems.append(
                DefinitionError(
                    f"Partition key {key!r} is a {type(key).__name__}, not a string. "
                    f"Fix: give the key as a string, e.g. {str(key)!r}."
                )
            )
            continue
        bad = [s for s in INVALID_PARTITION_SUBSTRINGS if s in key]
        if bad:
            problems.append(
                DefinitionError(
                    f"Partition key {key!r} contains {', '.join(repr(s) for s in bad)}, which a "
                    "partition key may not contain ('...' separates the ends of a range; control "
                    "characters do not display). Fix: remove or replace them, e.g. "
                    f"{_cleaned(key)!r}."
                )
            )
        if key in seen:
            duplicates[key] = None
        seen.add(key)
    if duplicates:
        problems.append(
            DefinitionError(
                "Partition keys must be unique; duplicated: "
                f"{', '.join(repr(k) for k in duplicates)}. Fix: list each key once."
            )
        )
    return problems


def raise_key_problems(problems: Sequence[DefinitionError]) -> None:
    """Raise the one problem, or all of them at once; nothing when there are none."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise MultipleDefinitionErrors(problems)


def _cleaned(key: str) -> str:
    for bad in INVALID_PARTITION_SUBSTRINGS:
        key = key.replace(bad, "_" if bad == "..." else "")
    return key


def refuse_a_single_string(partition_keys: object, what: str) -> None:
    """A plain string is a sequence of one-letter keys: almost always a missing list."""
    if isinstance(partition_keys, str):
        raise DefinitionError(
            f"{what} got the string {partition_keys!r} where it needs a list of keys. "
            f"Fix: wrap it in a list: [{partition_keys!r}]."
        )


class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed, ordered list of partition keys.

    Example:
        >>> oceans = StaticPartitionsDefinition(["arctic", "atlantic", "indian"])
        >>> oceans.get_partition_keys_in_range(PartitionKeyRange("atlantic", "indian"))
        ['atlantic', 'indian']
        >>> oceans.has_partition_key("pacific")
        False
    """

    __slots__ = ("_hash", "_index", "_keys")

    def __init__(self, partition_keys: Sequence[str]) -> None:
        refuse_a_single_string(partition_keys, "StaticPartitionsDefinition")
        keys = tuple(partition_keys)
        raise_key_problems(find_key_problems(keys))
        self._keys: tuple[str, ...] = keys
        self._index: dict[str, int] = {key: i for i, key in enumerate(keys)}
        self._hash: int | None = None

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        """Every key, in the order given (a new list each call, as callers may change it)."""
        return list(self._keys)

    def get_first_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        return self._keys[0] if self._keys else None

    def get_last_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        return self._keys[-1] if self._keys else None

    def get_num_partitions(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> int:
        return len(self._keys)

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> bool:
        return partition_key in self._index

    def get_partition_key_index(self, partition_key: str) -> int | None:
        """The position of `partition_key` among the keys (0 for the first), or None."""
        return self._index.get(partition_key)

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        """The keys from `partition_key_range.start` to `.end`, both included."""
        start, end = partition_key_range
        missing = [k for k in (start, end) if k not in self._index]
        if missing:
            raise DefinitionError(
                f"Partition range {start}...{end} is not a range of {self!r}: "
                f"{', '.join(repr(k) for k in missing)} is not one of its keys. Fix: use keys "
                f"it has (its first is {self.get_first_partition_key()!r}, its last "
                f"{self.get_last_partition_key()!r})."
            )
        i, j = self._index[start], self._index[end]
        if i > j:
            raise DefinitionError(
                f"Partition range {start}...{end} ends before it starts. Fix: put the earlier "
                f"key first: {end}...{start}."
            )
        return list(self._keys[i : j + 1])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StaticPartitionsDefinition) and (
            self is other or self._keys == other._keys
        )

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((type(self).__name__, self._keys))
        return self._hash

    def __repr__(self) -> str:
        return f"{type(self).__name__}(partition_keys={list(self._keys)})"

    def __str__(self) -> str:
        return ", ".join(f"'{key}'" for key in self._keys)
