"""Two partitions definitions crossed: every pair of keys is one key, like "2026-01-02|portal1".

`MultiPartitionsDefinition` sorts its two dimensions by name; a `MultiPartitionKey` is a
`str` joining one key per dimension with "|" in that order, and the keys are listed with
the first dimension outermost (Dagster's order, whichever dimension is time). Membership
splits a key and asks each dimension, so the product is never listed to answer it.
A time dimension, when there is one, is the primary dimension.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache, reduce
from typing import Any, NamedTuple

from sheer.errors import DefinitionError
from sheer.partitions.base import DynamicPartitionsStore, PartitionKeyRange, PartitionsDefinition
from sheer.partitions.dynamic import DynamicPartitionsDefinition
from sheer.partitions.static import StaticPartitionsDefinition

MULTIPARTITION_KEY_DELIMITER = "|"
# Dagster's INVALID_STATIC_PARTITIONS_KEY_CHARACTERS: "|" joins the dimensions; "," "[" "]"
# would make the serialized subsets of a multi definition ambiguous.
INVALID_STATIC_PARTITIONS_KEY_CHARACTERS = frozenset("|,[]")


class PartitionDimensionKey(NamedTuple):
    """One dimension's part of a multi-partition key."""

    dimension_name: str
    partition_key: str


class PartitionDimensionDefinition(NamedTuple):
    """One dimension of a multi partitions definition: its name and its definition."""

    name: str
    partitions_def: PartitionsDefinition


class MultiPartitionKey(str):
    """A key of a multi definition: a `str` of each dimension's key joined by "|".

    Equal to (and hashed as) its string; the dimensions are sorted by name.

    Example:
        >>> key = MultiPartitionKey({"region": "eu", "date": "2026-01-02"})
        >>> key, key.keys_by_dimension["region"]
        ('2026-01-02|eu', 'eu')
    """

    dimension_keys: list[PartitionDimensionKey]

    def __new__(cls, keys_by_dimension: Mapping[str, str]) -> MultiPartitionKey:
        dimension_keys = [
            PartitionDimensionKey(name, keys_by_dimension[name])
            for name in sorted(keys_by_dimension)
        ]
        for dim in dimension_keys:
            if not isinstance(dim.dimension_name, str) or not isinstance(dim.partition_key, str):
                raise DefinitionError(
                    f"MultiPartitionKey needs string dimension names and keys, got "
                    f"{dim.dimension_name!r}: {dim.partition_key!r}. Fix: give both as strings."
                )
        key = super().__new__(cls, MULTIPARTITION_KEY_DELIMITER.join(k for _, k in dimension_keys))
        key.dimension_keys = dimension_keys
        return key

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickle rebuilds it from the mapping
        return (self.keys_by_dimension,)

    @property
    def keys_by_dimension(self) -> dict[str, str]:
        return {name: key for name, key in self.dimension_keys}


@cache
def _time_window_type() -> type[PartitionsDefinition] | None:
    # time_window.py is written beside this module, so it is looked up at run time (and
    # may be absent); importing it here at the top would also make an import cycle later.
    try:
        module = importlib.import_module("sheer.partitions.time_window")
    except ModuleNotFoundError as e:
        if e.name != "sheer.partitions.time_window":
            raise  # a broken import inside it must not pass for "no time windows"
        return None
    found: object = getattr(module, "TimeWindowPartitionsDefinition", None)
    if isinstance(found, type) and issubclass(found, PartitionsDefinition):
        return found
    return None


def _is_time_window(partitions_def: PartitionsDefinition) -> bool:
    time_window = _time_window_type()
    return time_window is not None and isinstance(partitions_def, time_window)


def _check_dimensions(partitions_defs: Mapping[str, PartitionsDefinition]) -> None:
    if len(partitions_defs) != 2:
        raise DefinitionError(
            "A MultiPartitionsDefinition has exactly 2 partitions definitions (Dagster's rule); "
            f"this one has {len(partitions_defs)}: {sorted(partitions_defs)}. Fix: give two "
            "dimensions, e.g. {'date': DailyPartitionsDefinition(...), 'region': "
            "StaticPartitionsDefinition([...])}."
        )
    allowed = (StaticPartitionsDefinition, DynamicPartitionsDefinition)
    for name, partitions_def in partitions_defs.items():
        if not isinstance(name, str):
            raise DefinitionError(
                f"Dimension name {name!r} of a MultiPartitionsDefinition is not a string. "
                "Fix: name each dimension with a string."
            )
        if not (isinstance(partitions_def, allowed) or _is_time_window(partitions_def)):
            raise DefinitionError(
                f"Dimension {name!r} of a MultiPartitionsDefinition is a "
                f"{type(partitions_def).__name__}; a dimension must be a static, time window or "
                "dynamic partitions definition. Fix: use one of those for each dimension."
            )
        if isinstance(partitions_def, StaticPartitionsDefinition):
            _check_static_dimension(name, partitions_def)


