"""Partition relations composed through virtual assets.

For a non-virtual asset D and a non-virtual ancestor A, D[d] reads the union, over
every path A -> V1 -> ... -> Vk -> D whose inner nodes are all virtual, of the
partitions of A reached by applying each hop's mapping from D upward, each hop in the
intermediate's own partitions definition (a view with fewer keys filters). Downward,
the partitions of D that read a subset of A are found the same way, each hop mapped
down.

The walk is over symbolic subsets (a time range stays one interval through every hop,
`All` stays `All` until a mapping needs its keys) and over the virtual region between
the two ends only: it is never partitions x depth. Paths that meet at a virtual asset
are merged there (mappings distribute over unions), so each virtual asset is mapped
once per walk however many paths pass through it; the walk visits the region in
topological order, with a heap, not by recursion.

The edge mappings are compiled once per graph (`AssetGraph.partition_relations`).
"""

from __future__ import annotations

import heapq
import warnings
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sheer.keys import AssetKey
from sheer.partitions.mappings import PartitionMapping, infer_partition_mapping
from sheer.partitions.subset import (
    AllPartitionsSubset,
    PartitionsSubset,
    all_partitions_subset,
    empty_subset,
)

if TYPE_CHECKING:
    from sheer.graph import AssetGraph


class UnpartitionedViewWarning(UserWarning):
    """An unpartitioned virtual asset sits between partitioned assets: every partition
    downstream then reads every partition upstream."""


