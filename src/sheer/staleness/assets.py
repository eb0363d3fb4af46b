"""The asset pass: staleness of a graph without partitions, one read, one pass over
the graph's integer index (the rules are `sheer.staleness`'s; see its docstring)."""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Iterable
from typing import Any

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
from sheer.staleness.causes import (
    _ABSENT,
    _FRESH,
    _MISSING,
    _STALE,
    _UPDATED_AFTER_REPORT,
    StaleCause,
    StaleCauseCategory,
    StaleStatus,
    _dedupe,
    _dependency_key,
    _is_stale_dep,
    _memoized_post_order,
)
from sheer.storage import VersionRow

# Row fields (see `VersionRow`).
_MAT_ID, _DATA_VERSION, _CODE_VERSION, _INPUTS, _OBS_ID, _OBS_VERSION, _PROVENANCE = range(1, 8)


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
            for v in self.graph.virtual.region(idx.keys[p])
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
        region = graph.virtual.region(idx.keys[p])
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
        for a_key, path in graph.virtual.ancestors_through(idx.keys[p]).items():
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
