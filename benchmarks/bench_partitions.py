"""Partitions benchmark: staleness of every entity and one automation tick, per partition.

The graph is a set of chains of 10 assets (the first of each chain a root; every other
asset reads its predecessor and, one time in three, an asset of an earlier chain), all
on one `DailyPartitionsDefinition` with a fixed end (so the keys do not depend on the
day it runs), 30% of the assets virtual (`AssetSpec(is_virtual=True, partitions_def=)`,
placed at random in the chains, so views follow views at times), every edge an
`AssetDep` with `IdentityPartitionMapping()` except one in twenty with
`TimeWindowPartitionMapping(start_offset=-1, allow_nonexistent_upstream_partitions=True)`.
Non-virtual assets are `@asset`s with code version "1" and `AutomationCondition.eager()`.

An on-disk SQLite instance gets one materialization per non-virtual entity (asset,
partition), written as a partitioned run writes it (versions and provenance from
`PartitionVersions`, the run's own bookkeeping; stored in batches with
`instance.store_events`, nothing runs). A first tick takes that in (untimed, its cursor
kept), then 1% of the root entities get new materializations (among them the latest
partition of the first root, so the tick has something to request), and each size, in a
fresh process so that its peak memory is its own, times (best of 3, wall and CPU):

- staleness: a new `StaleStatusResolver(instance, graph)`, then `get_statuses(key)` for
  every key (its one batched read included);
- tick: `evaluate_automation_conditions(defs, instance, evaluation_time=, cursor=)` at
  the end of the last partition, with the first tick's cursor;
- peak: the process's peak RSS (`ru_maxrss`): definitions, read, pass and tick.

Side by side (200 assets x 365 days by default) when `dagster` is importable, Dagster
1.13.28 gets the same graph (`AssetSpec(is_virtual=True)` for the views: it has them)
and the same records, with the tags its runs write per partition (input data versions
hashed over the partitions read, input event pointers), in the same run:
`CachingStaleStatusResolver(instance, asset_graph, LoadingContextForTest(instance))`
asked `get_status(key, partition_key)` for every entity, and
`dagster.evaluate_automation_conditions(defs=, instance=, evaluation_time=, cursor=)`
after the same changes (each once: minutes). Sheer alone then runs at 250, 500 and
1,000 assets x 1,000 days (up to 1M entities) to show growth.

Targets (issue 14): >= 50x Dagster on both measures at 200 x 365; at 1,000 x 1,000,
staleness < 5 s, a tick < 1 s, peak < 2 GB; growth linear in entities (largest /
smallest at most 1.25x the entity ratio). It prints PASS/FAIL and exits 0; `--check`
makes a missed target exit 1. `--quick` runs small sizes (a test runs it).

Usage: python benchmarks/bench_partitions.py [--quick] [--check] [--no-dagster]
    [--seed N] [--side-by-side 200x365] [--sizes 250x1000,500x1000,1000x1000]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bench_staleness import Targets, Timing
from rich.console import Console
from rich.table import Table

import sheer as dg
from sheer.events import EventType
from sheer.execution.partition_versions import PartitionVersions
from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.storage import NewEvent
from sheer.versioning import VersionView, derived_data_version

SEED = 1234
CHAIN = 10  # assets per chain; the first is a root
VIRTUAL_SHARE = 0.3
CROSS_SHARE = 1 / 3  # non-roots that also read an asset of an earlier chain
OFFSET_SHARE = 0.05  # edges with TimeWindowPartitionMapping(start_offset=-1)
CHANGED_SHARE = 0.01  # root entities re-materialized before the timed tick
START = date(2023, 1, 1)
SIDE_BY_SIDE = (200, 365)
SIZES = ((250, 1_000), (500, 1_000), (1_000, 1_000))
QUICK_SIDE_BY_SIDE = (20, 30)
QUICK_SIZES = ((10, 40), (20, 40))
REPEATS = 3
BATCH = 5_000  # events per transaction while writing the records
SPEEDUP = 50.0
STALENESS_SECONDS = 5.0  # at 1,000 x 1,000
TICK_SECONDS = 1.0
PEAK_MB = 2_048.0
GROWTH_SLACK = 1.25
HERE = Path(__file__).resolve().parent
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    name: str
    parents: tuple[tuple[str, int], ...]  # (parent, start offset: 0 identity, -1 the day before)
    is_virtual: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SheerMeasured:
    assets: int
    partitions: int
    virtual: int
    write: float  # seeding the records (untimed for targets)
    staleness: Timing
    tick: Timing
    peak_mb: float
    requested: int
    counts: dict[str, int]  # status -> entities, non-virtual
    statuses: dict[str, list[str]]  # asset -> status per partition (side by side only)

    @property
    def entities(self) -> int:
        return self.assets * self.partitions


# The graph ----------------------------------------------------------------------------
def partitioned_dag(n: int, seed: int) -> list[Node]:
    """Chains of `CHAIN` assets; repeatable for a seed; parents always come earlier."""
    rng = random.Random(seed)
    roots = {i for i in range(n) if i % CHAIN == 0}
    others = [i for i in range(n) if i not in roots]
    virtual = set(rng.sample(others, min(len(others), round(n * VIRTUAL_SHARE))))
    nodes = []
    for i in range(n):
        parents: list[int] = [] if i in roots else [i - 1]
        chain_start = i - i % CHAIN
        if i not in roots and chain_start > 0 and rng.random() < CROSS_SHARE:
            parents.append(rng.randrange(chain_start))
        nodes.append(
            Node(
                name=f"a{i:04d}",
                parents=tuple(
                    (f"a{p:04d}", -1 if rng.random() < OFFSET_SHARE else 0) for p in parents
                ),
                is_virtual=i in virtual,
            )
        )
    return nodes


def changed_entities(
    dag: Sequence[Node], keys: Sequence[str], seed: int, share: float = CHANGED_SHARE
) -> list[tuple[str, str]]:
    """`share` of the root entities, among them the latest partition of the first root
    read directly by a non-virtual asset (so that `eager()` has something to request)."""
    roots = [n.name for n in dag if not n.parents]
    read = {p for n in dag if not n.is_virtual for p, _ in n.parents}
    first = next((r for r in roots if r in read), roots[0])
    every = [(r, k) for r in roots for k in keys]
    picked = set(random.Random(seed).sample(every, max(1, round(len(every) * share))))
    if (first, keys[-1]) not in picked:
        picked.discard(min(picked))
        picked.add((first, keys[-1]))
    return sorted(picked)


def end_of(partitions: int) -> date:
    return START + timedelta(days=partitions)


def evaluation_time(partitions: int) -> datetime:
    """One hour after the last partition ends."""
    end = end_of(partitions)
    return datetime(end.year, end.month, end.day, 1, tzinfo=UTC)


# Sheer --------------------------------------------------------------------------------
def sheer_assets(
    dag: Sequence[Node], partitions: int, versions: dict[tuple[str, str], str] | None = None
) -> list[Any]:
    """The graph in Sheer. A root returns the data version `versions` gives its
    partition (default "r0"); the others get derived versions."""
    pdef = dg.DailyPartitionsDefinition(START.isoformat(), end_date=end_of(partitions).isoformat())
    given = versions if versions is not None else {}
    condition = dg.AutomationCondition.eager()
    assets: list[Any] = []
    for node in dag:
        deps = [dg.AssetDep(p, partition_mapping=_mapping(dg, off)) for p, off in node.parents]
        if node.is_virtual:
            assets.append(dg.AssetSpec(node.name, deps=deps, is_virtual=True, partitions_def=pdef))
            continue
        assets.append(
            dg.asset(
                name=node.name,
                deps=deps,
                partitions_def=pdef,
                code_version="1",
                automation_condition=condition,
            )(_compute_fn(given, node.name, root=not node.parents))
        )
    return assets


def _mapping(lib: Any, offset: int) -> Any:
    """The edge's mapping in `lib` (sheer or dagster: the same names)."""
    if offset == 0:
        return lib.IdentityPartitionMapping()
    return lib.TimeWindowPartitionMapping(
        start_offset=offset, allow_nonexistent_upstream_partitions=True
    )


