"""Staleness benchmark: every asset's status, whole-graph and key by key, against a floor.

On the seeded random DAG of `bench_graph.py` (1% roots; 1-3 parents drawn from earlier
assets; 30% of non-roots virtual) at 1k, 5k, 20k and 100k assets, every non-virtual asset
is an `@asset` (code version "1") and every virtual one an `AssetSpec(is_virtual=True)`.
An on-disk SQLite instance gets one materialization per non-virtual asset, written as a
run writes it (data version, code version and provenance computed with `VersionView`,
stored in batches), then 1% of the roots are re-materialized with a new version.

Per size, best of 5 (3 at 50k assets and more), wall-clock and process time, the graph
built beforehand (as a running project holds it; `bench_graph.py` times that):

- whole: a new `StaleStatusResolver(instance, defs)`, then `get_all()`;
- loop: a new resolver, then `get_status(key)` for every key, in definition order;
- floor: what any resolver must at least do: one indexed read of every latest record
  (stdlib `sqlite3`, on a connection opened beforehand, every column staleness needs:
  materialization and observation ids, data, code and input versions, provenance; into
  a dict by asset key) and one pass over the edges (every asset in topological order,
  one dict look-up and compare per parent);
- narrow floor (shown, no target): the same with the data version alone;
- causes: a new resolver, `get_all()`, then `get_stale_root_causes(key)` for every asset.

When `dagster` is importable (`make bench` installs 1.13.28), the same graph and records
are built with it up to 20k assets (`dagster_staleness.py`) and its
`CachingStaleStatusResolver` answers `get_status(key)` for every key: plain (once: minutes
at 20k), and after `instance_queryer.prefetch_asset_records(every key)`; the ratios to
Sheer's loop come from the same run, and the statuses are compared. At the smallest size
it also runs the graph with `materialize` and checks that statuses and root causes match
the written records.

Targets (issue 12): the loop within 1.5x of whole; at 20k, >= 150x faster than Dagster's
plain resolver and >= 15x faster than its prefetched one; whole within 2x of the floor;
whole and loop under 2 s at 100k; linear growth (largest/smallest at most 1.25x the size
ratio); causes under 1 s at 20k. It prints PASS/FAIL and exits 0; `--check` makes a
missed target exit 1.

Usage: python benchmarks/bench_staleness.py [--check] [--seed N] [--sizes 1000,5000]
    [--no-dagster]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench_graph import SEED, Node, random_dag
from rich.console import Console
from rich.table import Table

import sheer as dg
from sheer.events import EventType
from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.storage import NewEvent
from sheer.versioning import VersionView, derived_data_version

SIZES = (1_000, 5_000, 20_000, 100_000)
REPEATS = 5
BIG_REPEATS = 3  # from BIG assets on, where one repeat of every measure takes seconds
BIG = 50_000
REMATERIALIZED_ROOTS = 0.01
BATCH = 2_000  # events per transaction while writing the records
GROWTH_SLACK = 1.25  # largest/smallest may exceed the size ratio by this factor

# The floor reads every latest record: the columns any staleness resolver needs (those
# `SqlStorage.get_latest_versions` reads). The narrow floor reads the data version alone.
FLOOR_COLUMNS = (
    "last_materialization_id, data_version, code_version, inputs, last_observation_id, "
    "observation_data_version, provenance"
)
NARROW_COLUMNS = "data_version"
FLOOR_SQL = "SELECT asset_key, {columns} FROM asset_latest WHERE partition = ''"

DAGSTER_MAX = 20_000  # Dagster runs up to this size
DAGSTER_AT = 20_000  # where the Dagster targets are checked
DAGSTER_PLAIN_REPEATS = 1  # ~17 ms per key here: minutes at 20k, so measured once
DAGSTER_PREFETCHED_REPEATS = {1_000: 3, 5_000: 3}  # once above

LOOP_VS_WHOLE = 1.5
WHOLE_VS_FLOOR = 2.0
DAGSTER_PLAIN_SPEEDUP = 150.0
DAGSTER_PREFETCHED_SPEEDUP = 15.0
SECONDS_AT_100K = 2.0
CAUSES_SECONDS_AT_20K = 1.0

FRESH, STALE, MISSING = dg.StaleStatus.FRESH, dg.StaleStatus.STALE, dg.StaleStatus.MISSING
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    wall: float  # best of the repeats
    cpu: float  # process time: what the machine's load does not inflate (best too)


@dataclass(frozen=True, slots=True, kw_only=True)
class Measured:
    assets: int
    virtual: int
    repeats: int
    write: float  # building and storing the records (not part of any target)
    whole: Timing
    loop: Timing
    floor: Timing
    narrow: Timing
    causes: Timing
    counts: Counter[dg.StaleStatus]
    root_causes: int
    loop_agrees: bool  # the loop gave the same statuses as get_all()
    # asset name -> (status, whether a STALE asset has a cause of its own), for Dagster
    statuses: dict[str, tuple[str, bool]]


# Definitions and records -------------------------------------------------------------
def define(dag: Sequence[Node], root_versions: dict[str, str] | None = None) -> list[Any]:
    """`@asset`s (code version "1") and virtual specs. A root returns the data version
    `root_versions` gives it (default "r0"); the others get derived versions."""
    versions = root_versions if root_versions is not None else {}
    out: list[Any] = []
    for node in dag:
        if node.is_virtual:
            out.append(dg.AssetSpec(node.name, deps=list(node.parents), is_virtual=True))
            continue

        compute = _compute_fn(versions, node.name, root=not node.parents)
        out.append(dg.asset(name=node.name, deps=list(node.parents), code_version="1")(compute))
    return out


def _compute_fn(versions: dict[str, str], name: str, *, root: bool) -> Any:
    def compute() -> dg.MaterializeResult:
        return dg.MaterializeResult(data_version=versions.get(name, "r0") if root else None)

    return compute


def _materialization(
    graph: AssetGraph, view: VersionView, key: AssetKey, user_version: str | None
) -> NewEvent:
    """The event a run writes for `key` (see `execution/run.py`), inputs as `view` has them."""
    node = graph.get(key)
    prov = view.provenance(key)
    if user_version is not None:
        version = user_version
    elif node.code_version is not None:
        version = derived_data_version(node.code_version, prov.input_versions)
    else:
        raise ValueError(f"{key.to_user_string()} needs a version")
    view.update(key, version)
    return NewEvent(
        event_type=EventType.ASSET_MATERIALIZATION,
        run_id="bench",
        timestamp=time.time(),
        asset_key=key,
        step_key=key.to_python_identifier(),
        message=f"Materialized '{key.to_user_string()}'",
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


def changed_roots(dag: Sequence[Node], seed: int) -> list[str]:
    roots = [n.name for n in dag if not n.parents]
    return sorted(
        random.Random(seed).sample(roots, max(1, round(len(roots) * REMATERIALIZED_ROOTS)))
    )


def write_records(instance: dg.Instance, graph: AssetGraph, dag: Sequence[Node], seed: int) -> None:
    """Every non-virtual asset materialized once, then 1% of the roots again."""
    view = VersionView(graph, lambda key: None)
    batch: list[NewEvent] = []
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if node.is_virtual:
            continue
        batch.append(_materialization(graph, view, key, None if node.parent_keys else "r0"))
        if len(batch) >= BATCH:
            instance.store_events(batch)
            batch = []
    instance.store_events(batch)
    instance.store_events(
        [_materialization(graph, view, AssetKey(name), "r1") for name in changed_roots(dag, seed)]
    )


# What is timed -----------------------------------------------------------------------
def whole_graph(instance: dg.Instance, defs: dg.Definitions) -> dict[AssetKey, dg.StaleStatus]:
    return dg.StaleStatusResolver(instance, defs).get_all()


def key_by_key(
    instance: dg.Instance, defs: dg.Definitions, keys: Sequence[AssetKey]
) -> list[dg.StaleStatus]:
    resolver = dg.StaleStatusResolver(instance, defs)
    return [resolver.get_status(k) for k in keys]


def floor(conn: sqlite3.Connection, sql: str, edges: Sequence[tuple[str, tuple[str, ...]]]) -> int:
    """One indexed read of every latest record, one look-up and compare per edge."""
    latest = {row[0]: row for row in conn.execute(sql)}
    missing = 0
    get = latest.get
    for _, parents in edges:
        for parent in parents:
            if get(parent) is None:
                missing += 1
    return missing


def resolve_everything(
    instance: dg.Instance, defs: dg.Definitions
) -> tuple[dict[AssetKey, dg.StaleStatus], dict[AssetKey, list[str]]]:
    """Every status, then every asset's root causes."""
    resolver = dg.StaleStatusResolver(instance, defs)
    statuses = resolver.get_all()
    causes = {key: [str(c) for c in resolver.get_stale_root_causes(key)] for key in statuses}
    return statuses, causes


