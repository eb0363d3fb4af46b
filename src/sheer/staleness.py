"""Staleness through virtual assets, not at them.

A non-virtual asset is STALE when what it was computed from changed: its own code
version; a direct parent's version; a non-virtual ancestor seen through virtual
parents; the definition (code version) of a virtual asset in between; or when any
such ancestor is itself stale. A virtual asset is never stale because upstream was
updated: it is MISSING only while none of its non-virtual ancestors has been
materialized, and STALE only when it was run before and its code version changed.
Versions, not timestamps, are compared everywhere.

The resolver reads the latest records it needs in one batched query, then computes
statuses in one pass in topological order (memoized, O(assets + edges)). It never
writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sheer.events import EventRecord
from sheer.graph import AssetGraph
from sheer.keys import AssetKey, coerce_key
from sheer.storage import LatestRecords
from sheer.versioning import DataVersion, Provenance, VersionView, stored_version

_BATCH_ALL = 2000  # past this many keys, read the whole index in one query


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
        self._graph: AssetGraph = defs if isinstance(defs, AssetGraph) else defs.resolve_asset_graph()
        self._records: dict[AssetKey, LatestRecords] = {}
        self._loaded: set[AssetKey] = set()
        self._entries: dict[AssetKey, _Entry] = {}
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
        out: list[StaleCause] = []
        seen: set[tuple[Any, ...]] = set()
        stack = list(reversed(self.get_stale_causes(key)))
        while stack:
            cause = stack.pop()
            if cause.children:
                stack.extend(reversed(cause.children))
                continue
            ident = (cause.category, cause.dependency or cause.key, cause.reason)
            if ident not in seen:
                seen.add(ident)
                out.append(cause)
        return out

    def get_current_data_version(self, key: Any) -> DataVersion | None:
        """The stored version of a non-virtual asset, or the computed one of a virtual asset."""
        k = coerce_key(key)
        self._load(self._graph.upstream_keys([k]))
        value = self._versions.version(k)
        return DataVersion(value) if value is not None else None

    def get_all(self) -> dict[AssetKey, StaleStatus]:
        """The status of every asset, computed in one batched pass."""
        self._load(None)
        for key in self._graph.toposorted_asset_keys:
            self._entry(key)
        return {k: self._entries[k].status for k in self._graph.toposorted_asset_keys}

    # Loading -------------------------------------------------------------------
    def _load(self, keys: Iterable[AssetKey] | None) -> None:
        if keys is None:
            missing = set(self._graph.get_all_asset_keys()) - self._loaded
        else:
            missing = set(keys) - self._loaded
        if not missing:
            return
        fetch = None if len(missing) > _BATCH_ALL else missing
        records = self._instance.get_latest_records(fetch)
        self._records.update(records)
        self._loaded |= missing if fetch is not None else set(self._graph.get_all_asset_keys())

    def _stored(self, key: AssetKey) -> str | None:
        r = self._records.get(key)
        if r is None:
            return None
        return stored_version(r.materialization, r.observation, self._graph.get(key).is_external)

    def _materialization(self, key: AssetKey) -> EventRecord | None:
        r = self._records.get(key)
        return r.materialization if r is not None else None

    # Computing -----------------------------------------------------------------
    def _entry(self, key: AssetKey) -> _Entry:
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        graph = self._graph
        if key not in graph:
            raise graph.unknown_key_error(key)
        todo = [k for k in graph.toposort(graph.upstream_keys([key])) if k not in self._entries]
        self._load(todo)
        for k in todo:
            self._entries[k] = self._compute(k)
        return self._entries[key]

    def _compute(self, key: AssetKey) -> _Entry:
        node = self._graph.get(key)
        if node.is_virtual:
            return self._compute_virtual(key)
        if node.is_external:
            seen = self._stored(key) is not None or key in self._records
            return _Entry(StaleStatus.FRESH if seen else StaleStatus.MISSING, ())
        mat = self._materialization(key)
        if mat is None:
            return _Entry(StaleStatus.MISSING, ())
        causes = self._causes(key, mat)
        return _Entry(StaleStatus.STALE if causes else StaleStatus.FRESH, tuple(causes))

    def _compute_virtual(self, key: AssetKey) -> _Entry:
        ancestors = self._graph.non_virtual_ancestors(key)
        mat = self._materialization(key)
        if ancestors:
            if not any(self._entries[a].status is not StaleStatus.MISSING for a in ancestors):
                return _Entry(StaleStatus.MISSING, ())
        elif mat is None:
            return _Entry(StaleStatus.MISSING, ())
        node = self._graph.get(key)
        if mat is not None and mat.code_version != node.code_version:
            cause = StaleCause(key, StaleCauseCategory.CODE,
                               f"{key.to_user_string()} has a new code version", dependency=None)
            return _Entry(StaleStatus.STALE, (cause,))
        return _Entry(StaleStatus.FRESH, ())

    def _causes(self, key: AssetKey, mat: EventRecord) -> list[StaleCause]:
        node = self._graph.get(key)
        prov = mat.provenance or Provenance(code_version=mat.code_version)
        causes: list[StaleCause] = []
        name = key.to_user_string()
        if node.code_version != prov.code_version:
            causes.append(StaleCause(key, StaleCauseCategory.CODE, f"{name} has a new code version"))
        for parent in sorted(node.parent_keys):
            if self._graph.get(parent).is_virtual:
                causes.extend(self._virtual_parent_causes(key, parent, prov))
            else:
                causes.extend(self._parent_causes(key, parent, prov, ()))
        return causes

    def _parent_causes(self, key: AssetKey, parent: AssetKey, prov: Provenance,
                       via: tuple[AssetKey, ...]) -> list[StaleCause]:
        """Causes from one non-virtual upstream asset, seen directly or through `via`."""
        out = []
        recorded = prov.through_virtual if via else prov.input_versions
        current = self._versions.version(parent)
        pname = parent.to_user_string()
        if parent not in recorded:
            if not via:
                out.append(StaleCause(key, StaleCauseCategory.DATA,
                                      f"{pname} is a new dependency", dependency=parent))
        elif recorded[parent] != current:
            out.append(StaleCause(key, StaleCauseCategory.DATA,
                                  f"{pname} has a new data version{_via(via)}",
                                  dependency=parent, via=via))
        entry = self._entries[parent]
        if entry.status is StaleStatus.STALE:
            out.append(StaleCause(key, StaleCauseCategory.DEPENDENCIES,
                                  f"{pname} is stale{_via(via)}", dependency=parent,
                                  children=entry.causes, via=via))
        return out

    def _virtual_parent_causes(self, key: AssetKey, parent: AssetKey,
                               prov: Provenance) -> list[StaleCause]:
        graph = self._graph
        changed = prov.input_versions.get(parent, _ABSENT) != self._versions.version(parent)
        if not changed and not any(self._entries[a].status is StaleStatus.STALE
                                   for a in graph.non_virtual_ancestors(parent)):
            return []  # the common case: nothing behind the view moved
        out: list[StaleCause] = []
        paths = _virtual_region(graph, parent)
        for v, path in paths.items():  # definitions of the virtual assets in between
            recorded = prov.virtual_code_versions.get(v, _ABSENT)
            if changed and recorded is not _ABSENT and recorded != graph.get(v).code_version:
                out.append(StaleCause(key, StaleCauseCategory.CODE,
                                      f"{v.to_user_string()} has a new code version{_via(path[:-1])}",
                                      dependency=v, via=path[:-1]))
        for a, path in _ancestors_through(graph, paths).items():
            if changed or self._entries[a].status is StaleStatus.STALE:
                out.extend(self._parent_causes(key, a, prov, path))
        if changed and not out:
            out.append(StaleCause(key, StaleCauseCategory.DATA,
                                  f"{parent.to_user_string()} has changed (its dependencies or "
                                  "definition differ from when "
                                  f"{key.to_user_string()} was materialized)", dependency=parent))
        if parent not in prov.input_versions and not out:
            out.append(StaleCause(key, StaleCauseCategory.DATA,
                                  f"{parent.to_user_string()} is a new dependency", dependency=parent))
        return out


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


def _ancestors_through(graph: AssetGraph, region: Mapping[AssetKey, tuple[AssetKey, ...]]
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