def _compute_fn(versions: dict[tuple[str, str], str], name: str, *, root: bool) -> Any:
    def compute(context: Any) -> dg.MaterializeResult[Any]:
        version = versions.get((name, context.partition_key), "r0") if root else None
        return dg.MaterializeResult(data_version=version)

    return compute


class SheerWriter:
    """Materializations of partitions as a run writes them, stored in batches."""

    def __init__(self, instance: dg.Instance, graph: AssetGraph) -> None:
        self.instance = instance
        self.graph = graph
        self.versions = PartitionVersions(graph, instance, VersionView(graph, lambda key: None))
        self.batch: list[NewEvent] = []

    def add(self, key: AssetKey, partitions: Sequence[str], user_version: str | None) -> None:
        """Every partition of `key` read before any is updated: a run's order per asset."""
        node = self.graph.get(key)
        made = []
        for partition in partitions:
            prov = self.versions.provenance(key, partition)
            version = user_version or derived_data_version("1", prov.input_versions)
            made.append((partition, version))
            self.batch.append(
                NewEvent(
                    event_type=EventType.ASSET_MATERIALIZATION,
                    run_id="bench",
                    timestamp=time.time(),
                    asset_key=key,
                    partition=partition,
                    step_key=key.to_python_identifier(),
                    message=f"Materialized '{key.to_user_string()}' [{partition}]",
                    data={
                        "metadata": {},
                        "data_version": version,
                        "code_version": node.code_version,
                        "provenance": prov.to_json(),
                        "tags": {},
                        "is_virtual": False,
                        "stored": True,
                        "user_data_version": user_version is not None,
                    },
                )
            )
            if len(self.batch) >= BATCH:
                self.flush()
        for partition, version in made:
            self.versions.update(key, partition, version)

    def flush(self) -> None:
        if self.batch:
            self.instance.store_events(self.batch)
            self.batch = []


