"""Which runs a backfill starts next: a pure function of its targets and progress.

A backfill targets (asset, partition) entities. Each entity waits for every targeted
entity it reads, found through the relations composed across virtual assets
(`graph.partition_relations.upstream`): D[d] runs after every targeted partition of A
that D[d] reads, directly or through views. Virtual assets are never run; they are
passed through. An untargeted non-virtual parent adds no ordering (its stored value
is read), as in a run.

Runs are made per group of assets that share a partitions definition and a run size
(their `BackfillPolicy`: `single_run()` takes every partition, `multi_run(n)` at most
n, none is one per partition). A group's ready partitions are cut into runs of
consecutive keys (a range run must not cover keys it does not target) of at most the
run size. A later asset of the group joins an earlier one's run when it can run for
all of that run's partitions, reading only what is done or made earlier in the same
run; so `single_run()` over a chain is one run, and one run per partition carries
every asset of that partition whose inputs allow it.

The dependencies are computed once per plan (one relation walk per entity); each call
of `next_runs` is then linear in the entities and their dependencies. Nothing here
reads storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.partitions.base import PartitionsDefinition
from sheer.partitions.subset import (
    PartitionsSubset,
    all_partitions_subset,
    subset_with_partition_keys,
)
from sheer.storage.backfills import Entity

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

Group = tuple[PartitionsDefinition | None, int | None]
"""(partitions definition, partitions per run; None: all in one run)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunChunk:
    """One run of a backfill: these assets, each for these partitions.

    Attributes:
        partition_keys: consecutive keys of the assets' definition, or `(None,)` for
            unpartitioned assets.
        single_run: the assets' policy is `BackfillPolicy.single_run()`.
    """

    asset_keys: tuple[AssetKey, ...]
    partition_keys: tuple[str | None, ...]
    single_run: bool = False

    @property
    def entities(self) -> list[Entity]:
        return [(a, p) for a in self.asset_keys for p in self.partition_keys]

    def partition_tags(self) -> dict[str, str]:
        """Dagster's run tags for the partitions: the range tags for a single-run policy
        or several keys, `dagster/partition` for one key, none when unpartitioned."""
        first, last = self.partition_keys[0], self.partition_keys[-1]
        if first is None or last is None:
            return {}
        if self.single_run or len(self.partition_keys) > 1:
            return {RANGE_START_TAG: first, RANGE_END_TAG: last}
        return {PARTITION_TAG: first}

    def describe(self) -> str:
        names = ", ".join(k.to_user_string() for k in self.asset_keys)
        first, last = self.partition_keys[0], self.partition_keys[-1]
        if first is None:
            return names
        span = first if first == last else f"{first}...{last}"
        return f"{names} [{span}]"


@dataclass(slots=True)
class _OpenRun:
    group: Group
    keys: tuple[str | None, ...]
    assets: list[AssetKey] = field(default_factory=list)


def policy_group(graph: AssetGraph, key: AssetKey) -> Group:
    """The group an asset's runs are made in: its definition and its run size."""
    node = graph.get(key)
    pdef = node.spec.partitions_def
    if pdef is None:
        return (None, None)
    policy = node.assets_def.backfill_policy if node.assets_def is not None else None
    return (pdef, 1 if policy is None else policy.max_partitions_per_run)


