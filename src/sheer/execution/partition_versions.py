"""Versions of partitioned entities, for the provenance a partitioned run records.

A materialization of D[d] records, per direct parent, the version of what it read: the
partition's version when it read one partition, else one hash of the sorted
(partition key, version) pairs it read (no cut-off). A virtual parent's version at a
partition is computed as DESIGN.md says: a hash of its code version and, per parent,
the version of the partitions it reads there. The stored versions of the partitions
an entity reads are read together, in one query, on first use; versions made by the run
replace them. Unpartitioned parents are left to the run's `VersionView`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sheer.execution.step import upstream_partition_keys
from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.partitions.subset import all_partitions_subset
from sheer.versioning import Provenance, VersionView, stored_version, virtual_version_by_name

Entity = tuple[AssetKey, tuple[str, ...]]


class PartitionVersions:
    """The versions a partitioned run reads and makes, per (asset, partition)."""

    def __init__(self, graph: AssetGraph, instance: Any, base: VersionView) -> None:
        self._graph = graph
        self._instance = instance
        self._base = base
        self._made: dict[tuple[AssetKey, str], str | None] = {}
        self._stored: dict[str, dict[AssetKey, str | None]] = {}
        self._memo: dict[Entity, str | None] = {}
        self._reads: dict[AssetKey, bool] = {}

    def update(self, key: AssetKey, partition: str, version: str | None) -> None:
        self._made[key, partition] = version
        self._memo.clear()  # a few entries per run; what read the old version is recomputed

    def _read_stored(self, partitions: Iterable[str]) -> None:
        """Read the stored versions of every asset in the partitions not read yet, in one
        query."""
        unread = {p for p in partitions if p not in self._stored}
        if not unread:
            return
        for p in unread:
            self._stored[p] = {}
        graph = self._graph
        for (k, p), r in self._instance.get_latest_partition_records(None, unread).items():
            if k in graph:
                self._stored[p][k] = stored_version(
                    r.materialization, r.observation, graph.get(k).is_external
                )

    def _stored_version(self, key: AssetKey, partition: str) -> str | None:
        if (key, partition) in self._made:
            return self._made[key, partition]
        self._read_stored((partition,))
        return self._stored[partition].get(key)

    def _parents_at(
        self, key: AssetKey, partition: str | None
    ) -> list[tuple[AssetKey, Entity | None]]:
        """Each parent of `key`, with the partitions of it that `key[partition]` reads
        (None for an unpartitioned parent whose version the base view gives; an
        unpartitioned virtual parent behind which partitions are read is the entity
        (parent, ("",))). An unpartitioned reader reads what its mapping gives (every
        partition unless, say, `LastPartitionMapping` says otherwise)."""
        graph = self._graph
        node = graph.get(key)
        relations = graph.partition_relations
        out: list[tuple[AssetKey, Entity | None]] = []
        for parent in sorted(node.parent_keys):
            parent_def = graph.get(parent).spec.partitions_def
            if parent_def is None:
                behind = graph.get(parent).is_virtual and self.reads_partitions(parent)
                out.append((parent, (parent, ("",)) if behind else None))
                continue
            if node.spec.partitions_def is None:
                read = relations.parent_subset(key, all_partitions_subset(None), parent)
                out.append((parent, (parent, tuple(read.get_partition_keys()))))
                continue
            if partition is None:
                out.append((parent, (parent, tuple(parent_def.get_partition_keys()))))
                continue
            mapping = relations.explicit_mapping(key, parent)
            keys = upstream_partition_keys(
                node.spec.partitions_def, (partition,), parent_def, mapping
            )
            out.append((parent, (parent, keys)))
        return out

    def read_version(self, entity: Entity) -> str | None:
        """The version of `entity` (an asset and the partitions read of it), without
        recursion: virtual entities wait on a stack until their parents are known."""
        memo = self._memo
        stack = [entity]
        while stack:
            top = stack[-1]
            if top in memo:
                stack.pop()
                continue
            key, keys = top
            if not self._graph.get(key).is_virtual:
                self._read_stored(keys)
                memo[top] = self._combine([(k, self._stored_version(key, k)) for k in keys])
                stack.pop()
                continue
            if len(keys) != 1:
                pending: list[Entity] = [(key, (k,)) for k in keys if (key, (k,)) not in memo]
                if pending:
                    stack.extend(pending)
                    continue
                memo[top] = self._combine([(k, memo[key, (k,)]) for k in keys])
                stack.pop()
                continue
            parents = self._parents_at(key, keys[0])
            pending = [e for _, e in parents if e is not None and e not in memo]
            if pending:
                stack.extend(pending)
                continue
            memo[top] = virtual_version_by_name(
                self._graph.get(key).code_version,
                (
                    (p.to_user_string(), memo[e] if e is not None else self._base.version(p))
                    for p, e in parents
                ),
            )
            stack.pop()
        return memo[entity]

    @staticmethod
    def _combine(pairs: list[tuple[str, str | None]]) -> str | None:
        if len(pairs) == 1:
            return pairs[0][1]
        return virtual_version_by_name("partitions", pairs)

    def reads_partitions(self, key: AssetKey) -> bool:
        """Whether `key` reads a partitioned asset, directly or through virtual parents
        (its provenance then comes from here)."""
        found = self._reads.get(key)
        if found is None:
            graph = self._graph
            found = False
            stack, seen = [key], {key}
            while stack and not found:
                for p in graph.get(stack.pop()).parent_keys:
                    parent = graph.get(p)
                    if parent.spec.partitions_def is not None:
                        found = True
                        break
                    if parent.is_virtual and p not in seen:
                        seen.add(p)
                        stack.append(p)
            self._reads[key] = found
        return found

    def provenance(self, key: AssetKey, partition: str | None) -> Provenance:
        """The provenance of `key[partition]`: the base view's, with each partitioned
        parent's version the version of the partitions this partition read."""
        base = self._base.provenance(key)
        inputs = dict(base.input_versions)
        for parent, entity in self._parents_at(key, partition):
            if entity is not None:
                inputs[parent] = self.read_version(entity)
        return Provenance(
            code_version=base.code_version,
            input_versions=inputs,
            through_virtual=base.through_virtual,
            virtual_code_versions=base.virtual_code_versions,
        )

    def version_of_virtual(self, key: AssetKey, partition: str | None) -> str | None:
        """A virtual entity's version ("" or None: an unpartitioned view's)."""
        return self.read_version((key, (partition or "",)))