def sheer_seed(instance: dg.Instance, graph: AssetGraph, keys: Sequence[str]) -> SheerWriter:
    """Every non-virtual entity once, in topological order (roots "r0")."""
    writer = SheerWriter(instance, graph)
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if not node.is_virtual:
            writer.add(key, keys, None if node.parent_keys else "r0")
    writer.flush()
    return writer


def sheer_change(writer: SheerWriter, changed: Sequence[tuple[str, str]]) -> None:
    for name, partition in changed:
        writer.add(AssetKey(name), [partition], "r1")
    writer.flush()


def _timed(fn: Callable[[], T]) -> tuple[T, Timing]:
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, Timing(wall=time.perf_counter() - t0, cpu=time.process_time() - c0)


def _best(fn: Callable[[], T], repeats: int) -> tuple[T, Timing]:
    runs = [_timed(fn) for _ in range(repeats)]
    return runs[-1][0], min((t for _, t in runs), key=lambda t: t.wall)


def sheer_statuses(
    instance: dg.Instance, graph: AssetGraph
) -> dict[AssetKey, dict[str | None, dg.StaleStatus]]:
    resolver = dg.StaleStatusResolver(instance, graph)
    return {key: resolver.get_statuses(key) for key in graph.toposorted_asset_keys}


def sheer_seed_db(n: int, partitions: int, seed: int, path: Path) -> float:
    """Seconds to write every non-virtual entity once into a new instance at `path`."""
    graph = dg.Definitions(assets=sheer_assets(partitioned_dag(n, seed), partitions))
    instance = dg.Instance.from_url(f"sqlite:///{path}")
    try:
        t0 = time.perf_counter()
        sheer_seed(instance, graph.resolve_asset_graph(), _keys(partitions))
        return time.perf_counter() - t0
    finally:
        instance.dispose()


