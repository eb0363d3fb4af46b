"""EntityTickContext: one tick over the (asset, partition) entities of a graph with partitions.

The tick works as `TickContext` does, on sets of ints, with one change of unit: a target
is an entity, not an asset. Every asset's partitions at the evaluation time (keys from
`EntityLayout`, so `evaluation_time` decides which time partitions exist) are numbered
one after another, an unpartitioned asset being one entity; a candidate is the pair
(entity being evaluated, target entity), `root * E + target`. The operators need no
change: `&`, `|`, `~`, `since`, `newly_true` combine sets of such pairs as before.

What changes is what the leaves and the dependency operators read:
- the facts (`missing`, `newly_updated`, `in_progress`, `execution_failed`,
  `newly_requested`, `code_version_changed`, `data_version_changed`,
  `in_latest_time_window`) hold per entity, from one read of every entity's latest ids
  (and, for data versions only, one read of every entity's versions);
- `any_deps_match` / `all_deps_match` map an entity to the entities it reads of each
  dependency, one hop through the edge's partition mapping, or with
  `.resolve_through_virtual()` through the composed relation to the nearest non-virtual
  ancestors (DESIGN.md, "Entities and partitions"), so a view in the middle of a
  partitioned chain passes each partition through, not the whole asset.

Runs count per entity through their partition tags (`dagster/partition`, the range
tags); a run without them targets every partition of its partitioned assets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sheer.automation.context import TickContext
from sheer.automation.runs import latest_run_failed
from sheer.errors import DefinitionError
from sheer.events import RunRecord, RunStatus
from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.partitions.layout import IDENTITY, EntityLayout
from sheer.partitions.multi import MultiPartitionsDefinition
from sheer.partitions.time_window import TimeWindow, TimeWindowPartitionsDefinition

if TYPE_CHECKING:
    from sheer.automation.conditions import DepsCondition
    from sheer.automation.cursor import AutomationCursor

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
_UNFINISHED = (RunStatus.QUEUED, RunStatus.STARTED)


class EntityTickContext(TickContext):
    """A `TickContext` whose targets are entities; see the module docstring."""

    def __init__(
        self,
        graph: AssetGraph,
        instance: Any,
        previous: AutomationCursor | None,
        evaluation_time: float,
    ) -> None:
        when = datetime.fromtimestamp(evaluation_time, UTC)
        self.layout = layout = EntityLayout(graph, when, instance)
        sizes = [len(k) for k in layout.keys]
        self.base: list[int] = []
        total = 0
        for size in sizes:
            self.base.append(total)
            total += size
        self.size = sizes
        self.owner: list[int] = []
        for i, size in enumerate(sizes):
            self.owner.extend([i] * size)
        super().__init__(graph, instance, previous, evaluation_time)
        self.n = total  # candidates pair entities: root * total + target
        self.true_entities: dict[int, list[int]] = {}  # root asset -> its true entities
        self.requested_partitions: dict[AssetKey, list[str]] = {}
        self.partition_versions: dict[AssetKey, dict[str, str | None]] = {}
        self._windows: dict[float | None, set[int]] = {}
        self._entity_pass: Any = None

    # Reading the latest records ------------------------------------------------------
    def load_latest(self) -> dict[int, tuple[int, int, str | None]]:
        """Every entity's latest ids (one query); the asset's latest are its newest
        entity's, for the operands that stay per asset."""
        rows = self.instance.get_latest_entity_ids()
        layout, by_name, base = self.layout, self.ix.by_name, self.base
        self.entity_latest: dict[int, tuple[int, int, str | None]] = {}
        per_asset: dict[int, tuple[int, int, str | None]] = {}
        top = 0
        for (name, part), ids in rows.items():
            i = by_name.get(name)
            if i is None:
                continue
            j = layout.locate(i, part or None)
            if j is None:
                continue
            self.entity_latest[base[i] + j] = ids
            top = max(top, ids[0], ids[1])
            known = per_asset.get(i)
            if known is None:
                per_asset[i] = ids
            else:
                per_asset[i] = (max(known[0], ids[0]), max(known[1], ids[1]), known[2])
                if ids[0] > known[0]:
                    per_asset[i] = (ids[0], per_asset[i][1], ids[2])
        self.max_event_id = top
        return per_asset

    # Entities ------------------------------------------------------------------------
    def asset_of(self, entity: int) -> int:
        return self.owner[entity]

    def partition_of(self, entity: int) -> str | None:
        i = self.owner[entity]
        k = self.layout.keys[i][entity - self.base[i]]
        return None if k is None else str(k)

    def entities(self, i: int) -> range:
        return range(self.base[i], self.base[i] + self.size[i])

    def entity_name(self, e: int) -> str:
        i = self.owner[e]
        k = self.layout.keys[i][e - self.base[i]]
        return self.ix.names[i] if k is None else f"{self.ix.names[i]}[{k}]"

    def entity_named(self, text: str) -> int | None:
        """The entity `entity_name` gave `text` (None when it is gone)."""
        i = self.ix.by_name.get(text)
        if i is not None and not self.layout.is_partitioned(i):
            return self.base[i]
        name, bracket, rest = text.rpartition("[")
        if not bracket or not rest.endswith("]"):
            return None
        i = self.ix.by_name.get(name)
        if i is None:
            return None
        j = self.layout.locate(i, rest[:-1])
        return None if j is None else self.base[i] + j

    def explained_entity(self, r: int) -> int | None:
        """A partitioned asset's tree shows its last requested partition, else its last
        partition that was true, else its last partition."""
        if not self.size[r]:
            return None
        if not self.layout.is_partitioned(r):
            return self.base[r]
        requested = [e for e in self.true_entities.get(r, ()) if e in self.requested_indices]
        true = requested or self.true_entities.get(r) or [self.base[r] + self.size[r] - 1]
        return max(true)

    # Evaluation ----------------------------------------------------------------------
    def evaluate_roots(self, roots: list[int], root: Any, condition_id: str) -> set[int]:
        """Evaluate one condition for every partition of several assets; returns the
        assets true for at least one partition (`true_entities` has which)."""
        previous, total = self.previous, self.n
        for r in roots:
            self._roots[r] = root
            if previous is None or previous.condition_ids.get(self.ix.keys[r]) != condition_id:
                self._changed.add(r)
        candidates: set[int] = set()
        for r in roots:
            candidates.update(e * total + e for e in self.entities(r))
        try:
            true = self.evaluate(root, candidates)
        finally:
            self._expansions.clear()
        owner, found = self.owner, self.true_entities
        for pair in true:
            e = pair // total
            found.setdefault(owner[e], []).append(e)
        for r in roots:
            if r in found:
                found[r].sort()
        return {r for r in roots if r in found}

    def mark_requested(self, i: int) -> None:
        key = self.ix.keys[i]
        self.requested.add(key)
        chosen = self.true_entities.get(i, [])
        self.requested_indices.update(chosen)
        if self.layout.is_partitioned(i):
            self.requested_partitions[key] = [str(self.partition_of(e)) for e in chosen]

    def requested_partition_keys(self, i: int) -> frozenset[str | None]:
        if self.ix.keys[i] not in self.requested:
            return frozenset()
        if not self.layout.is_partitioned(i):
            return frozenset([None])
        return frozenset(self.requested_partitions.get(self.ix.keys[i], ()))

    def forget(self, i: int) -> None:
        name = self.ix.names[i]
        for root in [k for k in self.state if k == name or k.startswith(f"{name}[")]:
            del self.state[root]
        self._roots.pop(i, None)
        self.true_entities.pop(i, None)

    # Facts ---------------------------------------------------------------------------
    def operand(self, kind: Any, candidates: set[int]) -> set[int]:
        from sheer.automation.operands import OperandKind

        if kind is OperandKind.IN_LATEST_TIME_WINDOW:
            return self.in_latest_time_window(candidates, None)
        if kind is OperandKind.EXECUTED_WITH_ROOT_TARGET:
            return self._executed_with_root(candidates)
        return super().operand(kind, candidates)

    def in_latest_time_window(self, candidates: set[int], lookback: timedelta | None) -> set[int]:
        """The candidates whose target is in its latest time window (within `lookback`
        of its end): every partition of an asset without a time dimension."""
        seconds = None if lookback is None else lookback.total_seconds()
        outside = self._windows.get(seconds)
        if outside is None:
            outside = self._windows[seconds] = self._outside_window(lookback)
        if not outside:
            return set(candidates)
        n = self.n
        return {p for p in candidates if p % n not in outside}

    def _outside_window(self, lookback: timedelta | None) -> set[int]:
        outside: set[int] = set()
        when = self.layout.current_time
        by_def: dict[Any, set[str] | None] = {}
        for i, node in enumerate(self.graph):
            pdef = node.spec.partitions_def
            if pdef is None:
                continue
            if pdef not in by_def:
                by_def[pdef] = _keys_in_latest_window(pdef, lookback, when)
            inside = by_def[pdef]
            if inside is None:
                continue
            keys = self.layout.keys[i]
            base = self.base[i]
            if isinstance(pdef, MultiPartitionsDefinition):
                dim = pdef.time_window_dimension.name
                outside.update(
                    base + j for j, k in enumerate(keys) if k.keys_by_dimension[dim] not in inside
                )
            else:
                outside.update(base + j for j, k in enumerate(keys) if k not in inside)
        return outside

    def _missing(self) -> set[int]:
        ix, latest, external = self.ix, self.entity_latest, self.ix.external
        missing: set[int] = set()
        for i in range(len(ix.keys)):
            if i in ix.virtual:
                continue
            present = {
                e
                for e in self.entities(i)
                if (ids := latest.get(e)) is not None
                and (max(ids[0], ids[1]) if i in external else ids[0])
            }
            missing.update(e for e in self.entities(i) if e not in present)
        for i in sorted(ix.virtual):  # topological: a view after what it reads
            if not ix.ancestors[i]:  # what StaleStatus.MISSING means for a root view
                missing.update(e for e in self.entities(i) if not latest.get(e, (0,))[0])
                continue
            reads = self.layout.reads_through(i)
            for j, e in enumerate(self.entities(i)):
                if all(
                    self.base[a] + x in missing
                    for a, r in reads.items()
                    for x in self.layout.read_indices(r, j)
                ):
                    missing.add(e)
        return missing

    def _newly_updated(self) -> set[int]:
        if self.previous is None:
            return set()
        last, external, owner = self.previous.last_event_id, self.ix.external, self.owner
        return {
            e
            for e, (mat, obs, _) in self.entity_latest.items()
            if (max(mat, obs) if owner[e] in external else mat) > last
        }

    def run_entities(self, run: RunRecord) -> Iterable[int]:
        """The entities a run targets: per its partition tags, every partition of its
        partitioned assets when it has none."""
        index, layout, tags = self.ix.index, self.layout, run.tags
        key, start, end = (
            tags.get(PARTITION_TAG),
            tags.get(RANGE_START_TAG),
            tags.get(RANGE_END_TAG),
        )
        for k in run.asset_selection:
            i = index.get(k)
            if i is None:
                continue
            if not layout.is_partitioned(i):
                yield self.base[i]
            elif key is not None:
                j = layout.locate(i, key)
                if j is not None:
                    yield self.base[i] + j
            elif start is not None and end is not None:
                a, b = layout.locate(i, start), layout.locate(i, end)
                if a is not None and b is not None:
                    yield from range(self.base[i] + a, self.base[i] + b + 1)
            else:
                yield from self.entities(i)

    def _in_progress(self) -> set[int]:
        return {
            e
            for run in self.runs.all()
            if run.status in _UNFINISHED
            for e in self.run_entities(run)
        }

    def _execution_failed(self) -> set[int]:
        latest = self.entity_latest
        return latest_run_failed(
            self.runs.all(), self.run_entities, lambda e: latest.get(e, (0, 0, None))[2]
        )

    def _newly_requested(self) -> set[int]:
        if self.previous is None:
            return set()
        index, layout, out = self.ix.index, self.layout, set()
        for key in self.previous.requested:
            i = index.get(key)
            if i is not None and not layout.is_partitioned(i):
                out.add(self.base[i])
        for key, parts in self.previous.requested_partitions.items():
            i = index.get(key)
            if i is None or not layout.is_partitioned(i):
                continue
            for part in parts:
                j = layout.locate(i, part)
                if j is not None:
                    out.add(self.base[i] + j)
        return out

    def _code_version_changed(self) -> set[int]:
        return {e for i in super()._code_version_changed() for e in self.entities(i)}

    def _executed_with_root(self, candidates: set[int]) -> set[int]:
        n, owner, latest, runs = self.n, self.owner, self.entity_latest, self.runs
        out = set()
        for p in candidates:
            r, t = divmod(p, n)
            run_id = latest.get(t, (0, 0, None))[2]
            if run_id is not None and runs.run_targets(run_id, owner[r]):
                out.add(p)
        return out

    def _data_version_changed(self, candidates: set[int]) -> set[int]:
        """Per entity: the version now (as a run records it; a view's computed from what
        it reads) against the one the previous tick kept."""
        from sheer.staleness.entities import EntityPass

        if self._entity_pass is None:
            rows = self.instance.get_latest_entity_versions()
            self._entity_pass = EntityPass(
                self.graph, rows, self.instance, self.layout.current_time
            )
        versions, n, owner, base = self._entity_pass.version, self.n, self.owner, self.base
        keys = self.ix.keys
        before = self.previous.partition_versions if self.previous is not None else {}
        changed: set[int] = set()
        for t in {p % n for p in candidates}:
            i = owner[t]
            now = versions[i][t - base[i]]
            part = self.partition_of(t)
            self.partition_versions.setdefault(keys[i], {})[part or ""] = now
            was = before.get(keys[i], {})
            if (part or "") in was and was[part or ""] != now:
                changed.add(t)
        if self.previous is None:
            return set()
        return {p for p in candidates if p % n in changed}

    # Dependencies ------------------------------------------------------------------------
    def expand_to_dependencies(
        self, candidates: set[int], cond: DepsCondition
    ) -> tuple[list[tuple[int, tuple[int, ...]]], set[int]]:
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
        plans: dict[int, list[tuple[int, Any]]] = {}
        owner, base = self.owner, self.base
        for pair in candidates:
            r, t = divmod(pair, n)
            i = owner[t]
            plan = plans.get(i)
            if plan is None:
                plan = plans[i] = self._plan(i, cond)
            j = t - base[i]
            at = r * n
            deps: list[int] = []
            for b, reads in plan:
                if reads is IDENTITY:
                    deps.append(at + b + j)
                else:
                    deps.extend(at + b + x for x in reads[j])
            found = tuple(deps)
            groups.append((pair, found))
            everything.update(found)
        self._expansions[memo_key] = (candidates, groups, everything)
        return groups, everything

    def _plan(self, i: int, cond: DepsCondition) -> list[tuple[int, Any]]:
        """For asset `i`: each dependency `cond` looks at (first entity, what each
        partition of `i` reads of it)."""
        deps = self._dependencies(i, cond)
        if cond.through_virtual:
            through = self.layout.reads_through(i)
            return [(self.base[d], through[d]) for d in deps if d in through]
        return [(self.base[d], self.layout.reads(i, d)) for d in deps]

    def dependency_pairs(self, pair: int, cond: DepsCondition) -> list[int]:
        r, t = divmod(pair, self.n)
        i = self.owner[t]
        j = t - self.base[i]
        at = r * self.n
        out: list[int] = []
        for b, reads in self._plan(i, cond):
            out.extend(at + b + x for x in self.layout.read_indices(reads, j))
        return out

    def retarget(self, pair: int, key: AssetKey) -> int:
        """`asset_matches(key, ...)`: the entity of `key` with the target's partition key
        (its last partition when it has no such key; its one entity when unpartitioned)."""
        o = self.ix.index.get(key)
        if o is None:
            raise self.graph.unknown_key_error(key)
        if not self.size[o]:
            raise DefinitionError(
                f"asset_matches({key.to_user_string()}, ...): the asset has no partitions at "
                "this evaluation time. Fix: match an asset that has partitions now."
            )
        r, t = divmod(pair, self.n)
        j = self.layout.locate(o, self.partition_of(t)) if self.layout.is_partitioned(o) else 0
        if j is None:
            j = self.size[o] - 1
        return r * self.n + self.base[o] + j

    # State -----------------------------------------------------------------------------
    def previous_state(self, path: str, candidates: set[int]) -> set[int]:
        if self.previous is None:
            return set()
        if self._previous_true is None:
            self._previous_true = self._load_previous_state()
        hits = candidates & self._previous_true.get(path, set())
        changed, n, owner = self._changed, self.n, self.owner
        return {p for p in hits if owner[p // n] not in changed}

    def _load_previous_state(self) -> dict[str, set[int]]:
        assert self.previous is not None
        n, named = self.n, self.entity_named
        out: dict[str, set[int]] = {}
        for root_name, entries in self.previous.state.items():
            r = named(root_name)
            if r is None:
                continue
            for entry, value in entries.items():
                path, _, target = entry.rpartition("@")
                t = named(target)
                if value and t is not None:
                    out.setdefault(path, set()).add(r * n + t)
        return out

    def set_state(self, path: str, true: set[int]) -> None:
        n, name, state = self.n, self.entity_name, self.state
        for pair in true:
            r, t = divmod(pair, n)
            state.setdefault(name(r), {})[f"{path}@{name(t)}"] = True


def _keys_in_latest_window(
    pdef: Any, lookback: timedelta | None, when: datetime | None
) -> set[str] | None:
    """The time keys in the latest time window of `pdef` (within `lookback` of its end),
    as Dagster counts them; None when `pdef` has no time dimension (all are in it)."""
    time_def = pdef
    if isinstance(pdef, MultiPartitionsDefinition):
        if not pdef.has_time_window_dimension:
            return None
        time_def = pdef.time_window_dimension.partitions_def
    if not isinstance(time_def, TimeWindowPartitionsDefinition):
        return None
    last = time_def.get_last_partition_window(when)
    if last is None:
        return set()
    if not lookback:
        window = last
    else:
        window = TimeWindow(max(time_def.start, last.end - lookback), last.end)
    return set(time_def.get_partition_keys_in_time_window(window))
