"""Immutable descriptions of assets and their dependencies: AssetSpec, AssetDep, AssetIn.

Specs carry no behaviour: no function, no storage. Flexible Dagster-style arguments
(strings, lists, other specs) are coerced here, once, at construction.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from sheer.errors import DefinitionError
from sheer.keys import (
    AssetKey,
    CoercibleToAssetKeyPrefix,
    coerce_key,
    coerce_prefix,
    is_interned,
)
from sheer.partitions.base import PartitionsDefinition

DEFAULT_GROUP_NAME = "default"
# Dagster's rule: one or more segments of letters, digits and '_', separated by '/'.
_GROUP_NAME = re.compile(r"[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*")
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def caller_location() -> str | None:
    """'file:line' of the first frame outside the sheer package, for error messages."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return None
    return location(frame.f_code.co_filename, frame.f_lineno)


# 'file:line' strings by (file, line). A project defines its assets from a few lines (a
# loop, a factory), so they share one string each instead of one string per asset: at
# 20k assets, those strings alone made every asset slower to define, by crowding the
# CPU caches. Bounded, like the interned keys.
_LOCATIONS: dict[tuple[str, int], str] = {}
_LOCATIONS_LIMIT = 100_000


def location(filename: str, line: int) -> str:
    """'file:line', the same string object for the same place."""
    place = (filename, line)
    where = _LOCATIONS.get(place)
    if where is None:
        where = f"{filename}:{line}"
        if len(_LOCATIONS) < _LOCATIONS_LIMIT:
            _LOCATIONS[place] = where
    return where


class FrozenDict(dict):  # type: ignore[type-arg]
    """A read-only dict that still pickles (MappingProxyType does not), so definitions
    can travel to worker processes."""

    __slots__ = ()

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("this mapping is read-only; use replace_attributes() to change it")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]
    __ior__ = _readonly  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: kv[0])))


_EMPTY: Mapping[str, Any] = FrozenDict()


def freeze_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not value:
        return _EMPTY
    return FrozenDict(value)


# Shared, because each empty frozenset is a new object the garbage collector tracks,
# and most assets have no kinds and no required resources.
_EMPTY_SET: frozenset[Any] = frozenset()


def freeze_set(values: Iterable[str] | None) -> frozenset[str]:
    if not values:
        return _EMPTY_SET
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class AssetDep:
    """A dependency on another asset that is not passed to the function as data.

    Example:
        >>> AssetDep("raw/orders").asset_key
        AssetKey(['raw', 'orders'])
    """

    asset_key: AssetKey
    partition_mapping: Any = None

    def __init__(self, asset: Any, *, partition_mapping: Any = None) -> None:
        object.__setattr__(self, "asset_key", coerce_key(asset))
        object.__setattr__(self, "partition_mapping", partition_mapping)


def coerce_deps(deps: Iterable[Any] | None) -> tuple[AssetDep, ...]:
    """Coerce `deps=[...]`: keys, strings, specs, definitions (all their keys) or AssetDeps."""
    return _coerce_deps(deps)[0]


def _coerce_deps(
    deps: Iterable[Any] | None,
) -> tuple[tuple[AssetDep, ...], dict[int, AssetDep] | None]:
    """The deps, and them by id(key) when every key is interned (else None)."""
    if not deps:
        return (), None
    if isinstance(deps, (str, AssetKey)):
        deps = [deps]
    elif not isinstance(deps, (list, tuple)):
        deps = list(deps)  # read twice below
    by_id = _interned_deps(deps)
    if by_id is not None:
        return tuple(by_id.values()), by_id
    # By key, so a dep listed twice is kept once, where it first appears.
    out: dict[AssetKey, AssetDep] = {}
    for dep in deps:
        if isinstance(dep, AssetDep):
            out.setdefault(dep.asset_key, dep)
            continue
        keys = None
        if not isinstance(dep, (AssetKey, str, list, tuple, AssetSpec)):
            keys = getattr(dep, "keys", None)
        if keys is None or callable(keys):
            key = coerce_key(dep)  # raises a clear InvalidKeyError if it names no key
            plain = out.setdefault(key, _plain_dep(key))
            if type(dep) is str and _DEPS_BY_KEY_ID.get(id(key)) is plain:
                _DEPS_BY_NAME[dep] = plain
        else:
            for key in sorted(keys):
                out.setdefault(key, _plain_dep(key))
    return tuple(out.values()), None