def _keys(partitions: int) -> list[str]:
    return [(START + timedelta(days=d)).isoformat() for d in range(partitions)]


def sheer_measure(n: int, partitions: int, seed: int, path: Path, keep: bool) -> SheerMeasured:
    """One seeded size: the first tick (untimed), the changes, then staleness and a tick."""
    dag = partitioned_dag(n, seed)
    defs = dg.Definitions(assets=sheer_assets(dag, partitions))
    graph = defs.resolve_asset_graph()
    keys = _keys(partitions)
    instance = dg.Instance.from_url(f"sqlite:///{path}")
    at = evaluation_time(partitions)
    try:
        cursor = dg.evaluate_automation_conditions(defs, instance, evaluation_time=at).cursor
        writer = SheerWriter(instance, graph)  # roots only: nothing to read
        sheer_change(writer, changed_entities(dag, keys, seed))
        statuses, staleness = _best(lambda: sheer_statuses(instance, graph), REPEATS)
        result, tick = _best(
            lambda: dg.evaluate_automation_conditions(
                defs, instance, evaluation_time=at, cursor=cursor
            ),
            REPEATS,
        )
    finally:
        instance.dispose()
    virtual = {AssetKey(x.name) for x in dag if x.is_virtual}
    counts = Counter(s.value for k, by in statuses.items() if k not in virtual for s in by.values())
    return SheerMeasured(
        assets=n,
        partitions=partitions,
        virtual=len(virtual),
        write=0.0,
        staleness=staleness,
        tick=tick,
        peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        requested=result.total_requested,
        counts=dict(counts),
        statuses={k.to_user_string(): [by[p].value for p in keys] for k, by in statuses.items()}
        if keep
        else {},
    )


def sheer_in_subprocess(
    n: int, partitions: int, seed: int, folder: Path, keep: bool
) -> SheerMeasured:
    """Seed here, measure in a fresh process, so that its peak memory is its own."""
    path = folder / f"sheer-{n}x{partitions}.db"
    write = sheer_seed_db(n, partitions, seed, path)
    args = ["--one", f"{n}x{partitions}", "--db", str(path), "--seed", str(seed)]
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args, *(["--keep"] if keep else [])],
        capture_output=True,
        text=True,
        check=False,
        cwd=HERE,
    )
    if out.returncode != 0:
        raise RuntimeError(f"measuring {n} x {partitions} failed:\n{out.stderr}")
    raw = json.loads(out.stdout.strip().splitlines()[-1])
    raw["staleness"], raw["tick"] = Timing(**raw["staleness"]), Timing(**raw["tick"])
    return SheerMeasured(**{**raw, "write": write})


# Dagster ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class DagsterMeasured:
    version: str
    define: float
    write: float
    staleness: Timing  # measured once
    tick: Timing  # measured once
    requested: int
    statuses: dict[str, list[str]]  # asset -> status per partition


@dataclass(frozen=True, slots=True, kw_only=True)
class _Entity:
    """What `dagster_staleness._Writer` stores: one partition of an asset."""

    name: str
    partition: str
    node: Node


def dagster_define(dag: Sequence[Node], partitions: int) -> Any:
    """The same graph in Dagster, views as `AssetSpec(is_virtual=True)`."""
    import dagster as dg_
    import dagster_staleness as ds

    pdef = dg_.DailyPartitionsDefinition(
        start_date=START.isoformat(), end_date=end_of(partitions).isoformat()
    )
    assets: list[Any] = []
    for node in dag:
        deps = [dg_.AssetDep(p, partition_mapping=_mapping(dg_, off)) for p, off in node.parents]
        if node.is_virtual:
            assets.append(dg_.AssetSpec(node.name, deps=deps, is_virtual=True, partitions_def=pdef))
            continue
        assets.append(
            dg_.asset(
                name=node.name,
                deps=deps,
                partitions_def=pdef,
                code_version="1",
                automation_condition=dg_.AutomationCondition.eager(),
            )(ds._compute_fn())
        )
    return dg_.Definitions(assets=assets)


