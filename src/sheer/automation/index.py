"""GraphIndex: the asset graph as int arrays, for evaluating conditions over sets.

Automation works on ints (an asset's topological index) rather than keys, so the
sets a tick builds hash and compare in C. The index is built once per `AssetGraph`
(immutable) and cached on it as `graph.automation_index`, so a daemon pays for it
once, not on every tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sheer.graph import AssetGraph
from sheer.keys import AssetKey


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphIndex:
    """Per asset index (topological order): what automation needs to know, as ints.

    `parents` and `ancestors` (the non-virtual ancestors, through virtual parents) are
    listed in key order, the order explanations show dependencies in. `depth` is the
    longest path from a root, so an asset is deeper than everything upstream of it.
    """

    keys: tuple[AssetKey, ...]
    index: Mapping[AssetKey, int]
    by_name: Mapping[str, int]
    names: tuple[str, ...]
    parents: tuple[tuple[int, ...], ...]
    ancestors: tuple[tuple[int, ...], ...]
    depth: tuple[int, ...]
    virtual: frozenset[int]
    external: frozenset[int]
    materializable: frozenset[int]
    conditions: tuple[Any, ...]
    code_versions: tuple[str | None, ...]


def index_graph(graph: AssetGraph) -> GraphIndex:
    """The graph's index: `graph.automation_index`, built on first use and cached on
    the (immutable) graph."""
    return graph.automation_index


def build_index(graph: AssetGraph) -> GraphIndex:
    """Build the index of `graph` (use `graph.automation_index`, which caches it)."""
    nodes = list(graph)  # topological order
    keys = tuple(n.key for n in nodes)
    index = graph.topo_index
    names = tuple(k.to_user_string() for k in keys)
    position = [0] * len(keys)  # each asset's place in key order
    for place, i in enumerate(sorted(range(len(keys)), key=lambda i: keys[i].parts)):
        position[i] = place
    by_position = position.__getitem__
    virtual = frozenset(i for i, n in enumerate(nodes) if n.is_virtual)
    parents: list[tuple[int, ...]] = []
    ancestors: list[tuple[int, ...]] = []
    resolved: list[frozenset[int]] = []  # what AssetGraph.non_virtual_ancestors gives, as ints
    depth: list[int] = []
    for n in nodes:
        mine = [index[p] for p in n.parent_keys]
        parents.append(tuple(sorted(mine, key=by_position)))
        depth.append(1 + max([depth[p] for p in mine]) if mine else 0)
        through = {p for p in mine if p not in virtual}
        for p in mine:
            if p in virtual:
                through |= resolved[p]
        resolved.append(frozenset(through))
        ancestors.append(tuple(sorted(through, key=by_position)))
    return GraphIndex(
        keys=keys,
        index=index,
        by_name=dict(zip(names, range(len(keys)), strict=True)),
        names=names,
        parents=tuple(parents),
        ancestors=tuple(ancestors),
        depth=tuple(depth),
        virtual=virtual,
        external=frozenset(i for i, n in enumerate(nodes) if n.is_external),
        materializable=frozenset(i for i, n in enumerate(nodes) if n.is_materializable),
        conditions=tuple(n.automation_condition for n in nodes),
        code_versions=tuple(n.code_version for n in nodes),
    )
