"""Execution plans: the steps of a run and the order between them.

Ordering is computed on the asset graph first, then collapsed to steps:
- a selected parent orders its child after it;
- an unselected virtual parent passes the ordering through to its own parents,
  recursively (the seed's "execution dependencies through virtual assets");
- an unselected non-virtual parent adds nothing (its stored value is read).
Collapsing drops self-edges (a multi_asset whose outputs are linked through virtual
assets). A real cycle between steps is broken by splitting subsettable multi_assets;
otherwise it is reported with the assets involved.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sheer.definitions.assets import AssetsDefinition
from sheer.errors import ExecutionError
from sheer.graph import AssetGraph
from sheer.graph.virtual import ordering_through_unselected_virtual
from sheer.keys import AssetKey


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One unit of execution: one definition, for some or all of its assets."""

    key: str
    asset_keys: tuple[AssetKey, ...]
    assets_def: AssetsDefinition

    @property
    def is_subset(self) -> bool:
        return len(self.asset_keys) != len(self.assets_def.specs)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionPlan:
    """The steps of a run in execution order, and what each waits for.

    Attributes:
        steps: every step, in a deterministic topological order.
        step_deps: step key -> keys of the steps it must wait for.
        asset_order: selected asset -> {selected ancestor it waits for: the virtual
            assets the ordering passes through (empty when direct)}.
    """

    steps: tuple[Step, ...]
    step_deps: Mapping[str, frozenset[str]]
    asset_order: Mapping[AssetKey, Mapping[AssetKey, tuple[AssetKey, ...]]]

    @property
    def selected_keys(self) -> frozenset[AssetKey]:
        return frozenset(k for s in self.steps for k in s.asset_keys)

    def step_for(self, key: AssetKey) -> Step:
        for step in self.steps:
            if key in step.asset_keys:
                return step
        raise KeyError(key)

    def describe(self) -> list[str]:
        """Human lines: each step, and the orderings that pass through virtual assets."""
        lines = []
        for i, step in enumerate(self.steps, 1):
            keys = ", ".join(k.to_user_string() for k in step.asset_keys)
            waits = ", ".join(sorted(self.step_deps[step.key])) or "nothing"
            lines.append(f"{i}. {step.key} ({keys}) after {waits}")
        for child, parents in sorted(self.asset_order.items()):
            for parent, via in sorted(parents.items()):
                if via:
                    path = " -> ".join(k.to_user_string() for k in (parent, *via, child))
                    lines.append(f"   ordering through virtual assets: {path}")
        return lines


def build_plan(graph: AssetGraph, selected: Iterable[AssetKey]) -> ExecutionPlan:
    """Plan a run of the selected (executable) assets."""
    chosen = frozenset(selected)
    order = _asset_order(graph, chosen)
    groups = _group_by_definition(graph, chosen)
    split: set[int] = set()
    while True:
        steps = _make_steps(groups, split)
        owner = {k: s.key for s in steps for k in s.asset_keys}
        deps: dict[str, set[str]] = {s.key: set() for s in steps}
        for child, parents in order.items():
            for parent in parents:
                a, b = owner[parent], owner[child]
                if a != b:
                    deps[b].add(a)
        cycle = _find_step_cycle(deps)
        if cycle is None:
            break
        splittable = {
            id(s.assets_def)
            for s in steps
            if s.key in cycle and s.assets_def.can_subset and len(s.asset_keys) > 1
        }
        if not splittable - split:
            raise _cycle_error(cycle, steps)
        split |= splittable
    ordered = _toposort_steps(steps, deps, graph)
    return ExecutionPlan(
        steps=tuple(ordered),
        step_deps={k: frozenset(v) for k, v in deps.items()},
        asset_order=order,
    )


def _asset_order(
    graph: AssetGraph, chosen: frozenset[AssetKey]
) -> dict[AssetKey, dict[AssetKey, tuple[AssetKey, ...]]]:
    return ordering_through_unselected_virtual(graph, chosen)