def _dagster_writer(instance: Any, dag: Sequence[Node], keys: Sequence[str]) -> Any:
    """`dagster_staleness._Writer` with the tags a partitioned Dagster run writes: per
    parent, the hash of the data versions of the partitions read (its
    `DataVersionCache._get_partitions_data_version_from_keys`) and the event pointer of
    the parent's latest materialization; a view, never materialized, as INITIAL / NULL."""
    import hashlib

    import dagster as dg_
    import dagster_staleness as ds
    from dagster._core.definitions import data_version as dv
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.events.log import EventLogEntry
    from dagster._core.instance.utils import RUNLESS_JOB_NAME

    index = {k: i for i, k in enumerate(keys)}

    class PartitionWriter(ds._Writer):
        def __init__(self, instance: Any, dag: Any) -> None:
            super().__init__(instance, dag)
            self.by_partition: dict[tuple[str, str], str] = {}

        def partition_tags(self, e: _Entity, user_version: str | None) -> dict[str, str]:
            inputs: dict[Any, Any] = {}
            tags = {dv.CODE_VERSION_TAG: "1"}
            for parent, offset in e.node.parents:
                key = dg_.AssetKey(parent)
                if parent in self.virtual:
                    version, pointer = dv.DEFAULT_DATA_VERSION.value, dv.NULL_EVENT_POINTER
                else:
                    i = index[e.partition]
                    read = keys[max(0, i + offset) : i + 1]
                    joined = "".join(self.by_partition[parent, k] for k in read)
                    version = hashlib.sha256(joined.encode()).hexdigest()
                    pointer = str(self.storage_ids[parent])
                inputs[key] = dg_.DataVersion(version)
                tags[dv.get_input_data_version_tag(key)] = version
                tags[dv.get_input_event_pointer_tag(key)] = pointer
            if user_version is None:
                tags[dv.DATA_VERSION_TAG] = dv.compute_logical_data_version("1", inputs).value
            else:
                tags[dv.DATA_VERSION_TAG] = user_version
                tags[dv.DATA_VERSION_IS_USER_PROVIDED_TAG] = "true"
            return tags

        def entry(self, e: Any, user_version: str | None) -> Any:  # an _Entity
            tags = self.partition_tags(e, user_version)
            event = DagsterEvent(
                event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
                job_name=RUNLESS_JOB_NAME,
                event_specific_data=StepMaterializationData(
                    dg_.AssetMaterialization(asset_key=e.name, partition=e.partition, tags=tags)
                ),
            )
            self.by_partition[e.name, e.partition] = tags[dv.DATA_VERSION_TAG]
            return EventLogEntry(  # type: ignore[no-untyped-call]
                user_message="",
                level=20,
                job_name=RUNLESS_JOB_NAME,
                run_id=self.run_id,
                error_info=None,
                timestamp=time.time(),
                step_key=None,
                dagster_event=event,
            )

    return PartitionWriter(instance, dag)


def _dagster_statuses(instance: Any, graph: Any, dag: Sequence[Node], keys: Sequence[str]) -> Any:
    import dagster as dg_
    from dagster._core.definitions.data_version import CachingStaleStatusResolver
    from dagster._core.loader import LoadingContextForTest

    resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))
    out = {}
    for node in dag:
        key = dg_.AssetKey(node.name)
        out[node.name] = [resolver.get_status(key, p).value for p in keys]
    return out


