"""Why an entity is stale: the causes of one (asset, partition), built on demand from an
`EntityPass`, in staleness.py's shape, with partitions.

A direct cause of D[d] names what it reads that moved: a partition of a parent, or of a
non-virtual ancestor seen through virtual parents (with the virtual path). Which of the
partitions read moved is known from the index: a provenance records one combined version
per parent, so the partitions named are those updated after D[d] was materialized. When
more than `CAP` partitions of one ancestor are causes, the public lists hold one capped
cause for them (`partition_key` None, `partition_keys` all of them); the trees kept
inside stay whole, so root causes still reach every change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sheer.errors import DefinitionError, did_you_mean
from sheer.keys import AssetKey, AssetKeyPartitionKey, coerce_key
from sheer.partitions.subset import all_partitions_subset, subset_with_partition_keys
from sheer.staleness.causes import (
    _STATUSES,
    StaleCause,
    StaleCauseCategory,
    StaleStatus,
    _dedupe,
    _gc_paused,
    _memoized_post_order,
)
from sheer.staleness.entities import _STALE, CAP, EntityPass
from sheer.versioning import DataVersion

_ABSENT: Any = object()
Entity = tuple[int, int]
DATA, CODE, DEPS = StaleCauseCategory.DATA, StaleCauseCategory.CODE, StaleCauseCategory.DEPENDENCIES


class EntityCauses:
    """Memoized cause trees of the entities of one pass."""

    def __init__(
        self, state: EntityPass, read_provenance: Callable[[AssetKey], dict[str, Any]]
    ) -> None:
        self.state = state
        self._read = read_provenance
        self._causes: dict[Entity, tuple[StaleCause, ...]] = {}
        self._roots: dict[Entity, tuple[StaleCause, ...]] = {}
        self._stale_deps: dict[Entity, list[Entity]] = {}

    # Public lists (capped) -------------------------------------------------------------
    def direct(self, i: int, j: int) -> list[StaleCause]:
        return cap(self.causes((i, j)))

    def roots(self, i: int, j: int) -> list[StaleCause]:
        self.causes((i, j))

        def deps(e: Entity) -> list[Entity]:
            return self._stale_deps.get(e, [])

        def leaves(e: Entity) -> tuple[StaleCause, ...]:
            out: list[StaleCause] = []
            for c in self._causes.get(e, ()):
                if c.category is DEPS and c.reason == "has a stale dependency":
                    continue
                out.extend(c.children or (c,))
            for d in self._stale_deps.get(e, []):
                out.extend(self._roots[d])
            return _dedupe(out)

        return cap(_memoized_post_order((i, j), self._roots, deps, leaves))  # type: ignore[arg-type]

    # Trees -------------------------------------------------------------------------------
    def causes(self, e: Entity) -> tuple[StaleCause, ...]:
        """The whole direct causes of entity `e`, building first (iteratively) those of
        the stale entities they contain."""
        state = self.state
        if state.status[e[0]][e[1]] != _STALE:
            return ()

        def deps(top: Entity) -> list[Entity]:
            found = self._stale_deps.get(top)
            if found is None:
                found = self._stale_deps[top] = self._find_stale_deps(top)
            return found

        return _memoized_post_order(e, self._causes, deps, self._build)  # type: ignore[arg-type]

    def _find_stale_deps(self, e: Entity) -> list[Entity]:
        """The stale non-virtual entities `e` reads, directly or through virtual ones."""
        state = self.state
        i, j = e
        if i in state.idx.virtual:
            return []
        out: list[Entity] = []
        for ancestor, indices, _ in self._reached(i, j):
            status = state.status[ancestor]
            out.extend((ancestor, x) for x in indices if status[x] == _STALE)
        return out

    def _reached(self, i: int, j: int) -> list[tuple[int, tuple[int, ...], tuple[AssetKey, ...]]]:
        """(non-virtual entity index, its partitions read, virtual path) for everything
        entity (i, j) reads: direct non-virtual parents and ancestors behind virtual ones."""
        state = self.state
        idx = state.idx
        out: list[tuple[int, tuple[int, ...], tuple[AssetKey, ...]]] = []
        for p, _, reads in state.parents[i]:
            r = state.read_indices(i, j, p, reads)
            if p not in idx.virtual:
                out.append((p, r, ()))
                continue
            out.extend(self._behind(p, r))
        return out

    def _behind(
        self, p: int, r: tuple[int, ...]
    ) -> list[tuple[int, tuple[int, ...], tuple[AssetKey, ...]]]:
        """The non-virtual ancestors of virtual asset `p` in its partitions `r`."""
        state = self.state
        idx, graph = state.idx, state.graph
        key = idx.keys[p]
        pdef = graph.get(key).spec.partitions_def
        subset = (
            all_partitions_subset(None)
            if pdef is None
            else subset_with_partition_keys(pdef, [state.keys[p][x] for x in r])
        )
        paths = graph.virtual.ancestors_through(key)
        reads = graph.partition_relations.upstream(key, subset, state.current_time, state.store)
        out: list[tuple[int, tuple[int, ...], tuple[AssetKey, ...]]] = []
        for a_key, s in sorted(reads.items()):
            a = idx.index[a_key]
            where = state.pos[a]
            if graph.get(a_key).spec.partitions_def is None:
                indices: tuple[int, ...] = (0,)
            else:
                indices = tuple(where[k] for k in s.get_partition_keys() if k in where)
            out.append((a, indices, paths.get(a_key, (key,))))
        return out

    def _build(self, e: Entity) -> tuple[StaleCause, ...]:
        state = self.state
        i, j = e
        idx = state.idx
        me = state.entity(i, j)
        if i in idx.virtual:
            return (StaleCause(me, CODE, "has a new code version"),)
        prov = state.provenance(i, j, self._read)
        row = state.rows[i][j]
        made = row[2] or 0
        out: list[StaleCause] = []
        if prov and prov.get("code_version") != idx.code_versions[i]:
            out.append(StaleCause(me, CODE, "has a new code version"))
        recorded = prov.get("input_versions") or {}
        names = {name for _, name, _ in state.parents[i]}
        for name in sorted(set(recorded) - names):
            dep = AssetKeyPartitionKey(coerce_key(name))
            out.append(StaleCause(me, DEPS, f"removed dependency on {name}", dependency=dep))
        for p, name, reads in state.parents[i]:
            r = state.read_indices(i, j, p, reads)
            now = state.version[p][r[0]] if len(r) == 1 else state._combined(p, r, state.version[p])
            was = recorded.get(name, _ABSENT) if prov else now
            if was is _ABSENT:
                dep = AssetKeyPartitionKey(idx.keys[p])
                out.append(StaleCause(me, DEPS, f"has a new dependency on {name}", dependency=dep))
                continue
            moved = was != now
            if p not in idx.virtual:
                out.extend(self._from(me, p, r, moved, made, ()))
                continue
            if not moved and not any(state.dirty[p][x] for x in r):
                continue
            found: list[StaleCause] = self._code_changes(me, p, prov) if moved else []
            explained = bool(found)
            for a, indices, via in self._behind(p, r):
                found.extend(self._from(me, a, indices, moved, made, via, not explained))
            if moved and not found:  # the view's own dependencies changed shape
                root = StaleCause(
                    state.entity(p, r[0]) if len(r) == 1 else me, DATA, "has a new data version"
                )
                found.append(
                    StaleCause(
                        me,
                        DATA,
                        "has a new dependency data version",
                        dependency=root.key,
                        children=(root,),
                    )
                )
            out.extend(found)
        return tuple(out)

    def _code_changes(
        self, me: AssetKeyPartitionKey, p: int, prov: dict[str, Any]
    ) -> list[StaleCause]:
        state = self.state
        graph = state.graph
        codes = prov.get("virtual_code_versions") or {}
        out = []
        for v, path in graph.virtual.region(state.idx.keys[p]).items():
            was = codes.get(v.to_user_string(), _ABSENT)
            if was is not _ABSENT and was != graph.get(v).code_version:
                root = StaleCause(
                    AssetKeyPartitionKey(v), CODE, "has a new code version", via=path[:-1]
                )
                out.append(
                    StaleCause(
                        me,
                        CODE,
                        "has a new dependency code version",
                        dependency=root.key,
                        children=(root,),
                        via=path[:-1],
                    )
                )
        return out

    def _from(
        self,
        me: AssetKeyPartitionKey,
        a: int,
        indices: tuple[int, ...],
        moved: bool,
        made: int,
        via: tuple[AssetKey, ...],
        must_explain: bool = True,
    ) -> list[StaleCause]:
        """Causes from the partitions `indices` of non-virtual asset `a`: those updated
        after `me` was made (when what it reads moved), and the stale ones. When nothing
        else explains the move (`must_explain`), the partition read, or the set read,
        is named even if not updated since."""
        state = self.state
        out: list[StaleCause] = []
        if moved:
            updated = state.updated[a]
            changed = [x for x in indices if updated[x] > made]
            if not changed and must_explain and len(indices) == 1:
                changed = list(indices)
            roots = tuple(
                StaleCause(state.entity(a, x), DATA, "has a new data version", via=via)
                for x in changed
            )
            if not roots and must_explain:  # partitions came or went: the set read changed
                roots = (
                    StaleCause(
                        AssetKeyPartitionKey(state.idx.keys[a]),
                        DATA,
                        "has a new data version",
                        via=via,
                    ),
                )
            if roots:
                one = len(roots) == 1
                dep = roots[0].key if one else AssetKeyPartitionKey(state.idx.keys[a])
                out.append(
                    StaleCause(
                        me,
                        DATA,
                        "has a new dependency data version",
                        dependency=dep,
                        children=roots,
                        via=via,
                    )
                )
        status = state.status[a]
        for x in indices:
            if status[x] == _STALE:
                out.append(
                    StaleCause(
                        me,
                        DEPS,
                        "has a stale dependency",
                        dependency=state.entity(a, x),
                        children=self._causes.get((a, x)),
                        via=via,
                    )
                )
        return out


def cap(causes: Iterable[StaleCause]) -> list[StaleCause]:
    """Causes in order, the partitions of one ancestor made one capped cause when more
    than `CAP` of them are causes of the same kind (children capped too)."""
    items = [_capped_children(c) for c in causes]
    groups: dict[tuple[Any, ...], list[StaleCause]] = {}
    for c in items:
        groups.setdefault(_group(c), []).append(c)
    out: list[StaleCause] = []
    done: set[tuple[Any, ...]] = set()
    for c in items:
        g = _group(c)
        members = groups[g]
        if g[0] is None or len(members) <= CAP:
            out.append(c)
        elif g not in done:
            done.add(g)
            out.append(_one_for(members))
    return out


def _group(c: StaleCause) -> tuple[Any, ...]:
    """Causes that differ only in a partition of the entity they name."""
    if c.dependency is not None and c.category is DEPS and c.dependency.partition_key is not None:
        return (c.dependency.asset_key, "dep", c.key, c.reason, c.via)
    if c.dependency is None and c.key.partition_key is not None and c.children is None:
        return (c.key.asset_key, "key", c.category, c.reason, c.via)
    return (None, id(c))


def _one_for(members: list[StaleCause]) -> StaleCause:
    first = members[0]
    if first.category is DEPS and first.dependency is not None:
        keys = tuple(str(m.dependency.partition_key) for m in members if m.dependency)
        return StaleCause(
            first.key,
            DEPS,
            first.reason,
            dependency=AssetKeyPartitionKey(first.dependency.asset_key),
            via=first.via,
            partition_keys=keys,
        )
    keys = tuple(str(m.key.partition_key) for m in members)
    return StaleCause(
        AssetKeyPartitionKey(first.key.asset_key),
        first.category,
        first.reason,
        via=first.via,
        partition_keys=keys,
    )


def _capped_children(c: StaleCause) -> StaleCause:
    if not c.children or len(c.children) <= CAP or c.category is DEPS:
        return c
    return StaleCause(
        c.key,
        c.category,
        c.reason,
        dependency=c.dependency,
        children=tuple(cap(c.children)),
        via=c.via,
    )


class EntityResolver:
    """`StaleStatusResolver`'s answers for a graph with partitions: one read of every
    entity's latest versions on first use, every later call from memory."""

    def __init__(self, instance: Any, graph: Any) -> None:
        self._instance = instance
        self._graph = graph
        self._pass: EntityPass | None = None
        self._causes: EntityCauses | None = None

    def _state(self) -> EntityPass:
        if self._pass is None:
            rows = self._instance.get_latest_entity_versions()
            with _gc_paused():
                self._pass = EntityPass(self._graph, rows, self._instance)
        return self._pass

    def _cause_trees(self) -> EntityCauses:
        if self._causes is None:
            self._causes = EntityCauses(self._state(), self._instance.get_latest_provenances)
        return self._causes

    def _where(self, key: Any, partition_key: str | None) -> tuple[int, int | None]:
        """(asset index, partition index); None for a partitioned asset asked about as a
        whole."""
        state = self._state()
        k = key if isinstance(key, AssetKey) else coerce_key(key)
        i = state.idx.index.get(k)
        if i is None:
            raise self._graph.unknown_key_error(k)
        partitioned = state.keys[i] != (None,)
        if partition_key is None:
            return i, None if partitioned else 0
        j = state.locate(i, partition_key)
        if j is None:
            raise _unknown_partition(k, partition_key, state.keys[i], partitioned)
        return i, j

    def get_status(self, key: Any, partition_key: str | None) -> StaleStatus:
        i, j = self._where(key, partition_key)
        if j is None:
            return StaleStatus.FRESH
        return _STATUSES[self._state().status[i][j]]

    def get_stale_causes(self, key: Any, partition_key: str | None) -> list[StaleCause]:
        i, j = self._where(key, partition_key)
        return [] if j is None else self._cause_trees().direct(i, j)

    def get_stale_root_causes(self, key: Any, partition_key: str | None) -> list[StaleCause]:
        i, j = self._where(key, partition_key)
        return [] if j is None else self._cause_trees().roots(i, j)

    def get_current_data_version(self, key: Any, partition_key: str | None) -> DataVersion | None:
        i, j = self._where(key, partition_key)
        if j is None:
            return None
        value = self._state().version[i][j]
        return DataVersion(value) if value is not None else None

    def get_statuses(self, key: Any) -> dict[str | None, StaleStatus]:
        i, _ = self._where(key, None)
        state = self._state()
        keys = [None if k is None else str(k) for k in state.keys[i]]
        return dict(zip(keys, map(_STATUSES.__getitem__, state.status[i]), strict=True))

    def get_status_counts(self, key: Any) -> dict[StaleStatus, int]:
        i, _ = self._where(key, None)
        counts = self._state().counts(i)
        return {_STATUSES[s]: n for s, n in sorted(counts.items())}

    def get_all(self) -> dict[AssetKey, StaleStatus]:
        state = self._state()
        out = {}
        for i, key in enumerate(state.idx.keys):
            whole = state.keys[i] == (None,)
            out[key] = _STATUSES[state.status[i][0]] if whole else StaleStatus.FRESH
        return out


def _unknown_partition(
    key: AssetKey, partition_key: str, keys: tuple[Any, ...], partitioned: bool
) -> DefinitionError:
    name = key.to_user_string()
    if not partitioned:
        return DefinitionError(
            f"Asset '{name}' is not partitioned, so it has no partition '{partition_key}'. "
            f"Fix: ask about '{name}' without partition_key=."
        )
    known = [str(k) for k in keys]
    span = f" (its keys run from '{known[0]}' to '{known[-1]}')" if known else " (it has no keys)"
    return DefinitionError(
        f"Partition '{partition_key}' is not a partition of '{name}'{span}."
        f"{did_you_mean(str(partition_key), known)} Fix: pass one of its partition keys."
    )
