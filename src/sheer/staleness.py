"""Staleness through virtual assets, not at them.

A non-virtual asset is STALE when what it was computed from changed: its own code
version; a direct parent's version; a non-virtual ancestor seen through virtual
parents; the definition (code version) of a virtual asset in between; a dependency
added or removed; or when any such ancestor is itself stale. A virtual asset is never
stale because upstream was updated: it is MISSING only while none of its non-virtual
ancestors has been materialized, and STALE only when it was run before and its code
version changed. Versions, not timestamps, are compared everywhere.

A resolver reads the latest-record index once, on first use (one query, no event
body decoded), computes the status and current version of every asset in one pass in
topological order over the graph's integer index, and answers every later call from
memory. Causes are built only when asked for, and memoized. It never writes.

Causes have Dagster's shape: `get_stale_causes(D)` gives causes keyed by D whose
`dependency` is the non-virtual ancestor reached (through virtual parents, as Dagster
sets it) and whose `children` are the causes behind it; `get_stale_root_causes(D)`
gives the leaves, keyed by the root: the changed ancestor (DATA) or the asset whose
definition changed (CODE). Sheer adds `via`, the virtual path, and `str(cause)`, the
sentence "A has a new data version (via C, B)".
"""

from __future__ import annotations

import gc
import hashlib
import json
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from itertools import compress
from typing import Any, TypeVar

from sheer.automation.index import GraphIndex, index_graph
from sheer.fingerprints import (
    _US,
    _encode_string,
    exact_inputs_text,
    inputs_prefix,
    legacy_exact_equal,
    virtual_template,
    virtual_version_from_template,
)
from sheer.graph import AssetGraph
from sheer.keys import AssetKey, AssetKeyPartitionKey, coerce_key
from sheer.storage import VersionRow
from sheer.versioning import DataVersion


class StaleStatus(Enum):
    FRESH = "FRESH"
    STALE = "STALE"
    MISSING = "MISSING"


class StaleCauseCategory(Enum):
    CODE = "CODE"
    DATA = "DATA"
    DEPENDENCIES = "DEPENDENCIES"

    def __lt__(self, other: object) -> bool:
        if isinstance(other, StaleCauseCategory):
            return self.value < other.value
        return NotImplemented


