"""Partitions whose keys are added and deleted at run time, and an in-memory home for them.

`DynamicPartitionsDefinition(name=...)` holds only a name: its keys live in a
`DynamicPartitionsStore` (the instance), passed to every read as `dynamic_partitions_store=`.
`InMemoryDynamicPartitions` is that store for tests and for the in-memory instance, with the
semantics of Dagster's `DagsterInstance`: keys are kept in the order they were first added,
adding a key that is there already does nothing, deleting a key that is not there does
nothing, and a deleted key added again goes last. This module does not touch storage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sheer.errors import DefinitionError
from sheer.partitions.base import DynamicPartitionsStore, PartitionsDefinition
from sheer.partitions.static import find_key_problems, raise_key_problems, refuse_a_single_string


class DynamicPartitionsDefinition(PartitionsDefinition):
    """Partition keys kept in the instance under `name`, added and deleted at run time.

    Example:
        >>> fruits = DynamicPartitionsDefinition(name="fruits")
        >>> store = InMemoryDynamicPartitions()
        >>> store.add_dynamic_partitions("fruits", ["apple", "banana"])
        >>> fruits.get_partition_keys(dynamic_partitions_store=store)
        ['apple', 'banana']
    """

    __slots__ = ("name",)

    def __init__(
        self,
        partition_fn: Callable[..., object] | str | None = None,
        name: str | None = None,
    ) -> None:
        if isinstance(partition_fn, str) and name is None:
            raise DefinitionError(
                f"DynamicPartitionsDefinition got {partition_fn!r} as its first argument, which "
                "is `partition_fn` (as in Dagster). Fix: pass the name by keyword: "
                f"DynamicPartitionsDefinition(name={partition_fn!r})."
            )
        if partition_fn is not None:
            raise DefinitionError(
                "DynamicPartitionsDefinition(partition_fn=...) is not supported: Dagster "
                "deprecated it, and Sheer keeps dynamic keys in the instance only. Fix: give a "
                "name, DynamicPartitionsDefinition(name='...'), and add keys with "
                "instance.add_dynamic_partitions(name, keys), or use StaticPartitionsDefinition "
                "for keys known when the code is written."
            )
        if not isinstance(name, str) or not name:
            raise DefinitionError(
                f"DynamicPartitionsDefinition needs a non-empty string name, got {name!r}. "
                "Fix: DynamicPartitionsDefinition(name='fruits')."
            )
        self.name: str = name

    @property
    def partition_fn(self) -> None:
        """Always None (Dagster's deprecated `partition_fn` is refused)."""
        return None

    def _store(self, store: DynamicPartitionsStore | None) -> DynamicPartitionsStore:
        if store is None:
            raise DefinitionError(
                f"The keys of {self!r} live in the instance, and no instance was given to read "
                "them from. Fix: pass dynamic_partitions_store=instance (in an asset, "
                "context.instance)."
            )
        return store

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        """The keys added under this name and not deleted, in the order they were added."""
        return list(self._store(dynamic_partitions_store).get_dynamic_partitions(self.name))

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> bool:
        store = self._store(dynamic_partitions_store)
        return store.has_dynamic_partition(self.name, partition_key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DynamicPartitionsDefinition) and self.name == other.name

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(partition_fn=None, name={self.name!r})"

    def __str__(self) -> str:
        return f'Dynamic partitions: "{self.name}"'


class InMemoryDynamicPartitions:
    """A `DynamicPartitionsStore` in a dict, with the instance's four methods.

    Example:
        >>> store = InMemoryDynamicPartitions()
        >>> store.add_dynamic_partitions("fruits", ["apple", "banana", "apple"])
        >>> store.delete_dynamic_partition("fruits", "apple")
        >>> store.add_dynamic_partitions("fruits", ["apple"])
        >>> store.get_dynamic_partitions("fruits")
        ['banana', 'apple']
    """

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        # dict as an ordered set: O(1) membership, insertion order kept.
        self._keys: dict[str, dict[str, None]] = {}

    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        """Add the keys not there yet, in the order given; the others are left as they are."""
        refuse_a_single_string(partition_keys, "add_dynamic_partitions")
        keys = list(partition_keys)
        # Keys are checked as a static definition's are; a repeat in one call is not a problem.
        problems = find_key_problems(list(dict.fromkeys(keys)))
        raise_key_problems(problems)
        self._keys.setdefault(partitions_def_name, {}).update(dict.fromkeys(keys))

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        """Delete one key; nothing happens when it is not there."""
        self._keys.get(partitions_def_name, {}).pop(partition_key, None)

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The keys in the order they were added ([] for a name never used)."""
        return list(self._keys.get(partitions_def_name, ()))

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return partition_key in self._keys.get(partitions_def_name, ())