def _group_by_definition(
    graph: AssetGraph, chosen: frozenset[AssetKey]
) -> list[tuple[AssetsDefinition, tuple[AssetKey, ...]]]:
    by_def: dict[int, tuple[AssetsDefinition, list[AssetKey]]] = {}
    for key in graph.toposort(chosen):
        node = graph.get(key)
        if node.assets_def is None or not node.is_materializable:
            raise ExecutionError(
                f"Asset '{key.to_user_string()}' has no function, so it cannot run. "
                "Fix: leave it out of the selection.",
                key=key,
            )
        entry = by_def.setdefault(id(node.assets_def), (node.assets_def, []))
        entry[1].append(key)
    groups = []
    for assets_def, keys in by_def.values():
        own = [s.key for s in assets_def.specs if s.key in graph]
        if len(keys) != len(own) and not assets_def.can_subset:
            missing = sorted(set(own) - set(keys))
            raise ExecutionError(
                f"{assets_def.node_name} computes {', '.join(k.to_user_string() for k in own)} "
                f"together, but the selection leaves out "
                f"{', '.join(k.to_user_string() for k in missing)}. Fix: select all of them, or "
                "make the multi_asset subsettable (can_subset=True).",
                key=missing[0],
                file=assets_def.source,
            )
        groups.append((assets_def, tuple(keys)))
    return groups


def _make_steps(
    groups: list[tuple[AssetsDefinition, tuple[AssetKey, ...]]], split: set[int]
) -> list[Step]:
    steps = []
    for assets_def, keys in groups:
        whole = len(keys) == len(assets_def.specs)
        if id(assets_def) in split:
            for k in keys:
                steps.append(
                    Step(
                        key=f"{assets_def.node_name}[{k.to_user_string()}]",
                        asset_keys=(k,),
                        assets_def=assets_def,
                    )
                )
        elif whole:
            steps.append(Step(key=assets_def.node_name, asset_keys=keys, assets_def=assets_def))
        else:
            names = ",".join(k.to_user_string() for k in keys)
            steps.append(
                Step(key=f"{assets_def.node_name}[{names}]", asset_keys=keys, assets_def=assets_def)
            )
    return steps


def _find_step_cycle(deps: Mapping[str, set[str]]) -> list[str] | None:
    remaining = {k: len(v) for k, v in deps.items()}
    children: dict[str, list[str]] = {k: [] for k in deps}
    for k, ups in deps.items():
        for u in ups:
            children[u].append(k)
    ready = [k for k, n in remaining.items() if n == 0]
    seen = 0
    while ready:
        k = ready.pop()
        seen += 1
        for c in children[k]:
            remaining[c] -= 1
            if remaining[c] == 0:
                ready.append(c)
    if seen == len(deps):
        return None
    left = {k for k, n in remaining.items() if n > 0}
    node = min(left)
    path: list[str] = []
    index: dict[str, int] = {}
    while node not in index:
        index[node] = len(path)
        path.append(node)
        node = min(u for u in deps[node] if u in left)
    cycle = path[index[node] :]
    cycle.reverse()
    return cycle


def _cycle_error(cycle: list[str], steps: list[Step]) -> ExecutionError:
    by_key = {s.key: s for s in steps}
    parts = []
    for k in cycle:
        names = ", ".join(a.to_user_string() for a in by_key[k].asset_keys)
        parts.append(f"{k} ({names})")
    shown = " -> ".join([*parts, parts[0]])
    return ExecutionError(
        f"The selected steps wait on each other in a cycle: {shown}. A multi_asset's "
        "outputs feed another selected asset that feeds the same multi_asset back. Fix: make "
        "the multi_asset subsettable (can_subset=True) so Sheer can run its outputs as "
        "separate steps, or leave one asset of the cycle out of the selection.",
        key=by_key[cycle[0]].asset_keys[0],
    )


def _toposort_steps(
    steps: list[Step], deps: Mapping[str, set[str]], graph: AssetGraph
) -> list[Step]:
    index = graph.topo_index
    by_key = {s.key: s for s in steps}
    children: dict[str, list[str]] = {s.key: [] for s in steps}
    for k, ups in deps.items():
        for u in ups:
            children[u].append(k)
    remaining = {k: len(v) for k, v in deps.items()}

    def rank(step: Step) -> tuple[tuple[str, ...], str]:
        first = min(step.asset_keys, key=index.__getitem__)
        return (first.parts, step.key)

    ready = [(rank(by_key[k]), k) for k, n in remaining.items() if n == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        _, k = heapq.heappop(ready)
        out.append(by_key[k])
        for c in children[k]:
            remaining[c] -= 1
            if remaining[c] == 0:
                heapq.heappush(ready, (rank(by_key[c]), c))
    return out
