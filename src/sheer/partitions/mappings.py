"""Partition mappings: which partitions of an upstream asset a downstream partition reads.

Dagster's mappings with Dagster's names, constructor signatures and per-hop meaning, working
on the symbolic subsets of `sheer.partitions.subset`: a `TimeWindowPartitionMapping` maps
index intervals to index intervals (one computation per interval, never per key), a mapping
onto a multi definition returns a product subset, `AllPartitionMapping` returns the
symbolic `AllPartitionsSubset`. An unpartitioned end (partitions_def None) is the single
entity `UnpartitionedSubset`: `infer_partition_mapping` gives `AllPartitionMapping` there,
as Dagster does, so every partition reads the unpartitioned asset and the unpartitioned
asset reads every partition.

Pure code over definitions: no storage, no graph.

Example:
    >>> from datetime import datetime
    >>> from sheer.partitions.subset import subset_with_partition_keys
    >>> from sheer.partitions.time_window import DailyPartitionsDefinition
    >>> days = DailyPartitionsDefinition(start_date="2026-01-01")
    >>> mapping = TimeWindowPartitionMapping(start_offset=-1)
    >>> result = mapping.get_upstream_mapped_partitions_result_for_partitions(
    ...     subset_with_partition_keys(days, ["2026-01-05"]), days, days,
    ...     current_time=datetime(2026, 2, 1),
    ... )
    >>> result.partitions_subset.get_partition_keys()
    ['2026-01-04', '2026-01-05']
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sheer.errors import DefinitionError
from sheer.partitions.base import DynamicPartitionsStore, PartitionsDefinition
from sheer.partitions.static import StaticPartitionsDefinition
from sheer.partitions.subset import (
    AllPartitionsSubset,
    DefaultPartitionsSubset,
    PartitionsSubset,
    TimeWindowPartitionsSubset,
    all_partitions_subset,
    empty_subset,
    reindexed,
    same_time_shape,
    subset_with_partition_keys,
)
from sheer.partitions.time_window import TimeWindowPartitionsDefinition


class UpstreamPartitionsResult(NamedTuple):
    """The upstream partitions a downstream subset reads, and those it needs that do not
    exist (Dagster's shape)."""

    partitions_subset: PartitionsSubset
    required_but_nonexistent_subset: PartitionsSubset


class PartitionMapping(ABC):
    """How the partitions of a downstream asset depend on those of one upstream asset."""

    @abstractmethod
    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        """The upstream partitions that the downstream partitions read."""

    @abstractmethod
    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        """The downstream partitions that read any of the upstream partitions."""

    def problem(
        self,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        """Why this mapping cannot join the two definitions, with the fix; None when it can."""
        return None

    def validate_partition_mapping(
        self,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> None:
        """Dagster's check (upstream first): a `DefinitionError` when the mapping cannot join
        the two definitions. `validate_partition_mapping(mapping, ...)` also names the asset."""
        why = self.problem(downstream_partitions_def, upstream_partitions_def)
        if why is not None:
            raise DefinitionError(f"{self!r} cannot map these partitions: {why}")


def _kind(partitions_def: PartitionsDefinition | None) -> str:
    return "unpartitioned" if partitions_def is None else type(partitions_def).__name__


def _given(
    subset: PartitionsSubset | None,
    partitions_def: PartitionsDefinition | None,
    current_time: datetime | None,
    store: DynamicPartitionsStore | None,
) -> PartitionsSubset:
    """A subset ready to map: None is all of an unpartitioned asset, `All` is evaluated."""
    if subset is None:
        return all_partitions_subset(partitions_def)
    if isinstance(subset, AllPartitionsSubset):
        return AllPartitionsSubset(
            subset.partitions_def,
            subset.current_time or current_time,
            subset.dynamic_partitions_store or store,
        ).resolved()
    return subset


def _same_windows(
    subset: PartitionsSubset, target: PartitionsDefinition
) -> TimeWindowPartitionsSubset | None:
    """The subset's windows as indices of `target` when both are time windows of one shape."""
    if not isinstance(subset, TimeWindowPartitionsSubset) or not isinstance(
        target, TimeWindowPartitionsDefinition
    ):
        return None
    if not same_time_shape(subset.partitions_def, target):
        return None
    return reindexed(subset, target)


@dataclass(frozen=True, slots=True)
class IdentityPartitionMapping(PartitionMapping):
    """Each downstream partition reads the upstream partition with the same key."""

    def problem(
        self,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        if type(upstream_partitions_def) is not type(downstream_partitions_def):
            return (
                f"IdentityPartitionMapping needs the same kind of partitions on both sides, "
                f"got {_kind(downstream_partitions_def)} downstream and "
                f"{_kind(upstream_partitions_def)} upstream. Fix: use the same partitions_def, "
                "or give the dependency a partition_mapping that converts between them."
            )
        return None

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        down = _given(
            downstream_partitions_subset,
            downstream_partitions_def,
            current_time,
            dynamic_partitions_store,
        )
        nothing = empty_subset(upstream_partitions_def)
        if downstream_partitions_def == upstream_partitions_def:
            return UpstreamPartitionsResult(down, nothing)
        assert upstream_partitions_def is not None
        moved = _same_windows(down, upstream_partitions_def)
        if moved is not None:  # time windows of one shape: intervals, no keys listed
            existing = AllPartitionsSubset(upstream_partitions_def, current_time).resolved()
            return UpstreamPartitionsResult(moved & existing, moved - existing)
        have = set(
            upstream_partitions_def.get_partition_keys(current_time, dynamic_partitions_store)
        )
        wanted = set(down.get_partition_keys())
        return UpstreamPartitionsResult(
            subset_with_partition_keys(upstream_partitions_def, wanted & have),
            DefaultPartitionsSubset(upstream_partitions_def, frozenset(wanted - have)),
        )

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        up = _given(
            upstream_partitions_subset,
            upstream_partitions_def,
            current_time,
            dynamic_partitions_store,
        )
        if upstream_partitions_def == downstream_partitions_def:
            return up
        assert downstream_partitions_def is not None
        moved = _same_windows(up, downstream_partitions_def)
        if moved is not None:
            return moved & AllPartitionsSubset(downstream_partitions_def, current_time).resolved()
        have = downstream_partitions_def.get_partition_keys(current_time, dynamic_partitions_store)
        return subset_with_partition_keys(
            downstream_partitions_def, set(have) & set(up.get_partition_keys())
        )


@dataclass(frozen=True, slots=True)
class AllPartitionMapping(PartitionMapping):
    """Each downstream partition reads every upstream partition."""

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        # Dagster's: every upstream partition, whatever the downstream subset holds
        return UpstreamPartitionsResult(
            all_partitions_subset(upstream_partitions_def, current_time, dynamic_partitions_store),
            empty_subset(upstream_partitions_def),
        )

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        if upstream_partitions_subset.is_empty:
            return empty_subset(downstream_partitions_def)
        return all_partitions_subset(
            downstream_partitions_def, current_time, dynamic_partitions_store
        )


@dataclass(frozen=True, slots=True)
class LastPartitionMapping(PartitionMapping):
    """Each downstream partition reads the last partition of the upstream asset."""

    def problem(
        self,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        if upstream_partitions_def is None:
            return (
                "LastPartitionMapping needs a partitioned upstream asset, and this one is "
                "unpartitioned. Fix: drop the partition_mapping (every partition then reads it)."
            )
        return None

    def _last(
        self,
        upstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None,
        store: DynamicPartitionsStore | None,
    ) -> str | None:
        if upstream_partitions_def is None:
            return None
        return upstream_partitions_def.get_last_partition_key(current_time, store)

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        last = self._last(upstream_partitions_def, current_time, dynamic_partitions_store)
        keys = [] if last is None else [last]
        return UpstreamPartitionsResult(
            subset_with_partition_keys(upstream_partitions_def, keys),
            empty_subset(upstream_partitions_def),
        )

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        last = self._last(upstream_partitions_def, current_time, dynamic_partitions_store)
        if last is not None and last in upstream_partitions_subset:
            return all_partitions_subset(
                downstream_partitions_def, current_time, dynamic_partitions_store
            )
        return empty_subset(downstream_partitions_def)


@dataclass(frozen=True, slots=True)
class SpecificPartitionsPartitionMapping(PartitionMapping):
    """Each downstream partition reads the same given upstream partitions."""

    partition_keys: Sequence[str]

    def __post_init__(self) -> None:
        if isinstance(self.partition_keys, str):
            raise DefinitionError(
                f"SpecificPartitionsPartitionMapping got the string {self.partition_keys!r} "
                f"as partition_keys. Fix: pass a list, [{self.partition_keys!r}]."
            )
        object.__setattr__(self, "partition_keys", tuple(self.partition_keys))

    def problem(
        self,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        if upstream_partitions_def is None:
            return (
                "SpecificPartitionsPartitionMapping needs a partitioned upstream asset, and "
                "this one is unpartitioned. Fix: drop the partition_mapping."
            )
        return None

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        return UpstreamPartitionsResult(
            subset_with_partition_keys(upstream_partitions_def, self.partition_keys),
            empty_subset(upstream_partitions_def),
        )

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        if any(key in upstream_partitions_subset for key in self.partition_keys):
            return all_partitions_subset(
                downstream_partitions_def, current_time, dynamic_partitions_store
            )
        return empty_subset(downstream_partitions_def)


@dataclass(frozen=True)
class StaticPartitionMapping(PartitionMapping):
    """Upstream keys to the downstream key or keys they feed (many-to-one, one-to-many)."""

    downstream_partition_keys_by_upstream_partition_key: Mapping[str, str | Collection[str]]
    _forward: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)
    _inverse: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        forward = {
            up: frozenset([down] if isinstance(down, str) else down)
            for up, down in self.downstream_partition_keys_by_upstream_partition_key.items()
        }
        inverse: dict[str, set[str]] = {}
        for up, downs in forward.items():
            for down in downs:
                inverse.setdefault(down, set()).add(up)
        object.__setattr__(self, "_forward", forward)
        object.__setattr__(self, "_inverse", {k: frozenset(v) for k, v in inverse.items()})

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._forward.items())))

    def problem(
        self,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        for side, definition, used in (
            ("upstream", upstream_partitions_def, self._forward),
            ("downstream", downstream_partitions_def, self._inverse),
        ):
            if not isinstance(definition, StaticPartitionsDefinition):
                return (
                    f"StaticPartitionMapping needs StaticPartitionsDefinitions on both sides, "
                    f"the {side} is {_kind(definition)}. Fix: use another partition_mapping "
                    "(IdentityPartitionMapping, or a TimeWindowPartitionMapping for time windows)."
                )
            extra = sorted(set(used) - set(definition.get_partition_keys()))
            if extra:
                return (
                    f"StaticPartitionMapping names {side} keys {extra} that the {side} "
                    f"partitions definition does not have. Fix: use keys of {definition!r}."
                )
        return None

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        keys: set[str] = set()
        if downstream_partitions_subset is not None:
            for key in downstream_partitions_subset.get_partition_keys():
                keys |= self._inverse.get(key, frozenset())
        return UpstreamPartitionsResult(
            subset_with_partition_keys(upstream_partitions_def, keys),
            empty_subset(upstream_partitions_def),
        )

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        keys: set[str] = set()
        for key in upstream_partitions_subset.get_partition_keys():
            keys |= self._forward.get(key, frozenset())
        return subset_with_partition_keys(downstream_partitions_def, keys)


def validate_partition_mapping(
    partition_mapping: PartitionMapping,
    downstream_partitions_def: PartitionsDefinition | None,
    upstream_partitions_def: PartitionsDefinition | None,
    *,
    asset: object,
    dep: object,
) -> None:
    """Raise a `DefinitionError` naming the asset and the dependency when the mapping cannot
    join the two definitions."""
    why = partition_mapping.problem(downstream_partitions_def, upstream_partitions_def)
    if why is not None:
        raise DefinitionError(
            f"Asset {asset} cannot read its dependency {dep} through {partition_mapping!r}: {why}"
        )


def infer_partition_mapping(
    partition_mapping: PartitionMapping | None,
    downstream_partitions_def: PartitionsDefinition | None,
    upstream_partitions_def: PartitionsDefinition | None,
) -> PartitionMapping:
    """The mapping a dependency uses: the given one, else Dagster's default for the pair."""
    if partition_mapping is not None:
        return partition_mapping
    if upstream_partitions_def is None or downstream_partitions_def is None:
        return AllPartitionMapping()
    if can_infer(upstream_partitions_def, downstream_partitions_def, None):
        return MultiToSingleDimensionPartitionMapping()
    if isinstance(upstream_partitions_def, TimeWindowPartitionsDefinition) and isinstance(
        downstream_partitions_def, TimeWindowPartitionsDefinition
    ):
        return TimeWindowPartitionMapping()
    return IdentityPartitionMapping()


# The time window and multi mappings live in their own modules (they import the base above);
# re-exported here so every mapping is importable from `sheer.partitions.mappings`.
from sheer.partitions.multi_mappings import (  # noqa: E402
    DimensionPartitionMapping,
    MultiPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
    can_infer,
)
from sheer.partitions.time_mapping import TimeWindowPartitionMapping  # noqa: E402

__all__ = [
    "AllPartitionMapping",
    "DimensionPartitionMapping",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "MultiPartitionMapping",
    "MultiToSingleDimensionPartitionMapping",
    "PartitionMapping",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "TimeWindowPartitionMapping",
    "UpstreamPartitionsResult",
    "infer_partition_mapping",
    "validate_partition_mapping",
]