def _timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _best(runs: Sequence[tuple[float, float]]) -> Timing:
    return Timing(wall=min(w for w, _ in runs), cpu=min(c for _, c in runs))


def own_causes(instance: dg.Instance, defs: dg.Definitions) -> dict[str, tuple[str, bool]]:
    """Each asset's status, and whether a STALE one has a cause other than a stale
    upstream asset: what Dagster's statuses are compared with."""
    resolver = dg.StaleStatusResolver(instance, defs)
    out = {}
    for key, status in resolver.get_all().items():
        direct = status is STALE and any(
            c.category is not dg.StaleCauseCategory.DEPENDENCIES
            for c in resolver.get_stale_causes(key)
        )
        out[key.to_user_string()] = (status.value, direct)
    return out


def measure(dag: Sequence[Node], seed: int, folder: Path) -> Measured:
    defs = dg.Definitions(assets=define(dag))
    graph = defs.resolve_asset_graph()  # built once, as a running project holds it
    path = folder / f"staleness-{len(dag)}.db"
    instance = dg.Instance.from_url(f"sqlite:///{path}")
    t0 = time.perf_counter()
    write_records(instance, graph, dag, seed)
    write = time.perf_counter() - t0
    keys = [AssetKey(n.name) for n in dag]
    edges = [
        (k.to_user_string(), tuple(p.to_user_string() for p in graph.get(k).parent_keys))
        for k in graph.toposorted_asset_keys
    ]
    sql = FLOOR_SQL.format(columns=FLOOR_COLUMNS)
    narrow_sql = FLOOR_SQL.format(columns=NARROW_COLUMNS)
    conn = sqlite3.connect(path)
    repeats = BIG_REPEATS if len(dag) >= BIG else REPEATS
    runs: dict[str, list[tuple[float, float]]] = {
        m: [] for m in ("whole", "loop", "floor", "narrow", "causes")
    }
    statuses: dict[AssetKey, dg.StaleStatus] = {}
    causes: dict[AssetKey, list[str]] = {}
    agrees = True
    try:
        for _ in range(repeats):
            _, *t = _timed(lambda: floor(conn, sql, edges))
            runs["floor"].append(tuple(t))
            _, *t = _timed(lambda: floor(conn, narrow_sql, edges))
            runs["narrow"].append(tuple(t))
            whole, *t = _timed(lambda: whole_graph(instance, defs))
            runs["whole"].append(tuple(t))
            looped, *t = _timed(lambda: key_by_key(instance, defs, keys))
            runs["loop"].append(tuple(t))
            agrees &= looped == [whole[k] for k in keys]
            (statuses, causes), *t = _timed(lambda: resolve_everything(instance, defs))
            runs["causes"].append(tuple(t))
        compared = own_causes(instance, defs)
    finally:
        conn.close()
        instance.dispose()
    return Measured(
        assets=len(dag),
        virtual=sum(n.is_virtual for n in dag),
        repeats=repeats,
        write=write,
        whole=_best(runs["whole"]),
        loop=_best(runs["loop"]),
        floor=_best(runs["floor"]),
        narrow=_best(runs["narrow"]),
        causes=_best(runs["causes"]),
        counts=Counter(statuses.values()),
        root_causes=sum(len(c) for c in causes.values()),
        loop_agrees=agrees,
        statuses=compared,
    )


