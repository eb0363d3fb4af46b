"""Dagster's side of `bench_staleness.py`: the same graph and records, its own resolver.

The seeded DAG of `bench_graph.py` is built with Dagster (`@dg.asset` with code version
"1" for the non-virtual assets, `dg.AssetSpec(is_virtual=True)` for the virtual ones) on
an on-disk SQLite instance. One materialization per non-virtual asset is written with
the tags a Dagster run puts on it (`dagster/code_version`, `dagster/data_version`, for
every parent `dagster/input_data_version/<parent>` and `dagster/input_event_pointer/
<parent>`, and `dagster/data_version_is_user_provided` on the roots, which return their
version; a never-materialized virtual parent is recorded as INITIAL / NULL, as a run
records it), then the same 1% of the roots again with a new version.

The events are written as `instance.report_runless_asset_event` stores them (the same
`EventLogEntry`, the same rows in the index shard: event, tags, asset record; mirrored
in the run shard), but a few thousand per transaction: one at a time costs ~25 ms each
here, minutes at 20k assets. Storage ids come from the inserts, so input event pointers
are real.

It then times `CachingStaleStatusResolver(instance, asset_graph, LoadingContextForTest
(instance))` answering `get_status(key)` for every key: plain, and with a fresh
resolver after `resolver.instance_queryer.prefetch_asset_records(every key)` (the
prefetch is part of the time). It only measures: no target lives here.

Only `bench_staleness.py` imports this module, and only when `dagster` is importable.
"""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_graph import Node

RUNS_PER_BATCH = 2_000  # events per transaction while writing


@dataclass(frozen=True, slots=True, kw_only=True)
class DagsterTiming:
    seconds: float  # wall time, best of `repeats`
    cpu: float  # process time of the same run
    repeats: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DagsterMeasured:
    assets: int
    define: float  # building the definitions and the asset graph (untimed for targets)
    write: float  # writing the records (untimed)
    plain: DagsterTiming
    prefetch_only: float  # the prefetch alone, inside `prefetched`
    prefetched: DagsterTiming
    statuses: dict[str, str]  # asset name -> "FRESH" / "STALE" / "MISSING" (plain resolver)
    same_as_prefetched: bool


def version() -> str:
    import dagster

    return dagster.__version__


def _quiet() -> None:
    import dagster as dg

    for category in (dg.PreviewWarning, dg.BetaWarning):
        warnings.filterwarnings("ignore", category=category)


def _compute_fn() -> Any:
    def compute() -> None:
        return None

    return compute


def define(dag: Sequence[Node]) -> Any:
    """The DAG as Dagster definitions, and its asset graph."""
    import dagster as dg

    _quiet()
    assets: list[Any] = []
    for node in dag:
        if node.is_virtual:
            assets.append(dg.AssetSpec(node.name, deps=list(node.parents), is_virtual=True))
        else:
            assets.append(
                dg.asset(name=node.name, deps=list(node.parents), code_version="1")(_compute_fn())
            )
    return dg.Definitions(assets=assets).resolve_asset_graph()


class _Writer:
    """Materializations with a run's data-version tags, stored in batches."""

    def __init__(self, instance: Any, dag: Sequence[Node]) -> None:
        from dagster._core.instance.utils import RUNLESS_RUN_ID

        self.instance = instance
        self.storage = instance.event_log_storage
        self.run_id = RUNLESS_RUN_ID
        self.virtual = {n.name for n in dag if n.is_virtual}
        self.versions: dict[str, str] = {}
        self.storage_ids: dict[str, int] = {}

    def tags(self, node: Node, user_version: str | None) -> dict[str, str]:
        """The tags `execute_step._build_data_version_tags` writes for this asset."""
        import dagster as dg
        from dagster._core.definitions import data_version as dv

        inputs: dict[Any, Any] = {}
        tags = {dv.CODE_VERSION_TAG: "1"}
        for parent in node.parents:
            key = dg.AssetKey(parent)
            if parent in self.virtual:  # never materialized: what a run records for it
                version, pointer = dv.DEFAULT_DATA_VERSION.value, dv.NULL_EVENT_POINTER
            else:
                version, pointer = self.versions[parent], str(self.storage_ids[parent])
            inputs[key] = dg.DataVersion(version)
            tags[dv.get_input_data_version_tag(key)] = version
            tags[dv.get_input_event_pointer_tag(key)] = pointer
        if user_version is None:
            tags[dv.DATA_VERSION_TAG] = dv.compute_logical_data_version("1", inputs).value
        else:
            tags[dv.DATA_VERSION_TAG] = user_version
            tags[dv.DATA_VERSION_IS_USER_PROVIDED_TAG] = "true"
        return tags

    def entry(self, node: Node, user_version: str | None) -> Any:
        """The `EventLogEntry` `report_runless_asset_event` builds for the materialization."""
        import dagster as dg
        from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
        from dagster._core.events.log import EventLogEntry
        from dagster._core.instance.utils import RUNLESS_JOB_NAME

        tags = self.tags(node, user_version)
        event = DagsterEvent(
            event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
            job_name=RUNLESS_JOB_NAME,
            event_specific_data=StepMaterializationData(
                dg.AssetMaterialization(asset_key=node.name, tags=tags)
            ),
        )
        self.versions[node.name] = tags["dagster/data_version"]
        return EventLogEntry(
            user_message="",
            level=20,
            job_name=RUNLESS_JOB_NAME,
            run_id=self.run_id,
            error_info=None,
            timestamp=time.time(),
            step_key=None,
            dagster_event=event,
        )

    def write(self, nodes: Sequence[tuple[Node, str | None]]) -> None:
        """What `SqliteEventLogStorage.store_event` does per event, per batch of events:
        the index shard's event row, tags and asset record in one transaction, then the
        run shard's copy. Each entry is built after its parents are stored."""
        from dagster._core.storage.event_log.schema import SqlEventLogStorageTable

        storage = self.storage
        for start in range(0, len(nodes), RUNS_PER_BATCH):
            entries = []
            with storage.index_transaction() as conn:
                for node, user_version in nodes[start : start + RUNS_PER_BATCH]:
                    entry = self.entry(node, user_version)
                    event_id = conn.execute(
                        storage.prepare_insert_event(entry)
                    ).inserted_primary_key[0]
                    storage._store_asset_event_tags(conn, [entry], [event_id])
                    storage._store_asset_event(conn, entry, event_id)
                    self.storage_ids[node.name] = event_id
                    entries.append(entry)
            with storage.run_connection(self.run_id) as conn:
                conn.execute(
                    SqlEventLogStorageTable.insert(), [storage._event_to_row(e) for e in entries]
                )


