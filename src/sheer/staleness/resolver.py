"""`StaleStatusResolver`: one read on first use, every later call from memory."""

from __future__ import annotations

from itertools import compress
from typing import Any

from sheer.graph import AssetGraph
from sheer.keys import AssetKey, coerce_key
from sheer.staleness.assets import _all_fresh, _Pass
from sheer.staleness.causes import (
    _STATUSES,
    StaleCause,
    StaleStatus,
    _gc_paused,
)
from sheer.versioning import DataVersion


class StaleStatusResolver:
    """Staleness of the assets of `defs` given what `instance` recorded.

    The first call reads the latest-record index once; every later call is answered
    from memory, so a loop of `get_status(key)` over every asset costs one query.
    A resolver sees the records as they were at that read: make a new one to see
    later materializations.

    Example:
        >>> # resolver = StaleStatusResolver(instance, defs)
        >>> # resolver.get_status("D"), [str(c) for c in resolver.get_stale_root_causes("D")]
        >>> # (StaleStatus.STALE, ['A has a new data version (via C, B)'])
    """

    def __init__(self, instance: Any, defs: Any) -> None:
        self._instance = instance
        self._graph: AssetGraph = (
            defs if isinstance(defs, AssetGraph) else defs.resolve_asset_graph()
        )
        self._pass: _Pass | None = None
        # A graph with partitions is resolved per entity (`staleness_entities`).
        self._by_entity: Any = None
        if self._graph.has_partitions:
            from sheer.staleness.entity_causes import EntityResolver

            self._by_entity = EntityResolver(instance, self._graph)

    @property
    def asset_graph(self) -> AssetGraph:
        return self._graph

    # Public reads --------------------------------------------------------------
    def get_status(self, key: Any, partition_key: str | None = None) -> StaleStatus:
        """The status of an asset, or of one partition of a partitioned asset (asked
        without a partition key, a partitioned asset answers FRESH, as Dagster)."""
        if self._by_entity is not None:
            return self._by_entity.get_status(key, partition_key)  # type: ignore[no-any-return]
        # Called in loops over every asset: one dict look-up when given an AssetKey.
        state = self._pass or self._state()
        i = state.index.get(key) if isinstance(key, AssetKey) else None
        if partition_key is not None:
            state.position(key)
            raise _not_partitioned(key, partition_key)
        return _STATUSES[state.status[state.position(key) if i is None else i]]

    def get_stale_causes(self, key: Any, partition_key: str | None = None) -> list[StaleCause]:
        if self._by_entity is not None:
            return self._by_entity.get_stale_causes(key, partition_key)  # type: ignore[no-any-return]
        state = self._state()
        i = state.position(key)
        if partition_key is not None:
            raise _not_partitioned(key, partition_key)
        return list(state.causes(i))

    def get_stale_root_causes(self, key: Any, partition_key: str | None = None) -> list[StaleCause]:
        """The leaves of the cause tree, keyed by the root: the changes that started it
        all, each once however many paths reach it."""
        if self._by_entity is not None:
            return self._by_entity.get_stale_root_causes(key, partition_key)  # type: ignore[no-any-return]
        state = self._state()
        i = state.position(key)
        if partition_key is not None:
            raise _not_partitioned(key, partition_key)
        return list(state.root_causes(i))

    def get_current_data_version(
        self, key: Any, partition_key: str | None = None
    ) -> DataVersion | None:
        """The stored version of a non-virtual asset, or the computed one of a virtual asset."""
        if self._by_entity is not None:
            return self._by_entity.get_current_data_version(key, partition_key)  # type: ignore[no-any-return]
        state = self._state()
        i = state.position(key)
        if partition_key is not None:
            raise _not_partitioned(key, partition_key)
        value = state.current_version(i)
        return DataVersion(value) if value is not None else None

    def get_statuses(self, key: Any) -> dict[str | None, StaleStatus]:
        """`{partition_key: status}` for every partition of an asset (`{None: status}`
        for an unpartitioned one), from the one pass."""
        if self._by_entity is not None:
            return self._by_entity.get_statuses(key)  # type: ignore[no-any-return]
        return {None: self.get_status(key)}

    def get_status_counts(self, key: Any) -> dict[StaleStatus, int]:
        """How many partitions of an asset are FRESH, STALE and MISSING (each present)."""
        if self._by_entity is not None:
            return self._by_entity.get_status_counts(key)  # type: ignore[no-any-return]
        counts = dict.fromkeys(StaleStatus, 0)
        counts[self.get_status(key)] = 1
        return counts

    def get_all(self) -> dict[AssetKey, StaleStatus]:
        """The status of every asset, in topological order (a partitioned asset FRESH:
        `get_statuses` gives its partitions')."""
        if self._by_entity is not None:
            return self._by_entity.get_all()  # type: ignore[no-any-return]
        state = self._state()
        # A copy of a prebuilt all-FRESH dict costs no hashing; only the others are set.
        out = _all_fresh(self._graph, state.idx).copy()
        status = state.status
        out.update(
            zip(
                compress(state.idx.keys, status),
                map(_STATUSES.__getitem__, filter(None, status)),
                strict=True,
            )
        )
        return out

    def _state(self) -> _Pass:
        if self._pass is None:
            # The read runs with the collector on: its young collections untrack the row
            # tuples as they come (they hold only strings and numbers), where one
            # collection after the pause would walk every row again.
            rows = self._instance.get_latest_versions()
            with _gc_paused():
                self._pass = _Pass(self._graph, rows)
        return self._pass


def _not_partitioned(key: Any, partition_key: str) -> Exception:
    from sheer.errors import DefinitionError

    name = coerce_key(key).to_user_string()
    return DefinitionError(
        f"Asset '{name}' is not partitioned, so it has no partition '{partition_key}'. "
        f"Fix: ask about '{name}' without partition_key=."
    )


def stale_status_of(defs: Any, instance: Any) -> dict[AssetKey, StaleStatus]:
    """The status of every asset of `defs`: what `defs.stale_status(instance)` returns."""
    return StaleStatusResolver(instance, defs).get_all()