# A plain dep (no partition mapping) is immutable, so the specs that depend on a key
# share one: a large project then has far fewer objects for the garbage collector.
_PLAIN_DEPS: dict[AssetKey, AssetDep] = {}
_PLAIN_DEPS_LIMIT = 1_000_000
# The plain deps of interned keys by id(key), and by the exact string that names the
# key. Interned keys are equal only when identical, so the deps of the many specs that
# name them are found and deduplicated by id, without hashing a key (a Python-level
# __hash__, and at 20k assets a cache miss). A cached dep keeps its key alive, so the
# id of a key in here is never reused by another object.
_DEPS_BY_KEY_ID: dict[int, AssetDep] = {}
_DEPS_BY_NAME: dict[str, AssetDep] = {}


def _plain_dep(key: AssetKey) -> AssetDep:
    dep = _PLAIN_DEPS.get(key)
    if dep is None:
        dep = AssetDep(key)
        if len(_PLAIN_DEPS) < _PLAIN_DEPS_LIMIT:
            _PLAIN_DEPS[key] = dep
            if is_interned(key):
                _DEPS_BY_KEY_ID[id(key)] = dep
    return dep


def _interned_deps(deps: Sequence[Any]) -> dict[int, AssetDep] | None:
    """The plain deps of `deps` by id(key), first one first, when each is a string or an
    interned key whose dep is cached; else None (the general path caches them)."""
    out: dict[int, AssetDep] = {}
    for dep in deps:
        kind = type(dep)
        if kind is str:
            plain = _DEPS_BY_NAME.get(dep)
        elif kind is AssetKey:
            plain = _DEPS_BY_KEY_ID.get(id(dep))
        else:
            return None
        if plain is None:
            return None
        out.setdefault(id(plain.asset_key), plain)
    return out


@dataclass(frozen=True, slots=True)
class AssetIn:
    """Maps a function parameter to an upstream asset other than the parameter's name.

    Example:
        >>> AssetIn(key="raw/orders").key
        AssetKey(['raw', 'orders'])
    """

    key: AssetKey | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    key_prefix: tuple[str, ...] | None = None
    input_manager_key: str | None = None
    dagster_type: Any = None
    partition_mapping: Any = None

    def __init__(
        self,
        key: Any = None,
        metadata: Mapping[str, Any] | None = None,
        key_prefix: CoercibleToAssetKeyPrefix | None = None,
        input_manager_key: str | None = None,
        dagster_type: Any = None,
        partition_mapping: Any = None,
        *,
        asset_key: Any = None,
    ) -> None:
        if key is not None and asset_key is not None:
            raise DefinitionError("AssetIn takes key= or asset_key=, not both.")
        key = key if key is not None else asset_key
        if key is not None and key_prefix is not None:
            raise DefinitionError(
                "AssetIn takes key= or key_prefix=, not both: key_prefix is prepended to "
                "the parameter name when no key is given."
            )
        object.__setattr__(self, "key", coerce_key(key) if key is not None else None)
        object.__setattr__(self, "metadata", freeze_mapping(metadata))
        object.__setattr__(
            self, "key_prefix", coerce_prefix(key_prefix) if key_prefix is not None else None
        )
        object.__setattr__(self, "input_manager_key", input_manager_key)
        object.__setattr__(self, "dagster_type", dagster_type)
        object.__setattr__(self, "partition_mapping", partition_mapping)

    def resolve_key(self, param_name: str) -> AssetKey:
        """The upstream key for the parameter `param_name`."""
        if self.key is not None:
            return self.key
        return AssetKey([*(self.key_prefix or ()), param_name])