def cross_check(dag: Sequence[Node], seed: int, folder: Path) -> bool:
    """Real `materialize` runs of the same graph give the same statuses and root causes
    as the records the benchmark writes."""
    root_versions: dict[str, str] = {}
    assets = define(dag, root_versions)
    defs = dg.Definitions(assets=assets)
    synthetic = dg.Instance.from_url(f"sqlite:///{folder / 'synthetic.db'}")
    write_records(synthetic, defs.resolve_asset_graph(), dag, seed)
    real = dg.Instance.from_url(f"sqlite:///{folder / 'real.db'}")
    dg.materialize(assets, instance=real)
    changed = changed_roots(dag, seed)
    root_versions.update(dict.fromkeys(changed, "r1"))
    dg.materialize(assets, instance=real, selection=changed)
    same = resolve_everything(real, defs) == resolve_everything(synthetic, defs)
    real.dispose()
    synthetic.dispose()
    return same


# Dagster -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class DagsterSide:
    version: str
    results: dict[int, Any]  # size -> dagster_staleness.DagsterMeasured
    agreement: dict[int, Any]  # size -> dagster_staleness.Agreement


def run_dagster(
    dags: dict[int, list[Node]], ours: Sequence[Measured], seed: int, folder: Path, console: Console
) -> DagsterSide:
    import dagster_staleness as ds

    results, agreement = {}, {}
    for m in ours:
        if m.assets > DAGSTER_MAX:
            continue
        dag = dags[m.assets]
        repeats = DAGSTER_PREFETCHED_REPEATS.get(m.assets, 1)
        console.print(
            f"dagster {m.assets:,}: building, writing, then timing its resolver "
            f"(plain once, prefetched best of {repeats})...",
            soft_wrap=True,
        )
        where = folder / f"dagster-{m.assets}"
        where.mkdir()
        results[m.assets] = theirs = ds.measure(
            dag,
            changed_roots(dag, seed),
            where,
            plain_repeats=DAGSTER_PLAIN_REPEATS,
            prefetched_repeats=repeats,
        )
        virtual = {n.name for n in dag if n.is_virtual}
        agreement[m.assets] = ds.agreement(theirs.statuses, m.statuses, virtual)
    return DagsterSide(version=ds.version(), results=results, agreement=agreement)


