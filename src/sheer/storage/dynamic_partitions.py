"""The keys of dynamic partitions definitions, stored in the instance's database.

`DynamicPartitionsStorage` is what `Instance.add_dynamic_partitions` and its three
siblings call, with the semantics of Dagster's instance: keys are kept in the order they
were first added (the row id), adding a key that is there already does nothing, deleting
one that is not there does nothing, a deleted key added again goes last, and a name never
used has no keys. The arguments are checked here, at the instance's edge, and every
problem is a `DefinitionError` naming the definition and the fix; nothing is written when
one key is bad.

Cost: adding any number of keys is one statement (the keys travel as one parameter, a
JSON array on SQLite, a text[] on PostgreSQL), so 10,000 keys are one round trip.
Concurrent adders of the same keys never fail: a key already there is skipped (ON
CONFLICT DO NOTHING), and on PostgreSQL adders of one definition take turns (a
transaction-level advisory lock on its name, in the same statement), as two adders of
[a, b] and [b, a] would otherwise each wait for the other's row and one be aborted as a
deadlock. `CachingDynamicPartitionsLoader` is the read path of one evaluation: each
definition's keys read once, then every membership answered from memory.

This module stores and returns keys; it knows nothing of assets or partition mappings.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, select

from sheer.errors import DefinitionError, MultipleDefinitionErrors
from sheer.partitions.base import DynamicPartitionsStore
from sheer.partitions.static import find_key_problems
from sheer.storage.schema import dynamic_partitions
from sheer.storage.sql import SqlStorage

T = TypeVar("T")

# What the unique (name, key) index can hold on every backend (PostgreSQL refuses a
# b-tree entry over ~2.7 kB): a key is refused above this many UTF-8 bytes.
MAX_KEY_BYTES = 1024

# One statement adds the new keys in the order given, whatever their number. SQLite
# inserts rows in the SELECT's order; PostgreSQL draws the ids as the sorted rows reach
# the insert, after the lock (the CTE is joined, so it runs before the first row).
_ADD_SQL = {
    "sqlite": (
        "INSERT INTO dynamic_partitions (partitions_def_name, partition, created_at) "
        "SELECT ?, value, ? FROM json_each(?) WHERE true ORDER BY key "
        "ON CONFLICT (partitions_def_name, partition) DO NOTHING"
    ),
    "postgresql": (
        "WITH turn AS (SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))) "
        "INSERT INTO dynamic_partitions (partitions_def_name, partition, created_at) "
        "SELECT %s, k.key, %s FROM unnest(%s::text[]) WITH ORDINALITY AS k(key, n) "
        "CROSS JOIN turn ORDER BY k.n "
        "ON CONFLICT (partitions_def_name, partition) DO NOTHING"
    ),
}
# Which of many keys are stored, in one query whatever their number.
_EXISTING_SQL = {
    "sqlite": (
        "SELECT partition FROM dynamic_partitions WHERE partitions_def_name = ? "
        "AND partition IN (SELECT value FROM json_each(?))"
    ),
    "postgresql": (
        "SELECT partition FROM dynamic_partitions WHERE partitions_def_name = %s "
        "AND partition = ANY(%s::text[])"
    ),
}


class DynamicPartitionsStorage:
    """The keys of every dynamic partitions definition, in the instance's database.

    Example:
        >>> from sheer.storage import SqlStorage
        >>> keys = DynamicPartitionsStorage(SqlStorage("sqlite://"))
        >>> keys.add_dynamic_partitions("fruits", ["pear", "apple"])
        >>> keys.delete_dynamic_partition("fruits", "pear")
        >>> keys.add_dynamic_partitions("fruits", ["pear"])
        >>> keys.get_dynamic_partitions("fruits")
        ['apple', 'pear']
    """

    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage

    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        """Add the keys not there yet, in the order given (a repeat counts once); the
        others are left where they are. One statement, whatever the number of keys."""
        name = check_name(partitions_def_name, "add_dynamic_partitions")
        keys = check_new_keys(name, partition_keys)
        if not keys:
            return
        dialect = self._storage.dialect
        now = time.time()
        params: tuple[Any, ...]
        if dialect == "postgresql":
            params = (name, name, now, keys)
        else:
            params = (name, now, json.dumps(keys))
        sql = _ADD_SQL[dialect]
        self._write(lambda conn: conn.exec_driver_sql(sql, params))

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        """Delete one key; nothing happens when it is not there."""
        name = check_name(partitions_def_name, "delete_dynamic_partition")
        key = check_one_key(name, partition_key, "delete_dynamic_partition")
        stmt = delete(dynamic_partitions).where(
            dynamic_partitions.c.partitions_def_name == name,
            dynamic_partitions.c.partition == key,
        )
        self._write(lambda conn: conn.execute(stmt))

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The keys in the order they were first added ([] for a name never used)."""
        name = check_name(partitions_def_name, "get_dynamic_partitions")
        stmt = (
            select(dynamic_partitions.c.partition)
            .where(dynamic_partitions.c.partitions_def_name == name)
            .order_by(dynamic_partitions.c.id)
        )
        return self._read(lambda conn: list(conn.execute(stmt).scalars()))

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        """Whether the key is stored under the name: one indexed lookup."""
        name = check_name(partitions_def_name, "has_dynamic_partition")
        key = check_one_key(name, partition_key, "has_dynamic_partition")
        stmt = (
            select(dynamic_partitions.c.id)
            .where(
                dynamic_partitions.c.partitions_def_name == name,
                dynamic_partitions.c.partition == key,
            )
            .limit(1)
        )
        return self._read(lambda conn: conn.execute(stmt).first() is not None)

    def get_existing_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> set[str]:
        """Which of `partition_keys` are stored under the name, in one query."""
        name = check_name(partitions_def_name, "get_existing_dynamic_partitions")
        keys = check_key_list(name, partition_keys, "get_existing_dynamic_partitions")
        wanted = list(dict.fromkeys(k for k in keys if isinstance(k, str)))
        if not wanted:
            return set()
        dialect = self._storage.dialect
        param: Any = wanted if dialect == "postgresql" else json.dumps(wanted)
        sql = _EXISTING_SQL[dialect]
        return self._read(lambda conn: {r[0] for r in conn.exec_driver_sql(sql, (name, param))})

    # The storage's transaction and read helpers: a connection lost before the commit
    # (or during a read) is retried once, and a damaged SQLite file refuses writes.
    def _write(self, work: Callable[[Connection], Any]) -> None:
        self._storage._write(work)

    def _read(self, work: Callable[[Connection], T]) -> T:
        return self._storage._read(work)


