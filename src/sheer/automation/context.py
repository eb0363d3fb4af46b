"""TickContext: what the conditions of one tick read, loaded in batches, and what they found.

Storage is read up front: the ids of every asset's latest records in one query; the
runs (`TickRuns`, for the operands about runs) in one more, the first time a condition
needs them; and, only for the operands that need them, the runs of the new
materializations and the latest records' data versions, one query each.

Conditions are evaluated over sets of candidates: a candidate is an (asset being
evaluated, target) pair encoded as one int, `root * n + target`, over the graph's
topological indices (`GraphIndex`). Facts that do not depend on the asset being
evaluated (`missing`, `newly_updated`, ...) are computed once per tick as sets of
target indices. The context also records which candidates each node found true, so
that one asset's explanation tree can be rebuilt on demand. It never writes to storage.

Evaluation and explanations walk a condition with explicit stacks (operators are
generators, run by `run_steps`), never by recursion.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from croniter import croniter

from sheer.automation.conditions import NodeResult
from sheer.automation.downstream import DownstreamNodes
from sheer.automation.index import index_graph
from sheer.automation.operands import OperandKind
from sheer.automation.runs import TickRuns
from sheer.errors import UnknownAssetError
from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.selection import AssetSelection, KeysSelection
from sheer.versioning import VersionView, stored_version

if TYPE_CHECKING:
    from sheer.automation.conditions import DepsCondition, EvalNode, Steps
    from sheer.automation.cursor import AutomationCursor
    from sheer.automation.operands import RunTags


class TickContext:
    """Everything conditions read during one tick, and the true candidates of each node."""

    def __init__(
        self,
        graph: AssetGraph,
        instance: Any,
        previous: AutomationCursor | None,
        evaluation_time: float,
    ) -> None:
        self.graph = graph
        self.ix = ix = index_graph(graph)
        self.instance = instance
        self.previous = previous
        self.time = evaluation_time
        self.n = len(ix.keys)
        self.max_event_id = 0
        # By index: the ids of the latest materialization and observation, and its run.
        self._latest: dict[int, tuple[int, int, str | None]] = self.load_latest()
        self.requested: set[AssetKey] = set()
        self.requested_indices: set[int] = set()
        self.state: dict[str, dict[str, bool]] = {}
        self._true: dict[int, set[int]] = {}  # id(EvalNode) -> candidates found true
        self._paths: dict[int, str] = {}  # id(EvalNode) -> its path
        self._roots: dict[int, EvalNode] = {}  # root index -> the tree it was evaluated with
        self._changed: set[int] = set()  # roots with no usable previous state
        self._previous_true: dict[str, set[int]] | None = None  # node path -> candidates
        self._facts: dict[OperandKind, set[int]] = {}
        self._fact_builders: dict[OperandKind, Callable[[], set[int]]] = {
            OperandKind.MISSING: self._missing,
            OperandKind.NEWLY_UPDATED: self._newly_updated,
            OperandKind.IN_PROGRESS: self._in_progress,
            OperandKind.EXECUTION_FAILED: self._execution_failed,
            OperandKind.NEWLY_REQUESTED: self._newly_requested,
            OperandKind.CODE_VERSION_CHANGED: self._code_version_changed,
        }
        self.runs = TickRuns(instance, ix, {i: ids[2] for i, ids in self._latest.items()})
        # What data_version_changed() read: each target's current data version, kept in
        # the next cursor, and the versions the previous tick kept.
        self.data_versions: dict[int, str | None] = {}
        self._versions: VersionView | None = None
        self._downstream: DownstreamNodes | None = None  # any_downstream_conditions()
        self._deps: dict[tuple[int, bool, int, int], tuple[int, ...]] = {}
        self._expansions: dict[tuple[int, bool, int, int], tuple[Any, Any, Any]] = {}
        self._selections: dict[int, frozenset[int]] = {}
        self._cron: dict[tuple[str, str], bool] = {}

    def load_latest(self) -> dict[int, tuple[int, int, str | None]]:
        """Each asset's latest ids, in one query; sets `max_event_id`."""
        latest = self.instance.automation.get_latest_ids()
        self.max_event_id = max((max(mat, obs) for mat, obs, _ in latest.values()), default=0)
        by_name = self.ix.by_name
        return {by_name[name]: ids for name, ids in latest.items() if name in by_name}

    # Evaluation --------------------------------------------------------------------
    def evaluate_roots(self, roots: list[int], root: EvalNode, condition_id: str) -> set[int]:
        """Evaluate one condition for several assets (none upstream of another); returns
        the indices of those for which it is true."""
        previous, n = self.previous, self.n
        for r in roots:
            self._roots[r] = root
            if previous is None or previous.condition_ids.get(self.ix.keys[r]) != condition_id:
                self._changed.add(r)  # first evaluation, or a changed condition
        try:
            true = self.evaluate(root, {r * n + r for r in roots})
        finally:
            self._expansions.clear()  # it kept the batch's candidate sets alive until here
        return {pair // n for pair in true}

    def evaluate(self, node: EvalNode, candidates: set[int]) -> set[int]:
        """Evaluate one node and record what it found, for explanations."""
        cond = node.cond
        steps = cond.steps(self, candidates, node)
        true = cond.evaluate(self, candidates, node) if steps is None else self.run_steps(steps)
        return self._record(node, true)

    def run_steps(self, steps: Steps) -> set[int]:
        """Run an operator's `steps()` to the end, and those of the operators below it,
        from one stack of generators: each child an operator yields is started on top
        of it, and its result is sent back down when it returns."""
        stack: list[tuple[EvalNode | None, Steps]] = [(None, steps)]
        sent: set[int] | None = None
        while True:
            node, top = stack[-1]
            try:
                child, candidates = top.send(sent)  # type: ignore[arg-type]
            except StopIteration as stop:
                stack.pop()
                if node is None:
                    return stop.value  # type: ignore[no-any-return]
                sent = self._record(node, stop.value)
                continue
            child_steps = child.cond.steps(self, candidates, child)
            if child_steps is None:
                sent = self._record(child, child.cond.evaluate(self, candidates, child))
            else:
                stack.append((child, child_steps))
                sent = None

    def _record(self, node: EvalNode, true: set[int]) -> set[int]:
        seen = self._true.get(id(node))
        if seen is None:
            self._true[id(node)] = set(true)
            self._paths[id(node)] = node.path
        else:
            seen |= true
        return true

    # Entities: here every asset is one entity, its topological index (`EntityTickContext`
    # numbers the partitions of a graph with partitions).
    def asset_of(self, entity: int) -> int:
        """The asset an entity belongs to."""
        return entity

    def partition_of(self, entity: int) -> str | None:
        """The partition key of an entity (None for an unpartitioned asset)."""
        return None

    def explained_entity(self, r: int) -> int | None:
        """The entity of asset `r` whose evaluation its explanation tree shows."""
        return r

    def mark_requested(self, i: int) -> None:
        self.requested.add(self.ix.keys[i])
        self.requested_indices.add(i)

    def requested_partition_keys(self, i: int) -> frozenset[str | None]:
        """The partitions requested of asset `i` ({None}: the unpartitioned asset)."""
        return frozenset([None]) if i in self.requested_indices else frozenset()

    def forget(self, i: int) -> None:
        """Drop the state an asset's failed evaluation may have left."""
        self.state.pop(self.ix.names[i], None)
        self._roots.pop(i, None)

    # Explanations ------------------------------------------------------------------
    def explain(self, key: AssetKey) -> NodeResult | None:
        """The asset's evaluation tree: each node's value, for each dependency it covered."""
        r = self.ix.index[key]
        root = self._roots.get(r)
        if root is None:
            return None
        start = self.explained_entity(r)
        if start is None:
            return None
        true, keys, n, asset = self._true, self.ix.keys, self.n, self.asset_of
        empty: set[int] = set()
        # Post-order with a stack: a node is built once its children (the last `count`
        # results) are.
        todo: list[tuple[EvalNode, int, int | None]] = [(root, start * n + start, None)]
        done: list[NodeResult] = []
        while todo:
            node, pair, count = todo.pop()
            if count is None:
                explained = node.cond.explained_children(self, node, pair)
                todo.append((node, pair, len(explained)))
                todo.extend((child, other, None) for child, other in reversed(explained))
                continue
            children = tuple(done[len(done) - count :]) if count else ()
            del done[len(done) - count :]
            cond = node.cond
            note = "through virtual assets" if getattr(cond, "through_virtual", False) else None
            t = pair % n
            done.append(
                NodeResult(
                    node.label,
                    pair in true.get(id(node), empty),
                    children,
                    keys[asset(t)],
                    note,
                    self.partition_of(t),
                )
            )
        return done[0]

    def fingerprints(self) -> dict[int, str]:
        """For each evaluated asset, a digest of what its nodes found true (with which
        dependencies): equal digests on two ticks of one graph mean equal explanation
        trees, as long as the condition is the same. Costs what the true candidates
        number, and builds no tree."""
        n, asset = self.n, self.asset_of
        sums = dict.fromkeys(self._roots, 0)
        for node_id, true in self._true.items():
            # An order-free sum of one hash per (node, target); ints and tuples of ints
            # hash the same in every process (only str hashing is randomized).
            salt = zlib.crc32(self._paths[node_id].encode())
            for pair in true:
                r, t = divmod(pair, n)
                r = asset(r)
                if r in sums:
                    sums[r] += hash((salt, t))
        return {r: f"{total & 0xFFFFFFFFFFFFFFFF:016x}" for r, total in sums.items()}

    # Operands ----------------------------------------------------------------------
    def operand(self, kind: OperandKind, candidates: set[int]) -> set[int]:
        """The candidates for which the operand `kind` holds."""
        n = self.n
        if kind is OperandKind.IN_LATEST_TIME_WINDOW:  # unpartitioned assets are always in it
            return set(candidates)
        if kind is OperandKind.INITIAL_EVALUATION:
            changed, asset = self._changed, self.asset_of
            return {p for p in candidates if asset(p // n) in changed}
        if kind is OperandKind.EXECUTED_WITH_ROOT_TARGET:
            runs, asset = self.runs, self.asset_of
            return {p for p in candidates if runs.executed_with_root(asset(p // n), asset(p % n))}
        if kind is OperandKind.DATA_VERSION_CHANGED:
            return self._data_version_changed(candidates)
        targets: set[int] | None
        if kind is OperandKind.WILL_BE_REQUESTED:  # grows during the tick: never cached
            targets = self.requested_indices
        else:
            targets = self._facts.get(kind)
            if targets is None:
                targets = self._facts[kind] = self._fact_builders[kind]()
        return {p for p in candidates if p % n in targets}

    def in_latest_time_window(self, candidates: set[int], lookback: timedelta | None) -> set[int]:
        """Every candidate: an unpartitioned asset is always in its latest time window."""
        return set(candidates)

    def _indices(self, keys: Iterable[AssetKey]) -> set[int]:
        index = self.ix.index
        return {index[k] for k in keys if k in index}

    def _latest_update(self, i: int, *, include_observations: bool) -> int:
        mat, obs, _ = self._latest.get(i, (0, 0, None))
        return max(mat, obs) if include_observations else mat

    def _missing(self) -> set[int]:
        ix = self.ix
        missing = {
            i
            for i in range(self.n)
            if i not in ix.virtual
            and self._latest_update(i, include_observations=i in ix.external) == 0
        }
        for i in ix.virtual:  # exactly what StaleStatus.MISSING means for a virtual asset
            ancestors = ix.ancestors[i]
            if ancestors:
                if missing.issuperset(ancestors):
                    missing.add(i)
            elif self._latest_update(i, include_observations=False) == 0:
                missing.add(i)
        return missing

    def _newly_updated(self) -> set[int]:
        if self.previous is None:
            return set()
        last, external = self.previous.last_event_id, self.ix.external
        return {
            i
            for i in self._latest
            if self._latest_update(i, include_observations=i in external) > last
        }

    def _in_progress(self) -> set[int]:
        return self.runs.in_progress()

    def _execution_failed(self) -> set[int]:
        return self.runs.execution_failed()

    def _newly_requested(self) -> set[int]:
        return set() if self.previous is None else self._indices(self.previous.requested)

    def _code_version_changed(self) -> set[int]:
        if self.previous is None:
            return set()
        index, versions = self.ix.index, self.ix.code_versions
        return {
            index[k]
            for k, v in self.previous.code_versions.items()
            if k in index and versions[index[k]] != v
        }

    def executed_with_tags(self, tags: RunTags, candidates: set[int]) -> set[int]:
        """The candidates whose target's latest materialization was made by a run with
        `tags`."""
        n, asset = self.n, self.asset_of
        true = self.runs.latest_run_matches(tags, {asset(p % n) for p in candidates})
        return {p for p in candidates if asset(p % n) in true}

    def new_updates_have_run_tags(
        self, tags: RunTags, every: bool, candidates: set[int]
    ) -> set[int]:
        """The candidates whose target was materialized since the previous tick by a run
        with `tags`: by at least one such run, or (`every`) only by such runs."""
        if self.previous is None:
            return set()
        n, asset = self.n, self.asset_of
        true = self.runs.new_updates_match(
            tags,
            every,
            {asset(p % n) for p in candidates},
            after_id=self.previous.last_event_id,
            up_to_id=self.max_event_id,
        )
        return {p for p in candidates if asset(p % n) in true}

    def _data_version_changed(self, candidates: set[int]) -> set[int]:
        """The candidates whose target's data version differs from the one the previous
        tick kept; every target's version is kept for the next tick."""
        n, keys, known = self.n, self.ix.keys, self.data_versions
        targets = {p % n for p in candidates}
        versions = self._current_versions()
        for t in targets:
            if t not in known:
                known[t] = versions.version(keys[t])
        if self.previous is None:
            return set()
        before = self.previous.data_versions
        changed = {t for t in targets if keys[t] in before and before[keys[t]] != known[t]}
        return {p for p in candidates if p % n in changed}

    def _current_versions(self) -> VersionView:
        """Current versions: stored ones, and computed ones for virtual assets (memoized).
        The latest records of every asset are read in one query, on first use: which
        assets a tick's data_version_changed() reaches is known only as it goes."""
        if self._versions is None:
            records = self.instance.get_latest_records()
            external = {self.ix.keys[i] for i in self.ix.external}
            stored = {
                k: stored_version(r.materialization, r.observation, k in external)
                for k, r in records.items()
            }
            self._versions = VersionView(self.graph, stored.get)
        return self._versions

    def cron_tick_passed(self, schedule: str, tz: str) -> bool:
        """A tick of `schedule` passed since the previous evaluation (never on the first)."""
        known = self._cron.get((schedule, tz))
        if known is not None:
            return known
        if self.previous is None or self.previous.evaluation_time is None:
            value = False
        else:
            zone = ZoneInfo(tz) if tz != "UTC" else UTC
            start = datetime.fromtimestamp(self.previous.evaluation_time, zone)
            value = croniter(schedule, start).get_next(datetime).timestamp() <= self.time
        self._cron[schedule, tz] = value
        return value

    # Dependencies ------------------------------------------------------------------
    def expand_to_dependencies(
        self, candidates: set[int], cond: DepsCondition
    ) -> tuple[list[tuple[int, tuple[int, ...]]], set[int]]:
        """For each candidate, the candidates of its dependencies; and all of those."""
        # The dependency operators of one condition (eager has three) usually get the
        # same candidates: expand them once. The memo holds the candidates, so their id
        # cannot be reused by another set while it is kept.
        memo_key = (
            id(candidates),
            cond.through_virtual,
            id(cond.allow_selection),
            id(cond.ignore_selection),
        )
        known = self._expansions.get(memo_key)
        if known is not None and known[0] is candidates:
            return known[1], known[2]
        n = self.n
        groups = []
        everything: set[int] = set()
        for pair in candidates:
            r, t = divmod(pair, n)
            base = r * n
            deps = tuple([base + d for d in self._dependencies(t, cond)])
            groups.append((pair, deps))
            everything.update(deps)
        self._expansions[memo_key] = (candidates, groups, everything)
        return groups, everything

    def retarget(self, pair: int, key: AssetKey) -> int:
        """The candidate for the asset `key` in place of `pair`'s target."""
        t = self.ix.index.get(key)
        if t is None:
            raise self.graph.unknown_key_error(key)
        return (pair // self.n) * self.n + t

    # Downstream conditions -------------------------------------------------------------
    def downstream_nodes(self, node: EvalNode, pair: int) -> list[EvalNode]:
        """The compiled children of an `any_downstream_conditions()` node for `pair`."""
        r, t = divmod(pair, self.n)
        if self._downstream is None:
            self._downstream = DownstreamNodes(self.ix)
        return self._downstream.children(self._roots[self.asset_of(r)], node, self.asset_of(t))

    def dependency_pairs(self, pair: int, cond: DepsCondition) -> list[int]:
        r, t = divmod(pair, self.n)
        return [r * self.n + d for d in self._dependencies(t, cond)]

    def _dependencies(self, t: int, cond: DepsCondition) -> tuple[int, ...]:
        """The indices `cond` looks at for target `t`, in key order."""
        deps = self.ix.ancestors[t] if cond.through_virtual else self.ix.parents[t]
        allow, ignore = cond.allow_selection, cond.ignore_selection
        if allow is None and ignore is None:
            return deps
        memo_key = (t, cond.through_virtual, id(allow), id(ignore))
        found = self._deps.get(memo_key)
        if found is None:
            allowed = self._resolve(allow) if allow is not None else None
            ignored = self._resolve(ignore) if ignore is not None else frozenset()
            found = self._deps[memo_key] = tuple(
                d for d in deps if (allowed is None or d in allowed) and d not in ignored
            )
        return found

    def _resolve(self, selection: AssetSelection) -> frozenset[int]:
        # Keyed by identity: the selections live in the conditions, which outlive the tick.
        cached = self._selections.get(id(selection))
        if cached is None:
            try:
                keys = selection.resolve(self.graph)
            except UnknownAssetError:
                # Dagster's dependency operators let a selection name assets that are not
                # defined (an asset removed, another code location): they select nothing.
                keys = without_unknown_keys(selection, self.graph).resolve(self.graph)
            cached = frozenset(self._indices(keys))
            self._selections[id(selection)] = cached
        return cached

    # State ---------------------------------------------------------------------------
    def previous_state(self, path: str, candidates: set[int]) -> set[int]:
        """The candidates for which the node at `path` was true on the previous tick."""
        if self.previous is None:
            return set()
        if self._previous_true is None:
            self._previous_true = self._load_previous_state()
        hits = candidates & self._previous_true.get(path, set())
        changed, n = self._changed, self.n
        return {p for p in hits if p // n not in changed}

    def _load_previous_state(self) -> dict[str, set[int]]:
        assert self.previous is not None
        by_name, n = self.ix.by_name, self.n
        out: dict[str, set[int]] = {}
        for root_name, entries in self.previous.state.items():
            r = by_name.get(root_name)
            if r is None:
                continue
            for entry, value in entries.items():
                path, _, target = entry.rpartition("@")
                t = by_name.get(target)
                if value and t is not None:
                    out.setdefault(path, set()).add(r * n + t)
        return out

    def set_state(self, path: str, true: set[int]) -> None:
        n, names, state = self.n, self.ix.names, self.state
        for pair in true:
            r, t = divmod(pair, n)
            state.setdefault(names[r], {})[f"{path}@{names[t]}"] = True


def without_unknown_keys(selection: AssetSelection, graph: AssetGraph) -> AssetSelection:
    """`selection` with the keys that `graph` does not define left out of its key lists.

    Iterative over the selection's tree (a selection or'ed together key by key is as
    deep as it has keys)."""
    todo: list[tuple[AssetSelection, bool]] = [(selection, False)]
    done: list[AssetSelection] = []
    while todo:
        sel, children_done = todo.pop()
        subs = [f.name for f in fields(sel) if isinstance(getattr(sel, f.name), AssetSelection)]
        if children_done:
            rebuilt = {name: done.pop() for name in reversed(subs)}
            done.append(replace(sel, **rebuilt))
        elif isinstance(sel, KeysSelection):
            done.append(
                replace(sel, selected_keys=tuple(k for k in sel.selected_keys if k in graph))
            )
        elif subs:
            todo.append((sel, True))
            todo.extend((getattr(sel, name), False) for name in reversed(subs))
        else:
            done.append(sel)
    return done[0]
