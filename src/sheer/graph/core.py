"""AssetGraph: the immutable, indexed lineage graph of a set of definitions.

Built once (`Definitions.resolve_asset_graph()`), it answers every structural
question in O(1) or O(reach): parents, children, the stable topological order,
upstream/downstream closures and the nearest non-virtual ancestors. It validates the
definitions as it builds and raises every problem at once. It knows nothing of
storage or execution.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from sheer.definitions.assets import AssetsDefinition
from sheer.definitions.specs import DEFAULT_GROUP_NAME, AssetSpec, FrozenDict
from sheer.errors import (
    CycleError,
    DefinitionError,
    DuplicateKeyError,
    MultipleDefinitionErrors,
    UnknownAssetError,
    UnresolvedInputError,
    VirtualInputError,
    did_you_mean,
)
from sheer.keys import AssetKey, KeyLike, coerce_key

if TYPE_CHECKING:
    from sheer.automation.index import GraphIndex
    from sheer.graph.virtual import VirtualWalks
    from sheer.partitions.relations import PartitionRelations

Defined = AssetsDefinition | AssetSpec
_path = attrgetter("parts")
# Shared by the nodes with no parents, children or inputs: one object, not one each.
_NO_KEYS: frozenset[AssetKey] = frozenset()
_NO_INPUTS: Mapping[str, AssetKey] = FrozenDict()


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AssetNode:
    """One asset in the graph.

    Attributes:
        key: the asset's key.
        spec: its resolved spec (deps as in the graph).
        assets_def: the definition that computes it, or None for a spec-only asset.
        parent_keys: keys of its direct parents.
        child_keys: keys of its direct children.
        input_params: function parameter -> parent key, for parents passed as data.
        resource_params: function parameters that receive resources.
    """

    key: AssetKey
    spec: AssetSpec
    assets_def: AssetsDefinition | None
    parent_keys: frozenset[AssetKey]
    child_keys: frozenset[AssetKey]
    input_params: Mapping[str, AssetKey]
    resource_params: tuple[str, ...]

    @property
    def is_virtual(self) -> bool:
        return self.spec.is_virtual

    @property
    def is_materializable(self) -> bool:
        """True when a function computes it (virtual assets with a function included)."""
        return self.assets_def is not None and not self.assets_def.is_observation

    @property
    def is_executable(self) -> bool:
        return self.assets_def is not None

    @property
    def is_external(self) -> bool:
        """True for a non-virtual asset no run materializes: a spec with no function
        (updated by reports) or an observable source asset (updated by observations)."""
        return not self.spec.is_virtual and not self.is_materializable

    @property
    def is_observable(self) -> bool:
        """True for an external asset with an observation function."""
        return self.assets_def is not None and self.assets_def.is_observation

    @property
    def code_version(self) -> str | None:
        return self.spec.code_version

    @property
    def group_name(self) -> str:
        return self.spec.group_name or DEFAULT_GROUP_NAME

    @property
    def kinds(self) -> frozenset[str]:
        return self.spec.kinds

    @property
    def tags(self) -> Mapping[str, str]:
        return self.spec.tags

    @property
    def owners(self) -> tuple[str, ...]:
        return self.spec.owners

    @property
    def description(self) -> str | None:
        return self.spec.description

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.spec.metadata

    @property
    def automation_condition(self) -> Any:
        return self.spec.automation_condition

    @property
    def source(self) -> str | None:
        return self.spec.source

    def __repr__(self) -> str:
        kind = "virtual" if self.is_virtual else "external" if self.is_external else "asset"
        return f"<AssetNode {self.key.to_user_string()} ({kind})>"


class AssetGraph:
    """The lineage graph: nodes indexed by key, parents and children, stable order.

    Example:
        >>> a, b = AssetSpec("a"), AssetSpec("b", deps=["a"], is_virtual=True)
        >>> graph = AssetGraph.from_definitions([a, b])
        >>> graph.get("b").is_virtual, sorted(graph.get("a").child_keys)
        (True, [AssetKey(['b'])])
    """

    def __init__(self, nodes: Mapping[AssetKey, AssetNode], order: Sequence[AssetKey]) -> None:
        self._nodes = dict(nodes)
        self._order = tuple(order)

    @classmethod
    def _adopt(cls, nodes: dict[AssetKey, AssetNode], order: tuple[AssetKey, ...]) -> AssetGraph:
        # The builder's own dict and tuple, not copies of them.
        graph = cls.__new__(cls)
        graph._nodes = nodes
        graph._order = order
        return graph

    @classmethod
    def from_definitions(
        cls, defined: Iterable[Defined], resource_keys: Iterable[str] = ()
    ) -> AssetGraph:
        """Build and validate the graph; raises every definition problem at once."""
        # The build allocates many small objects and creates no cycles, so the cyclic
        # garbage collector would only rescan them (a third of the time at 20k assets).
        enabled = gc.isenabled()
        gc.disable()
        try:
            graph = _Builder(list(defined), frozenset(resource_keys)).build()
        finally:
            if enabled:
                gc.enable()
        from sheer.partitions.relations import warn_on_unpartitioned_views

        warn_on_unpartitioned_views(graph)
        return graph

    # Look-ups ---------------------------------------------------------------
    def get(self, key: KeyLike) -> AssetNode:
        """The node for `key` (a key, string or list); unknown keys raise with suggestions."""
        k = coerce_key(key)
        node = self._nodes.get(k)
        if node is None:
            raise self.unknown_key_error(k)
        return node

    def has(self, key: KeyLike) -> bool:
        return coerce_key(key) in self._nodes

    def unknown_key_error(self, key: AssetKey, what: str = "asset") -> UnknownAssetError:
        name = key.to_user_string()
        hint = did_you_mean(name, (k.to_user_string() for k in self._nodes))
        return UnknownAssetError(
            f"No {what} named '{name}' in the definitions.{hint} "
            f"Fix: use one of the {len(self._nodes)} defined keys "
            "(`sheer list defs` lists them).",
            key=key,
        )

    def __contains__(self, key: object) -> bool:
        return isinstance(key, AssetKey) and key in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[AssetNode]:
        return (self._nodes[k] for k in self._order)

    @property
    def asset_nodes(self) -> list[AssetNode]:
        return [self._nodes[k] for k in self._order]

    def get_all_asset_keys(self) -> frozenset[AssetKey]:
        return frozenset(self._nodes)

    @property
    def all_asset_keys(self) -> frozenset[AssetKey]:
        return frozenset(self._nodes)

    @property
    def toposorted_asset_keys(self) -> tuple[AssetKey, ...]:
        """Every key, parents before children, ties broken by key."""
        return self._order

    @cached_property
    def topo_index(self) -> Mapping[AssetKey, int]:
        return {k: i for i, k in enumerate(self._order)}

    def toposort(self, keys: Iterable[AssetKey]) -> list[AssetKey]:
        index = self.topo_index
        return sorted(keys, key=index.__getitem__)

    @cached_property
    def has_partitions(self) -> bool:
        """Whether any asset of the graph is partitioned."""
        return any(n.spec.partitions_def is not None for n in self._nodes.values())

    @cached_property
    def partition_relations(self) -> PartitionRelations:
        """How partitions read each other, hop by hop and composed through virtual
        assets (`sheer.partitions.relations`), compiled once per graph."""
        from sheer.partitions.relations import PartitionRelations

        return PartitionRelations(self)

    @cached_property
    def materializable_asset_keys(self) -> frozenset[AssetKey]:
        return frozenset(k for k, n in self._nodes.items() if n.is_materializable)

    @cached_property
    def external_asset_keys(self) -> frozenset[AssetKey]:
        return frozenset(k for k, n in self._nodes.items() if n.is_external)

    @cached_property
    def virtual_asset_keys(self) -> frozenset[AssetKey]:
        return frozenset(k for k, n in self._nodes.items() if n.is_virtual)

    @cached_property
    def root_keys(self) -> frozenset[AssetKey]:
        return frozenset(k for k, n in self._nodes.items() if not n.parent_keys)

    @cached_property
    def sink_keys(self) -> frozenset[AssetKey]:
        return frozenset(k for k, n in self._nodes.items() if not n.child_keys)

    @cached_property
    def group_names(self) -> frozenset[str]:
        return frozenset(n.group_name for n in self._nodes.values())

    # Closures ---------------------------------------------------------------
    def upstream_keys(self, keys: Iterable[AssetKey], depth: int | None = None) -> set[AssetKey]:
        """`keys` and their ancestors up to `depth` hops (all when None)."""
        return self._reach(keys, depth, upstream=True)

    def downstream_keys(self, keys: Iterable[AssetKey], depth: int | None = None) -> set[AssetKey]:
        """`keys` and their descendants up to `depth` hops (all when None)."""
        return self._reach(keys, depth, upstream=False)

    def get_ancestor_asset_keys(self, key: KeyLike) -> set[AssetKey]:
        k = coerce_key(key)
        return self.upstream_keys([k]) - {k}

    def get_descendant_asset_keys(self, key: KeyLike) -> set[AssetKey]:
        k = coerce_key(key)
        return self.downstream_keys([k]) - {k}

    def _reach(
        self, keys: Iterable[AssetKey], depth: int | None, *, upstream: bool
    ) -> set[AssetKey]:
        nodes = self._nodes
        seen = set(keys)
        frontier = list(seen)
        hops = 0
        while frontier and (depth is None or hops < depth):
            nxt = []
            for k in frontier:
                node = nodes[k]
                for r in node.parent_keys if upstream else node.child_keys:
                    if r not in seen:
                        seen.add(r)
                        nxt.append(r)
            frontier = nxt
            hops += 1
        return seen

    # Virtual resolution (sheer.graph.virtual) ---------------------------------
    @cached_property
    def _non_virtual_ancestors(self) -> Mapping[AssetKey, frozenset[AssetKey]]:
        from sheer.graph.virtual import resolve_non_virtual_ancestors

        return resolve_non_virtual_ancestors(self._nodes, self._order)

    def non_virtual_ancestors(self, key: KeyLike) -> frozenset[AssetKey]:
        """The parents of `key`, each virtual parent replaced by its own parents, recursively.

        These are the nearest non-virtual ancestors: what staleness and
        `.resolve_through_virtual()` look at instead of virtual parents.
        """
        k = coerce_key(key)
        if k not in self._nodes:
            raise self.unknown_key_error(k)
        return self._non_virtual_ancestors[k]

    def virtual_paths(self, key: KeyLike, ancestor: KeyLike) -> list[tuple[AssetKey, ...]]:
        """Each chain of virtual assets through which `ancestor` is a parent of `key`.

        Paths are listed nearest first (child side first): for A -> B(v) -> C(v) -> D,
        `virtual_paths("D", "A")` is `[(C, B)]`; a direct parent gives `[()]`.
        """
        from sheer.graph.virtual import virtual_paths

        return virtual_paths(self, self.get(key).key, self.get(ancestor).key)

    @cached_property
    def automation_index(self) -> GraphIndex:
        """The graph as int arrays in topological order (`sheer.automation.index`), what
        automation and the staleness pass compute over; built once per graph."""
        from sheer.automation.index import build_index

        return build_index(self)

    @cached_property
    def virtual(self) -> VirtualWalks:
        """Every walk through virtual assets, cached on this (immutable) graph."""
        from sheer.graph.virtual import VirtualWalks

        return VirtualWalks(self)


class _Builder:
    """Resolves parameters, checks the definitions and indexes the graph.

    Assets are numbered as they are collected, and the build works on lists indexed by
    those numbers. A key is hashed once for its number and once per edge: at 20k assets
    each look-up by key (a Python-level `__hash__` and a cache miss) costs more than the
    rest of the work on an edge.
    """

    def __init__(self, defined: list[Defined], resource_keys: frozenset[str]) -> None:
        self.defined = defined
        self.resource_keys = resource_keys
        self.errors: list[DefinitionError] = []
        self.index: dict[AssetKey, int] = {}  # key -> its number
        self.keys: list[AssetKey] = []
        self.specs: list[AssetSpec] = []
        # The definition of each collected asset; external assets (deps nothing defines)
        # are numbered after them and have none.
        self.owners: list[Defined] = []

    def build(self) -> AssetGraph:
        self._collect_owners()
        inputs, resources = self._resolve_params()
        self._check_virtual_inputs(inputs)
        parents, children = self._link()
        order: list[int] = []
        try:
            order = _toposort(self.keys, parents, children)
        except CycleError as exc:
            self.errors.append(exc)  # reported with the other problems, not instead of them
        if self.errors:
            raise self.errors[0] if len(self.errors) == 1 else MultipleDefinitionErrors(self.errors)
        keys, specs, owners = self.keys, self.specs, self.owners
        externals = len(keys) - len(owners)
        inputs.extend([_NO_INPUTS] * externals)
        resources.extend([()] * externals)
        nodes: dict[AssetKey, AssetNode] = {}
        for i in order:
            owner = owners[i] if i < len(owners) else None
            kids = children[i]
            nodes[keys[i]] = AssetNode(
                key=keys[i],
                spec=specs[i],
                assets_def=owner if isinstance(owner, AssetsDefinition) else None,
                parent_keys=parents[i],
                child_keys=frozenset([keys[c] for c in kids]) if kids else _NO_KEYS,
                input_params=inputs[i],
                resource_params=resources[i],
            )
        return AssetGraph._adopt(nodes, tuple([keys[i] for i in order]))

    def _collect_owners(self) -> None:
        index, keys, specs, owners = self.index, self.keys, self.specs, self.owners
        for item in self.defined:
            if isinstance(item, AssetSpec):
                own: Iterable[AssetSpec] = (item,)
            elif item.selected_keys is None:
                own = item.specs
            else:
                own = [s for s in item.specs if s.key in item.selected_keys]
            for spec in own:
                i = index.setdefault(spec.key, len(keys))
                if i == len(keys):
                    keys.append(spec.key)
                    specs.append(spec)
                    owners.append(item)
                elif owners[i] is item:
                    specs[i] = spec
                else:
                    self.errors.append(_duplicate_error(spec, owners[i], item))

    def _resolve_params(self) -> tuple[list[Mapping[str, AssetKey]], list[tuple[str, ...]]]:
        """Inputs and resources by number; drops from the specs the deps that name no asset."""
        inputs: list[Mapping[str, AssetKey]] = [_NO_INPUTS] * len(self.owners)
        resources: list[tuple[str, ...]] = [()] * len(self.owners)
        resolved_defs: dict[int, tuple[Mapping[str, AssetKey], tuple[str, ...], set[AssetKey]]] = {}
        for i, item in enumerate(self.owners):
            if not isinstance(item, AssetsDefinition):
                continue
            if len(item.specs) == 1:
                params, res, dropped = self._resolve_def(item)
            else:  # resolved once for all its assets
                resolved = resolved_defs.get(id(item))
                if resolved is None:
                    resolved = resolved_defs[id(item)] = self._resolve_def(item)
                params, res, dropped = resolved
            key = self.keys[i]
            if dropped:
                spec = self.specs[i]
                self.specs[i] = spec.replace_attributes(
                    deps=[d for d in spec.deps if d.asset_key not in dropped]
                )
            # Shared, not copied, unless an input is the asset itself (of a multi_asset).
            if key in params.values():
                params = {p: k for p, k in params.items() if k != key}
            inputs[i] = params
            resources[i] = res
        return inputs, resources

    def _resolve_def(
        self, item: AssetsDefinition
    ) -> tuple[Mapping[str, AssetKey], tuple[str, ...], set[AssetKey]]:
        if not item.params.open:
            return item.params.inputs, item.params.resources, set()
        params = dict(item.params.inputs)
        res = list(item.params.resources)
        dropped: set[AssetKey] = set()
        for name in item.params.open:
            key = AssetKey((name,))
            if key in self.index:
                params[name] = key
            elif name in self.resource_keys:
                res.append(name)
                dropped.add(key)
            else:
                dropped.add(key)
                self.errors.append(self._unresolved_error(item, name))
        return params, tuple(res), dropped

    def _unresolved_error(self, item: AssetsDefinition, name: str) -> UnresolvedInputError:
        names = [k.to_user_string() for k in self.keys] + sorted(self.resource_keys)
        label = ", ".join(sorted(k.to_user_string() for k in item.keys))
        return UnresolvedInputError(
            f"Parameter '{name}' of asset '{label}' (defined at {item.source}) names neither "
            f"an asset nor a resource.{did_you_mean(name, names)} Fix: define an asset named "
            f"'{name}', map the parameter to another asset with "
            f"ins={{'{name}': AssetIn(key=...)}}, or provide a resource with "
            f"Definitions(resources={{'{name}': ...}}).",
            key=sorted(item.keys)[0],
            file=item.source,
        )

    def _check_virtual_inputs(self, inputs: list[Mapping[str, AssetKey]]) -> None:
        virtual = {
            k: owner
            for k, owner in zip(self.keys, self.owners, strict=True)
            if isinstance(owner, AssetSpec) and owner.is_virtual
        }
        if not virtual:
            return  # no spec-only virtual asset, so no input can read one
        for i, params in enumerate(inputs):
            if not params:
                continue
            bad = [(param, virtual[p]) for param, p in params.items() if p in virtual]
            for param, owner in sorted(bad, key=itemgetter(0)):
                self.errors.append(_virtual_input_error(self.keys[i], self.owners[i], param, owner))

    def _link(self) -> tuple[list[frozenset[AssetKey]], list[list[int] | None]]:
        """The parents (keys) and children (numbers, None for none) of every asset, by number.

        Numbers an external asset, with a spec, for each dependency nothing defines.
        """
        index, keys, specs = self.index, self.keys, self.specs
        parents: list[frozenset[AssetKey]] = []
        children: list[list[int] | None] = [None] * len(keys)
        for i in range(len(keys)):  # the externals appended meanwhile have no deps
            spec = specs[i]
            if not spec.deps:
                parents.append(_NO_KEYS)
                continue
            deps = [d.asset_key for d in spec.deps]
            parents.append(frozenset(deps))
            for dep in deps:
                j = index.setdefault(dep, len(keys))
                if j == len(keys):
                    # A dependency nothing defines: an external asset.
                    keys.append(dep)
                    specs.append(AssetSpec(dep, source=spec.source))
                    children.append(None)
                kids = children[j]
                if kids is None:
                    children[j] = [i]
                else:
                    kids.append(i)
        parents.extend([_NO_KEYS] * (len(keys) - len(parents)))
        return parents, children


def _duplicate_error(spec: AssetSpec, prior: Defined, item: Defined) -> DuplicateKeyError:
    first, second = _where_defined(prior), _where_defined(item)
    name = spec.key.to_user_string()
    if first == second and first != "<unknown>":  # one line made both: a factory
        return DuplicateKeyError(
            f"Asset '{name}' is defined twice, both times by the code at {first} (a factory "
            "called twice with the same name?). Fix: give each call its own name, or a "
            "key_prefix.",
            key=spec.key,
            file=second,
        )
    return DuplicateKeyError(
        f"Asset '{name}' is defined twice: at {first} and at {second}. "
        f"Fix: remove one of them, or give one another key (name= or key_prefix=).",
        key=spec.key,
        file=second,
    )


def _where_defined(item: Defined) -> str:
    return item.source or "<unknown>"


def _virtual_input_error(
    key: AssetKey, owner: Defined, param: str, virtual: AssetSpec
) -> VirtualInputError:
    name, parent = key.to_user_string(), virtual.key.to_user_string()
    return VirtualInputError(
        f"Asset '{name}' (defined at {_where_defined(owner)}) reads '{parent}' as data "
        f"(parameter '{param}'), but '{parent}' is a virtual AssetSpec with no function "
        f"(defined at {virtual.source}), so it has no value to pass. Fix: define '{parent}' "
        f"with @asset(is_virtual=True) and a function that computes its value, or depend on "
        f"it without data: remove the parameter and pass deps=['{parent}'].",
        key=key,
        file=_where_defined(owner),
    )


def _toposort(
    keys: Sequence[AssetKey],
    parents: Sequence[frozenset[AssetKey]],
    children: Sequence[list[int] | None],
) -> list[int]:
    """Kahn's algorithm taking the smallest ready key each time, so the order is repeatable.

    Works on asset numbers; keys are ranked by path once, up front, so the heap holds
    ints, which compare in C, where keys would call AssetKey.__lt__ at every step.
    """
    paths = list(map(_path, keys))
    by_path = sorted(range(len(keys)), key=paths.__getitem__)
    rank = [0] * len(keys)
    for r, i in enumerate(by_path):
        rank[i] = r
    remaining = [len(p) for p in parents]
    ready = [r for r, i in enumerate(by_path) if not remaining[i]]  # ascending: a heap
    order: list[int] = []
    while ready:
        i = by_path[heapq.heappop(ready)]
        order.append(i)
        for child in children[i] or ():
            remaining[child] -= 1
            if not remaining[child]:
                heapq.heappush(ready, rank[child])
    if len(order) != len(keys):
        left = {keys[i] for i, n in enumerate(remaining) if n > 0}
        raise _cycle_error(_find_cycle(left, dict(zip(keys, parents, strict=True))))
    return order


def _find_cycle(
    left: set[AssetKey], parents: Mapping[AssetKey, frozenset[AssetKey]]
) -> list[AssetKey]:
    # Every node left over by Kahn's algorithm has a parent also left over, so
    # walking parents from any of them must revisit a node: that closes a cycle.
    start = min(left)
    path: list[AssetKey] = []
    index: dict[AssetKey, int] = {}
    node = start
    while node not in index:
        index[node] = len(path)
        path.append(node)
        node = min(p for p in parents[node] if p in left)
    cycle = path[index[node] :]
    cycle.reverse()  # walked child -> parent; print parent -> child
    first = cycle.index(min(cycle))  # start at the smallest key, as users scan for it
    return cycle[first:] + cycle[:first]


def _cycle_error(cycle: list[AssetKey]) -> CycleError:
    shown = " -> ".join(k.to_user_string() for k in [*cycle, cycle[0]])
    return CycleError(
        f"The asset dependencies form a cycle: {shown}. An asset cannot depend on itself "
        "through its descendants. Fix: remove one of these dependencies (a parameter, an "
        "ins= entry or a deps= entry).",
        cycle=cycle,
    )