class CachingDynamicPartitionsLoader:
    """The read path of one partitions evaluation: each definition's keys read once.

    A resolver or an evaluation that asks about many keys makes one of these (with
    `instance.dynamic_partitions_loader()`) and passes it as `dynamic_partitions_store=`:
    the first read of a name fetches its keys (one query), and every later read of that
    name, `has_dynamic_partition` included, is answered from that copy. So checking N
    keys of one definition is one query, not N. The copy is not refreshed: keys added or
    deleted meanwhile are seen by the next loader, which is what one evaluation wants (it
    sees the keys as they were when it started reading them). Make a new one per
    evaluation; it is not shared between threads that write keys.

    Example:
        >>> from sheer.partitions.dynamic import InMemoryDynamicPartitions
        >>> store = InMemoryDynamicPartitions()
        >>> store.add_dynamic_partitions("fruits", ["pear", "apple"])
        >>> loader = CachingDynamicPartitionsLoader(store)
        >>> [loader.has_dynamic_partition("fruits", k) for k in ("apple", "plum")]
        [True, False]
    """

    __slots__ = ("_keys", "_members", "_store")

    def __init__(self, store: DynamicPartitionsStore) -> None:
        self._store = store
        self._keys: dict[str, tuple[str, ...]] = {}
        self._members: dict[str, frozenset[str]] = {}

    def get_dynamic_partitions(self, partitions_def_name: str) -> tuple[str, ...]:
        """The name's keys in order, read from the store the first time only."""
        keys = self._keys.get(partitions_def_name)
        if keys is None:
            keys = tuple(self._store.get_dynamic_partitions(partitions_def_name))
            self._keys[partitions_def_name] = keys
        return keys

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        members = self._members.get(partitions_def_name)
        if members is None:
            members = frozenset(self.get_dynamic_partitions(partitions_def_name))
            self._members[partitions_def_name] = members
        return partition_key in members


# Checks at the instance's edge ------------------------------------------------------------