@dataclass(frozen=True, slots=True, eq=False)
class AssetSpec:
    """Everything about an asset except how to compute it.

    A spec alone in `Definitions` is an external asset (updated by reports and
    observations), or, with `is_virtual=True`, a virtual asset that is a lineage node
    only. Give specs to `@multi_asset` to define assets computed by a function.

    Example:
        >>> spec = AssetSpec("my_virtual_asset", deps=["upstream_asset"], is_virtual=True)
        >>> spec.is_virtual, [d.asset_key.to_user_string() for d in spec.deps]
        (True, ['upstream_asset'])
    """

    key: AssetKey
    deps: tuple[AssetDep, ...]
    description: str | None
    metadata: Mapping[str, Any]
    group_name: str | None
    code_version: str | None
    automation_condition: Any
    owners: tuple[str, ...]
    tags: Mapping[str, str]
    kinds: frozenset[str]
    is_virtual: bool
    skippable: bool
    partitions_def: Any
    source: str | None

    def __init__(
        self,
        key: Any,
        *,
        deps: Iterable[Any] | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        group_name: str | None = None,
        code_version: str | None = None,
        automation_condition: Any = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Iterable[str] | None = None,
        is_virtual: bool = False,
        skippable: bool = False,
        partitions_def: Any = None,
        source: str | None = None,
    ) -> None:
        s = object.__setattr__
        own_key = coerce_key(key)
        own_deps, deps_by_id = _coerce_deps(deps)
        s(self, "key", own_key)
        s(self, "deps", own_deps)
        s(self, "description", description)
        s(self, "metadata", freeze_mapping(metadata))
        s(self, "group_name", group_name)
        s(self, "code_version", code_version)
        s(self, "automation_condition", automation_condition)
        s(self, "owners", tuple(owners or ()))
        s(self, "tags", freeze_mapping(tags))
        s(self, "kinds", freeze_set(kinds))
        s(self, "is_virtual", bool(is_virtual))
        s(self, "skippable", bool(skippable))
        s(self, "partitions_def", partitions_def)
        s(self, "source", source if source is not None else caller_location())
        self._validate(deps_by_id)

    def _validate(self, deps_by_id: dict[int, AssetDep] | None) -> None:
        if _lists_itself(self.key, self.deps, deps_by_id):
            raise DefinitionError(
                f"Asset '{self.key.to_user_string()}' lists itself in deps"
                f"{_where(self.source)}. Fix: remove it from deps=.",
                key=self.key,
                file=self.source,
            )
        if self.group_name == "":
            raise DefinitionError(
                f"Asset '{self.key.to_user_string()}' has an empty group_name"
                f"{_where(self.source)}. Fix: pass group_name=None for the default group, "
                "or a name such as 'marts'.",
                key=self.key,
                file=self.source,
            )
        if self.group_name is not None and not _GROUP_NAME.fullmatch(self.group_name):
            raise DefinitionError(
                f"Asset '{self.key.to_user_string()}' has group_name {self.group_name!r}"
                f"{_where(self.source)}: a group name is one or more parts of letters, digits "
                "and '_', separated by '/'. Fix: rename the group, e.g. 'marts' or "
                "'marketing/emails'.",
                key=self.key,
                file=self.source,
            )

        if self.partitions_def is not None and not isinstance(
            self.partitions_def, PartitionsDefinition
        ):
            raise DefinitionError(
                f"Asset '{self.key.to_user_string()}' has partitions_def="
                f"{_described(self.partitions_def)}{_where(self.source)}, which is not a "
                "partitions definition. Fix: pass one of Sheer's, e.g. "
                "DailyPartitionsDefinition(start_date='2026-01-01') or "
                "StaticPartitionsDefinition(['a', 'b']).",
                key=self.key,
                file=self.source,
            )

    @property
    def dep_keys(self) -> tuple[AssetKey, ...]:
        return tuple(d.asset_key for d in self.deps)

    def _fields(self) -> dict[str, Any]:
        return {
            "deps": self.deps,
            "description": self.description,
            "metadata": self.metadata,
            "group_name": self.group_name,
            "code_version": self.code_version,
            "automation_condition": self.automation_condition,
            "owners": self.owners,
            "tags": self.tags,
            "kinds": self.kinds,
            "is_virtual": self.is_virtual,
            "skippable": self.skippable,
            "partitions_def": self.partitions_def,
            "source": self.source,
        }

    def replace_attributes(self, **kwargs: Any) -> AssetSpec:
        """A copy with the given attributes replaced (`key`, `deps`, `group_name`, ...)."""
        key = kwargs.pop("key", self.key)
        fields = self._fields()
        unknown = set(kwargs) - set(fields)
        if unknown:
            raise TypeError(f"AssetSpec.replace_attributes got unknown {sorted(unknown)}")
        fields.update(kwargs)
        return AssetSpec(key, **fields)

    def merge_attributes(
        self,
        *,
        deps: Iterable[Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> AssetSpec:
        """A copy with the given deps, metadata, owners, tags and kinds added to its own."""
        fields = self._fields()
        fields["deps"] = (*self.deps, *coerce_deps(deps))
        fields["metadata"] = {**self.metadata, **(metadata or {})}
        fields["owners"] = (*self.owners, *(o for o in owners or () if o not in self.owners))
        fields["tags"] = {**self.tags, **(tags or {})}
        fields["kinds"] = self.kinds | frozenset(kinds or ())
        return AssetSpec(self.key, **fields)

    def with_io_manager_key(self, io_manager_key: str) -> AssetSpec:
        return self.merge_attributes(metadata={"sheer/io_manager_key": io_manager_key})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetSpec):
            return NotImplemented
        return self.key == other.key and self._fields() | {"source": None} == other._fields() | {
            "source": None
        }

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        flag = ", is_virtual=True" if self.is_virtual else ""
        return f"AssetSpec({self.key.to_user_string()!r}{flag})"


def _lists_itself(
    key: AssetKey, deps: tuple[AssetDep, ...], deps_by_id: dict[int, AssetDep] | None
) -> bool:
    if deps_by_id is not None:
        # Every dep key is interned: `key` equals one only by being it, unless `key` is
        # not interned itself (a key of a subclass, say).
        if id(key) in deps_by_id:
            return True
        if is_interned(key):
            return False
    return any(dep.asset_key == key for dep in deps)


def _described(value: object) -> str:
    """`value` for a message, saying when it is one of Dagster's objects (an import of
    `dagster` left beside `sheer`)."""
    module = type(value).__module__ or ""
    if module == "dagster" or module.startswith("dagster."):
        return f"{value!r} (Dagster's {type(value).__name__}: import it from sheer instead)"
    return f"{value!r} (a {type(value).__name__})"


def _where(source: str | None) -> str:
    return f" (defined at {source})" if source else ""


# Keys of `AssetOut` arguments Sheer does not implement; giving one is an error, not a no-op.
_UNSUPPORTED_OUT_ARGS = ("backfill_policy", "freshness_policy")


@dataclass(frozen=True, slots=True)
class AssetOut:
    """One output of `@multi_asset(outs={name: AssetOut(...)})`: an asset whose value the
    function returns (or yields as `Output(value, output_name=name)`).

    Example:
        >>> AssetOut(key_prefix="raw").resolve_key("orders")
        AssetKey(['raw', 'orders'])
    """

    key_prefix: tuple[str, ...] | None
    key: AssetKey | None
    dagster_type: Any
    description: str | None
    is_required: bool
    io_manager_key: str | None
    metadata: Mapping[str, Any]
    group_name: str | None
    code_version: str | None
    automation_condition: Any
    owners: tuple[str, ...]
    tags: Mapping[str, str]
    kinds: frozenset[str]
    is_virtual: bool

    def __init__(
        self,
        key_prefix: CoercibleToAssetKeyPrefix | None = None,
        key: Any = None,
        dagster_type: Any = None,
        description: str | None = None,
        is_required: bool = True,
        io_manager_key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        group_name: str | None = None,
        code_version: str | None = None,
        automation_condition: Any = None,
        backfill_policy: Any = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Iterable[str] | None = None,
        freshness_policy: Any = None,
        is_virtual: bool = False,
    ) -> None:
        given = {"backfill_policy": backfill_policy, "freshness_policy": freshness_policy}
        unsupported = [name for name in _UNSUPPORTED_OUT_ARGS if given[name] is not None]
        if unsupported:
            raise DefinitionError(
                f"AssetOut got {', '.join(unsupported)}, which Sheer does not support yet. "
                f"Fix: remove {' and '.join(unsupported)}= from the AssetOut."
            )
        if key is not None and key_prefix is not None:
            raise DefinitionError(
                "AssetOut takes key= or key_prefix=, not both: key_prefix is prepended to the "
                "output name when no key is given. Fix: pass one of them."
            )
        s = object.__setattr__
        s(self, "key_prefix", coerce_prefix(key_prefix) if key_prefix is not None else None)
        s(self, "key", coerce_key(key) if key is not None else None)
        s(self, "dagster_type", dagster_type)
        s(self, "description", description)
        s(self, "is_required", bool(is_required))
        s(self, "io_manager_key", io_manager_key)
        s(self, "metadata", freeze_mapping(metadata))
        s(self, "group_name", group_name)
        s(self, "code_version", code_version)
        s(self, "automation_condition", automation_condition)
        s(self, "owners", tuple(owners or ()))
        s(self, "tags", freeze_mapping(tags))
        s(self, "kinds", freeze_set(kinds))
        s(self, "is_virtual", bool(is_virtual))

    def resolve_key(self, output_name: str) -> AssetKey:
        """The asset key of this output when it is named `output_name`."""
        if self.key is not None:
            return self.key
        return AssetKey([*(self.key_prefix or ()), output_name])

    def to_spec(self, output_name: str, deps: Iterable[Any], source: str | None) -> AssetSpec:
        """The spec of the asset this output produces."""
        metadata = dict(self.metadata)
        if self.io_manager_key is not None:
            metadata["sheer/io_manager_key"] = self.io_manager_key
        return AssetSpec(
            self.resolve_key(output_name),
            deps=deps,
            description=self.description,
            metadata=metadata,
            group_name=self.group_name,
            code_version=self.code_version,
            automation_condition=self.automation_condition,
            owners=self.owners,
            tags=self.tags,
            kinds=self.kinds,
            is_virtual=self.is_virtual,
            skippable=not self.is_required,
            source=source,
        )
