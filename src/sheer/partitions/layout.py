"""EntityLayout: the (asset, partition) entities of a graph, as ints, and what each reads.

Staleness and automation both work over every entity of a graph with partitions. Both
need the same facts: each asset's partition keys at one time (listed once per
partitions definition, not once per asset), each key's position, and for each edge what
every partition of the reader reads of the parent, one hop, in the reader's own
definition. Through virtual assets, reads compose hop by hop (`reads_through`). An
unpartitioned asset is the single entity (asset, None): its keys are `(None,)`.

An identity edge (same definition, identity or same-window mapping) is `IDENTITY`
rather than a list, so its cost is nothing; any other edge is a list, per partition of
the reader, of the tuple of the parent's partition indices it reads, built once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sheer.automation.index import index_graph
from sheer.graph import AssetGraph
from sheer.partitions.mappings import IdentityPartitionMapping, TimeWindowPartitionMapping
from sheer.partitions.subset import all_partitions_subset, subset_with_partition_keys

IDENTITY: Any = None  # a read list that is the identity: partition j reads partition j
_SAME_TIME = TimeWindowPartitionMapping()
Reads = Any  # IDENTITY, or a list (per reader partition) of tuples of parent indices


class EntityLayout:
    """Per asset of `graph` (topological index): its partition keys and what it reads."""

    def __init__(
        self,
        graph: AssetGraph,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> None:
        self.graph = graph
        self.idx = idx = index_graph(graph)
        self.current_time = current_time
        self.store = dynamic_partitions_store
        self.keys: list[tuple[Any, ...]] = []
        self.pos: list[dict[str, int]] = []
        known: dict[Any, tuple[tuple[Any, ...], dict[str, int]]] = {None: ((None,), {"": 0})}
        for key in idx.keys:
            pdef = graph.get(key).spec.partitions_def
            found = known.get(pdef)
            if found is None:  # keys listed once per definition, not once per asset
                ks = tuple(pdef.get_partition_keys(current_time, dynamic_partitions_store))
                found = known[pdef] = (ks, {k: j for j, k in enumerate(ks)})
            self.keys.append(found[0])
            self.pos.append(found[1])
        self._reads: dict[tuple[int, int], Reads] = {}
        self._through: dict[int, dict[int, Reads]] = {}

    def is_partitioned(self, i: int) -> bool:
        return self.keys[i] != (None,)

    def locate(self, i: int, partition_key: str | None) -> int | None:
        """The index of `partition_key` among asset `i`'s partitions (None: not one)."""
        if partition_key is None:
            return 0 if self.keys[i] == (None,) else None
        return self.pos[i].get(str(partition_key))

    def reads(self, i: int, p: int) -> Reads:
        """For each partition of asset `i`, the indices of the partitions of parent `p`
        it reads (`IDENTITY` when partition j reads partition j). Built once."""
        found = self._reads.get((i, p), False)
        if found is False:
            found = self._reads[i, p] = self._build_reads(i, p)
        return found

    def _build_reads(self, i: int, p: int) -> Reads:
        graph, idx = self.graph, self.idx
        child, parent = idx.keys[i], idx.keys[p]
        cdef = graph.get(child).spec.partitions_def
        pdef = graph.get(parent).spec.partitions_def
        if pdef is None:
            return [(0,)] * len(self.keys[i])
        relations = graph.partition_relations
        where = self.pos[p]
        if cdef is None:  # every partition, unless its mapping (say Last) picks some
            read = relations.parent_subset(
                child, all_partitions_subset(None), parent, self.current_time, self.store
            )
            return [tuple(where[x] for x in read.get_partition_keys() if x in where)]
        mapping = relations.mapping(child, parent)
        if cdef == pdef and (
            isinstance(mapping, IdentityPartitionMapping) or mapping == _SAME_TIME
        ):
            return IDENTITY
        if cdef == pdef and type(mapping) is TimeWindowPartitionMapping:
            # One definition: partition j reads j + start_offset ... j + end_offset, the
            # keys that exist (what the mapping's interval arithmetic gives, per key).
            return _offset_reads(len(self.keys[i]), mapping.start_offset, mapping.end_offset)
        return self.slow_reads(i, p)

    def slow_reads(self, i: int, p: int) -> Reads:
        """`reads(i, p)` through the mapping, one key of `i` at a time: what an edge
        without a shortcut gets, and what the shortcuts are tested against."""
        graph, idx = self.graph, self.idx
        child, parent = idx.keys[i], idx.keys[p]
        cdef = graph.get(child).spec.partitions_def
        relations, where = graph.partition_relations, self.pos[p]
        return [
            tuple(
                where[x]
                for x in relations.parent_subset(
                    child,
                    subset_with_partition_keys(cdef, [k]),
                    parent,
                    self.current_time,
                    self.store,
                ).get_partition_keys()
                if x in where
            )
            for k in self.keys[i]
        ]

    def read_indices(self, reads: Reads, j: int) -> tuple[int, ...]:
        return (j,) if reads is IDENTITY else reads[j]

    def reads_through(self, i: int) -> dict[int, Reads]:
        """What each partition of `i` reads of its nearest non-virtual ancestors, through
        its virtual parents: hop by hop, each hop in the intermediate's own definition,
        the union over every virtual-only path. Worked out for the virtual region behind
        `i` in topological order (no recursion), once per asset."""
        found = self._through.get(i)
        if found is not None:
            return found
        idx, virtual = self.idx, self.idx.virtual
        # The virtual assets behind i not worked out yet, in topological order.
        todo, seen = [p for p in idx.parents[i] if p in virtual], set()
        region = []
        while todo:
            v = todo.pop()
            if v in seen or v in self._through:
                continue
            seen.add(v)
            region.append(v)
            todo.extend(p for p in idx.parents[v] if p in virtual)
        for v in sorted(region):
            self._through[v] = self._compose(v)
        found = self._through[i] = self._compose(i)
        return found

    def _compose(self, i: int) -> dict[int, Reads]:
        out: dict[int, Reads] = {}
        virtual = self.idx.virtual
        for p in self.idx.parents[i]:
            first = self.reads(i, p)
            if p not in virtual:
                out[p] = _union(out.get(p, False), first, len(self.keys[i]))
                continue
            for a, second in self._through[p].items():
                out[a] = _union(out.get(a, False), _then(first, second), len(self.keys[i]))
        return out