def write_records(instance: Any, dag: Sequence[Node], changed: Sequence[str]) -> None:
    """Every non-virtual asset once, in topological order; then `changed` roots again."""
    writer = _Writer(instance, dag)
    by_name = {n.name: n for n in dag}
    writer.write([(n, None if n.parents else "r0") for n in dag if not n.is_virtual])
    writer.write([(by_name[name], "r1") for name in changed])


def _statuses(instance: Any, graph: Any, keys: Sequence[Any], *, prefetch: bool) -> tuple:
    """A fresh resolver, optionally prefetching, then `get_status` of every key: the
    statuses, wall time, process time and the prefetch's own wall time."""
    from dagster._core.definitions.data_version import CachingStaleStatusResolver
    from dagster._core.loader import LoadingContextForTest

    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))
    if prefetch:
        resolver.instance_queryer.prefetch_asset_records(keys)
    fetched = time.perf_counter() - t0
    statuses = {key.path[-1]: resolver.get_status(key).value for key in keys}
    return statuses, time.perf_counter() - t0, time.process_time() - c0, fetched


def measure(
    dag: Sequence[Node],
    changed: Sequence[str],
    folder: Path,
    *,
    plain_repeats: int,
    prefetched_repeats: int,
) -> DagsterMeasured:
    """Build, write and time Dagster's resolver at one size (keys in definition order)."""
    import dagster as dg

    _quiet()
    t0 = time.perf_counter()
    graph = define(dag)
    defined = time.perf_counter() - t0
    instance = dg.DagsterInstance.local_temp(tempdir=str(folder))
    try:
        t0 = time.perf_counter()
        write_records(instance, dag, changed)
        write = time.perf_counter() - t0
        keys = [dg.AssetKey(n.name) for n in dag]
        plain = [_statuses(instance, graph, keys, prefetch=False) for _ in range(plain_repeats)]
        pre = [_statuses(instance, graph, keys, prefetch=True) for _ in range(prefetched_repeats)]
    finally:
        instance.dispose()
    best_plain = min(plain, key=lambda r: r[1])
    best_pre = min(pre, key=lambda r: r[1])
    return DagsterMeasured(
        assets=len(dag),
        define=defined,
        write=write,
        plain=DagsterTiming(seconds=best_plain[1], cpu=best_plain[2], repeats=plain_repeats),
        prefetch_only=best_pre[3],
        prefetched=DagsterTiming(seconds=best_pre[1], cpu=best_pre[2], repeats=prefetched_repeats),
        statuses=best_plain[0],
        same_as_prefetched=best_plain[0] == best_pre[0],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    compared: int  # non-virtual assets where both define the status the same way
    differ: int
    transitive: int  # Sheer STALE only because an upstream asset is stale: not compared
    transitive_fresh: int  # of those, how many Dagster calls FRESH


def agreement(
    dagster: Mapping[str, str], sheer: Mapping[str, tuple[str, bool]], virtual: set[str]
) -> Agreement:
    """Dagster's statuses against ours on the non-virtual assets.

    `sheer` maps an asset to (status, direct), direct being whether a STALE asset has a
    cause of its own (a new code version, or a changed input seen directly or through
    virtual assets). Dagster 1.13.28 does not make an asset stale because a parent is
    stale, so an asset Sheer finds STALE only through stale upstream assets is counted
    apart, not compared.
    """
    compared = differ = transitive = transitive_fresh = 0
    for name, (status, direct) in sheer.items():
        if name in virtual:
            continue
        theirs = dagster[name]
        if status == "STALE" and not direct:
            transitive += 1
            transitive_fresh += theirs == "FRESH"
            continue
        compared += 1
        differ += theirs != status
    return Agreement(
        compared=compared, differ=differ, transitive=transitive, transitive_fresh=transitive_fresh
    )
