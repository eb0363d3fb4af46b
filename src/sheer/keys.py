"""Asset keys: the names of assets, and coercion of what users type into them.

An `AssetKey` is a path of one or more components (`AssetKey(["raw", "orders"])`),
written by users as the string `"raw/orders"`. This module knows nothing about
definitions or graphs; everything else imports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence, Set
from typing import Any, NamedTuple, Protocol

from sheer.errors import InvalidKeyError

_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
KEY_DELIMITER = "/"

# Interned keys by path, and keys by the strings coerced to them. Bounded, so a
# process that invents keys without end stops caching rather than growing.
_INTERNED: dict[tuple[str, ...], AssetKey] = {}
_INTERN_LIMIT = 1_000_000


class AssetKey:
    """The unique name of an asset: a path of one or more components.

    Immutable, hashable and ordered by path, so sorted keys give every run the
    same order.

    Example:
        >>> AssetKey(["raw", "orders"]).to_user_string()
        'raw/orders'
        >>> AssetKey("raw/orders") == AssetKey.from_user_string("raw/orders")
        True
    """

    __slots__ = ("_hash", "_parts")

    _parts: tuple[str, ...]
    _hash: int

    def __new__(cls, path: str | Sequence[str]) -> AssetKey:
        if isinstance(path, str):
            parts = tuple(path.split(KEY_DELIMITER))
        elif isinstance(path, (list, tuple)):
            parts = tuple(path)
        else:
            raise InvalidKeyError(
                f"Invalid asset key {path!r}: expected a string or a list of strings, "
                f"got {type(path).__name__}. Fix: pass AssetKey('name') or "
                "AssetKey(['prefix', 'name'])."
            )
        # Keys are interned: equal keys are then one object, so dict and set look-ups
        # (which compare identity first) rarely call __eq__, and a known key is not
        # validated again. Equality never depends on it.
        try:
            key = _INTERNED.get(parts)
        except TypeError:  # an unhashable component, which _validate rejects
            key = None
        if key is None or cls is not AssetKey:
            _validate(parts, path)
            key = cls._from_parts(parts)
        return key

    @classmethod
    def _from_parts(cls, parts: tuple[str, ...]) -> AssetKey:
        # Trusted path for components already validated.
        key = object.__new__(cls)
        object.__setattr__(key, "_parts", parts)
        object.__setattr__(key, "_hash", hash(parts))
        if cls is AssetKey and len(_INTERNED) < _INTERN_LIMIT and _plain(parts):
            # setdefault, as another thread may have interned the same path first.
            key = _INTERNED.setdefault(parts, key)
        return key

    @classmethod
    def from_user_string(cls, user_string: str) -> AssetKey:
        """Parse `"prefix/name"` into `AssetKey(["prefix", "name"])`."""
        return cls(user_string)

    @classmethod
    def from_coercible(cls, arg: KeyLike) -> AssetKey:
        """Coerce a string, list of strings, key, spec or asset definition to a key."""
        return coerce_key(arg)

    @property
    def path(self) -> list[str]:
        """The components of the key, as a new list (Dagster's spelling)."""
        return list(self._parts)

    @property
    def parts(self) -> tuple[str, ...]:
        """The components of the key, as a tuple."""
        return self._parts

    def to_user_string(self) -> str:
        """The key as users write it: components joined by '/'."""
        return KEY_DELIMITER.join(self._parts)

    def to_string(self) -> str:
        """A stable string form, suitable for storage."""
        return self.to_user_string()

    def to_python_identifier(self, suffix: str | None = None) -> str:
        """The key as a Python identifier, components joined by '__'."""
        ident = "__".join(self._parts).replace("-", "_").replace(".", "_")
        return f"{ident}_{suffix}" if suffix else ident

    def with_prefix(self, prefix: str | Sequence[str]) -> AssetKey:
        """A new key with `prefix` prepended."""
        head = [prefix] if isinstance(prefix, str) else list(prefix)
        return AssetKey([*head, *self._parts])

    def has_prefix(self, prefix: Sequence[str]) -> bool:
        return self._parts[: len(prefix)] == tuple(prefix)

    @property
    def name(self) -> str:
        """The last component of the key."""
        return self._parts[-1]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("AssetKey is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("AssetKey is immutable")

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, AssetKey):
            return NotImplemented
        return self._hash == other._hash and self._parts == other._parts

    # Comparing with anything but a key returns NotImplemented, so Python raises
    # TypeError as it does for other unorderable types.
    def __lt__(self, other: object) -> bool:
        if not isinstance(other, AssetKey):
            return NotImplemented
        return self._parts < other._parts

    def __le__(self, other: object) -> bool:
        if not isinstance(other, AssetKey):
            return NotImplemented
        return self._parts <= other._parts

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, AssetKey):
            return NotImplemented
        return self._parts > other._parts

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, AssetKey):
            return NotImplemented
        return self._parts >= other._parts

    def __repr__(self) -> str:
        return f"AssetKey({list(self._parts)!r})"

    def __str__(self) -> str:
        return self.to_user_string()

    def __reduce__(self) -> tuple[Any, ...]:
        return (AssetKey, (list(self._parts),))


