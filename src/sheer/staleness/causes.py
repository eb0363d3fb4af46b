"""Staleness: statuses and causes, in Dagster's shape, and the helpers every pass uses."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from sheer.keys import AssetKey, AssetKeyPartitionKey


class StaleStatus(Enum):
    FRESH = "FRESH"
    STALE = "STALE"
    MISSING = "MISSING"


class StaleCauseCategory(Enum):
    CODE = "CODE"
    DATA = "DATA"
    DEPENDENCIES = "DEPENDENCIES"

    def __lt__(self, other: object) -> bool:
        if isinstance(other, StaleCauseCategory):
            return self.value < other.value
        return NotImplemented


def _entity(key: AssetKey | AssetKeyPartitionKey | None) -> AssetKeyPartitionKey | None:
    return AssetKeyPartitionKey(key) if isinstance(key, AssetKey) else key


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class StaleCause:
    """One reason an asset is stale, in Dagster's shape.

    Attributes:
        key: the entity the cause is about: for a direct cause the stale asset, for a
            root cause the root (the changed ancestor, or the asset whose definition
            changed). An `AssetKey` given here is made an entity.
        category: CODE (a definition changed), DATA (an input's version changed) or
            DEPENDENCIES (a dependency was added or removed, or is itself stale).
        reason: a phrase in Dagster's style, e.g. "has a new data version".
        dependency: the upstream entity a direct cause is about, if any.
        children: the causes behind a direct cause (for a stale dependency, its causes).
        via: the virtual assets between the stale asset and what changed, nearest first.
        partition_keys: for a capped cause (more than 10 partitions of one ancestor), every
            partition it stands for; its `partition_key` is then None.

    `str(cause)` is the whole sentence: "A has a new data version (via C, B)".
    Comparing, hashing and `repr` walk the children iteratively: a cause behind a
    100,000-deep chain of stale assets is as usable as any other.
    """

    key: AssetKeyPartitionKey
    category: StaleCauseCategory
    reason: str
    dependency: AssetKeyPartitionKey | None = None
    children: tuple[StaleCause, ...] | None = None
    via: tuple[AssetKey, ...] = ()
    partition_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _entity(self.key))
        object.__setattr__(self, "dependency", _entity(self.dependency))
        children: Any = self.children  # users may pass a list, as to Dagster's
        if children is not None and not isinstance(children, tuple):
            object.__setattr__(self, "children", tuple(children))

    @property
    def asset_key(self) -> AssetKey:
        return self.key.asset_key

    @property
    def partition_key(self) -> str | None:
        return self.key.partition_key

    @property
    def partition_count(self) -> int:
        """How many partitions a capped cause stands for (1 for any other cause)."""
        return len(self.partition_keys) or 1

    @property
    def dependency_asset_key(self) -> AssetKey | None:
        return self.dependency.asset_key if self.dependency is not None else None

    @property
    def dependency_partition_key(self) -> str | None:
        return self.dependency.partition_key if self.dependency is not None else None

    @property
    def sort_key(self) -> str:
        key = self.key.to_user_string()
        return f"{key}/{self.dependency.to_user_string()}" if self.dependency else key

    @property
    def dedupe_key(self) -> tuple[Any, ...]:
        """What makes two causes the same change, whatever path they were seen through."""
        return (self.key, self.category, self.reason, self.dependency)

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.key,
            self.category,
            self.reason,
            self.dependency,
            self.via,
            self.partition_keys,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StaleCause):
            return NotImplemented
        pairs = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if a is b:
                continue
            if a._fields() != b._fields():
                return False
            if a.children is None or b.children is None:
                if a.children is not b.children:
                    return False
                continue
            if len(a.children) != len(b.children):
                return False
            pairs.extend(zip(a.children, b.children, strict=True))
        return True

    def __hash__(self) -> int:
        # Equal causes have equal fields and as many children: enough for a hash.
        return hash((*self._fields(), None if self.children is None else len(self.children)))

    def __repr__(self) -> str:
        out: list[str] = []
        todo: list[StaleCause | str] = [self]
        while todo:
            item = todo.pop()
            if isinstance(item, str):
                out.append(item)
                continue
            out.append(
                f"StaleCause(key={item.key!r}, category={item.category!r}, "
                f"reason={item.reason!r}, dependency={item.dependency!r}, children="
            )
            if item.children is None:
                out.append(f"None, via={item.via!r})")
                continue
            tail: list[StaleCause | str] = ["(", *_interleave(item.children, ", ")]
            tail.append(",), " if len(item.children) == 1 else "), ")
            tail.append(f"via={item.via!r})")
            todo.extend(reversed(tail))
        return "".join(out)

    def __str__(self) -> str:
        if self.partition_keys:
            return capped_sentence(self)
        if self.children is not None and self.dependency is not None:
            if self.category is StaleCauseCategory.DEPENDENCIES:
                return f"{self.dependency.to_user_string()} is stale{_via(self.via)}"
            return "; ".join(str(c) for c in self.children)
        return f"{self.key.to_user_string()} {self.reason}{_via(self.via)}"


def capped_sentence(cause: StaleCause) -> str:
    """'A: 37 partitions have new data versions, first A[2026-01-02] (via C, B)'."""
    first, n = cause.partition_keys[0], len(cause.partition_keys)
    if cause.category is StaleCauseCategory.DEPENDENCIES and cause.dependency is not None:
        name = cause.dependency.asset_key.to_user_string()
        return f"{name}: {n} partitions are stale, first {name}[{first}]{_via(cause.via)}"
    name = cause.key.asset_key.to_user_string()
    what = _PLURAL.get(cause.reason, cause.reason)
    return f"{name}: {n} partitions {what}, first {name}[{first}]{_via(cause.via)}"


_PLURAL = {
    "has a new data version": "have new data versions",
    "has a new code version": "have new code versions",
}


def _interleave(causes: Sequence[StaleCause], sep: str) -> list[StaleCause | str]:
    out: list[StaleCause | str] = []
    for n, cause in enumerate(causes):
        if n:
            out.append(sep)
        out.append(cause)
    return out


def _via(path: Sequence[AssetKey]) -> str:
    return f" (via {', '.join(k.to_user_string() for k in path)})" if path else ""


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a pass runs.

    A pass allocates hundreds of thousands of small objects and creates no cycles, and
    those allocations set off full collections that rescan the whole heap (the
    definitions, the graph): at 20k assets that took longer than the pass itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_FRESH, _STALE, _MISSING = 0, 1, 2
_STATUSES = (StaleStatus.FRESH, StaleStatus.STALE, StaleStatus.MISSING)
_ABSENT: Any = object()
_UPDATED_AFTER_REPORT = "<updated after this report>"

_T = TypeVar("_T")


def _memoized_post_order(
    start: int,
    memo: dict[int, _T],
    depends_on: Callable[[int], list[int]],
    build: Callable[[int], _T],
) -> _T:
    """`memo[start]`, building first (iteratively, parents before children: chains can be
    deeper than the recursion limit) every entry it depends on that `memo` lacks."""
    stack = [start]
    while stack:
        top = stack[-1]
        if top in memo:
            stack.pop()
            continue
        pending = [d for d in depends_on(top) if d not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[top] = build(top)
    return memo[start]


def _dependency_key(cause: StaleCause) -> AssetKey:
    assert cause.dependency is not None
    return cause.dependency.asset_key


def _is_stale_dep(cause: StaleCause) -> bool:
    return cause.category is StaleCauseCategory.DEPENDENCIES and cause.children is not None


def _dedupe(causes: Iterable[StaleCause]) -> tuple[StaleCause, ...]:
    """Causes in order, each change once: one change seen along several virtual paths
    (a diamond) or through several stale parents is one root cause."""
    out: list[StaleCause] = []
    seen: set[tuple[Any, ...]] = set()
    for cause in causes:
        ident = cause.dedupe_key
        if ident not in seen:
            seen.add(ident)
            out.append(cause)
    return tuple(out)
