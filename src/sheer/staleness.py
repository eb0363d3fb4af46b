"""Staleness through virtual assets, not at them.

A non-virtual asset is STALE when what it was computed from changed: its own code
version; a direct parent's version; a non-virtual ancestor seen through virtual
parents; the definition (code version) of a virtual asset in between; or when any
such ancestor is itself stale. A virtual asset is never stale because upstream was
updated: it is MISSING only while none of its non-virtual ancestors has been
materialized, and STALE only when it was run before and its code version changed.
Versions, not timestamps, are compared everywhere.

The resolver reads the latest records it needs in one batched query, then computes
statuses in one pass in topological order (memoized, O(assets + edges)); root causes
are memoized per asset too. It never writes.
"""

from __future__ import annotations

import gc
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sheer.events import EventRecord
from sheer.graph import AssetGraph, AssetNode
from sheer.keys import AssetKey, coerce_key
from sheer.storage import LatestRecords
from sheer.versioning import DataVersion, Provenance, VersionView, stored_version

_BATCH_ALL = 2000  # past this many keys, read the whole index in one query


_UPDATED_AFTER_REPORT = "<updated after this report>"


class StaleStatus(Enum):
    FRESH = "FRESH"
    STALE = "STALE"
    MISSING = "MISSING"


class StaleCauseCategory(Enum):
    CODE = "CODE"
    DATA = "DATA"
    DEPENDENCIES = "DEPENDENCIES"


@dataclass(frozen=True, slots=True)
class StaleCause:
    """Why `key` is stale.

    Attributes:
        key: the asset that is stale for this reason.
        category: CODE (a definition changed), DATA (an input's version changed) or
            DEPENDENCIES (an upstream asset is itself stale).
        reason: the explanation, naming what changed and the virtual path it was seen
            through, e.g. "A has a new data version (via C, B)".
        dependency: the upstream asset the cause is about, if any.
        children: for DEPENDENCIES, the causes of that stale upstream asset.
        via: the virtual assets between `key` and `dependency`, nearest first.
    """

    key: AssetKey
    category: StaleCauseCategory
    reason: str
    dependency: AssetKey | None = None
    children: tuple[StaleCause, ...] | None = None
    via: tuple[AssetKey, ...] = ()

    @property
    def asset_key(self) -> AssetKey:
        return self.key

    @property
    def dependency_asset_key(self) -> AssetKey | None:
        return self.dependency

    def __str__(self) -> str:
        return self.reason


def _via(path: Sequence[AssetKey]) -> str:
    return f" (via {', '.join(k.to_user_string() for k in path)})" if path else ""


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while records are read and statuses computed.

    A pass allocates hundreds of thousands of small objects and creates no cycles, and
    those allocations set off a full collection that rescans the whole heap (the
    definitions, the graph, the records): at 20k assets that took longer than the pass
    itself. The same reasoning as in AssetGraph's build.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _dedupe(causes: Iterable[StaleCause]) -> tuple[StaleCause, ...]:
    """Causes in order, each change once: one change seen along several virtual paths
    (a diamond) or through several stale parents is one root cause."""
    out: list[StaleCause] = []
    seen: set[tuple[Any, ...]] = set()
    for cause in causes:
        reason = cause.reason.removesuffix(_via(cause.via))
        ident = (cause.category, cause.dependency or cause.key, reason)
        if ident not in seen:
            seen.add(ident)
            out.append(cause)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Entry:
    status: StaleStatus
    causes: tuple[StaleCause, ...]