# Tables ------------------------------------------------------------------------------
def _growth(values: Sequence[tuple[int, float]]) -> float | None:
    """Largest over smallest, divided by the size ratio: 1.0 is linear."""
    if len(values) < 2:
        return None
    (n0, t0), (n1, t1) = values[0], values[-1]
    return (t1 / t0) / (n1 / n0)


def measure_table(title: str, caption: str, rows: Sequence[tuple[int, Timing]]) -> Table:
    table = Table(title=title, caption=caption)
    for col in ("assets", "wall s", "cpu s", "µs/asset", "growth"):
        table.add_column(col, justify="right")
    base = rows[0]
    for n, t in rows:
        growth = (t.wall / base[1].wall) / (n / base[0]) if n != base[0] else 1.0
        table.add_row(
            f"{n:,}", f"{t.wall:.3f}", f"{t.cpu:.3f}", f"{t.wall / n * 1e6:.1f}", f"{growth:.2f}"
        )
    return table


def sheer_tables(results: Sequence[Measured]) -> list[Table]:
    n = f"best of {results[0].repeats}" + (
        f" ({BIG_REPEATS} from {BIG:,} assets)" if results[-1].repeats != results[0].repeats else ""
    )
    growth = "growth: (time / smallest's) / (size / smallest's); 1.00 is linear."
    return [
        measure_table(
            f"whole: StaleStatusResolver(instance, defs).get_all(), {n}",
            f"A new resolver, its one batched read included. {growth}",
            [(m.assets, m.whole) for m in results],
        ),
        measure_table(
            f"loop: get_status(key) for every key, {n}",
            f"A new resolver, then one call per key in definition order. {growth}",
            [(m.assets, m.loop) for m in results],
        ),
        measure_table(
            f"floor: one read of the index, one pass over the edges, {n}",
            f"sqlite3: SELECT asset_key, {FLOOR_COLUMNS} FROM asset_latest into a dict "
            f"by key (on an open connection), then one look-up and compare per parent in "
            f"topological order. {growth}",
            [(m.assets, m.floor) for m in results],
        ),
        measure_table(
            f"narrow floor (no target): the data version alone, {n}",
            f"As the floor, reading SELECT asset_key, {NARROW_COLUMNS}. {growth}",
            [(m.assets, m.narrow) for m in results],
        ),
        measure_table(
            f"causes: get_all() and get_stale_root_causes() of every asset, {n}",
            f"A new resolver, its one batched read included. {growth}",
            [(m.assets, m.causes) for m in results],
        ),
    ]


