"""AssetSelection: which assets an operation targets, and the string syntax users type.

Selections are small immutable trees resolved against an `AssetGraph` to a set of
keys. The string syntax (`key:a+`, `+d`, `2+x`, `group:g`, `kind:view`,
`is:virtual`, `a and not b`, `"a d"`) is parsed in `sheer.selection_syntax` into the
same trees.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from sheer.errors import SelectionError
from sheer.keys import (
    AssetKey,
    CoercibleToAssetKeyPrefix,
    KeyLike,
    coerce_key,
    coerce_keys,
    coerce_prefix,
)

if TYPE_CHECKING:
    from dataclasses import Field

    from sheer.definitions.assets import AssetsDefinition
    from sheer.definitions.definitions import Definitions
    from sheer.definitions.specs import AssetSpec
    from sheer.graph import AssetGraph

    # What a selection resolves against.
    SelectionTarget: TypeAlias = AssetGraph | Definitions | Sequence[AssetsDefinition | AssetSpec]


def _graph_of(target: SelectionTarget) -> AssetGraph:
    from sheer.definitions.definitions import Definitions
    from sheer.graph import AssetGraph

    if isinstance(target, AssetGraph):
        return target
    if isinstance(target, Definitions):
        return target.resolve_asset_graph()
    if isinstance(target, (list, tuple)):
        return Definitions(assets=target).resolve_asset_graph()
    raise SelectionError(
        f"Cannot resolve a selection against {type(target).__name__}. "
        "Fix: pass an AssetGraph, a Definitions or a list of asset definitions."
    )


class AssetSelection:
    """A set of assets, resolved against a graph; combine with `|`, `&` and `-`.

    Example:
        >>> from sheer import AssetSpec, Definitions
        >>> defs = Definitions(assets=[AssetSpec("a"), AssetSpec("b", deps=["a"])])
        >>> sel = AssetSelection.keys("b").upstream() - AssetSelection.keys("a")
        >>> sorted(k.to_user_string() for k in sel.resolve(defs))
        ['b']
    """

    __slots__ = ()
    if TYPE_CHECKING:
        # Every kind of selection is a frozen dataclass, so `dataclasses.fields` and
        # `dataclasses.replace` apply to any AssetSelection.
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    # Builders ---------------------------------------------------------------
    @staticmethod
    def all(include_external_assets: bool = False) -> AssetSelection:
        """Every asset; external ones only with `include_external_assets=True` (as in Dagster)."""
        return AllSelection(include_external=include_external_assets)

    @staticmethod
    def assets(*assets_defs: KeyLike) -> AssetSelection:
        """The assets of the given definitions, specs or keys."""
        return KeysSelection(selected_keys=tuple(coerce_keys(assets_defs)))

    @staticmethod
    def keys(*keys: KeyLike) -> AssetSelection:
        """The assets with these keys (strings like "s/t", lists or AssetKeys)."""
        return KeysSelection(selected_keys=tuple(coerce_key(k) for k in keys))

    @staticmethod
    def groups(*group_strs: str, include_sources: bool = False) -> AssetSelection:
        """The assets in these groups (external ones too when `include_sources=True`)."""
        return GroupsSelection(selected_groups=tuple(group_strs), include_sources=include_sources)

    @staticmethod
    def key_prefixes(
        *prefixes: CoercibleToAssetKeyPrefix, include_sources: bool = False
    ) -> AssetSelection:
        """The assets under these key prefixes (external ones too when `include_sources=True`)."""
        return KeyPrefixesSelection(
            prefixes=tuple(coerce_prefix(p) for p in prefixes), include_sources=include_sources
        )

    @staticmethod
    def key_substring(substring: str) -> AssetSelection:
        return KeyWildcardSelection(pattern=f"*{substring}*")

    @staticmethod
    def kind(kind: str) -> AssetSelection:
        return KindSelection(kind_str=kind)

    @staticmethod
    def tag(key: str, value: str | None = None) -> AssetSelection:
        return TagSelection(key=key, value=value)

    @staticmethod
    def owner(owner: str) -> AssetSelection:
        return OwnerSelection(selected_owner=owner)

    @staticmethod
    def virtual() -> AssetSelection:
        """Every virtual asset (`is:virtual`)."""
        return KindOfNodeSelection(what="virtual")

    @staticmethod
    def from_string(text: str) -> AssetSelection:
        """Parse the selection syntax users type, e.g. `"+daily_revenue and not is:virtual"`."""
        from sheer.selection_syntax import parse_selection

        return parse_selection(text)

    @staticmethod
    def from_coercible(value: CoercibleToAssetSelection) -> AssetSelection:
        """A selection from a selection, a selection string, or keys/definitions."""
        if isinstance(value, AssetSelection):
            return value
        if isinstance(value, str):
            return AssetSelection.from_string(value)
        if isinstance(value, AssetKey):
            return KeysSelection(selected_keys=(value,))
        return KeysSelection(selected_keys=tuple(coerce_keys(value)))

    # Modifiers --------------------------------------------------------------
    def upstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        return UpstreamSelection(child=self, depth=depth, include_self=include_self)

    def downstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        return DownstreamSelection(child=self, depth=depth, include_self=include_self)

    def roots(self) -> AssetSelection:
        return RootsSelection(child=self)

    def sinks(self) -> AssetSelection:
        return SinksSelection(child=self)

    def materializable(self) -> AssetSelection:
        return self & KindOfNodeSelection(what="materializable")

    def __or__(self, other: AssetSelection) -> AssetSelection:
        return OrSelection(left=self, right=other)

    def __and__(self, other: AssetSelection) -> AssetSelection:
        return AndSelection(left=self, right=other)

    def __sub__(self, other: AssetSelection) -> AssetSelection:
        return SubtractSelection(left=self, right=other)

    def __invert__(self) -> AssetSelection:
        return SubtractSelection(left=AllSelection(include_external=True), right=self)

    # Resolution -------------------------------------------------------------
    def resolve(self, target: SelectionTarget) -> frozenset[AssetKey]:
        """The keys this selection names in `target` (a graph, Definitions or asset list)."""
        return frozenset(self._resolve(_graph_of(target)))

    def _resolve(self, graph: AssetGraph) -> set[AssetKey]:
        """The keys selected in `graph`: leaves override it, combinations share this walk.

        An explicit post-order stack rather than recursion, so a chain of 50,000 `|`
        (a long list of keys) or thousands of nested `not`s resolve without RecursionError.
        """
        results: list[set[AssetKey]] = []
        stack: list[tuple[AssetSelection, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            parts = node._parts()
            if not parts:
                results.append(node._resolve(graph))
            elif expanded:
                args = results[len(results) - len(parts) :]
                del results[len(results) - len(parts) :]
                results.append(node._combine(graph, args))
            else:
                stack.append((node, True))
                stack.extend((part, False) for part in reversed(parts))
        return results[0]

    def _parts(self) -> tuple[AssetSelection, ...]:
        """The selections this one combines (none for a leaf)."""
        return ()

    def _combine(self, graph: AssetGraph, results: list[set[AssetKey]]) -> set[AssetKey]:
        """This selection's keys from its parts' keys (sets it may change in place)."""
        raise NotImplementedError

    def _pieces(self) -> list[str | AssetSelection]:
        """The text of `str()`: literal pieces and the parts rendered in their place."""
        return [str(self)]


class _Combination(AssetSelection):
    """A selection made of other selections: str, repr, == and hash walk it with a stack.

    The dataclass-generated methods recurse once per level; these do not, so a deep or
    long chain (a 50,000-key `|`) prints, compares and hashes.
    """

    __slots__ = ()

    def __str__(self) -> str:
        out: list[str] = []
        stack: list[str | AssetSelection] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, _Combination):
                stack.extend(reversed(item._pieces()))
            else:
                out.append(str(item))
        return "".join(out)

    def __repr__(self) -> str:
        out: list[str] = []
        stack: list[str | AssetSelection] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, _Combination):
                pieces: list[str | AssetSelection] = [f"{type(item).__name__}("]
                for i, f in enumerate(dataclasses.fields(item)):
                    value = getattr(item, f.name)
                    pieces.append(f"{', ' if i else ''}{f.name}=")
                    pieces.append(value if isinstance(value, AssetSelection) else repr(value))
                pieces.append(")")
                stack.extend(reversed(pieces))
            else:
                out.append(repr(item))
        return "".join(out)

    def __eq__(self, other: object) -> bool:
        pairs: list[tuple[object, object]] = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if not isinstance(a, _Combination):
                if a != b:
                    return False
                continue
            if type(a) is not type(b):
                return False
            for f in dataclasses.fields(a):
                pairs.append((getattr(a, f.name), getattr(b, f.name)))
        return True

    def __hash__(self) -> int:
        # The pre-order of (kind, plain fields) identifies the tree: each kind has a fixed
        # number of parts.
        flat: list[object] = []
        stack: list[object] = [self]
        while stack:
            item = stack.pop()
            if not isinstance(item, _Combination):
                flat.append(item)
                continue
            values = [getattr(item, f.name) for f in dataclasses.fields(item)]
            flat.append(type(item).__name__)
            flat.extend(v for v in values if not isinstance(v, AssetSelection))
            stack.extend(reversed([v for v in values if isinstance(v, AssetSelection)]))
        return hash(tuple(flat))


# What users may pass where a selection is expected (Dagster's name): a selection, the
# selection syntax, or keys, specs and definitions.
CoercibleToAssetSelection: TypeAlias = AssetSelection | str | AssetKey | Iterable[KeyLike]


def _quote(text: str) -> str:
    return text if text.replace("_", "").replace("/", "").isalnum() else f'"{text}"'


def _any_of(terms: list[str]) -> str:
    # Parenthesized when several, so `not`, `and` and traversals apply to all of them.
    return terms[0] if len(terms) == 1 else f"({' or '.join(terms)})"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AllSelection(AssetSelection):
    include_external: bool = True

    def _resolve(self, graph: AssetGraph) -> set[AssetKey]:
        if self.include_external:
            return set(graph.get_all_asset_keys())
        return set(graph.get_all_asset_keys() - graph.external_asset_keys)

    def __str__(self) -> str:
        return "*" if self.include_external else "(* and not is:external)"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeysSelection(AssetSelection):
    selected_keys: tuple[AssetKey, ...]

    def _resolve(self, graph: AssetGraph) -> set[AssetKey]:
        for key in self.selected_keys:
            if key not in graph:
                raise graph.unknown_key_error(key)
        return set(self.selected_keys)

    def __str__(self) -> str:
        if not self.selected_keys:
            return "none"
        return _any_of([f"key:{_quote(k.to_user_string())}" for k in self.selected_keys])


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeyWildcardSelection(AssetSelection):
    pattern: str

    def _resolve(self, graph: AssetGraph) -> set[AssetKey]:
        pattern = self.pattern
        return {
            k
            for k in graph.get_all_asset_keys()
            if fnmatch.fnmatchcase(k.to_user_string(), pattern)
        }

    def __str__(self) -> str:
        return f'key:"{self.pattern}"'


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GroupsSelection(AssetSelection):
    selected_groups: tuple[str, ...]
    include_sources: bool = False

    def _resolve(self, graph: AssetGraph) -> set[AssetKey]:
        wanted, sources = set(self.selected_groups), self.include_sources
        return {n.key for n in graph if n.group_name in wanted and (sources or not n.is_external)}

    def __str__(self) -> str:
        return _any_of([f"group:{_quote(g)}" for g in self.selected_groups])


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeyPrefixesSelection(AssetSelection):
    prefixes: tuple[tuple[str, ...], ...]
    include_sources: bool = False

    def _resolve(self, graph: AssetGraph) -> set[AssetKey]:
        prefixes, sources = self.prefixes, self.include_sources
        return {
            n.key
            for n in graph
            if (sources or not n.is_external) and any(n.key.has_prefix(p) for p in prefixes)
        }

    def __str__(self) -> str:
        return _any_of([f'key:"{"/".join(p)}/*"' for p in self.prefixes])


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KindSelection(AssetSelection):
    kind_str: str

    def _resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return {n.key for n in graph if self.kind_str in n.kinds}

    def __str__(self) -> str:
        return f"kind:{_quote(self.kind_str)}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TagSelection(AssetSelection):
    key: str
    value: str | None = None

    def _resolve(self, graph: AssetGraph) -> set[AssetKey]:
        k, v = self.key, self.value
        return {n.key for n in graph if k in n.tags and (v is None or n.tags[k] == v)}

    def __str__(self) -> str:
        return f"tag:{_quote(self.key)}" + (
            f"={_quote(self.value)}" if self.value is not None else ""
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OwnerSelection(AssetSelection):
    selected_owner: str

    def _resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return {n.key for n in graph if self.selected_owner in n.owners}

    def __str__(self) -> str:
        return f"owner:{_quote(self.selected_owner)}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KindOfNodeSelection(AssetSelection):
    """`is:virtual`, `is:external` or `is:materializable`."""

    what: str

    def _resolve(self, graph: AssetGraph) -> set[AssetKey]:
        if self.what == "virtual":
            return set(graph.virtual_asset_keys)
        if self.what == "external":
            return set(graph.external_asset_keys)
        return set(graph.materializable_asset_keys)

    def __str__(self) -> str:
        return f"is:{self.what}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class UpstreamSelection(_Combination):
    child: AssetSelection
    depth: int | None = None
    include_self: bool = True

    def _parts(self) -> tuple[AssetSelection, ...]:
        return (self.child,)

    def _combine(self, graph: AssetGraph, results: list[set[AssetKey]]) -> set[AssetKey]:
        (start,) = results
        reached = graph.upstream_keys(start, self.depth)
        return reached if self.include_self else reached - start

    def _pieces(self) -> list[str | AssetSelection]:
        return [f"{'' if self.depth is None else self.depth}+(", self.child, ")"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class DownstreamSelection(_Combination):
    child: AssetSelection
    depth: int | None = None
    include_self: bool = True

    def _parts(self) -> tuple[AssetSelection, ...]:
        return (self.child,)

    def _combine(self, graph: AssetGraph, results: list[set[AssetKey]]) -> set[AssetKey]:
        (start,) = results
        reached = graph.downstream_keys(start, self.depth)
        return reached if self.include_self else reached - start

    def _pieces(self) -> list[str | AssetSelection]:
        return ["(", self.child, f")+{'' if self.depth is None else self.depth}"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class RootsSelection(_Combination):
    """The members of a selection with no parent inside it."""

    child: AssetSelection

    def _parts(self) -> tuple[AssetSelection, ...]:
        return (self.child,)

    def _combine(self, graph: AssetGraph, results: list[set[AssetKey]]) -> set[AssetKey]:
        (keys,) = results
        return {k for k in keys if not (graph.get(k).parent_keys & keys)}

    def _pieces(self) -> list[str | AssetSelection]:
        return ["roots(", self.child, ")"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class SinksSelection(_Combination):
    """The members of a selection with no child inside it."""

    child: AssetSelection

    def _parts(self) -> tuple[AssetSelection, ...]:
        return (self.child,)

    def _combine(self, graph: AssetGraph, results: list[set[AssetKey]]) -> set[AssetKey]:
        (keys,) = results
        return {k for k in keys if not (graph.get(k).child_keys & keys)}

    def _pieces(self) -> list[str | AssetSelection]:
        return ["sinks(", self.child, ")"]


def _operands(selection: OrSelection | AndSelection) -> tuple[AssetSelection, ...]:
    # A chain of one operator (`a | b | c` is ((a | b) | c)) is read as one list, so a
    # 50,000-key union is one step of resolution and prints without 50,000 parentheses.
    kind, found = type(selection), []
    stack: list[AssetSelection] = [selection]
    while stack:
        node = stack.pop()
        if type(node) is kind:
            stack.append(node.right)
            stack.append(node.left)
        else:
            found.append(node)
    return tuple(found)


def _joined(word: str, parts: tuple[AssetSelection, ...]) -> list[str | AssetSelection]:
    pieces: list[str | AssetSelection] = ["("]
    for i, part in enumerate(parts):
        pieces.extend([word, part] if i else [part])
    pieces.append(")")
    return pieces


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class OrSelection(_Combination):
    left: AssetSelection
    right: AssetSelection

    def _parts(self) -> tuple[AssetSelection, ...]:
        return _operands(self)

    def _combine(self, graph: AssetGraph, results: list[set[AssetKey]]) -> set[AssetKey]:
        largest = max(results, key=len)
        for keys in results:
            if keys is not largest:
                largest |= keys
        return largest

    def _pieces(self) -> list[str | AssetSelection]:
        return _joined(" or ", _operands(self))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class AndSelection(_Combination):
    left: AssetSelection
    right: AssetSelection

    def _parts(self) -> tuple[AssetSelection, ...]:
        return _operands(self)

    def _combine(self, graph: AssetGraph, results: list[set[AssetKey]]) -> set[AssetKey]:
        smallest = min(results, key=len)
        for keys in results:
            if keys is not smallest:
                smallest &= keys
        return smallest

    def _pieces(self) -> list[str | AssetSelection]:
        return _joined(" and ", _operands(self))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class SubtractSelection(_Combination):
    left: AssetSelection
    right: AssetSelection

    def _parts(self) -> tuple[AssetSelection, ...]:
        return (self.left, self.right)

    def _combine(self, graph: AssetGraph, results: list[set[AssetKey]]) -> set[AssetKey]:
        left, right = results
        left -= right
        return left

    def _pieces(self) -> list[str | AssetSelection]:
        return ["(", self.left, " and not ", self.right, ")"]


def resolve_selection(
    selection: CoercibleToAssetSelection, target: SelectionTarget
) -> frozenset[AssetKey]:
    """Resolve a selection, a selection string or a collection of keys/definitions."""
    return AssetSelection.from_coercible(selection).resolve(target)