class StaleStatusResolver:
    """Staleness of the assets of `defs` given what `instance` recorded.

    Example:
        >>> # resolver = StaleStatusResolver(instance, defs)
        >>> # resolver.get_status("D"), [str(c) for c in resolver.get_stale_root_causes("D")]
        >>> # (StaleStatus.STALE, ['A has a new data version (via C, B)'])
    """

    def __init__(self, instance: Any, defs: Any) -> None:
        self._instance = instance
        self._graph: AssetGraph = (
            defs if isinstance(defs, AssetGraph) else defs.resolve_asset_graph()
        )
        self._records: dict[AssetKey, LatestRecords] = {}
        self._updated_at: dict[AssetKey, int] = {}  # latest event id per computed asset
        self._loaded: set[AssetKey] = set()
        self._all_loaded = False
        self._stale: set[AssetKey] = set()  # the non-virtual assets found STALE
        self._current: dict[AssetKey, str | None] = {}  # version of each computed asset
        self._entries: dict[AssetKey, _Entry] = {}
        self._roots: dict[AssetKey, tuple[StaleCause, ...]] = {}
        self._regions: dict[AssetKey, tuple[_Paths, _Paths]] = {}
        self._versions = VersionView(self._graph, self._stored)

    @property
    def asset_graph(self) -> AssetGraph:
        return self._graph

    # Public reads --------------------------------------------------------------
    def get_status(self, key: Any) -> StaleStatus:
        return self._entry(coerce_key(key)).status

    def get_stale_causes(self, key: Any) -> list[StaleCause]:
        return list(self._entry(coerce_key(key)).causes)

    def get_stale_root_causes(self, key: Any) -> list[StaleCause]:
        """The leaves of the cause tree: the changes that started it all, deduplicated."""
        k = coerce_key(key)
        self._entry(k)
        return list(self._root_causes(k))

    def get_current_data_version(self, key: Any) -> DataVersion | None:
        """The stored version of a non-virtual asset, or the computed one of a virtual asset."""
        k = coerce_key(key)
        if k not in self._graph:
            raise self._graph.unknown_key_error(k)
        if not self._all_loaded:
            self._load(self._upstream_not_in(k, self._loaded))
        value = self._versions.version(k)
        return DataVersion(value) if value is not None else None

    def get_all(self) -> dict[AssetKey, StaleStatus]:
        """The status of every asset, computed in one batched pass."""
        entries = self._entries
        with _gc_paused():
            self._load(None)
            for node in self._graph:  # parents first, so no asset needs its own closure
                if node.key not in entries:
                    entries[node.key] = self._compute(node.key, node)
        return {k: entries[k].status for k in self._graph.toposorted_asset_keys}

    # Loading -------------------------------------------------------------------
    def _load(self, keys: Iterable[AssetKey] | None) -> None:
        if self._all_loaded:
            return
        missing = set(self._graph.get_all_asset_keys() if keys is None else keys) - self._loaded
        if not missing:
            return
        if keys is None or len(missing) > _BATCH_ALL:
            self._records.update(self._instance.get_latest_records(None))
            self._all_loaded = True
            return
        self._records.update(self._instance.get_latest_records(missing))
        self._loaded |= missing

    def _upstream_not_in(self, key: AssetKey, done: Container[AssetKey]) -> set[AssetKey]:
        """`key` and its ancestors, not walking past assets in `done` (whose own ancestors
        are all done: what is loaded or computed is always closed upstream)."""
        graph = self._graph
        seen = {key}
        stack = [key]
        while stack:
            for p in graph.get(stack.pop()).parent_keys:
                if p not in seen and p not in done:
                    seen.add(p)
                    stack.append(p)
        return seen

    def _stored(self, key: AssetKey) -> str | None:
        """The stored version of a non-virtual asset: what `VersionView` reads."""
        found = self._current.get(key, _ABSENT)
        if found is not _ABSENT:
            return found
        return self._read_version(key, self._graph.get(key))

    def _read_version(self, key: AssetKey, node: AssetNode) -> str | None:
        r = self._records.get(key)
        return (
            None
            if r is None
            else stored_version(r.materialization, r.observation, node.is_external)
        )

    # Computing -----------------------------------------------------------------
    def _entry(self, key: AssetKey) -> _Entry:
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        graph = self._graph
        if key not in graph:
            raise graph.unknown_key_error(key)
        todo = graph.toposort(self._upstream_not_in(key, self._entries))
        with _gc_paused():
            self._load(todo)
            for k in todo:
                self._entries[k] = self._compute(k, graph.get(k))
        return self._entries[key]

    def _compute(self, key: AssetKey, node: AssetNode) -> _Entry:
        # Parents are computed first, so `_current` holds every version the causes read.
        # The records are consumed: the entry and `_current` keep what later calls need,
        # and records freed as the pass goes leave the garbage collector nothing to scan.
        record = self._records.pop(key, None)
        mat = record.materialization if record is not None else None
        if record is not None:
            self._updated_at[key] = max(
                r.storage_id for r in (record.materialization, record.observation) if r is not None
            )
        if node.is_virtual:
            self._current[key] = self._versions.version(key)
            return self._compute_virtual(key, node, mat)
        self._current[key] = (
            None
            if record is None
            else stored_version(record.materialization, record.observation, node.is_external)
        )
        if node.is_external:
            return _FRESH if record is not None else _MISSING
        if mat is None:
            return _MISSING
        prov = mat.provenance or self._reported_provenance(key, mat.storage_id)
        if self._unchanged(key, node, prov):
            return _FRESH
        causes = self._causes(key, node, prov)
        if not causes:
            return _FRESH
        self._stale.add(key)
        return _Entry(StaleStatus.STALE, tuple(causes))

    def _reported_provenance(self, key: AssetKey, reported_id: int) -> Provenance:
        """What a materialization reported outside a run (no provenance) was made from:
        the current versions of the inputs not updated since the report; the others,
        updated after it, count as changed."""
        current = self._versions.provenance(key)
        graph = self._graph

        def then(k: AssetKey, v: str | None) -> str | None:
            return v if self._updated_at.get(k, 0) < reported_id else _UPDATED_AFTER_REPORT

        through = {a: then(a, v) for a, v in current.through_virtual.items()}
        inputs = {}
        for p, v in current.input_versions.items():
            if not graph.get(p).is_virtual:
                inputs[p] = then(p, v)
            elif any(
                through.get(a) == _UPDATED_AFTER_REPORT for a in graph.non_virtual_ancestors(p)
            ):
                inputs[p] = _UPDATED_AFTER_REPORT
            else:
                inputs[p] = v
        return Provenance(
            code_version=current.code_version,
            input_versions=inputs,
            through_virtual=through,
            virtual_code_versions=current.virtual_code_versions,
        )

    def _compute_virtual(self, key: AssetKey, node: AssetNode, mat: EventRecord | None) -> _Entry:
        ancestors = self._graph.non_virtual_ancestors(key)
        if ancestors:
            if all(self._entries[a].status is StaleStatus.MISSING for a in ancestors):
                return _MISSING
        elif mat is None:
            return _MISSING
        if mat is not None and mat.code_version != node.code_version:
            cause = StaleCause(
                key, StaleCauseCategory.CODE, f"{key.to_user_string()} has a new code version"
            )
            return _Entry(StaleStatus.STALE, (cause,))
        return _FRESH

    def _unchanged(self, key: AssetKey, node: AssetNode, prov: Provenance) -> bool:
        """True when `_causes` would find nothing, decided without building any cause:
        the common case, so it must be cheap."""
        if node.code_version != prov.code_version:
            return False
        recorded = prov.input_versions
        current = self._current
        for parent in node.parent_keys:
            if recorded.get(parent, _ABSENT) != current[parent]:
                return False
        return not self._stale or self._stale.isdisjoint(self._graph.non_virtual_ancestors(key))

    def _causes(self, key: AssetKey, node: AssetNode, prov: Provenance) -> list[StaleCause]:
        causes: list[StaleCause] = []
        if node.code_version != prov.code_version:
            causes.append(
                StaleCause(
                    key, StaleCauseCategory.CODE, f"{key.to_user_string()} has a new code version"
                )
            )
        virtual = self._graph.virtual_asset_keys
        for parent in sorted(node.parent_keys):
            if parent in virtual:
                causes.extend(self._virtual_parent_causes(key, parent, prov))
            else:
                causes.extend(self._parent_causes(key, parent, prov, ()))
        return causes

    def _parent_causes(
        self, key: AssetKey, parent: AssetKey, prov: Provenance, via: tuple[AssetKey, ...]
    ) -> list[StaleCause]:
        """Causes from one non-virtual upstream asset, seen directly or through `via`."""
        out = []
        recorded = prov.through_virtual if via else prov.input_versions
        current = self._current[parent]
        pname = parent.to_user_string()
        if parent not in recorded:
            if not via:
                out.append(
                    StaleCause(
                        key,
                        StaleCauseCategory.DATA,
                        f"{pname} is a new dependency",
                        dependency=parent,
                    )
                )
        elif recorded[parent] != current:
            out.append(
                StaleCause(
                    key,
                    StaleCauseCategory.DATA,
                    f"{pname} has a new data version{_via(via)}",
                    dependency=parent,
                    via=via,
                )
            )
        entry = self._entries[parent]
        if entry.status is StaleStatus.STALE:
            out.append(
                StaleCause(
                    key,
                    StaleCauseCategory.DEPENDENCIES,
                    f"{pname} is stale{_via(via)}",
                    dependency=parent,
                    children=entry.causes,
                    via=via,
                )
            )
        return out

    def _virtual_parent_causes(
        self, key: AssetKey, parent: AssetKey, prov: Provenance
    ) -> list[StaleCause]:
        graph = self._graph
        changed = prov.input_versions.get(parent, _ABSENT) != self._current[parent]
        if not changed and all(
            self._entries[a].status is not StaleStatus.STALE
            for a in graph.non_virtual_ancestors(parent)
        ):
            return []  # the common case: nothing behind the view moved
        out: list[StaleCause] = []
        paths, ancestors = self._region(parent)
        for v, path in paths.items():  # definitions of the virtual assets in between
            recorded = prov.virtual_code_versions.get(v, _ABSENT)
            if changed and recorded is not _ABSENT and recorded != graph.get(v).code_version:
                out.append(
                    StaleCause(
                        key,
                        StaleCauseCategory.CODE,
                        f"{v.to_user_string()} has a new code version{_via(path[:-1])}",
                        dependency=v,
                        via=path[:-1],
                    )
                )
        for a, path in ancestors.items():
            if changed or self._entries[a].status is StaleStatus.STALE:
                out.extend(self._parent_causes(key, a, prov, path))
        if changed and not out:
            out.append(
                StaleCause(
                    key,
                    StaleCauseCategory.DATA,
                    f"{parent.to_user_string()} has changed (its dependencies or definition "
                    f"differ from when {key.to_user_string()} was materialized)",
                    dependency=parent,
                )
            )
        if parent not in prov.input_versions and not out:
            out.append(
                StaleCause(
                    key,
                    StaleCauseCategory.DATA,
                    f"{parent.to_user_string()} is a new dependency",
                    dependency=parent,
                )
            )
        return out

    def _region(self, start: AssetKey) -> tuple[_Paths, _Paths]:
        """The virtual region behind a virtual parent and its non-virtual ancestors, with
        paths; shared by every child of that parent."""
        found = self._regions.get(start)
        if found is None:
            paths = _virtual_region(self._graph, start)
            found = self._regions[start] = (paths, _ancestors_through(self._graph, paths))
        return found

    def _root_causes(self, key: AssetKey) -> tuple[StaleCause, ...]:
        # The children of a DEPENDENCIES cause are the causes of its (stale) dependency, so
        # the leaves of an asset's tree are its own leaves and those memoized for its stale
        # parents, in order. Memoized and iterative: the tree of a deep graph has
        # exponentially many paths and can be deeper than the recursion limit.
        memo = self._roots
        entries = self._entries
        stack = [key]
        while stack:
            top = stack[-1]
            if top in memo:
                stack.pop()
                continue
            causes = entries[top].causes
            if not causes:
                memo[top] = ()
                stack.pop()
                continue
            pending = [c.dependency for c in causes if c.children and c.dependency not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if len(causes) == 1 and causes[0].children:
                memo[top] = memo[causes[0].dependency]  # type: ignore[index]
                continue
            memo[top] = _dedupe(
                leaf
                for c in causes
                for leaf in (memo[c.dependency] if c.children else (c,))  # type: ignore[index]
            )
        return memo[key]


_Paths = dict[AssetKey, tuple[AssetKey, ...]]  # asset -> the virtual path to it
_MISSING = _Entry(StaleStatus.MISSING, ())
_FRESH = _Entry(StaleStatus.FRESH, ())
_ABSENT: Any = object()


def _virtual_region(graph: AssetGraph, start: AssetKey) -> dict[AssetKey, tuple[AssetKey, ...]]:
    """Virtual assets reachable upstream from `start` through virtual assets only, each
    with the shortest path from the child side (start first)."""
    paths = {start: (start,)}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for p in sorted(graph.get(v).parent_keys):
                if graph.get(p).is_virtual and p not in paths:
                    paths[p] = (*paths[v], p)
                    nxt.append(p)
        frontier = nxt
    return paths


def _ancestors_through(
    graph: AssetGraph, region: Mapping[AssetKey, tuple[AssetKey, ...]]
) -> dict[AssetKey, tuple[AssetKey, ...]]:
    """Non-virtual parents of a virtual region, each with the virtual path to it."""
    out: dict[AssetKey, tuple[AssetKey, ...]] = {}
    for v in sorted(region, key=lambda k: (len(region[k]), k)):
        for p in sorted(graph.get(v).parent_keys):
            if not graph.get(p).is_virtual and p not in out:
                out[p] = region[v]
    return out


def stale_status_of(defs: Any, instance: Any) -> dict[AssetKey, StaleStatus]:
    """The status of every asset of `defs`: what `defs.stale_status(instance)` returns."""
    return StaleStatusResolver(instance, defs).get_all()