def dagster_measure(n: int, partitions: int, seed: int, folder: Path) -> DagsterMeasured:
    """Dagster at one size: define, write, first tick (untimed), changes, then each
    measure once."""
    import dagster as dg_
    import dagster_staleness as ds

    ds._quiet()
    dag = partitioned_dag(n, seed)
    keys = _keys(partitions)
    defs, define = _timed(lambda: dagster_define(dag, partitions))
    graph = defs.resolve_asset_graph()
    at = evaluation_time(partitions)
    instance = dg_.DagsterInstance.local_temp(tempdir=str(folder))
    try:
        writer = _dagster_writer(instance, dag, keys)
        _, write = _timed(
            lambda: writer.write(
                [
                    (_Entity(name=x.name, partition=p, node=x), None if x.parents else "r0")
                    for p in keys  # partition by partition, as its daily runs write them
                    for x in dag
                    if not x.is_virtual
                ]
            )
        )
        cursor = dg_.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=at
        ).cursor
        by_name = {x.name: x for x in dag}
        writer.write(
            [
                (_Entity(name=name, partition=p, node=by_name[name]), "r1")
                for name, p in changed_entities(dag, keys, seed)
            ]
        )
        statuses, staleness = _timed(lambda: _dagster_statuses(instance, graph, dag, keys))
        result, tick = _timed(
            lambda: dg_.evaluate_automation_conditions(
                defs=defs, instance=instance, evaluation_time=at, cursor=cursor
            )
        )
    finally:
        instance.dispose()
    return DagsterMeasured(
        version=ds.version(),
        define=define.wall,
        write=write.wall,
        staleness=staleness,
        tick=tick,
        requested=result.total_requested,
        statuses=statuses,
    )


# Checks -------------------------------------------------------------------------------
def cross_check(folder: Path, seed: int, size: tuple[int, int] = (20, 12)) -> bool:
    """Real `materialize` runs (one per partition, then one per changed entity) give the
    same statuses and root causes as the records this benchmark writes."""
    n, partitions = size
    dag, keys = partitioned_dag(n, seed), _keys(partitions)
    versions: dict[tuple[str, str], str] = {}
    assets = sheer_assets(dag, partitions, versions)
    graph = dg.Definitions(assets=assets).resolve_asset_graph()
    changed = changed_entities(dag, keys, seed, share=0.1)
    synthetic = dg.Instance.from_url(f"sqlite:///{folder / 'synthetic.db'}")
    real = dg.Instance.from_url(f"sqlite:///{folder / 'real.db'}")
    try:
        sheer_change(sheer_seed(synthetic, graph, keys), changed)
        for partition in keys:
            dg.materialize(assets, instance=real, partition_key=partition)
        for name, partition in changed:
            versions[name, partition] = "r1"
            dg.materialize(assets, instance=real, selection=[name], partition_key=partition)
        answers = []
        for instance in (synthetic, real):
            resolver = dg.StaleStatusResolver(instance, graph)
            answers.append(
                [
                    (
                        resolver.get_status(k, p),
                        [str(c) for c in resolver.get_stale_root_causes(k, p)],
                    )
                    for k in graph.toposorted_asset_keys
                    for p in keys
                ]
            )
        return answers[0] == answers[1]
    finally:
        synthetic.dispose()
        real.dispose()


def differences(
    ours: SheerMeasured, theirs: DagsterMeasured, dag: Sequence[Node]
) -> Counter[tuple[str, str]]:
    """(Sheer's status, Dagster's) counted over the non-virtual entities."""
    out: Counter[tuple[str, str]] = Counter()
    for node in dag:
        if not node.is_virtual:
            mine, other = ours.statuses[node.name], theirs.statuses[node.name]
            out.update(zip(mine, other, strict=True))
    return out


# Tables -------------------------------------------------------------------------------
def _size(m: SheerMeasured) -> str:
    return f"{m.assets:,} x {m.partitions:,}"