def _check_static_dimension(name: str, partitions_def: StaticPartitionsDefinition) -> None:
    bad = [
        key
        for key in partitions_def.get_partition_keys()
        if INVALID_STATIC_PARTITIONS_KEY_CHARACTERS.intersection(key)
    ]
    if bad:
        raise DefinitionError(
            f"Invalid character in partition key for dimension {name!r}: "
            f"{', '.join(repr(k) for k in bad)}. A multi-partitions definition cannot contain "
            "partition keys with the following characters: |, [, ], , . Fix: replace them, "
            "e.g. with '_' or '-'."
        )


class MultiPartitionsDefinition(PartitionsDefinition):
    """The cross product of two partitions definitions, keyed by dimension name.

    Example:
        >>> multi = MultiPartitionsDefinition({
        ...     "region": StaticPartitionsDefinition(["eu", "us"]),
        ...     "color": StaticPartitionsDefinition(["red", "blue"]),
        ... })
        >>> multi.get_partition_keys()
        ['red|eu', 'red|us', 'blue|eu', 'blue|us']
        >>> multi.has_partition_key("blue|us")
        True
    """

    __slots__ = ("_cached_keys", "_dims")

    def __init__(self, partitions_defs: Mapping[str, PartitionsDefinition]) -> None:
        _check_dimensions(partitions_defs)
        self._dims: list[PartitionDimensionDefinition] = sorted(
            (PartitionDimensionDefinition(n, d) for n, d in partitions_defs.items()),
            key=lambda dim: dim.name,
        )
        self._cached_keys: tuple[MultiPartitionKey, ...] | None = None

    @property
    def partitions_defs(self) -> list[PartitionDimensionDefinition]:
        return list(self._dims)

    @property
    def partition_dimension_names(self) -> list[str]:
        return [dim.name for dim in self._dims]

    def get_partitions_def_for_dimension(self, dimension_name: str) -> PartitionsDefinition:
        for dim in self._dims:
            if dim.name == dimension_name:
                return dim.partitions_def
        raise DefinitionError(
            f"{self!r} has no dimension {dimension_name!r}. Fix: use one of "
            f"{self.partition_dimension_names}."
        )

    def _key(self, parts: Sequence[str]) -> MultiPartitionKey:
        return MultiPartitionKey(
            {dim.name: part for dim, part in zip(self._dims, parts, strict=True)}
        )

    def _is_fixed(self) -> bool:
        return all(isinstance(d.partitions_def, StaticPartitionsDefinition) for d in self._dims)

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[MultiPartitionKey]:
        """Every pair of keys, the first dimension (by name) outermost."""
        if self._cached_keys is not None:
            return list(self._cached_keys)
        per_dimension = [
            dim.partitions_def.get_partition_keys(current_time, dynamic_partitions_store)
            for dim in self._dims
        ]
        keys = [
            self._key(parts)
            for parts in itertools.product(*per_dimension)
            # a dimension key with "|" (a dynamic or time key) would not split back: Dagster
            # leaves such keys out
            if self.is_valid_key_format(MULTIPARTITION_KEY_DELIMITER.join(parts))
        ]
        if self._is_fixed():  # two static dimensions never change: list them once
            self._cached_keys = tuple(keys)
        return keys

    def get_first_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> MultiPartitionKey | None:
        return self._end_key(current_time, dynamic_partitions_store, last=False)

    def get_last_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> MultiPartitionKey | None:
        return self._end_key(current_time, dynamic_partitions_store, last=True)

    def _end_key(
        self, current_time: datetime | None, store: DynamicPartitionsStore | None, *, last: bool
    ) -> MultiPartitionKey | None:
        parts = [
            d.partitions_def.get_last_partition_key(current_time, store)
            if last
            else d.partitions_def.get_first_partition_key(current_time, store)
            for d in self._dims
        ]
        if any(part is None for part in parts):
            return None
        joined = [part for part in parts if part is not None]
        if self.is_valid_key_format(MULTIPARTITION_KEY_DELIMITER.join(joined)):
            return self._key(joined)
        keys = self.get_partition_keys(current_time, store)  # the rare key with "|" in it
        return (keys[-1] if last else keys[0]) if keys else None

    def get_num_partitions(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> int:
        """The product of the dimensions' counts (as Dagster counts)."""
        counts = [
            d.partitions_def.get_num_partitions(current_time, dynamic_partitions_store)
            for d in self._dims
        ]
        return reduce(lambda x, y: x * y, counts, 1)

    def is_valid_key_format(self, partition_key: str) -> bool:
        """Whether `partition_key` splits into one key per dimension."""
        return len(partition_key.split(MULTIPARTITION_KEY_DELIMITER)) == len(self._dims)

    def get_partition_key_from_str(self, partition_key_str: str) -> MultiPartitionKey:
        """The `MultiPartitionKey` of a string such as "2026-01-02|eu"."""
        parts = partition_key_str.split(MULTIPARTITION_KEY_DELIMITER)
        if len(parts) != len(self._dims):
            names = "|".join(f"<{name}>" for name in self.partition_dimension_names)
            raise DefinitionError(
                f"Partition key {partition_key_str!r} has {len(parts)} part(s) where {self!r} "
                f"expects {len(self._dims)}, one per dimension joined by '|'. Fix: write it as "
                f"{names}."
            )
        return self._key(parts)

    get_multipartition_key_from_str = get_partition_key_from_str

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> bool:
        """Whether each dimension has its part of the key (the product is not listed)."""
        # a MultiPartitionKey is read as its string too, as Dagster reads it
        parts = partition_key.split(MULTIPARTITION_KEY_DELIMITER)
        if len(parts) != len(self._dims):
            return False
        return all(
            d.partitions_def.has_partition_key(part, current_time, dynamic_partitions_store)
            for d, part in zip(self._dims, parts, strict=True)
        )

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[MultiPartitionKey]:
        """The box between two keys: each dimension's range, crossed (Dagster's meaning)."""
        start = self.get_partition_key_from_str(partition_key_range.start).keys_by_dimension
        end = self.get_partition_key_from_str(partition_key_range.end).keys_by_dimension
        per_dimension = [
            d.partitions_def.get_partition_keys_in_range(
                PartitionKeyRange(start[d.name], end[d.name]), dynamic_partitions_store
            )
            for d in self._dims
        ]
        return [self._key(parts) for parts in itertools.product(*per_dimension)]

    def _time_window_dimensions(self) -> list[PartitionDimensionDefinition]:
        return [d for d in self._dims if _is_time_window(d.partitions_def)]

    @property
    def has_time_window_dimension(self) -> bool:
        return bool(self._time_window_dimensions())

    @property
    def time_window_dimension(self) -> PartitionDimensionDefinition:
        dims = self._time_window_dimensions()
        if len(dims) != 1:
            raise DefinitionError(
                f"{self!r} has {len(dims)} time window dimensions, not exactly one. Fix: check "
                "`has_time_window_dimension` first."
            )
        return dims[0]

    @property
    def primary_dimension(self) -> PartitionDimensionDefinition:
        """The time dimension when exactly one is time; else the first by name."""
        time_dims = self._time_window_dimensions()
        return time_dims[0] if len(time_dims) == 1 else self._dims[0]

    @property
    def secondary_dimension(self) -> PartitionDimensionDefinition:
        primary = self.primary_dimension
        return next(d for d in self._dims if d.name != primary.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MultiPartitionsDefinition) and self._dims == other._dims

    def __hash__(self) -> int:
        return hash(tuple((d.name, repr(d.partitions_def)) for d in self._dims))

    def __str__(self) -> str:
        first, second = self._dims
        return (
            "Multi-partitioned, with dimensions: \n"
            f"{first.name.capitalize()}: {first.partitions_def} \n"
            f"{second.name.capitalize()}: {second.partitions_def}"
        )

    def __repr__(self) -> str:
        # Dagster's repr with its closing parenthesis (Dagster 1.13 leaves it out)
        return f"{type(self).__name__}(dimensions={[str(d) for d in self._dims]})"