def _entity(key: AssetKey | AssetKeyPartitionKey | None) -> AssetKeyPartitionKey | None:
    return AssetKeyPartitionKey(key) if isinstance(key, AssetKey) else key


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class StaleCause:
    """One reason an asset is stale, in Dagster's shape.

    Attributes:
        key: the entity the cause is about: for a direct cause the stale asset, for a
            root cause the root (the changed ancestor, or the asset whose definition
            changed). An `AssetKey` given here is made an entity.
        category: CODE (a definition changed), DATA (an input's version changed) or
            DEPENDENCIES (a dependency was added or removed, or is itself stale).
        reason: a phrase in Dagster's style, e.g. "has a new data version".
        dependency: the upstream entity a direct cause is about, if any.
        children: the causes behind a direct cause (for a stale dependency, its causes).
        via: the virtual assets between the stale asset and what changed, nearest first.
        partition_keys: for a capped cause (more than 10 partitions of one ancestor), every
            partition it stands for; its `partition_key` is then None.

    `str(cause)` is the whole sentence: "A has a new data version (via C, B)".
    Comparing, hashing and `repr` walk the children iteratively: a cause behind a
    100,000-deep chain of stale assets is as usable as any other.
    """

    key: AssetKeyPartitionKey
    category: StaleCauseCategory
    reason: str
    dependency: AssetKeyPartitionKey | None = None
    children: tuple[StaleCause, ...] | None = None
    via: tuple[AssetKey, ...] = ()
    partition_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _entity(self.key))
        object.__setattr__(self, "dependency", _entity(self.dependency))
        children: Any = self.children  # users may pass a list, as to Dagster's
        if children is not None and not isinstance(children, tuple):
            object.__setattr__(self, "children", tuple(children))

    @property
    def asset_key(self) -> AssetKey:
        return self.key.asset_key

    @property
    def partition_key(self) -> str | None:
        return self.key.partition_key

    @property
    def partition_count(self) -> int:
        """How many partitions a capped cause stands for (1 for any other cause)."""
        return len(self.partition_keys) or 1

    @property
    def dependency_asset_key(self) -> AssetKey | None:
        return self.dependency.asset_key if self.dependency is not None else None

    @property
    def dependency_partition_key(self) -> str | None:
        return self.dependency.partition_key if self.dependency is not None else None

    @property
    def sort_key(self) -> str:
        key = self.key.to_user_string()
        return f"{key}/{self.dependency.to_user_string()}" if self.dependency else key

    @property
    def dedupe_key(self) -> tuple[Any, ...]:
        """What makes two causes the same change, whatever path they were seen through."""
        return (self.key, self.category, self.reason, self.dependency)

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.key,
            self.category,
            self.reason,
            self.dependency,
            self.via,
            self.partition_keys,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StaleCause):
            return NotImplemented
        pairs = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if a is b:
                continue
            if a._fields() != b._fields():
                return False
            if a.children is None or b.children is None:
                if a.children is not b.children:
                    return False
                continue
            if len(a.children) != len(b.children):
                return False
            pairs.extend(zip(a.children, b.children, strict=True))
        return True

    def __hash__(self) -> int:
        # Equal causes have equal fields and as many children: enough for a hash.
        return hash((*self._fields(), None if self.children is None else len(self.children)))

    def __repr__(self) -> str:
        out: list[str] = []
        todo: list[StaleCause | str] = [self]
        while todo:
            item = todo.pop()
            if isinstance(item, str):
                out.append(item)
                continue
            out.append(
                f"StaleCause(key={item.key!r}, category={item.category!r}, "
                f"reason={item.reason!r}, dependency={item.dependency!r}, children="
            )
            if item.children is None:
                out.append(f"None, via={item.via!r})")
                continue
            tail: list[StaleCause | str] = ["(", *_interleave(item.children, ", ")]
            tail.append(",), " if len(item.children) == 1 else "), ")
            tail.append(f"via={item.via!r})")
            todo.extend(reversed(tail))
        return "".join(out)

    def __str__(self) -> str:
        if self.partition_keys:
            return capped_sentence(self)
        if self.children is not None and self.dependency is not None:
            if self.category is StaleCauseCategory.DEPENDENCIES:
                return f"{self.dependency.to_user_string()} is stale{_via(self.via)}"
            return "; ".join(str(c) for c in self.children)
        return f"{self.key.to_user_string()} {self.reason}{_via(self.via)}"


def capped_sentence(cause: StaleCause) -> str:
    """'A: 37 partitions have new data versions, first A[2026-01-02] (via C, B)'."""
    first, n = cause.partition_keys[0], len(cause.partition_keys)
    if cause.category is StaleCauseCategory.DEPENDENCIES and cause.dependency is not None:
        name = cause.dependency.asset_key.to_user_string()
        return f"{name}: {n} partitions are stale, first {name}[{first}]{_via(cause.via)}"
    name = cause.key.asset_key.to_user_string()
    what = _PLURAL.get(cause.reason, cause.reason)
    return f"{name}: {n} partitions {what}, first {name}[{first}]{_via(cause.via)}"


_PLURAL = {
    "has a new data version": "have new data versions",
    "has a new code version": "have new code versions",
}


def _interleave(causes: Sequence[StaleCause], sep: str) -> list[StaleCause | str]:
    out: list[StaleCause | str] = []
    for n, cause in enumerate(causes):
        if n:
            out.append(sep)
        out.append(cause)
    return out


def _via(path: Sequence[AssetKey]) -> str:
    return f" (via {', '.join(k.to_user_string() for k in path)})" if path else ""


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a pass runs.

    A pass allocates hundreds of thousands of small objects and creates no cycles, and
    those allocations set off full collections that rescan the whole heap (the
    definitions, the graph): at 20k assets that took longer than the pass itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_FRESH, _STALE, _MISSING = 0, 1, 2