def records_table(results: Sequence[Measured]) -> Table:
    table = Table(
        title="Records written (untimed) and statuses found",
        caption="write: building and storing the materializations, in batches of "
        f"{BATCH:,} events; loop = whole: the loop's statuses equal get_all()'s.",
    )
    for col in ("assets", "virtual", "write s", "fresh", "stale", "missing", "root causes"):
        table.add_column(col, justify="right")
    table.add_column("loop = whole", justify="center")
    for m in results:
        c = m.counts
        table.add_row(
            f"{m.assets:,}",
            f"{m.virtual:,}",
            f"{m.write:.2f}",
            f"{c[FRESH]:,}",
            f"{c[STALE]:,}",
            f"{c[MISSING]:,}",
            f"{m.root_causes:,}",
            "yes" if m.loop_agrees else "[red]NO[/red]",
        )
    return table


def dagster_tables(ours: Sequence[Measured], side: DagsterSide) -> list[Table]:
    loop = {m.assets: m.loop for m in ours}
    plain = Table(
        title=f"Dagster {side.version} CachingStaleStatusResolver: get_status of every key",
        caption="plain: a new resolver, then get_status(key) per key (measured once); "
        "prefetched: a new resolver, instance_queryer.prefetch_asset_records(every key) "
        "(prefetch: that call alone), then the same loop, best of 3 (once at 20k). "
        "x sheer: Dagster's wall time / Sheer's loop, measured in this run.",
    )
    for col in (
        "assets",
        "plain s",
        "cpu s",
        "x sheer",
        "prefetched s",
        "cpu s",
        "prefetch s",
        "x sheer",
        "define s",
        "write s",
    ):
        plain.add_column(col, justify="right")
    for n, d in side.results.items():
        plain.add_row(
            f"{n:,}",
            f"{d.plain.seconds:.2f}",
            f"{d.plain.cpu:.2f}",
            f"{d.plain.seconds / loop[n].wall:,.0f}x",
            f"{d.prefetched.seconds:.3f}",
            f"{d.prefetched.cpu:.3f}",
            f"{d.prefetch_only:.3f}",
            f"{d.prefetched.seconds / loop[n].wall:,.1f}x",
            f"{d.define:.1f}",
            f"{d.write:.1f}",
        )
    agree = Table(
        title="Dagster's statuses against Sheer's, non-virtual assets",
        caption="transitive: Sheer STALE only because an upstream asset is stale; Dagster "
        "1.13.28 does not propagate a stale parent, so those are not compared (dagster "
        "fresh: how many of them it calls FRESH). plain = prefetched: both resolvers agree.",
    )
    for col in ("assets", "compared", "differ", "transitive", "dagster fresh"):
        agree.add_column(col, justify="right")
    agree.add_column("plain = prefetched", justify="center")
    for n, a in side.agreement.items():
        agree.add_row(
            f"{n:,}",
            f"{a.compared:,}",
            f"{a.differ:,}" if not a.differ else f"[yellow]{a.differ:,}[/yellow]",
            f"{a.transitive:,}",
            f"{a.transitive_fresh:,}",
            "yes" if side.results[n].same_as_prefetched else "[yellow]no[/yellow]",
        )
    return [plain, agree]