class BackfillPlan:
    """The dependencies between a backfill's targeted entities, and its next runs.

    Args:
        graph: the definitions' asset graph.
        targets: per targeted (non-virtual) asset, its partition keys in its
            definition's order, `(None,)` when unpartitioned.
        dynamic_partitions_store: where dynamic partitions keys are read (the instance).
    """

    def __init__(
        self,
        graph: AssetGraph,
        targets: Mapping[AssetKey, Sequence[str | None]],
        dynamic_partitions_store: Any = None,
    ) -> None:
        self.graph = graph
        self.targets = {k: tuple(v) for k, v in targets.items()}
        self.order = graph.toposort(self.targets)
        self.groups = {k: policy_group(graph, k) for k in self.order}
        self._store = dynamic_partitions_store
        self._index: dict[PartitionsDefinition, dict[str, int]] = {}
        self.deps = self._dependencies()

    def _subset(self, key: AssetKey, keys: Sequence[str | None]) -> PartitionsSubset:
        pdef = self.graph.get(key).spec.partitions_def
        if pdef is None:
            return all_partitions_subset(None)
        return subset_with_partition_keys(pdef, [k for k in keys if k is not None])

    def _dependencies(self) -> dict[Entity, tuple[Entity, ...]]:
        """Per targeted entity, the targeted entities it reads (one walk per entity)."""
        relations = self.graph.partition_relations
        target_subsets = {k: self._subset(k, keys) for k, keys in self.targets.items()}
        deps: dict[Entity, tuple[Entity, ...]] = {}
        for key in self.order:
            for partition in self.targets[key]:
                found: list[Entity] = []
                reads = relations.upstream(
                    key, self._subset(key, [partition]), dynamic_partitions_store=self._store
                )
                for parent, subset in sorted(reads.items()):
                    wanted = target_subsets.get(parent)
                    if wanted is None or subset.is_empty:
                        continue
                    if wanted.partitions_def is None:
                        found.append((parent, None))
                    else:
                        keys = (wanted & subset.resolved()).get_partition_keys()
                        found += [(parent, k) for k in keys]
                deps[key, partition] = tuple(found)
        return deps

    def index_of(self, pdef: PartitionsDefinition) -> dict[str, int]:
        """Each key's position in its definition (to tell consecutive keys), once."""
        found = self._index.get(pdef)
        if found is None:
            keys = pdef.get_partition_keys(dynamic_partitions_store=self._store)
            found = self._index[pdef] = {str(k): i for i, k in enumerate(keys)}
        return found

    def blocked(self, failed: Set[Entity]) -> set[Entity]:
        """The entities that cannot run: failed, or reading one that cannot."""
        out: set[Entity] = set()
        for key in self.order:
            for partition in self.targets[key]:
                entity = (key, partition)
                if entity in failed or any(d in out for d in self.deps[entity]):
                    out.add(entity)
        return out

    def next_runs(
        self, done: Set[Entity], failed: Set[Entity], in_progress: Set[Entity]
    ) -> list[RunChunk]:
        """The runs that can start now, given what is done, failed and running."""
        blocked = self.blocked(failed)
        open_runs: list[_OpenRun] = []
        for key in self.order:
            group = self.groups[key]
            todo = [
                p
                for p in self.targets[key]
                if (key, p) not in done and (key, p) not in in_progress and (key, p) not in blocked
            ]
            if not todo:
                continue
            left = set(todo)
            for run in open_runs:
                if run.group == group and self._can_join(key, run, left, done):
                    run.assets.append(key)
                    left.difference_update(run.keys)
            ready = [p for p in todo if p in left and all(d in done for d in self.deps[key, p])]
            for keys in self._cut(group, ready):
                open_runs.append(_OpenRun(group=group, keys=keys, assets=[key]))
        return [
            RunChunk(
                asset_keys=tuple(r.assets),
                partition_keys=r.keys,
                single_run=r.group[0] is not None and r.group[1] is None,
            )
            for r in open_runs
        ]

    def _can_join(
        self, key: AssetKey, run: _OpenRun, left: set[str | None], done: Set[Entity]
    ) -> bool:
        """Whether `key` can run for every partition of `run`, reading only entities done
        or made earlier in that run."""
        if not all(p in left for p in run.keys):
            return False
        members = set(run.assets)
        keys = set(run.keys)
        return all(
            d in done or (d[0] in members and d[1] in keys)
            for p in run.keys
            for d in self.deps[key, p]
        )

    def _cut(self, group: Group, ready: list[str | None]) -> list[tuple[str | None, ...]]:
        """Ready keys in runs of consecutive keys, each at most the group's run size."""
        pdef, size = group
        if not ready:
            return []
        if pdef is None:
            return [(None,)]
        index = self.index_of(pdef)
        placed = sorted((index[str(p)], p) for p in ready if str(p) in index)
        runs: list[list[str | None]] = [[p] for p in ready if str(p) not in index]
        current: list[str | None] = []
        previous = -2
        for i, p in placed:  # a key the definition no longer has runs alone, above
            if current and (i != previous + 1 or (size is not None and len(current) >= size)):
                runs.append(current)
                current = []
            current.append(p)
            previous = i
        if current:
            runs.append(current)
        return [tuple(r) for r in runs]
