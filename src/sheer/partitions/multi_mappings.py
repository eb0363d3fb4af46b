"""Mappings to and from multi-partitioned assets, one dimension at a time.

Both mappings are a list of dimension dependencies (a dimension of one side, a dimension of
the other, or None for a single-dimension side, and the mapping between them). A subset is
projected on each mapped dimension, mapped there, and the results multiplied, with every
key of each target dimension no dependency names: so "every region for the days of a
window" is a `MultiPartitionsProductSubset`, never 365 x 100 keys. Only a key set mapped
through two dimensions at once is walked key by key, as Dagster does.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sheer.errors import DefinitionError
from sheer.partitions.base import DynamicPartitionsStore, PartitionsDefinition
from sheer.partitions.mappings import (
    IdentityPartitionMapping,
    PartitionMapping,
    UpstreamPartitionsResult,
    _kind,
)
from sheer.partitions.multi import MultiPartitionKey, MultiPartitionsDefinition
from sheer.partitions.subset import (
    AllPartitionsSubset,
    DefaultPartitionsSubset,
    MultiPartitionsProductSubset,
    PartitionsSubset,
    all_partitions_subset,
    empty_subset,
    subset_with_partition_keys,
)


class _Dependency(NamedTuple):
    mapping: PartitionMapping
    upstream_dimension: str | None
    downstream_dimension: str | None


@dataclass(frozen=True, slots=True)
class DimensionPartitionMapping:
    """The downstream dimension an upstream dimension maps to, and how (Dagster's shape)."""

    dimension_name: str
    partition_mapping: PartitionMapping


def _single_to_multi(
    upstream_partitions_def: PartitionsDefinition,
    downstream_partitions_def: PartitionsDefinition,
    dimension_name: str | None,
) -> _Dependency | str:
    """The one dimension dependency between a multi and a single definition, or why none."""
    multis = [
        d
        for d in (upstream_partitions_def, downstream_partitions_def)
        if isinstance(d, MultiPartitionsDefinition)
    ]
    if len(multis) != 1:
        return (
            "MultiToSingleDimensionPartitionMapping joins one multi-partitioned asset and one "
            f"single-dimension asset, got {len(multis)} multi-partitioned. Fix: use "
            "MultiPartitionMapping between two multi-partitioned assets."
        )
    multi = multis[0]
    upstream_is_multi = multi is upstream_partitions_def
    single = downstream_partitions_def if upstream_is_multi else upstream_partitions_def
    dims = multi.partitions_defs
    if dimension_name is not None:
        dims = [dim for dim in dims if dim.name == dimension_name]
        if not dims:
            return (
                f"dimension {dimension_name!r} is not a dimension of {multi!r}. Fix: use one "
                f"of {multi.partition_dimension_names}."
            )
    matching = [dim.name for dim in dims if dim.partitions_def == single]
    if len(matching) != 1:
        return (
            f"{len(matching)} dimension(s) of {multi!r} have the partitions of {single!r}, "
            "where exactly one must. Fix: give partition_dimension_name, or make one "
            "dimension's partitions_def equal to the single-dimension asset's."
        )
    name = matching[0]
    return _Dependency(
        IdentityPartitionMapping(),
        name if upstream_is_multi else None,
        None if upstream_is_multi else name,
    )


def can_infer(
    upstream_partitions_def: PartitionsDefinition,
    downstream_partitions_def: PartitionsDefinition,
    dimension_name: str | None,
) -> bool:
    """Whether a MultiToSingleDimensionPartitionMapping joins the two definitions."""
    found = _single_to_multi(upstream_partitions_def, downstream_partitions_def, dimension_name)
    return not isinstance(found, str)


def _dimension_def(partitions_def: PartitionsDefinition, name: str | None) -> PartitionsDefinition:
    if name is None:
        return partitions_def
    assert isinstance(partitions_def, MultiPartitionsDefinition)
    return partitions_def.get_partitions_def_for_dimension(name)


def _projection(
    subset: PartitionsSubset, partitions_def: PartitionsDefinition, name: str | None
) -> PartitionsSubset:
    """The keys of one dimension that the subset holds."""
    if name is None:
        return subset
    if isinstance(subset, MultiPartitionsProductSubset):
        return subset.subsets_by_dimension[name]
    assert isinstance(partitions_def, MultiPartitionsDefinition)
    parts = {
        partitions_def.get_partition_key_from_str(key).keys_by_dimension[name]
        for key in subset.get_partition_keys()
    }
    return subset_with_partition_keys(partitions_def.get_partitions_def_for_dimension(name), parts)


class _ByDimension(PartitionMapping):
    """A mapping made of dimension dependencies."""

    @abstractmethod
    def dependencies(
        self,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
    ) -> list[_Dependency]:
        """The dimension dependencies joining the two definitions."""

    def _hops(
        self,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
    ) -> list[_Dependency]:
        why = self.problem(downstream_partitions_def, upstream_partitions_def)
        if why is not None:
            raise DefinitionError(f"{self!r} cannot map these partitions: {why}")
        assert downstream_partitions_def is not None and upstream_partitions_def is not None
        return self.dependencies(upstream_partitions_def, downstream_partitions_def)

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        hops = self._hops(downstream_partitions_def, upstream_partitions_def)
        assert downstream_partitions_def is not None and upstream_partitions_def is not None
        subset = downstream_partitions_subset
        if subset is None:
            subset = all_partitions_subset(downstream_partitions_def)
        pairs = [(h.downstream_dimension, h.upstream_dimension, h.mapping) for h in hops]
        return _map(
            downstream_partitions_def,
            subset,
            upstream_partitions_def,
            pairs,
            True,
            current_time,
            dynamic_partitions_store,
        )

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        hops = self._hops(downstream_partitions_def, upstream_partitions_def)
        assert downstream_partitions_def is not None and upstream_partitions_def is not None
        pairs = [(h.upstream_dimension, h.downstream_dimension, h.mapping) for h in hops]
        return _map(
            upstream_partitions_def,
            upstream_partitions_subset,
            downstream_partitions_def,
            pairs,
            False,
            current_time,
            dynamic_partitions_store,
        ).partitions_subset


_Pair = tuple[str | None, str | None, PartitionMapping]


def _map_one(
    pair: _Pair,
    source: PartitionsDefinition,
    subset: PartitionsSubset,
    target: PartitionsDefinition,
    upward: bool,
    now: datetime | None,
    store: DynamicPartitionsStore | None,
) -> UpstreamPartitionsResult:
    a_dim, b_dim, mapping = pair
    a_def, b_def = _dimension_def(source, a_dim), _dimension_def(target, b_dim)
    if upward:
        return mapping.get_upstream_mapped_partitions_result_for_partitions(
            subset, a_def, b_def, now, store
        )
    mapped = mapping.get_downstream_partitions_for_partitions(subset, a_def, b_def, now, store)
    return UpstreamPartitionsResult(mapped, empty_subset(b_def))


def _map(
    source: PartitionsDefinition,
    subset: PartitionsSubset,
    target: PartitionsDefinition,
    pairs: list[_Pair],
    upward: bool,
    now: datetime | None,
    store: DynamicPartitionsStore | None,
) -> UpstreamPartitionsResult:
    if isinstance(subset, AllPartitionsSubset):  # Dagster's: all maps to all
        return UpstreamPartitionsResult(
            all_partitions_subset(target, now, store), empty_subset(target)
        )
    if not isinstance(target, MultiPartitionsDefinition):
        a_dim = pairs[0][0]
        return _map_one(
            pairs[0], source, _projection(subset, source, a_dim), target, upward, now, store
        )
    mapped_names = {b_dim for _, b_dim, _ in pairs}
    others = {
        dim.name: all_partitions_subset(dim.partitions_def, now, store)
        for dim in target.partitions_defs
        if dim.name not in mapped_names
    }
    missing: set[str] = set()
    if len(pairs) == 1 or isinstance(subset, MultiPartitionsProductSubset):
        parts = dict(others)
        for pair in pairs:
            one = _map_one(
                pair, source, _projection(subset, source, pair[0]), target, upward, now, store
            )
            parts[str(pair[1])] = one.partitions_subset
            missing |= set(one.required_but_nonexistent_subset.get_partition_keys())
        return UpstreamPartitionsResult(
            MultiPartitionsProductSubset(target, parts),
            DefaultPartitionsSubset(target, frozenset(missing)),
        )
    return _map_key_by_key(source, subset, target, pairs, upward, now, store, others)


def _map_key_by_key(
    source: PartitionsDefinition,
    subset: PartitionsSubset,
    target: MultiPartitionsDefinition,
    pairs: list[_Pair],
    upward: bool,
    now: datetime | None,
    store: DynamicPartitionsStore | None,
    others: dict[str, PartitionsSubset],
) -> UpstreamPartitionsResult:
    assert isinstance(source, MultiPartitionsDefinition)
    seen: dict[tuple[str, str], UpstreamPartitionsResult] = {}
    keys: set[str] = set()
    missing: set[str] = set()
    for key in subset.get_partition_keys():
        by_dimension = source.get_partition_key_from_str(key).keys_by_dimension
        parts: dict[str, PartitionsSubset] = dict(others)
        for pair in pairs:
            a_dim = str(pair[0])
            cache = (a_dim, by_dimension[a_dim])
            if cache not in seen:
                one_key = subset_with_partition_keys(
                    source.get_partitions_def_for_dimension(a_dim), [by_dimension[a_dim]]
                )
                seen[cache] = _map_one(pair, source, one_key, target, upward, now, store)
                missing |= set(seen[cache].required_but_nonexistent_subset.get_partition_keys())
            parts[str(pair[1])] = seen[cache].partitions_subset
        keys |= set(MultiPartitionsProductSubset(target, parts).get_partition_keys())
    return UpstreamPartitionsResult(
        DefaultPartitionsSubset(
            target,
            frozenset(
                MultiPartitionKey(target.get_partition_key_from_str(k).keys_by_dimension)
                for k in keys
            ),
        ),
        DefaultPartitionsSubset(target, frozenset(missing)),
    )


@dataclass(frozen=True, slots=True)
class MultiToSingleDimensionPartitionMapping(_ByDimension):
    """A single-dimension asset and the one dimension of a multi-partitioned asset with the
    same partitions: each key matches every multi key with that key in the dimension."""

    partition_dimension_name: str | None = None

    def problem(
        self,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        if downstream_partitions_def is None or upstream_partitions_def is None:
            return (
                "MultiToSingleDimensionPartitionMapping needs partitions on both sides, one "
                "side is unpartitioned. Fix: drop the partition_mapping."
            )
        found = _single_to_multi(
            upstream_partitions_def, downstream_partitions_def, self.partition_dimension_name
        )
        return found if isinstance(found, str) else None

    def dependencies(
        self,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
    ) -> list[_Dependency]:
        found = _single_to_multi(
            upstream_partitions_def, downstream_partitions_def, self.partition_dimension_name
        )
        assert not isinstance(found, str)
        return [found]


@dataclass(frozen=True)
class MultiPartitionMapping(_ByDimension):
    """Between two multi-partitioned assets: for each upstream dimension, the downstream
    dimension it maps to and how; an upstream dimension not named is read whole."""

    downstream_mappings_by_upstream_dimension: Mapping[str, DimensionPartitionMapping]

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.downstream_mappings_by_upstream_dimension.items())))

    def problem(
        self,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        if not isinstance(upstream_partitions_def, MultiPartitionsDefinition) or not isinstance(
            downstream_partitions_def, MultiPartitionsDefinition
        ):
            return (
                "MultiPartitionMapping needs multi-partitioned assets on both sides, got "
                f"{_kind(downstream_partitions_def)} downstream and "
                f"{_kind(upstream_partitions_def)} upstream. Fix: use "
                "MultiToSingleDimensionPartitionMapping when one side has one dimension."
            )
        ups, downs = upstream_partitions_def, downstream_partitions_def
        used: set[str] = set()
        for up_name, dim_mapping in self.downstream_mappings_by_upstream_dimension.items():
            down_name = dim_mapping.dimension_name
            for side, name, definition in (
                ("upstream", up_name, ups),
                ("downstream", down_name, downs),
            ):
                if name not in definition.partition_dimension_names:
                    return (
                        f"{side} dimension {name!r} is not a dimension of {definition!r}. "
                        f"Fix: use one of {definition.partition_dimension_names}."
                    )
            if down_name in used:
                return (
                    f"downstream dimension {down_name!r} is mapped twice. Fix: map each "
                    "downstream dimension from one upstream dimension."
                )
            used.add(down_name)
            why = dim_mapping.partition_mapping.problem(
                downs.get_partitions_def_for_dimension(down_name),
                ups.get_partitions_def_for_dimension(up_name),
            )
            if why is not None:
                return f"dimension {up_name!r} -> {down_name!r}: {why}"
        return None

    def dependencies(
        self,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
    ) -> list[_Dependency]:
        return [
            _Dependency(m.partition_mapping, up_name, m.dimension_name)
            for up_name, m in self.downstream_mappings_by_upstream_dimension.items()
        ]