def ratios_table(ours: Sequence[Measured], side: DagsterSide | None) -> Table:
    table = Table(
        title="Ratios, wall time, same run",
        caption="growth row: (largest / smallest) / size ratio; 1.00 is linear.",
    )
    cols = ["assets", "loop / whole", "whole / floor", "loop / floor"]
    if side is not None:
        cols += ["dagster plain / loop", "dagster prefetched / loop"]
    for col in cols:
        table.add_column(col, justify="right")
    for m in ours:
        row = [
            f"{m.assets:,}",
            f"{m.loop.wall / m.whole.wall:.2f}",
            f"{m.whole.wall / m.floor.wall:.2f}",
            f"{m.loop.wall / m.floor.wall:.2f}",
        ]
        if side is not None:
            d = side.results.get(m.assets)
            row += (
                [
                    f"{d.plain.seconds / m.loop.wall:,.0f}x",
                    f"{d.prefetched.seconds / m.loop.wall:,.1f}x",
                ]
                if d
                else ["-", "-"]
            )
        table.add_row(*row)
    if len(ours) > 1:
        grow = [
            _growth([(m.assets, getattr(m, name).wall) for m in ours])
            for name in ("whole", "floor", "loop")
        ]
        row = ["growth", f"whole {grow[0]:.2f}", f"floor {grow[1]:.2f}", f"loop {grow[2]:.2f}"]
        if side is not None:
            row += ["", ""]
        table.add_row(*row)
    return table


class Targets:
    """The targets table, and whether every counted target passed."""

    def __init__(self, title: str) -> None:
        self.table = Table(title=title)
        for col in ("check", "measured", "target", "result"):
            self.table.add_column(col, justify="left" if col == "check" else "right")
        self.ok = True

    def add(
        self, check: str, measured: float, op: str, target: float, unit: str, *, counts: bool = True
    ) -> None:
        passed = measured <= target if op == "<=" else measured >= target
        self.ok &= passed or not counts
        verdict = "[green]PASS[/green]" if passed else "[red]FAIL[/red]"
        if not counts:
            verdict += " (info)"
        self.table.add_row(check, f"{measured:,.3f}{unit}", f"{op} {target:g}{unit}", verdict)

    def note(self, check: str, why: str) -> None:
        self.table.add_row(check, "-", why, "[yellow]not run[/yellow]")