class PartitionRelations:
    """How the partitions of the assets of one graph read each other, hop by hop and
    composed through virtual assets."""

    def __init__(self, graph: AssetGraph) -> None:
        self._graph = graph
        self._topo = graph.topo_index
        self._mappings: dict[tuple[AssetKey, AssetKey], PartitionMapping] = {}

    # One hop ---------------------------------------------------------------------
    def mapping(self, child: AssetKey, parent: AssetKey) -> PartitionMapping:
        """The mapping the edge parent -> child uses: the one given on the dependency
        (`AssetDep`/`AssetIn(partition_mapping=)`), else the one Dagster infers."""
        found = self._mappings.get((child, parent))
        if found is None:
            found = infer_partition_mapping(
                self.explicit_mapping(child, parent),
                self._graph.get(child).spec.partitions_def,
                self._graph.get(parent).spec.partitions_def,
            )
            self._mappings[child, parent] = found
        return found

    def explicit_mapping(self, child: AssetKey, parent: AssetKey) -> PartitionMapping | None:
        """The mapping declared on the dependency (on an `AssetSpec`'s `AssetDep`, or an
        asset's `AssetIn`/`AssetDep`), or None when it is inferred."""
        deps = self._graph.get(child).spec.deps
        return next((d.partition_mapping for d in deps if d.asset_key == parent), None)

    def parent_subset(
        self,
        child: AssetKey,
        subset: PartitionsSubset,
        parent: AssetKey,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> PartitionsSubset:
        """The partitions of `parent` that `subset` of `child` reads (one hop)."""
        parent_def = self._graph.get(parent).spec.partitions_def
        if subset.is_empty:
            return empty_subset(parent_def)
        return (
            self.mapping(child, parent)
            .get_upstream_mapped_partitions_result_for_partitions(
                subset,
                self._graph.get(child).spec.partitions_def,
                parent_def,
                current_time,
                dynamic_partitions_store,
            )
            .partitions_subset
        )

    def child_subset(
        self,
        parent: AssetKey,
        subset: PartitionsSubset,
        child: AssetKey,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> PartitionsSubset:
        """The partitions of `child` that read any of `subset` of `parent` (one hop)."""
        child_def = self._graph.get(child).spec.partitions_def
        if subset.is_empty:
            return empty_subset(child_def)
        return self.mapping(child, parent).get_downstream_partitions_for_partitions(
            subset,
            self._graph.get(parent).spec.partitions_def,
            child_def,
            current_time,
            dynamic_partitions_store,
        )

    # Composed through virtual assets ----------------------------------------------
    def upstream(
        self,
        key: AssetKey,
        subset: PartitionsSubset,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> dict[AssetKey, PartitionsSubset]:
        """The partitions of each nearest non-virtual ancestor of `key` (a direct
        non-virtual parent, or one reached through virtual parents) that `subset` of `key`
        reads, as a union over every virtual-only path."""
        graph = self._graph
        out: dict[AssetKey, PartitionsSubset] = {}
        pending: dict[AssetKey, PartitionsSubset] = {}
        heap: list[tuple[int, AssetKey]] = []
        node, at = key, subset
        while True:
            for parent in graph.get(node).parent_keys:
                s = self.parent_subset(node, at, parent, current_time, dynamic_partitions_store)
                if graph.get(parent).is_virtual:
                    if parent in pending:
                        pending[parent] = pending[parent] | s
                    else:
                        pending[parent] = s
                        # Descendants first: a view is mapped once every path reached it.
                        heapq.heappush(heap, (-self._topo[parent], parent))
                else:
                    out[parent] = out[parent] | s if parent in out else s
            if not heap:
                return out
            _, node = heapq.heappop(heap)
            at = pending.pop(node)

    def downstream(
        self,
        key: AssetKey,
        subset: PartitionsSubset,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> dict[AssetKey, PartitionsSubset]:
        """The partitions of each nearest non-virtual descendant of `key` (a direct
        non-virtual child, or one reached through virtual children) that read any of
        `subset` of `key`."""
        graph = self._graph
        out: dict[AssetKey, PartitionsSubset] = {}
        pending: dict[AssetKey, PartitionsSubset] = {}
        heap: list[tuple[int, AssetKey]] = []
        node, at = key, subset
        while True:
            for child in graph.get(node).child_keys:
                s = self.child_subset(node, at, child, current_time, dynamic_partitions_store)
                if graph.get(child).is_virtual:
                    if child in pending:
                        pending[child] = pending[child] | s
                    else:
                        pending[child] = s
                        heapq.heappush(heap, (self._topo[child], child))  # ancestors first
                else:
                    out[child] = out[child] | s if child in out else s
            if not heap:
                return out
            _, node = heapq.heappop(heap)
            at = pending.pop(node)


def unpartitioned_views_between(graph: AssetGraph) -> list[tuple[AssetKey, AssetKey, AssetKey]]:
    """(view, a partitioned non-virtual ancestor, a partitioned non-virtual descendant)
    for each unpartitioned virtual asset that reads every partition of a partitioned
    ancestor (through virtual assets only) and is read by a partitioned descendant: each
    partition of that descendant then reads all of the ancestor. A view that reads one
    chosen partition (say through `LastPartitionMapping`) is not one of them."""
    virtual = graph.virtual_asset_keys
    if not virtual or not any(n.spec.partitions_def is not None for n in graph):
        return []
    relations = graph.partition_relations
    found = []
    for key in sorted(virtual):
        if graph.get(key).spec.partitions_def is not None:
            continue
        reads = relations.upstream(key, all_partitions_subset(None))
        above = next(
            (
                a
                for a, s in sorted(reads.items())
                if graph.get(a).spec.partitions_def is not None
                and isinstance(s, AllPartitionsSubset)
            ),
            None,
        )
        if above is None:
            continue
        below = next(
            (
                d
                for d in sorted(relations.downstream(key, all_partitions_subset(None)))
                if graph.get(d).spec.partitions_def is not None
            ),
            None,
        )
        if below is not None:
            found.append((key, above, below))
    return found


def warn_on_unpartitioned_views(graph: AssetGraph) -> None:
    """The definition-time warning for each unpartitioned view between partitioned ends."""
    for view, above, below in unpartitioned_views_between(graph):
        v, a, d = (k.to_user_string() for k in (view, above, below))
        warnings.warn(
            f"The virtual asset '{v}' has no partitions_def but sits between the partitioned "
            f"assets '{a}' and '{d}': every partition of '{d}' then reads every partition of "
            f"'{a}' through it, so one new partition of '{a}' makes all of '{d}' stale. "
            f"Fix: give '{v}' partitions_def= (the definition of '{a}'), unless it really "
            "reads every partition.",
            UnpartitionedViewWarning,
            stacklevel=2,
        )


def relations_summary(relations: Mapping[AssetKey, PartitionsSubset]) -> dict[str, list[str]]:
    """`{asset: [partition keys]}` of a relation, for messages and tests."""
    return {k.to_user_string(): list(s.get_partition_keys()) for k, s in sorted(relations.items())}