def _then(first: Reads, second: Reads) -> Reads:
    """`first` (reader -> middle) followed by `second` (middle -> ancestor)."""
    if first is IDENTITY:
        return second
    if second is IDENTITY:
        return first
    out = []
    for middle in first:
        if len(middle) == 1:
            out.append(second[middle[0]])
        else:
            out.append(tuple(sorted({x for m in middle for x in second[m]})))
    return out


def _union(known: Reads | bool, more: Reads, n: int) -> Reads:
    """Two read lists of one edge (two paths to one ancestor), merged."""
    if known is False:
        return more
    if known is IDENTITY and more is IDENTITY:
        return IDENTITY
    a = _listed(known, n)
    b = _listed(more, n)
    return [x if x == y else tuple(sorted(set(x) | set(y))) for x, y in zip(a, b, strict=True)]


def _listed(reads: Reads, n: int) -> Sequence[tuple[int, ...]]:
    return [(j,) for j in range(n)] if reads is IDENTITY else reads


def _offset_reads(n: int, start_offset: int, end_offset: int) -> list[tuple[int, ...]]:
    """For each of `n` partitions j of one definition, the indices j + start_offset ...
    j + end_offset that exist (0 ... n - 1)."""
    return [tuple(range(max(0, j + start_offset), min(n, j + end_offset + 1))) for j in range(n)]