def side_by_side_table(ours: SheerMeasured, theirs: DagsterMeasured | None) -> Table:
    table = Table(
        title=f"Side by side, {_size(ours)} daily partitions ({ours.entities:,} entities, "
        f"{ours.virtual} virtual assets), same run",
        caption="Sheer: best of 3, in a fresh process; Dagster: once. staleness: a new "
        "resolver, then every entity's status (Sheer get_statuses(key) per asset, Dagster "
        "get_status(key, partition_key) per entity). tick: evaluate_automation_conditions "
        "after 1% of the root entities changed. ratio: Dagster's wall / Sheer's.",
    )
    for col in ("measure", "sheer wall s", "cpu s", "dagster wall s", "cpu s", "ratio"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    rows = [
        ("staleness", ours.staleness, theirs.staleness if theirs else None),
        ("tick", ours.tick, theirs.tick if theirs else None),
    ]
    for name, mine, other in rows:
        cells = ["-"] * 3
        if other is not None:
            cells = [f"{other.wall:.2f}", f"{other.cpu:.2f}", f"{other.wall / mine.wall:,.0f}x"]
        table.add_row(name, f"{mine.wall:.3f}", f"{mine.cpu:.3f}", *cells)
    return table


def agreement_table(pairs: Counter[tuple[str, str]], ours: SheerMeasured, theirs: Any) -> Table:
    table = Table(
        title="Statuses of the non-virtual entities, Sheer against Dagster",
        caption="Dagster 1.13.28 reads no partition through a view: behind a view it "
        "compares the view's non-virtual ancestors' latest materialization (any partition) "
        "with the entity's timestamp (its issue #33981), and it does not make an entity "
        "stale because an entity it reads is stale. "
        f"Requested by the tick: Sheer {ours.requested:,}, Dagster {theirs.requested:,}.",
    )
    for col in ("sheer", "dagster", "entities"):
        table.add_column(col, justify="left" if col != "entities" else "right")
    for (mine, other), count in sorted(pairs.items()):
        style = "" if mine == other else "[yellow]"
        table.add_row(f"{style}{mine}", f"{style}{other}", f"{count:,}")
    return table


def _growth(rows: Sequence[SheerMeasured], field: str) -> float:
    """(largest's time / smallest's) / (largest's entities / smallest's): 1.00 is linear."""
    a, b = rows[0], rows[-1]
    ratio: float = getattr(b, field).wall / getattr(a, field).wall
    return ratio / (b.entities / a.entities)


def sizes_table(rows: Sequence[SheerMeasured]) -> Table:
    table = Table(
        title="Sheer alone: staleness of every entity and one tick, best of 3",
        caption="Each size in a fresh process; write: seeding the records (not timed for "
        "a target); peak: that process's peak RSS; growth: (time / smallest's) / "
        "(entities / smallest's), 1.00 is linear.",
    )
    cols = ["assets x days", "entities", "write s", "staleness s", "cpu s", "µs/entity"]
    cols += ["tick s", "cpu s", "requested", "stale", "peak MB", "growth"]
    for col in cols:
        table.add_column(col, justify="right")
    for m in rows:
        growth = _growth([rows[0], m], "staleness") if m is not rows[0] else 1.0
        table.add_row(
            _size(m),
            f"{m.entities:,}",
            f"{m.write:.1f}",
            f"{m.staleness.wall:.3f}",
            f"{m.staleness.cpu:.3f}",
            f"{m.staleness.wall / m.entities * 1e6:.1f}",
            f"{m.tick.wall:.3f}",
            f"{m.tick.cpu:.3f}",
            f"{m.requested:,}",
            f"{m.counts.get('STALE', 0):,}",
            f"{m.peak_mb:,.0f}",
            f"{growth:.2f}",
        )
    return table


def check_targets(
    side: SheerMeasured, theirs: DagsterMeasured | None, rows: Sequence[SheerMeasured], same: bool
) -> Any:
    t = Targets("Targets (issue 14)")
    if theirs is None:
        t.note(f"Dagster / Sheer at {_size(side)}", "dagster not run")
    else:
        for name in ("staleness", "tick"):
            ratio = getattr(theirs, name).wall / getattr(side, name).wall
            t.add(f"{name}: Dagster / Sheer at {_size(side)}", ratio, ">=", SPEEDUP, "x")
    big = rows[-1]
    if big.entities >= 1_000_000:
        t.add(f"staleness at {_size(big)}", big.staleness.wall, "<=", STALENESS_SECONDS, " s")
        t.add(f"tick at {_size(big)}", big.tick.wall, "<=", TICK_SECONDS, " s")
        t.add(f"peak memory at {_size(big)}", big.peak_mb, "<=", PEAK_MB, " MB")
    else:
        t.note("staleness, tick and peak at 1,000 x 1,000", "size not run")
    if len(rows) > 1:
        for name in ("staleness", "tick"):
            span = f"{_size(big)} / {_size(rows[0])}"
            t.add(f"{name} growth {span}", _growth(rows, name), "<=", GROWTH_SLACK, "x")
    t.add("materialize runs give the same statuses and causes", float(same), ">=", 1, "")
    return t


# Main ---------------------------------------------------------------------------------
def _pair(text: str) -> tuple[int, int]:
    assets, _, days = text.partition("x")
    return int(assets), int(days)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a test runs it)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--no-dagster", action="store_true", help="skip the Dagster side")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--side-by-side", type=_pair, help="ASSETSxDAYS, default 200x365")
    parser.add_argument("--sizes", help="ASSETSxDAYS,... for Sheer alone, smallest first")
    parser.add_argument("--full", action="store_true", help="(run_all.py passes it; no effect)")
    parser.add_argument("--one", type=_pair, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:  # the child process of sheer_in_subprocess
        print(
            json.dumps(
                asdict(sheer_measure(args.one[0], args.one[1], args.seed, args.db, args.keep))
            )
        )
        return 0
    side = args.side_by_side or (QUICK_SIDE_BY_SIDE if args.quick else SIDE_BY_SIDE)
    sizes = [_pair(s) for s in args.sizes.split(",")] if args.sizes else None
    sizes = sizes or list(QUICK_SIZES if args.quick else SIZES)
    console = Console(width=max(Console().width, 120))  # the tables, unwrapped in a log
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(
        f"[bold]Partitions benchmark[/bold]: Python {platform.python_version()}, seed "
        f"{args.seed}; side by side at {side[0]:,} x {side[1]:,}, Sheer alone at "
        f"{', '.join(f'{a:,} x {d:,}' for a, d in sizes)} (assets x daily partitions); "
        f"{VIRTUAL_SHARE:.0%} virtual; eager() on every non-virtual asset; on-disk SQLite; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs.",
        soft_wrap=True,
    )
    started = time.perf_counter()
    theirs = None
    with tempfile.TemporaryDirectory(prefix="sheer-bench-") as tmp:
        folder = Path(tmp)
        same = cross_check(folder, args.seed)
        ours = sheer_in_subprocess(side[0], side[1], args.seed, folder, keep=True)
        if args.no_dagster:
            console.print("dagster: skipped (--no-dagster).")
        elif importlib.util.find_spec("dagster") is None:
            console.print("dagster is not installed: skipped (`make bench` installs it).")
        else:
            console.print(
                f"dagster {side[0]:,} x {side[1]:,}: writing, then its resolver and a tick "
                "(once each: minutes at 200 x 365)...",
                soft_wrap=True,
            )
            (folder / "dagster").mkdir()
            theirs = dagster_measure(side[0], side[1], args.seed, folder / "dagster")
        rows = [sheer_in_subprocess(a, d, args.seed, folder, keep=False) for a, d in sizes]
    verdict = "[green]the same[/green]" if same else "[red]DIFFERENT[/red]"
    console.print(
        "statuses and root causes from real `materialize` runs at 20 x 12, against the "
        f"records written here: {verdict}"
    )
    console.print(side_by_side_table(ours, theirs))
    if theirs is not None:
        console.print(
            f"Dagster {theirs.version} has virtual assets: the views are "
            "AssetSpec(is_virtual=True, partitions_def=) on both sides."
        )
        dag = partitioned_dag(side[0], args.seed)
        console.print(agreement_table(differences(ours, theirs, dag), ours, theirs))
    console.print(sizes_table(rows))
    targets = check_targets(ours, theirs, rows, same)
    console.print(targets.table)
    console.print(f"benchmark ran in {time.perf_counter() - started:.0f} s")
    return 1 if args.check and not targets.ok else 0


if __name__ == "__main__":
    sys.exit(main())
