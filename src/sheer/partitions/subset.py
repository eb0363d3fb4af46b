"""Symbolic sets of partitions of one definition, each held in the form cheapest for it.

A subset of a `TimeWindowPartitionsDefinition` is a tuple of sorted, disjoint, half-open
index intervals (a year of days minus one is two intervals), and its union, intersection
and difference walk the intervals, never the keys. Static, dynamic and multi definitions
hold a frozenset of keys. `AllPartitionsSubset` is "every partition" of a definition and
stays symbolic until keys are asked for (as of `current_time`, with a dynamic partitions
store). `MultiPartitionsProductSubset` is the product of one subset per dimension (every
region for the days of a window), so a mapping onto a multi definition need not list it.
`UnpartitionedSubset` is the one entity (asset, None) of an unpartitioned asset, or none.

This module is pure: it reads definitions, never storage or the graph.

Example:
    >>> from sheer.partitions.time_window import DailyPartitionsDefinition
    >>> days = DailyPartitionsDefinition(start_date="2026-01-01", end_date="2027-01-01")
    >>> year = all_partitions_subset(days, current_time=datetime(2027, 6, 1)).resolved()
    >>> (year - subset_with_partition_keys(days, ["2026-03-01"])).intervals
    ((0, 59), (60, 365))
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import prod

from sheer.errors import DefinitionError
from sheer.partitions.base import DynamicPartitionsStore, PartitionKeyRange, PartitionsDefinition
from sheer.partitions.multi import MultiPartitionKey, MultiPartitionsDefinition
from sheer.partitions.time_window import TimeWindowPartitionsDefinition

Interval = tuple[int, int]  # [lo, hi) of partition indices


class PartitionsSubset(ABC):
    """A set of partitions of one definition (Dagster's `PartitionsSubset` reads)."""

    __slots__ = ()

    @property
    @abstractmethod
    def partitions_def(self) -> PartitionsDefinition | None: ...

    @abstractmethod
    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]: ...

    @abstractmethod
    def __contains__(self, partition_key: object) -> bool: ...

    @abstractmethod
    def __len__(self) -> int: ...

    def resolved(self) -> PartitionsSubset:
        """This subset in a concrete form (`AllPartitionsSubset` evaluates itself)."""
        return self

    @property
    def is_empty(self) -> bool:
        return len(self) == 0

    def empty_subset(self) -> PartitionsSubset:
        return empty_subset(self.partitions_def)

    def with_partition_keys(self, partition_keys: Iterable[str]) -> PartitionsSubset:
        """This subset with `partition_keys` added."""
        return self | subset_with_partition_keys(self.partitions_def, partition_keys)

    def with_partition_key_range(
        self,
        partitions_def: PartitionsDefinition,
        partition_key_range: PartitionKeyRange,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        """This subset with the keys of `partition_key_range` (both ends) added."""
        if isinstance(partitions_def, TimeWindowPartitionsDefinition):
            start, end = (_index_of(partitions_def, key) for key in partition_key_range)
            if end < start:
                raise DefinitionError(
                    f"Partition range {partition_key_range.start}...{partition_key_range.end} "
                    "ends before it starts. Fix: put the earlier key first."
                )
            return self | TimeWindowPartitionsSubset(partitions_def, ((start, end + 1),))
        keys = partitions_def.get_partition_keys_in_range(
            partition_key_range, dynamic_partitions_store
        )
        return self.with_partition_keys(keys)

    def get_partition_key_ranges(
        self,
        partitions_def: PartitionsDefinition | None = None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[PartitionKeyRange]:
        """Runs of consecutive keys of the definition, in its order."""
        definition = partitions_def or self.partitions_def
        if definition is None:
            return []
        concrete = self.resolved()
        if isinstance(concrete, TimeWindowPartitionsSubset):
            return concrete.key_ranges()
        ranges: list[PartitionKeyRange] = []
        run: list[str] = []
        for key in definition.get_partition_keys(current_time, dynamic_partitions_store):
            if key in concrete:
                run.append(key)
            elif run:
                ranges.append(PartitionKeyRange(run[0], run[-1]))
                run = []
        if run:
            ranges.append(PartitionKeyRange(run[0], run[-1]))
        return ranges

    def _check_same(self, other: PartitionsSubset) -> None:
        if self.partitions_def != other.partitions_def:
            raise DefinitionError(
                f"Cannot combine a subset of {self.partitions_def!r} with a subset of "
                f"{other.partitions_def!r}. Fix: map one onto the other's definition first "
                "(a PartitionMapping does)."
            )

    def __or__(self, other: PartitionsSubset) -> PartitionsSubset:
        self._check_same(other)
        if isinstance(other, AllPartitionsSubset):
            return other
        if isinstance(self, AllPartitionsSubset):
            return self
        return _combine(self.resolved(), other.resolved(), "|")

    def __and__(self, other: PartitionsSubset) -> PartitionsSubset:
        self._check_same(other)
        return _combine(self.resolved(), other.resolved(), "&")

    def __sub__(self, other: PartitionsSubset) -> PartitionsSubset:
        self._check_same(other)
        return _combine(self.resolved(), other.resolved(), "-")


@dataclass(frozen=True, slots=True)
class DefaultPartitionsSubset(PartitionsSubset):
    """A set of keys: static, dynamic and multi definitions."""

    partitions_def_: PartitionsDefinition
    subset: frozenset[str]

    @property
    def partitions_def(self) -> PartitionsDefinition:
        return self.partitions_def_

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        return sorted(self.subset)

    def __contains__(self, partition_key: object) -> bool:
        return partition_key in self.subset

    def __len__(self) -> int:
        return len(self.subset)

    def __repr__(self) -> str:
        return f"DefaultPartitionsSubset({sorted(self.subset)!r})"


@dataclass(frozen=True, slots=True)
class TimeWindowPartitionsSubset(PartitionsSubset):
    """Sorted, disjoint, non-touching half-open index intervals of a time window definition."""

    partitions_def_: TimeWindowPartitionsDefinition
    intervals: tuple[Interval, ...]

    def __post_init__(self) -> None:
        previous_end = None
        for lo, hi in self.intervals:
            if lo >= hi or (previous_end is not None and lo <= previous_end):
                raise ValueError(
                    f"Intervals {self.intervals!r} are not sorted, disjoint, non-touching and "
                    "non-empty. Fix: build the subset with subset_with_indices(), which merges."
                )
            previous_end = hi

    @property
    def partitions_def(self) -> TimeWindowPartitionsDefinition:
        return self.partitions_def_

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        key_at = self.partitions_def_.key_at
        return [key_at(i) for lo, hi in self.intervals for i in range(lo, hi)]

    def key_ranges(self) -> list[PartitionKeyRange]:
        key_at = self.partitions_def_.key_at
        return [PartitionKeyRange(key_at(lo), key_at(hi - 1)) for lo, hi in self.intervals]

    def __contains__(self, partition_key: object) -> bool:
        if not isinstance(partition_key, str):
            return False
        index = self.partitions_def_.index_of(partition_key)
        return index is not None and self.contains_index(index)

    def contains_index(self, index: int) -> bool:
        at = bisect_right(self.intervals, (index, float("inf"))) - 1
        return at >= 0 and self.intervals[at][0] <= index < self.intervals[at][1]

    def __len__(self) -> int:
        return sum(hi - lo for lo, hi in self.intervals)

    def __repr__(self) -> str:
        return f"TimeWindowPartitionsSubset({self.key_ranges()!r})"


@dataclass(frozen=True, slots=True)
class AllPartitionsSubset(PartitionsSubset):
    """Every partition of a definition, evaluated when first read."""

    partitions_def_: PartitionsDefinition
    current_time: datetime | None = None
    dynamic_partitions_store: DynamicPartitionsStore | None = None

    @property
    def partitions_def(self) -> PartitionsDefinition:
        return self.partitions_def_

    def resolved(self) -> PartitionsSubset:
        definition, now, store = (
            self.partitions_def_,
            self.current_time,
            self.dynamic_partitions_store,
        )
        if isinstance(definition, TimeWindowPartitionsDefinition):
            last = definition.last_index(now)
            return TimeWindowPartitionsSubset(definition, ((0, last + 1),) if last >= 0 else ())
        if isinstance(definition, MultiPartitionsDefinition):
            parts = {
                dim.name: AllPartitionsSubset(dim.partitions_def, now, store).resolved()
                for dim in definition.partitions_defs
            }
            return MultiPartitionsProductSubset(definition, parts)
        return DefaultPartitionsSubset(
            definition, frozenset(definition.get_partition_keys(now, store))
        )

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        return list(
            self.partitions_def_.get_partition_keys(
                current_time or self.current_time,
                dynamic_partitions_store or self.dynamic_partitions_store,
            )
        )

    def __contains__(self, partition_key: object) -> bool:
        return isinstance(partition_key, str) and self.partitions_def_.has_partition_key(
            partition_key, self.current_time, self.dynamic_partitions_store
        )

    def __len__(self) -> int:
        return self.partitions_def_.get_num_partitions(
            self.current_time, self.dynamic_partitions_store
        )

    def __repr__(self) -> str:
        return f"AllPartitionsSubset({self.partitions_def_!r})"


@dataclass(frozen=True, slots=True)
class MultiPartitionsProductSubset(PartitionsSubset):
    """Every key whose part in each dimension is in that dimension's subset."""

    partitions_def_: MultiPartitionsDefinition
    subsets_by_dimension: dict[str, PartitionsSubset]

    def __hash__(self) -> int:
        return hash((self.partitions_def_, tuple(sorted(self.subsets_by_dimension.items()))))

    @property
    def partitions_def(self) -> MultiPartitionsDefinition:
        return self.partitions_def_

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        names = list(self.subsets_by_dimension)
        per_dimension = [
            self.subsets_by_dimension[name].get_partition_keys(
                current_time, dynamic_partitions_store
            )
            for name in names
        ]
        return [
            MultiPartitionKey(dict(zip(names, parts, strict=True)))
            for parts in itertools.product(*per_dimension)
        ]

    def __contains__(self, partition_key: object) -> bool:
        if not isinstance(partition_key, str):
            return False
        if not isinstance(partition_key, MultiPartitionKey):
            if not self.partitions_def_.is_valid_key_format(partition_key):
                return False
            partition_key = self.partitions_def_.get_partition_key_from_str(partition_key)
        assert isinstance(partition_key, MultiPartitionKey)
        parts = partition_key.keys_by_dimension
        return all(parts.get(n) in s for n, s in self.subsets_by_dimension.items())

    def __len__(self) -> int:
        return prod(len(s) for s in self.subsets_by_dimension.values())

    def __repr__(self) -> str:
        return f"MultiPartitionsProductSubset({self.subsets_by_dimension!r})"


@dataclass(frozen=True, slots=True)
class UnpartitionedSubset(PartitionsSubset):
    """The one entity (asset, None) of an unpartitioned asset when `present`, else none."""

    present: bool = True

    @property
    def partitions_def(self) -> None:
        return None

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        return []  # an unpartitioned asset has no partition keys; `None in subset` tells

    def __contains__(self, partition_key: object) -> bool:
        return self.present and partition_key is None

    def __len__(self) -> int:
        return int(self.present)

    def __or__(self, other: PartitionsSubset) -> PartitionsSubset:
        self._check_same(other)
        return UnpartitionedSubset(self.present or bool(len(other)))

    def __and__(self, other: PartitionsSubset) -> PartitionsSubset:
        self._check_same(other)
        return UnpartitionedSubset(self.present and bool(len(other)))

    def __sub__(self, other: PartitionsSubset) -> PartitionsSubset:
        self._check_same(other)
        return UnpartitionedSubset(self.present and not len(other))


def empty_subset(partitions_def: PartitionsDefinition | None) -> PartitionsSubset:
    if partitions_def is None:
        return UnpartitionedSubset(False)
    if isinstance(partitions_def, TimeWindowPartitionsDefinition):
        return TimeWindowPartitionsSubset(partitions_def, ())
    return DefaultPartitionsSubset(partitions_def, frozenset())


def all_partitions_subset(
    partitions_def: PartitionsDefinition | None,
    current_time: datetime | None = None,
    dynamic_partitions_store: DynamicPartitionsStore | None = None,
) -> PartitionsSubset:
    """Every partition of `partitions_def`, symbolic; the single entity when None."""
    if partitions_def is None:
        return UnpartitionedSubset(True)
    return AllPartitionsSubset(partitions_def, current_time, dynamic_partitions_store)


def subset_with_partition_keys(
    partitions_def: PartitionsDefinition | None, partition_keys: Iterable[str]
) -> PartitionsSubset:
    keys = list(partition_keys)
    if partitions_def is None:
        if keys:
            raise DefinitionError(
                f"Partition keys {keys[:3]!r} given for an unpartitioned asset. Fix: give no "
                "partition key, or give the asset a partitions_def."
            )
        return UnpartitionedSubset(False)
    if isinstance(partitions_def, TimeWindowPartitionsDefinition):
        indices = sorted({_index_of(partitions_def, key) for key in keys})
        return TimeWindowPartitionsSubset(partitions_def, _runs(indices))
    if isinstance(partitions_def, MultiPartitionsDefinition):
        keys = [partitions_def.get_partition_key_from_str(key) for key in keys]
    return DefaultPartitionsSubset(partitions_def, frozenset(keys))


def subset_with_indices(
    partitions_def: TimeWindowPartitionsDefinition, intervals: Iterable[Interval]
) -> TimeWindowPartitionsSubset:
    """A time window subset of any intervals (merged, sorted; empty ones dropped)."""
    return TimeWindowPartitionsSubset(partitions_def, _normalized(intervals))


def same_time_shape(a: TimeWindowPartitionsDefinition, b: TimeWindowPartitionsDefinition) -> bool:
    """Equal but for start and end (Dagster's `equal_except_for_start_or_end`): the same key
    is the same window in both."""
    return (a.timezone, a.fmt, a.cron_schedule, a.end_offset, a.exclusions) == (
        b.timezone,
        b.fmt,
        b.cron_schedule,
        b.end_offset,
        b.exclusions,
    )


def reindexed(
    subset: TimeWindowPartitionsSubset, target: TimeWindowPartitionsDefinition
) -> TimeWindowPartitionsSubset:
    """The same windows as indices of `target`, a definition of the same shape (one step per
    interval)."""
    source = subset.partitions_def
    moved = []
    for lo, hi in subset.intervals:
        start = source.time_window_at(lo).start.timestamp()
        end = source.time_window_at(hi - 1).end.timestamp()
        moved.append((target.index_for_timestamp(start), target.index_for_timestamp(end, True) + 1))
    return subset_with_indices(target, moved)


def _index_of(partitions_def: TimeWindowPartitionsDefinition, key: str) -> int:
    index = partitions_def.index_of(key)
    if index is None:
        raise DefinitionError(
            f"Partition key '{key}' is not a partition of {partitions_def!r}. Fix: write it "
            f"as the definition's format '{partitions_def.fmt}' at the start of a window."
        )
    return index


def _runs(indices: Sequence[int]) -> tuple[Interval, ...]:
    runs: list[Interval] = []
    for index in indices:
        if runs and runs[-1][1] == index:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    return tuple(runs)


def _normalized(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    merged: list[Interval] = []
    for lo, hi in sorted(iv for iv in intervals if iv[0] < iv[1]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def intersect_intervals(a: Sequence[Interval], b: Sequence[Interval]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def subtract_intervals(a: Sequence[Interval], b: Sequence[Interval]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    j = 0
    for lo, hi in a:
        while j < len(b) and b[j][1] <= lo:
            j += 1
        k, start = j, lo
        while k < len(b) and b[k][0] < hi:
            if b[k][0] > start:
                out.append((start, b[k][0]))
            start = max(start, b[k][1])
            k += 1
        if start < hi:
            out.append((start, hi))
    return tuple(out)


def _combine(a: PartitionsSubset, b: PartitionsSubset, op: str) -> PartitionsSubset:
    if isinstance(a, TimeWindowPartitionsSubset) and isinstance(b, TimeWindowPartitionsSubset):
        if op == "|":
            intervals = _normalized(a.intervals + b.intervals)
        elif op == "&":
            intervals = intersect_intervals(a.intervals, b.intervals)
        else:
            intervals = subtract_intervals(a.intervals, b.intervals)
        return TimeWindowPartitionsSubset(a.partitions_def, intervals)
    if isinstance(a, MultiPartitionsProductSubset) and isinstance(b, MultiPartitionsProductSubset):
        product = _combine_products(a, b, op)
        if product is not None:
            return product
    definition = a.partitions_def
    assert definition is not None
    if op == "&" and isinstance(a, MultiPartitionsProductSubset):
        a, b = b, a  # filter the listed keys through the product's membership
    if op in "&-" and isinstance(b, MultiPartitionsProductSubset):
        keep = op == "&"
        return DefaultPartitionsSubset(
            definition, frozenset(k for k in _keys(a) if (k in b) == keep)
        )
    left, right = _keys(a), _keys(b)
    keys = left | right if op == "|" else left & right if op == "&" else left - right
    return DefaultPartitionsSubset(definition, keys)


def _combine_products(
    a: MultiPartitionsProductSubset, b: MultiPartitionsProductSubset, op: str
) -> PartitionsSubset | None:
    """Products combined dimension by dimension where the result is itself a product:
    any intersection; a union or difference whose sides differ in one dimension only (for a
    difference: `b` covers `a` in every other dimension). None when it is not a product."""
    left, right = a.subsets_by_dimension, b.subsets_by_dimension
    if op == "&":
        parts = {name: part & right[name] for name, part in left.items()}
        return MultiPartitionsProductSubset(a.partitions_def, parts)
    if op == "-" and any((part & right[name]).is_empty for name, part in left.items()):
        return a  # disjoint in one dimension: nothing to take away
    if op == "|":
        differing = [name for name, part in left.items() if part != right[name]]
    else:
        differing = [name for name, part in left.items() if not (part - right[name]).is_empty]
    if len(differing) > 1:
        return None
    if not differing:
        return a if op == "|" else empty_subset(a.partitions_def)
    name = differing[0]
    combined = left[name] | right[name] if op == "|" else left[name] - right[name]
    return MultiPartitionsProductSubset(a.partitions_def, {**left, name: combined})


def _keys(subset: PartitionsSubset) -> frozenset[str]:
    if isinstance(subset, DefaultPartitionsSubset):
        return subset.subset
    return frozenset(subset.get_partition_keys())