def check_targets(ours: Sequence[Measured], side: DagsterSide | None, same: bool) -> Targets:
    big, small = ours[-1], ours[0]
    at = {m.assets: m for m in ours}
    t = Targets(f"Targets (issue 12), largest size {big.assets:,} assets")
    t.add(
        f"loop / whole at {big.assets:,}", big.loop.wall / big.whole.wall, "<=", LOOP_VS_WHOLE, "x"
    )
    t.add(
        f"whole / floor at {big.assets:,}",
        big.whole.wall / big.floor.wall,
        "<=",
        WHOLE_VS_FLOOR,
        "x",
    )
    if 100_000 in at:
        m = at[100_000]
        t.add("whole at 100,000", m.whole.wall, "<=", SECONDS_AT_100K, " s")
        t.add("loop at 100,000", m.loop.wall, "<=", SECONDS_AT_100K, " s")
        t.add(
            "loop at 100,000, process time", m.loop.cpu, "<=", SECONDS_AT_100K, " s", counts=False
        )
    else:
        t.note("whole and loop at 100,000", "size not run")
    if big is not small:
        for name in ("whole", "loop"):
            growth = _growth([(m.assets, getattr(m, name).wall) for m in ours])
            assert growth is not None
            t.add(
                f"{name}: growth {big.assets:,}/{small.assets:,}, per size ratio",
                growth,
                "<=",
                GROWTH_SLACK,
                "x",
            )
    if DAGSTER_AT in at:
        t.add(
            f"causes at {DAGSTER_AT:,}",
            at[DAGSTER_AT].causes.wall,
            "<=",
            CAUSES_SECONDS_AT_20K,
            " s",
        )
    if side is None or DAGSTER_AT not in side.results:
        t.note(f"Dagster at {DAGSTER_AT:,}", "dagster or the size not run")
    else:
        d, loop = side.results[DAGSTER_AT], at[DAGSTER_AT].loop.wall
        t.add(
            f"Dagster plain / loop at {DAGSTER_AT:,}",
            d.plain.seconds / loop,
            ">=",
            DAGSTER_PLAIN_SPEEDUP,
            "x",
        )
        t.add(
            f"Dagster prefetched / loop at {DAGSTER_AT:,}",
            d.prefetched.seconds / loop,
            ">=",
            DAGSTER_PREFETCHED_SPEEDUP,
            "x",
        )
    t.add(f"materialize runs give the same statuses ({small.assets:,})", float(same), ">=", 1, "")
    t.add(
        "loop statuses equal get_all()'s, every size",
        float(all(m.loop_agrees for m in ours)),
        ">=",
        1,
        "",
    )
    return t


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--sizes",
        default=",".join(str(n) for n in SIZES),
        help="comma-separated asset counts, smallest first",
    )
    parser.add_argument("--no-dagster", action="store_true", help="skip the Dagster side")
    parser.add_argument("--full", action="store_true", help="(run_all.py passes it; no effect)")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    console = Console(width=max(Console().width, 110))  # the tables, unwrapped in a log
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(
        f"[bold]Staleness benchmark[/bold]: Python {platform.python_version()}, seed {args.seed}, "
        f"sizes {', '.join(f'{n:,}' for n in sizes)}; every non-virtual asset materialized, "
        f"then {REMATERIALIZED_ROOTS:.0%} of the roots again; on-disk SQLite; load average "
        f"{load:.1f} on {os.cpu_count()} CPUs."
    )
    started = time.perf_counter()
    dags = {n: random_dag(n, args.seed) for n in sizes}
    side = None
    with tempfile.TemporaryDirectory(prefix="sheer-bench-") as tmp:
        folder = Path(tmp)
        for name in ("warm", "check", *(str(n) for n in sizes)):
            (folder / name).mkdir()
        measure(random_dag(50, 0), 0, folder / "warm")  # lazy imports, not billed to 1k
        # Sheer first, so Dagster's import and heap do not slow Sheer's runs.
        ours = [measure(dags[n], args.seed, folder / str(n)) for n in sizes]
        same = cross_check(dags[sizes[0]], args.seed, folder / "check")
        if args.no_dagster:
            console.print("dagster: skipped (--no-dagster).")
        elif importlib.util.find_spec("dagster") is None:
            console.print("dagster is not installed: skipped (`make bench` installs it).")
        else:
            side = run_dagster(dags, ours, args.seed, folder, console)
    for table in (*sheer_tables(ours), records_table(ours)):
        console.print(table)
    verdict = "[green]the same[/green]" if same else "[red]DIFFERENT[/red]"
    console.print(
        f"statuses and root causes from real `materialize` runs at {sizes[0]:,} assets, "
        f"against the records written here: {verdict}"
    )
    if side is not None:
        for table in dagster_tables(ours, side):
            console.print(table)
    console.print(ratios_table(ours, side))
    targets = check_targets(ours, side, same)
    console.print(targets.table)
    console.print(f"benchmark ran in {time.perf_counter() - started:.0f} s")
    return 1 if args.check and not targets.ok else 0


if __name__ == "__main__":
    sys.exit(main())
