"""Every walk through virtual assets, in one place.

A virtual asset is never a materialization target: what reads it reads, through it,
what it is computed from. So staleness, versioning, plans, runs and automation all walk
through virtual assets to the nearest non-virtual ancestors, and name the virtual assets
passed through. Those walks live here, computed once per graph (the graph is immutable)
or once per selection, iteratively (chains may be deeper than the recursion limit):

- `resolve_non_virtual_ancestors`: each asset's parents with every virtual parent
  replaced by what it resolves to (`AssetGraph.non_virtual_ancestors`);
- `virtual_paths`: each chain of virtual assets through which an ancestor is a parent;
- `VirtualWalks.region(key)`: the virtual assets reachable upstream through virtual
  assets only, each with its shortest path; `.ancestors_through(key)`: the non-virtual
  parents of that region, each with the virtual path to it; `.between(key)`: the virtual
  assets behind `key`'s virtual parents;
- `ordering_through_unselected_virtual`: for a selection, each selected asset's
  selected ancestors reached directly or through unselected virtual assets (the order
  a plan keeps), with the path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sheer.keys import AssetKey

if TYPE_CHECKING:
    from sheer.graph.core import AssetGraph, AssetNode

Path = tuple[AssetKey, ...]


def resolve_non_virtual_ancestors(
    nodes: Mapping[AssetKey, AssetNode], order: Sequence[AssetKey]
) -> dict[AssetKey, frozenset[AssetKey]]:
    """One pass in topological order: a virtual parent is replaced by what it resolves
    to, which was computed before its children."""
    out: dict[AssetKey, frozenset[AssetKey]] = {}
    empty: frozenset[AssetKey] = frozenset()
    for key in order:
        parents = nodes[key].parent_keys
        if not parents:
            out[key] = empty
            continue
        virtual = [p for p in parents if nodes[p].spec.is_virtual]
        if not virtual:
            out[key] = parents
            continue
        acc = set(parents)
        acc.difference_update(virtual)
        for p in virtual:
            acc |= out[p]
        out[key] = frozenset(acc)
    return out


def virtual_paths(graph: AssetGraph, key: AssetKey, ancestor: AssetKey) -> list[Path]:
    """Each chain of virtual assets through which `ancestor` is a parent of `key`,
    nearest first; a direct parent gives `()`. Shortest first."""
    paths: list[Path] = []
    stack: list[tuple[AssetKey, Path]] = [(key, ())]
    while stack:
        node_key, path = stack.pop()
        for p in sorted(graph.get(node_key).parent_keys, reverse=True):
            if p == ancestor:
                paths.append(path)
            elif graph.get(p).is_virtual:
                stack.append((p, (*path, p)))
    return sorted(paths, key=lambda path: (len(path), path))


class VirtualWalks:
    """The walks of one graph that depend on a start only, each memoized."""

    def __init__(self, graph: AssetGraph) -> None:
        self._graph = graph
        self._regions: dict[AssetKey, dict[AssetKey, Path]] = {}
        self._through: dict[AssetKey, dict[AssetKey, Path]] = {}

    def region(self, start: AssetKey) -> dict[AssetKey, Path]:
        """The virtual assets reachable upstream from `start` through virtual assets only
        (`start` included), each with the shortest path from the child side (`start`
        first)."""
        found = self._regions.get(start)
        if found is not None:
            return found
        graph = self._graph
        paths: dict[AssetKey, Path] = {start: (start,)}
        frontier = [start]
        while frontier:
            nxt = []
            for v in frontier:
                for p in sorted(graph.get(v).parent_keys):
                    if graph.get(p).is_virtual and p not in paths:
                        paths[p] = (*paths[v], p)
                        nxt.append(p)
            frontier = nxt
        self._regions[start] = paths
        return paths

    def ancestors_through(self, start: AssetKey) -> dict[AssetKey, Path]:
        """The non-virtual parents of `region(start)`, each with the virtual path to it
        (the shortest, ties broken by key)."""
        found = self._through.get(start)
        if found is not None:
            return found
        graph = self._graph
        region = self.region(start)
        out: dict[AssetKey, Path] = {}
        for v in sorted(region, key=lambda k: (len(region[k]), k)):
            for p in sorted(graph.get(v).parent_keys):
                if not graph.get(p).is_virtual and p not in out:
                    out[p] = region[v]
        self._through[start] = out
        return out

    def between(self, key: AssetKey) -> list[AssetKey]:
        """The virtual assets reached from `key` through virtual parents only (sorted;
        `key` itself not included)."""
        graph = self._graph
        seen: set[AssetKey] = set()
        for p in graph.get(key).parent_keys:
            if graph.get(p).is_virtual:
                seen.update(self.region(p))
        return sorted(seen)


def ordering_through_unselected_virtual(
    graph: AssetGraph, chosen: frozenset[AssetKey]
) -> dict[AssetKey, dict[AssetKey, Path]]:
    """For each selected asset, the selected assets it must run after: its selected
    parents (path `()`) and the selected assets reached through unselected virtual
    parents (with the virtual path, nearest the ancestor first); an unselected
    non-virtual parent adds no ordering (its stored value is read)."""
    # hop[v]: for an unselected virtual v, each selected asset reached through it (via
    # unselected virtual assets only) -> the virtual parent it was reached by (None when
    # a direct parent). One entry per node and ancestor, not a path per node: the paths
    # are rebuilt only for the orderings kept, so a long chain stays linear in memory.
    hop: dict[AssetKey, dict[AssetKey, AssetKey | None]] = {}

    def reach(v: AssetKey) -> dict[AssetKey, AssetKey | None]:
        memo = hop.get(v)
        if memo is not None:
            return memo
        # Iterative post-order over unselected virtual ancestors: no recursion limit.
        stack = [v]
        while stack:
            top = stack[-1]
            todo = [
                p
                for p in graph.get(top).parent_keys
                if p not in chosen and graph.get(p).is_virtual and p not in hop
            ]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            if top in hop:
                continue
            out: dict[AssetKey, AssetKey | None] = {}
            for p in sorted(graph.get(top).parent_keys):
                if p in chosen:
                    out.setdefault(p, None)
                elif graph.get(p).is_virtual:
                    for a in hop[p]:
                        out.setdefault(a, p)
            hop[top] = out
        return hop[v]

    def path(v: AssetKey, a: AssetKey) -> Path:
        walked = [v]
        while (nxt := hop[walked[-1]][a]) is not None:
            walked.append(nxt)
        return tuple(reversed(walked))

    order: dict[AssetKey, dict[AssetKey, Path]] = {}
    for x in chosen:
        parents: dict[AssetKey, Path] = {}
        for p in sorted(graph.get(x).parent_keys):
            if p in chosen:
                parents[p] = ()
            elif graph.get(p).is_virtual:
                for a in reach(p):
                    if a not in parents:
                        parents[a] = path(p, a)
        order[x] = parents
    return order