_STATUSES = (StaleStatus.FRESH, StaleStatus.STALE, StaleStatus.MISSING)
_ABSENT: Any = object()
_UPDATED_AFTER_REPORT = "<updated after this report>"
# Row fields (see `VersionRow`).
_MAT_ID, _DATA_VERSION, _CODE_VERSION, _INPUTS, _OBS_ID, _OBS_VERSION, _PROVENANCE = range(1, 8)


class StaleStatusResolver:
    """Staleness of the assets of `defs` given what `instance` recorded.

    The first call reads the latest-record index once; every later call is answered
    from memory, so a loop of `get_status(key)` over every asset costs one query.
    A resolver sees the records as they were at that read: make a new one to see
    later materializations.

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
        self._pass: _Pass | None = None
        # A graph with partitions is resolved per entity (`staleness_entities`).
        self._by_entity: Any = None
        if self._graph.has_partitions:
            from sheer.staleness_causes import EntityResolver

            self._by_entity = EntityResolver(instance, self._graph)

    @property
    def asset_graph(self) -> AssetGraph:
        return self._graph

    # Public reads --------------------------------------------------------------
    def get_status(self, key: Any, partition_key: str | None = None) -> StaleStatus:
        """The status of an asset, or of one partition of a partitioned asset (asked
        without a partition key, a partitioned asset answers FRESH, as Dagster)."""
        if self._by_entity is not None:
            return self._by_entity.get_status(key, partition_key)  # type: ignore[no-any-return]
        # Called in loops over every asset: one dict look-up when given an AssetKey.
        state = self._pass or self._state()
        i = state.index.get(key) if isinstance(key, AssetKey) else None
        if partition_key is not None:
            state.position(key)
            raise _not_partitioned(key, partition_key)
        return _STATUSES[state.status[state.position(key) if i is None else i]]

    def get_stale_causes(self, key: Any, partition_key: str | None = None) -> list[StaleCause]:
        if self._by_entity is not None:
            return self._by_entity.get_stale_causes(key, partition_key)  # type: ignore[no-any-return]
        state = self._state()
        i = state.position(key)
        if partition_key is not None:
            raise _not_partitioned(key, partition_key)
        return list(state.causes(i))

    def get_stale_root_causes(self, key: Any, partition_key: str | None = None) -> list[StaleCause]:
        """The leaves of the cause tree, keyed by the root: the changes that started it
        all, each once however many paths reach it."""
        if self._by_entity is not None:
            return self._by_entity.get_stale_root_causes(key, partition_key)  # type: ignore[no-any-return]
        state = self._state()
        i = state.position(key)
        if partition_key is not None:
            raise _not_partitioned(key, partition_key)
        return list(state.root_causes(i))

    def get_current_data_version(
        self, key: Any, partition_key: str | None = None
    ) -> DataVersion | None:
        """The stored version of a non-virtual asset, or the computed one of a virtual asset."""
        if self._by_entity is not None:
            return self._by_entity.get_current_data_version(key, partition_key)  # type: ignore[no-any-return]
        state = self._state()
        i = state.position(key)
        if partition_key is not None:
            raise _not_partitioned(key, partition_key)
        value = state.current_version(i)
        return DataVersion(value) if value is not None else None

    def get_statuses(self, key: Any) -> dict[str | None, StaleStatus]:
        """`{partition_key: status}` for every partition of an asset (`{None: status}`
        for an unpartitioned one), from the one pass."""
        if self._by_entity is not None:
            return self._by_entity.get_statuses(key)  # type: ignore[no-any-return]
        return {None: self.get_status(key)}

    def get_status_counts(self, key: Any) -> dict[StaleStatus, int]:
        """How many partitions of an asset are FRESH, STALE and MISSING (each present)."""
        if self._by_entity is not None:
            return self._by_entity.get_status_counts(key)  # type: ignore[no-any-return]
        counts = dict.fromkeys(StaleStatus, 0)
        counts[self.get_status(key)] = 1
        return counts

    def get_all(self) -> dict[AssetKey, StaleStatus]:
        """The status of every asset, in topological order (a partitioned asset FRESH:
        `get_statuses` gives its partitions')."""
        if self._by_entity is not None:
            return self._by_entity.get_all()  # type: ignore[no-any-return]
        state = self._state()
        # A copy of a prebuilt all-FRESH dict costs no hashing; only the others are set.
        out = _all_fresh(self._graph, state.idx).copy()
        status = state.status
        out.update(
            zip(
                compress(state.idx.keys, status),
                map(_STATUSES.__getitem__, filter(None, status)),
                strict=True,
            )
        )
        return out

    def _state(self) -> _Pass:
        if self._pass is None:
            # The read runs with the collector on: its young collections untrack the row
            # tuples as they come (they hold only strings and numbers), where one
            # collection after the pause would walk every row again.
            rows = self._instance.get_latest_versions()
            with _gc_paused():
                self._pass = _Pass(self._graph, rows)
        return self._pass


class _Pass:
    """Statuses and current versions of every asset, by topological index, from one
    read of the latest versions; causes built on demand."""

    def __init__(self, graph: AssetGraph, rows: Iterable[VersionRow]) -> None:
        self.graph = graph
        idx = self.idx = index_graph(graph)
        self.index = idx.index
        n = len(idx.keys)
        # Rows are read by field position (`VersionRow`): typed loosely for the checker.
        # Placed by topological index in two C-level passes (rows of assets no longer
        # defined are left out).
        by_key = {row[0]: row for row in rows}
        records: list[Any] = list(map(by_key.get, idx.names))
        self.records = records
        self.status = [_FRESH] * n
        self.current: list[str | None] = [None] * n
        self._causes: dict[int, tuple[StaleCause, ...]] = {}
        self._roots: dict[int, tuple[StaleCause, ...]] = {}
        self.shapes = _shapes(graph, idx)
        self._compute_all()

    def position(self, key: Any) -> int:
        k = key if isinstance(key, AssetKey) else coerce_key(key)
        found = self.idx.index.get(k)
        if found is None:
            raise self.graph.unknown_key_error(k)
        return found

    # The pass --------------------------------------------------------------------
    def _compute_all(self) -> None:
        idx = self.idx
        status, current, records = self.status, self.current, self.records
        ancestors, codes = idx.ancestors, idx.code_versions
        shapes = self.shapes
        get = current.__getitem__
        # dirty[i]: i is a STALE non-virtual asset, or a virtual one with a dirty parent,
        # so a non-virtual child of a dirty parent has a stale non-virtual ancestor
        # (seen directly or through virtual parents). Set only once something is stale.
        dirty = bytearray(len(records))
        stale = False
        us, encode, sha256 = _US, _encode_string, hashlib.sha256
        # Constants as locals: the loop below runs once per asset.
        materializable, virtual, external = _MATERIALIZABLE, _VIRTUAL, _EXTERNAL
        is_stale, missing = _STALE, _MISSING
        for i, (row, (kind, parents, names, prefix, separators)) in enumerate(
            zip(records, shapes, strict=True)
        ):
            if kind is materializable:  # the common case first
                if row is None:
                    status[i] = missing
                    continue
                _, mat_id, version, _, recorded, _, _, _ = row
                if mat_id is None:
                    status[i] = missing
                    continue
                current[i] = version
                if recorded is None:  # reported outside a run: no provenance
                    changed = self._changed_since_report(i, mat_id)
                else:
                    # `fingerprints.fast_inputs_text`, inlined. The fast text is checked
                    # only when it differs from the record: equal to it, it is valid (a
                    # recorded fast text holds exactly `separators` unit separators, an
                    # exact one starts with STX, which a fast one never does).
                    try:
                        now = prefix + us.join(map(get, parents))  # type: ignore[operator,arg-type]
                    except TypeError:  # no fast form for its code version, or a missing version
                        now = None
                    if now is None or (now != recorded and now.count(us) != separators):
                        now = exact_inputs_text(codes[i], names, list(map(get, parents)))
                    changed = recorded != now and not legacy_exact_equal(recorded, now)
                if changed or (stale and any(map(dirty.__getitem__, parents))):
                    status[i] = is_stale
                    dirty[i] = stale = True
            elif kind is external:
                if row is None:  # never observed nor reported
                    status[i] = missing
                else:  # its latest observation or reported materialization
                    mat_id, obs_id = row[_MAT_ID], row[_OBS_ID]
                    later_obs = obs_id is not None and (mat_id is None or obs_id > mat_id)
                    current[i] = row[_OBS_VERSION] if later_obs else row[_DATA_VERSION]
            else:  # virtual
                if kind is virtual:  # read downstream: its version now, unread ones on demand
                    if stale:
                        dirty[i] = any(map(dirty.__getitem__, parents))
                    # `prefix` holds the asset's `fingerprints.virtual_template` here:
                    # `fingerprints.virtual_version_from_template`, inlined.
                    try:
                        text = prefix.format(*map(encode, map(get, parents)))  # type: ignore[union-attr]
                        current[i] = sha256(text.encode()).hexdigest()[:24]
                    except TypeError:  # a parent never materialized
                        current[i] = virtual_version_from_template(
                            prefix,  # type: ignore[arg-type]
                            codes[i],
                            names,
                            list(map(get, parents)),
                        )
                ran = row is not None and row[_MAT_ID] is not None
                anc = ancestors[i]
                if anc:
                    # MISSING is the largest status: the least is MISSING when all are.
                    if min(map(status.__getitem__, anc)) == missing:
                        status[i] = missing
                        continue
                elif not ran:
                    status[i] = missing
                    continue
                if ran and row[_CODE_VERSION] != codes[i]:
                    status[i] = is_stale

    def current_version(self, i: int) -> str | None:
        """The current version of `i`: a virtual asset no non-virtual asset reads is left
        out of the pass, and computed here on first request, with the unread virtual
        assets it reads, parents first (topological indices ascend downstream)."""
        current = self.current
        if current[i] is not None or self.shapes[i][0] is not _UNREAD:
            return current[i]
        shapes, codes = self.shapes, self.idx.code_versions
        todo: set[int] = set()
        stack = [i]
        while stack:
            v = stack.pop()
            if v not in todo:
                todo.add(v)
                stack.extend(
                    p for p in shapes[v][1] if shapes[p][0] is _UNREAD and current[p] is None
                )
        for v in sorted(todo):
            _, parents, names, template, _ = shapes[v]
            current[v] = virtual_version_from_template(
                template,  # type: ignore[arg-type]
                codes[v],
                names,
                [current[p] for p in parents],
            )
        return current[i]

    def _provenance(self, i: int) -> dict[str, Any]:
        """What the latest materialization of `i` was made from (decoded on demand)."""
        row = self.records[i]
        assert row is not None and row[_MAT_ID] is not None
        text = row[_PROVENANCE]
        return json.loads(text) if text is not None else self._reported(i, row[_MAT_ID])

    def _updated(self, i: int) -> int:
        row = self.records[i]
        if row is None:
            return 0
        return max(row[_MAT_ID] or 0, row[_OBS_ID] or 0)

    def _changed_since_report(self, i: int, reported_id: int) -> bool:
        """A materialization reported outside a run has no provenance: it counts as made
        from what was current then, so it is stale once a non-virtual input (seen
        directly or through virtual parents) is updated after it."""
        return any(self._updated(a) > reported_id for a in self.idx.ancestors[i])

    def _reported(self, i: int, reported_id: int) -> dict[str, Any]:
        """The provenance a reported materialization stands for: the current versions,
        those of inputs updated after the report marked as changed."""
        idx = self.idx
        names, current = idx.names, self.current

        def then(a: int) -> str | None:
            return current[a] if self._updated(a) <= reported_id else _UPDATED_AFTER_REPORT

        inputs: dict[str, Any] = {}
        through: dict[str, Any] = {}
        for p in idx.parents[i]:
            if p not in idx.virtual:
                inputs[names[p]] = then(p)
                continue
            behind = idx.ancestors[p]
            for a in behind:
                through[names[a]] = then(a)
            moved = any(self._updated(a) > reported_id for a in behind)
            inputs[names[p]] = _UPDATED_AFTER_REPORT if moved else current[p]
        between = {
            v
            for p in idx.parents[i]
            if p in idx.virtual
            for v in _virtual_region(self.graph, idx.keys[p])
        }
        return {
            "code_version": idx.code_versions[i],
            "input_versions": inputs,
            "through_virtual": through,
            "virtual_code_versions": {
                v.to_user_string(): self.graph.get(v).code_version for v in between
            },
        }

    # Causes, on demand -----------------------------------------------------------
    def causes(self, i: int) -> tuple[StaleCause, ...]:
        """The direct causes of asset `i`, building first (iteratively: chains can be
        deeper than the recursion limit) those of the stale ancestors they contain."""
        if self.status[i] != _STALE:
            return ()
        status, ancestors, virtual = self.status, self.idx.ancestors, self.idx.virtual

        def stale_ancestors(top: int) -> list[int]:
            return [] if top in virtual else [a for a in ancestors[top] if status[a] == _STALE]

        return _memoized_post_order(
            i, self._causes, stale_ancestors, lambda top: tuple(self._build_causes(top))
        )

    def _key(self, i: int) -> AssetKeyPartitionKey:
        return AssetKeyPartitionKey(self.idx.keys[i])

    def _build_causes(self, i: int) -> list[StaleCause]:
        idx = self.idx
        me = self._key(i)
        if i in idx.virtual:
            return [StaleCause(me, StaleCauseCategory.CODE, "has a new code version")]
        prov = self._provenance(i)
        out: list[StaleCause] = []
        if prov.get("code_version") != idx.code_versions[i]:
            out.append(StaleCause(me, StaleCauseCategory.CODE, "has a new code version"))
        recorded = prov.get("input_versions") or {}
        names = idx.names
        mine = {names[p] for p in idx.parents[i]}
        for name in sorted(set(recorded) - mine):
            out.append(
                StaleCause(
                    me,
                    StaleCauseCategory.DEPENDENCIES,
                    f"removed dependency on {name}",
                    dependency=AssetKeyPartitionKey(coerce_key(name)),
                )
            )
        for p in idx.parents[i]:  # in key order
            if p in idx.virtual:
                out.extend(self._virtual_parent_causes(me, p, prov))
            else:
                out.extend(self._parent_causes(me, p, recorded, ()))
        return out

    def _parent_causes(
        self,
        me: AssetKeyPartitionKey,
        p: int,
        recorded: dict[str, Any],
        via: tuple[AssetKey, ...],
    ) -> list[StaleCause]:
        """Causes from one non-virtual upstream asset, seen directly or through `via`."""
        out: list[StaleCause] = []
        name = self.idx.names[p]
        dep = self._key(p)
        was = recorded.get(name, _ABSENT)
        if was is _ABSENT:
            out.append(
                StaleCause(
                    me,
                    StaleCauseCategory.DEPENDENCIES,
                    f"has a new dependency on {name}",
                    dependency=dep,
                    via=via,
                )
            )
        elif was != self.current[p]:
            root = StaleCause(dep, StaleCauseCategory.DATA, "has a new data version", via=via)
            out.append(
                StaleCause(
                    me,
                    StaleCauseCategory.DATA,
                    "has a new dependency data version",
                    dependency=dep,
                    children=(root,),
                    via=via,
                )
            )
        if self.status[p] == _STALE:
            out.append(
                StaleCause(
                    me,
                    StaleCauseCategory.DEPENDENCIES,
                    "has a stale dependency",
                    dependency=dep,
                    children=self.causes(p),
                    via=via,
                )
            )
        return out

    def _virtual_parent_causes(
        self, me: AssetKeyPartitionKey, p: int, prov: dict[str, Any]
    ) -> list[StaleCause]:
        idx, status = self.idx, self.status
        inputs = prov.get("input_versions") or {}
        name = idx.names[p]
        new_dependency = name not in inputs
        changed = new_dependency or inputs[name] != self.current[p]
        if not changed and all(status[a] != _STALE for a in idx.ancestors[p]):
            return []  # the common case: nothing behind the view moved
        out: list[StaleCause] = []
        if new_dependency:
            out.append(
                StaleCause(
                    me,
                    StaleCauseCategory.DEPENDENCIES,
                    f"has a new dependency on {name}",
                    dependency=self._key(p),
                )
            )
        graph = self.graph
        region = _virtual_region(graph, idx.keys[p])
        codes = prov.get("virtual_code_versions") or {}
        through = prov.get("through_virtual") or {}
        if changed and not new_dependency:
            for v, path in region.items():  # definitions of the virtual assets in between
                was = codes.get(v.to_user_string(), _ABSENT)
                if was is not _ABSENT and was != graph.get(v).code_version:
                    root = StaleCause(
                        AssetKeyPartitionKey(v),
                        StaleCauseCategory.CODE,
                        "has a new code version",
                        via=path[:-1],
                    )
                    out.append(
                        StaleCause(
                            me,
                            StaleCauseCategory.CODE,
                            "has a new dependency code version",
                            dependency=root.key,
                            children=(root,),
                            via=path[:-1],
                        )
                    )
        index = idx.index
        for a_key, path in _ancestors_through(graph, region).items():
            a = index[a_key]
            if (changed and not new_dependency) or status[a] == _STALE:
                out.extend(self._parent_causes(me, a, through, path))
        if changed and not out:  # the view's own dependencies changed shape
            root = StaleCause(self._key(p), StaleCauseCategory.DATA, "has a new data version")
            out.append(
                StaleCause(
                    me,
                    StaleCauseCategory.DATA,
                    "has a new dependency data version",
                    dependency=root.key,
                    children=(root,),
                )
            )
        return out

    def root_causes(self, i: int) -> tuple[StaleCause, ...]:
        """The leaves of asset `i`'s cause tree: its own leaves and, for each stale
        dependency, that dependency's leaves (memoized, iterative)."""
        self.causes(i)
        memo, index = self._roots, self.idx.index

        def stale_dependencies(top: int) -> list[int]:
            return [index[_dependency_key(c)] for c in self.causes(top) if _is_stale_dep(c)]

        def leaves(top: int) -> tuple[StaleCause, ...]:
            return _dedupe(
                leaf
                for c in self.causes(top)
                for leaf in (
                    memo[index[_dependency_key(c)]] if _is_stale_dep(c) else (c.children or (c,))
                )
            )

        return _memoized_post_order(i, memo, stale_dependencies, leaves)


_MATERIALIZABLE, _VIRTUAL, _EXTERNAL = "materializable", "virtual", "external"
# A virtual asset no non-virtual asset reads, directly or through virtual assets (a view
# at the bottom of the graph, read by what Sheer does not run): its status does not need
# its version, so the pass leaves the version out (`_Pass.current_version`).
_UNREAD = "unread virtual"
# Per asset: its kind, its parents and their names in name order (the order versions
# are hashed and input texts written in), its `inputs_prefix` and the number of unit
# separators its fast inputs text holds.
_Shape = tuple[str, tuple[int, ...], tuple[str, ...], str | None, int]
_SHAPES: weakref.WeakKeyDictionary[AssetGraph, tuple[_Shape, ...]] = weakref.WeakKeyDictionary()


_FRESH_BY_KEY: weakref.WeakKeyDictionary[AssetGraph, dict[AssetKey, StaleStatus]] = (
    weakref.WeakKeyDictionary()
)


def _all_fresh(graph: AssetGraph, idx: GraphIndex) -> dict[AssetKey, StaleStatus]:
    """Every key of the graph, in topological order, FRESH: what `get_all` copies."""
    found = _FRESH_BY_KEY.get(graph)
    if found is None:
        found = _FRESH_BY_KEY[graph] = dict.fromkeys(idx.keys, StaleStatus.FRESH)
    return found


def _shapes(graph: AssetGraph, idx: GraphIndex) -> tuple[_Shape, ...]:
    """What the pass needs of each asset's definition, built once per graph."""
    found = _SHAPES.get(graph)
    if found is None:
        names = idx.names
        out: list[_Shape] = []
        read = _read_downstream(idx)
        for i, parents in enumerate(idx.parents):
            ordered = tuple(sorted(parents, key=names.__getitem__))
            ordered_names = tuple(names[p] for p in ordered)
            kind: str
            prefix: str | None
            if i in idx.virtual:  # the text its version hashes, less the versions
                kind = _VIRTUAL if read[i] else _UNREAD
                prefix = virtual_template(idx.code_versions[i], ordered_names)
                separators = 0
            else:  # what its inputs text starts with
                kind = _EXTERNAL if i in idx.external else _MATERIALIZABLE
                prefix = inputs_prefix(idx.code_versions[i], ordered_names)
                separators = (prefix or "").count(_US) + max(len(ordered) - 1, 0)
            out.append((kind, ordered, ordered_names, prefix, separators))
        found = _SHAPES[graph] = tuple(out)
    return found


def _read_downstream(idx: GraphIndex) -> list[bool]:
    """Per asset: whether a non-virtual asset reads it, directly or through virtual
    assets (children come later in topological order: one pass from the end)."""
    n = len(idx.parents)
    virtual = idx.virtual
    read = [False] * n
    for i in range(n - 1, -1, -1):
        if i not in virtual or read[i]:
            for p in idx.parents[i]:
                read[p] = True
    return read


_T = TypeVar("_T")


def _memoized_post_order(
    start: int,
    memo: dict[int, _T],
    depends_on: Callable[[int], list[int]],
    build: Callable[[int], _T],
) -> _T:
    """`memo[start]`, building first (iteratively, parents before children: chains can be
    deeper than the recursion limit) every entry it depends on that `memo` lacks."""
    stack = [start]
    while stack:
        top = stack[-1]
        if top in memo:
            stack.pop()
            continue
        pending = [d for d in depends_on(top) if d not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[top] = build(top)
    return memo[start]


def _dependency_key(cause: StaleCause) -> AssetKey:
    assert cause.dependency is not None
    return cause.dependency.asset_key


def _is_stale_dep(cause: StaleCause) -> bool:
    return cause.category is StaleCauseCategory.DEPENDENCIES and cause.children is not None


def _dedupe(causes: Iterable[StaleCause]) -> tuple[StaleCause, ...]:
    """Causes in order, each change once: one change seen along several virtual paths
    (a diamond) or through several stale parents is one root cause."""
    out: list[StaleCause] = []
    seen: set[tuple[Any, ...]] = set()
    for cause in causes:
        ident = cause.dedupe_key
        if ident not in seen:
            seen.add(ident)
            out.append(cause)
    return tuple(out)


def _virtual_region(graph: AssetGraph, start: AssetKey) -> dict[AssetKey, tuple[AssetKey, ...]]:
    """Virtual assets reachable upstream from `start` through virtual assets only, each
    with the shortest path from the child side (start first)."""
    paths: dict[AssetKey, tuple[AssetKey, ...]] = {start: (start,)}
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
    graph: AssetGraph, region: dict[AssetKey, tuple[AssetKey, ...]]
) -> dict[AssetKey, tuple[AssetKey, ...]]:
    """Non-virtual parents of a virtual region, each with the virtual path to it."""
    out: dict[AssetKey, tuple[AssetKey, ...]] = {}
    for v in sorted(region, key=lambda k: (len(region[k]), k)):
        for p in sorted(graph.get(v).parent_keys):
            if not graph.get(p).is_virtual and p not in out:
                out[p] = region[v]
    return out


def _not_partitioned(key: Any, partition_key: str) -> Exception:
    from sheer.errors import DefinitionError

    name = coerce_key(key).to_user_string()
    return DefinitionError(
        f"Asset '{name}' is not partitioned, so it has no partition '{partition_key}'. "
        f"Fix: ask about '{name}' without partition_key=."
    )


def stale_status_of(defs: Any, instance: Any) -> dict[AssetKey, StaleStatus]:
    """The status of every asset of `defs`: what `defs.stale_status(instance)` returns."""
    return StaleStatusResolver(instance, defs).get_all()