def is_interned(key: AssetKey) -> bool:
    """True when `key` is the interned key of its path: then any key equal to it is it.

    Keys of plain strings are interned (until the bound), keys of subclasses and of str
    subclasses are not.
    """
    return _INTERNED.get(key._parts) is key


def _plain(parts: tuple[str, ...]) -> bool:
    # Only keys of plain strings are interned, so the key a look-up returns for a str
    # subclass (an enum member, say) still reads as plain strings.
    return all(type(part) is str for part in parts)


def _validate(parts: tuple[str, ...], original: object) -> None:
    if not parts:
        raise InvalidKeyError(
            f"Invalid asset key {original!r}: a key needs at least one component. "
            "Fix: pass a name such as AssetKey('orders')."
        )
    for part in parts:
        if not isinstance(part, str) or not _COMPONENT.fullmatch(part):
            raise InvalidKeyError(
                f"Invalid asset key {original!r}: component {part!r} must be a non-empty "
                "string of letters, digits, '_', '-' or '.', not starting with '-' or '.'. "
                "Fix: rename it, e.g. 'daily_revenue', or split a path into a list: "
                "AssetKey(['schema', 'table']).",
                key=str(original),
            )


class AssetKeyPartitionKey(NamedTuple):
    """An entity: an asset key with an optional partition key (None for an unpartitioned
    asset), as Dagster's `AssetKeyPartitionKey`.

    Example:
        >>> AssetKeyPartitionKey(AssetKey("a")).partition_key is None
        True
    """

    asset_key: AssetKey
    partition_key: str | None = None

    def to_user_string(self) -> str:
        """`a` or, for a partition, `a[2026-01-02]`."""
        name = self.asset_key.to_user_string()
        return name if self.partition_key is None else f"{name}[{self.partition_key}]"


# Anything users may pass where a key is expected (Dagster's name).
CoercibleToAssetKey = AssetKey | str | Sequence[str]
CoercibleToAssetKeyPrefix = str | Sequence[str]


class HasAssetKey(Protocol):
    """Names one asset, as an `AssetSpec` does."""

    @property
    def key(self) -> AssetKey: ...


class HasAssetKeys(Protocol):
    """Names one asset or several, as an asset definition does."""

    @property
    def keys(self) -> Set[AssetKey]: ...


# What `coerce_key` takes: a key as users write it, or a spec or definition naming one.
KeyLike = CoercibleToAssetKey | HasAssetKey | HasAssetKeys


_FROM_STRING: dict[str, AssetKey] = {}


def coerce_key(arg: KeyLike) -> AssetKey:
    """Coerce what users pass as a key: a string ('s/t'), a list, a key, a spec or a definition."""
    if isinstance(arg, AssetKey):
        return arg
    if isinstance(arg, str):
        # The same names recur across deps, ins and selections: build each key once.
        key = _FROM_STRING.get(arg)
        if key is None:
            key = AssetKey(arg)
            if len(_FROM_STRING) < _INTERN_LIMIT:
                _FROM_STRING[arg] = key
        return key
    if isinstance(arg, (list, tuple)):
        return AssetKey(arg)
    # `.keys` before `.key`: a definition of several assets raises on `.key`.
    keys = getattr(arg, "keys", None)
    if keys is not None and not callable(keys):
        # Definitions and specs keep their keys as AssetKeys.
        defined: list[AssetKey] = list(keys)
        if len(defined) == 1:
            return defined[0]
        raise InvalidKeyError(
            f"{arg!r} defines {len(defined)} assets, so it does not name one key. "
            "Fix: pass one of its keys, e.g. its .keys[0], or the spec of the asset meant."
        )
    key = getattr(arg, "key", None)
    if isinstance(key, AssetKey):
        return key
    raise InvalidKeyError(
        f"Cannot use {arg!r} ({type(arg).__name__}) as an asset key. "
        "Fix: pass a string such as 'orders' or 'raw/orders', a list of strings, "
        "an AssetKey, an AssetSpec or an asset definition."
    )


def coerce_keys(args: str | AssetKey | Iterable[KeyLike] | None) -> list[AssetKey]:
    """Coerce a collection of key-like things; definitions with several keys expand to all."""
    if args is None:
        return []
    if isinstance(args, (str, AssetKey)):
        return [coerce_key(args)]
    out: list[AssetKey] = []
    for arg in args:
        keys = getattr(arg, "keys", None)
        if (
            not isinstance(arg, (str, list, tuple, AssetKey))
            and keys is not None
            and not callable(keys)
        ):
            out.extend(sorted(keys))
        else:
            out.append(coerce_key(arg))
    return out


def coerce_prefix(prefix: CoercibleToAssetKeyPrefix | None) -> tuple[str, ...]:
    if prefix is None:
        return ()
    if isinstance(prefix, str):
        return tuple(prefix.split(KEY_DELIMITER))
    return tuple(prefix)