def check_name(partitions_def_name: object, method: str) -> str:
    """The definition's name, or a `DefinitionError` saying what to pass instead."""
    if isinstance(partitions_def_name, str) and partitions_def_name:
        return partitions_def_name
    name = getattr(partitions_def_name, "name", None)
    if isinstance(name, str) and name:  # the DynamicPartitionsDefinition itself
        raise DefinitionError(
            f"{method} takes the name of a DynamicPartitionsDefinition, not the definition: "
            f"got {partitions_def_name!r}. Fix: pass its name, "
            f"instance.{method}({name!r}, ...) (or partitions_def.name)."
        )
    what = (
        "an empty string"
        if partitions_def_name == ""
        else (f"{partitions_def_name!r} ({type(partitions_def_name).__name__})")
    )
    raise DefinitionError(
        f"{method} needs the name of a DynamicPartitionsDefinition (a non-empty string) as "
        f"partitions_def_name, got {what}. Fix: pass the name the definition was given, "
        f"e.g. instance.{method}('fruits', ...) for DynamicPartitionsDefinition(name='fruits')."
    )


def check_key_list(name: str, partition_keys: object, method: str) -> list[object]:
    """The keys as a list, refusing what is not a list of keys (a string, a set, None)."""
    if isinstance(partition_keys, str | bytes):
        raise DefinitionError(
            f"{method} got the string {partition_keys!r} for the keys of dynamic partitions "
            f"{name!r}, where it needs a list of keys (a string would be read letter by "
            f"letter). Fix: wrap it in a list: instance.{method}({name!r}, [{partition_keys!r}])."
        )
    if isinstance(partition_keys, set | frozenset):
        raise DefinitionError(
            f"{method} got a set for the keys of dynamic partitions {name!r}: a set has no "
            "order, and dynamic partitions keep their keys in the order they were added. "
            f"Fix: pass a list, e.g. instance.{method}({name!r}, sorted(keys))."
        )
    if not isinstance(partition_keys, Iterable):
        raise DefinitionError(
            f"{method} needs a list of keys for dynamic partitions {name!r}, got "
            f"{partition_keys!r} ({type(partition_keys).__name__}). Fix: pass a list of "
            f"strings, e.g. instance.{method}({name!r}, ['apple', 'pear'])."
        )
    return list(partition_keys)


def check_new_keys(name: str, partition_keys: object) -> list[str]:
    """The keys to add, each once in the order given; every problem raised at once,
    each naming the definition (nothing is added when one key is bad)."""
    keys = check_key_list(name, partition_keys, "add_dynamic_partitions")
    seen: set[str] = set()
    ordered: list[object] = []  # a repeat within one call is not a problem: added once
    for key in keys:
        if isinstance(key, str):
            if key in seen:
                continue
            seen.add(key)
        ordered.append(key)
    problems = find_key_problems(ordered)
    problems += [
        _too_long(key)
        for key in ordered
        if isinstance(key, str) and len(key.encode()) > MAX_KEY_BYTES
    ]
    if problems:
        prefix = f"Cannot add keys to dynamic partitions {name!r} (nothing was added): "
        found = [DefinitionError(prefix + p.message) for p in problems]
        raise found[0] if len(found) == 1 else MultipleDefinitionErrors(found)
    return [str.__str__(key) for key in ordered if isinstance(key, str)]


def check_one_key(name: str, partition_key: object, method: str) -> str:
    """One key (a string), or a `DefinitionError` saying how to pass one."""
    if isinstance(partition_key, str):
        return str.__str__(partition_key)
    if isinstance(partition_key, list | tuple | set | frozenset):
        fix = f"call it once per key: for key in keys: instance.{method}({name!r}, key)."
    else:
        fix = f"pass the key as a string, e.g. instance.{method}({name!r}, {str(partition_key)!r})."
    raise DefinitionError(
        f"{method} needs one key (a string) of dynamic partitions {name!r}, got "
        f"{partition_key!r} ({type(partition_key).__name__}). Fix: {fix}"
    )


def _too_long(key: str) -> DefinitionError:
    return DefinitionError(
        f"Partition key {key[:40]!r}... is {len(key.encode()):,} bytes long (UTF-8), and a "
        f"dynamic partition key may be at most {MAX_KEY_BYTES:,} bytes (the instance indexes "
        "every key). Fix: use a shorter key, e.g. an id or a hash of what it names."
    )
