"""Scale benchmark: events written per second, the staleness of a 50k-asset graph, and
the daemon launching a 50k-asset request.

Writes: 1 and 8 writer processes (forked, each with its own instance) write to one
instance through `Instance.store_events`, each as a run's steps do: a transaction with
the STEP_START, then one with the materialization (code version, provenance of one
parent, metadata) and the STEP_SUCCESS, the events `execution/run.py` makes. They write
for a fixed time; the table gives events and transactions per second over all writers,
and checks that the database holds exactly the events the writers reported, with
unique ids.

Staleness: the seeded random DAG of `bench_graph.py` at 50k assets (1% roots, 1-3
parents each, 30% of non-roots virtual). Every non-virtual asset gets a materialization
with the provenance a run records (computed with `VersionView`, written in batches
through `Instance.store_events`), then 1% of the roots a new one. It times a new
`StaleStatusResolver(instance, defs).get_all()` (its one batched read included), best
of 3, on PostgreSQL and, for comparison, on SQLite.

Launch: `daemon_launch.measure_launch` on a SQLite file: the daemon's tick requesting
50k eager assets in one run, until its process claimed the run and until it succeeded.

SQLite is a file in a temporary folder; PostgreSQL is `$SHEER_TEST_POSTGRES_URL`, in a
schema of its own made for the run and dropped after it (without the variable, the
PostgreSQL parts are skipped with a note). About three minutes in all. It measures,
with no targets; it exits 1 only when events were lost or duplicated, or the launched
run failed.

Usage: python benchmarks/bench_scale.py [--check] [--seed N] [--assets N] [--seconds S]
           [--launch-assets N] [--only writes|staleness|launch ...]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_graph import SEED, Node, random_dag
from daemon_launch import Launch, measure_launch
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import sheer as dg
from sheer.events import EventType, metadata_event_data
from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.storage import NewEvent
from sheer.versioning import Provenance, VersionView, derived_data_version

POSTGRES_URL_ENV = "SHEER_TEST_POSTGRES_URL"
WRITERS = (1, 8)
WRITE_SECONDS = 3.0
ASSETS = 50_000
BATCH = 2_000  # events per transaction while building the 50k records
REPEATS = 3
REMATERIALIZED_ROOTS = 0.01
LAUNCH_ASSETS = 50_000
PARTS = ("writes", "staleness", "launch")
FRESH, STALE, MISSING = dg.StaleStatus.FRESH, dg.StaleStatus.STALE, dg.StaleStatus.MISSING


@dataclass(frozen=True, slots=True, kw_only=True)
class Writes:
    backend: str
    writers: int
    seconds: float
    events: int  # reported by the writers
    stored: int  # found in the database afterwards
    unique_ids: bool

    @property
    def ok(self) -> bool:
        return self.events == self.stored and self.unique_ids


@dataclass(frozen=True, slots=True, kw_only=True)
class Staleness:
    backend: str
    assets: int
    virtual: int
    records: int
    write: float
    read: float  # the batched read of every latest record alone
    resolve: float  # a new resolver's get_all(), its read included
    cpu: float
    counts: Counter[dg.StaleStatus]


# Databases ----------------------------------------------------------------------------------


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A new schema on the server of `base` for the block; yields a URL that uses it."""
    schema = f"sheer_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'create schema "{schema}"'))
    try:
        url = make_url(base).update_query_dict(
            {"options": f"-csearch_path={schema}", "application_name": schema}
        )
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@contextmanager
def database(backend: str, folder: Path, name: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{name}.db'}"
        return
    with postgres_schema(os.environ[POSTGRES_URL_ENV]) as url:
        yield url


# Writes per second ----------------------------------------------------------------------------


def step_events(run_id: str, writer: int, step: int) -> tuple[NewEvent, list[NewEvent]]:
    """A step's events as a run writes them (`execution/run.py`): its STEP_START, then
    the materialization of an asset with one parent (code version, provenance, metadata)
    and the STEP_SUCCESS with the step's timing."""
    name = f"w{writer}_{step}"
    key, parent = AssetKey(name), f"w{writer}_{step - 1}" if step else f"w{writer}_root"
    started = time.time()
    start = NewEvent(
        event_type=EventType.STEP_START,
        run_id=run_id,
        timestamp=started,
        asset_key=key,
        step_key=name,
        message=f"Step {name} started ({name}).",
        data={"asset_keys": [name]},
    )
    prov = Provenance(code_version="1", input_versions={AssetKey(parent): f"v{step}"})
    version = derived_data_version("1", prov.input_versions)
    finished = time.time()
    timing = {"started_at": started, "finished_at": finished, "duration": finished - started}
    done = [
        NewEvent(
            event_type=EventType.ASSET_MATERIALIZATION,
            run_id=run_id,
            timestamp=finished,
            asset_key=key,
            step_key=name,
            message=f"Materialized '{name}'",
            data={
                **metadata_event_data({"rows": step}),
                "data_version": version,
                "code_version": "1",
                "provenance": prov.to_json(),
                "tags": {},
                "is_virtual": False,
                "stored": True,
                "user_data_version": False,
            },
        ),
        NewEvent(
            event_type=EventType.STEP_SUCCESS,
            run_id=run_id,
            timestamp=finished,
            asset_key=key,
            step_key=name,
            message=f"Step {name} succeeded in {timing['duration']:.3f}s.",
            data=timing,
        ),
    ]
    return start, done


def _writer(url: str, home: str, writer: int, seconds: float, barrier: Any, out: Any) -> None:
    """One writer process: a run's two transactions per step, until time is up."""
    instance = dg.Instance.from_url(url, root_dir=home)
    run_id = f"bench-{writer}"
    written = 0
    barrier.wait()
    deadline = time.perf_counter() + seconds
    step = 0
    while time.perf_counter() < deadline:
        start, done = step_events(run_id, writer, step)
        instance.store_events([start])
        instance.store_events(done)
        written += 3
        step += 1
    instance.dispose()
    out.put(written)


def measure_writes(backend: str, writers: int, seconds: float, folder: Path) -> Writes:
    with database(backend, folder, f"writes-{writers}") as url:
        dg.Instance.from_url(url, root_dir=folder).dispose()  # schema created before forking
        ctx = multiprocessing.get_context("fork")
        barrier, out = ctx.Barrier(writers + 1), ctx.Queue()
        procs = [
            ctx.Process(target=_writer, args=(url, str(folder), w, seconds, barrier, out))
            for w in range(writers)
        ]
        for p in procs:
            p.start()
        barrier.wait()
        start = time.perf_counter()
        events = sum(out.get() for _ in procs)
        elapsed = time.perf_counter() - start
        for p in procs:
            p.join()
        instance = dg.Instance.from_url(url, root_dir=folder)
        ids = [e.storage_id for e in instance.get_event_records()]
        instance.dispose()
    return Writes(
        backend=backend,
        writers=writers,
        seconds=elapsed,
        events=events,
        stored=len(ids),
        unique_ids=len(set(ids)) == len(ids),
    )


# Staleness of a large graph -------------------------------------------------------------------


def define(dag: Sequence[Node]) -> list[Any]:
    """Virtual nodes as virtual specs, the others as `@asset`s with code version "1"."""
    out: list[Any] = []
    for node in dag:
        if node.is_virtual:
            out.append(dg.AssetSpec(node.name, deps=list(node.parents), is_virtual=True))
        else:
            out.append(dg.asset(name=node.name, deps=list(node.parents), code_version="1")(_noop))
    return out


def _noop() -> None:
    return None


def materialization(
    graph: AssetGraph, view: VersionView, key: AssetKey, user_version: str | None
) -> NewEvent:
    """The materialization a run records for `key` (see `execution/run.py`)."""
    node = graph.get(key)
    prov = view.provenance(key)
    version = user_version or derived_data_version(node.code_version, prov.input_versions)
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


def write_records(instance: dg.Instance, graph: AssetGraph, dag: Sequence[Node], seed: int) -> int:
    """Every non-virtual asset materialized once, then 1% of the roots again."""
    view = VersionView(graph, lambda key: None)
    events = [
        materialization(graph, view, key, None if graph.get(key).parent_keys else "r0")
        for key in graph.toposorted_asset_keys
        if not graph.get(key).is_virtual
    ]
    roots = [n.name for n in dag if not n.parents]
    changed = random.Random(seed).sample(roots, max(1, round(len(roots) * REMATERIALIZED_ROOTS)))
    events += [materialization(graph, view, AssetKey(name), "r1") for name in sorted(changed)]
    for i in range(0, len(events), BATCH):
        instance.store_events(events[i : i + BATCH])
    return len(events)


def measure_staleness(
    backend: str,
    dag: Sequence[Node],
    defs: dg.Definitions,
    graph: AssetGraph,
    seed: int,
    folder: Path,
) -> Staleness:
    with database(backend, folder, "staleness") as url:
        instance = dg.Instance.from_url(url, root_dir=folder)
        t0 = time.perf_counter()
        records = write_records(instance, graph, dag, seed)
        write = time.perf_counter() - t0
        reads, totals, cpus = [], [], []
        statuses: dict[AssetKey, dg.StaleStatus] = {}
        for _ in range(REPEATS):
            gc.collect()
            t0 = time.perf_counter()
            instance.get_latest_records(None)
            reads.append(time.perf_counter() - t0)
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            statuses = dg.StaleStatusResolver(instance, defs).get_all()
            totals.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        instance.dispose()
    return Staleness(
        backend=backend,
        assets=len(dag),
        virtual=sum(n.is_virtual for n in dag),
        records=records,
        write=write,
        read=min(reads),
        resolve=min(totals),
        cpu=min(cpus),
        counts=Counter(statuses.values()),
    )


# Output ---------------------------------------------------------------------------------------


def writes_table(results: Sequence[Writes], seconds: float) -> Table:
    table = Table(
        title=f"Events written per second ({seconds:g} s per case)",
        caption="A step: one transaction with STEP_START, one with the materialization and "
        "STEP_SUCCESS, as a run writes them. check: the database holds exactly the events "
        "reported, with unique ids.",
    )
    for col in ("backend", "writers", "events", "events/s", "transactions/s", "check"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    for r in results:
        table.add_row(
            r.backend,
            str(r.writers),
            f"{r.events:,}",
            f"{r.events / r.seconds:,.0f}",
            f"{r.events * 2 / 3 / r.seconds:,.0f}",
            "[green]ok[/green]" if r.ok else f"[red]{r.stored:,} stored[/red]",
        )
    return table


def staleness_table(results: Sequence[Staleness]) -> Table:
    table = Table(
        title=f"Status of every asset of a {results[0].assets:,}-asset graph: seconds, "
        f"best of {REPEATS}",
        caption="resolve: a new StaleStatusResolver's get_all(), its one batched read "
        "included (read: that read alone); cpu: its process time; write: building and "
        "storing the records.",
    )
    for col in ("backend", "records", "write", "read", "resolve", "cpu", "fresh/stale/missing"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    for r in results:
        c = r.counts
        table.add_row(
            r.backend,
            f"{r.records:,}",
            f"{r.write:.1f}",
            f"{r.read:.3f}",
            f"{r.resolve:.3f}",
            f"{r.cpu:.3f}",
            f"{c[FRESH]:,}/{c[STALE]:,}/{c[MISSING]:,}",
        )
    return table


def launch_table(launch: Launch) -> Table:
    table = Table(
        title=f"The daemon launching a {launch.assets:,}-asset request (SQLite), seconds",
        caption="One root and N eager assets below it, the root just materialized: tick is "
        "the daemon's tick that requests the N assets in one run and starts its process; "
        "started: until that process claimed the run (definitions loaded, N assets planned); "
        "finished: until the run succeeded (see daemon_launch.py).",
    )
    for col in ("assets", "tick", "started", "finished", "run"):
        table.add_column(col, justify="right")
    table.add_row(
        f"{launch.assets:,}",
        f"{launch.tick:.1f}",
        f"{launch.started:.1f}",
        f"{launch.finished:.1f}",
        "[green]success[/green]" if launch.success else "[red]failed[/red]",
    )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="(run_all.py passes it; no effect)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--assets", type=int, default=ASSETS)
    parser.add_argument("--seconds", type=float, default=WRITE_SECONDS)
    parser.add_argument("--full", action="store_true", help="(run_all.py passes it; no effect)")
    parser.add_argument(
        "--launch-assets", type=int, default=LAUNCH_ASSETS, help="assets of the daemon's request"
    )
    parser.add_argument(
        "--only",
        choices=PARTS,
        action="append",
        help="measure only this part (repeatable; default: every part)",
    )
    args = parser.parse_args(argv)
    parts = set(args.only or PARTS)
    console = Console()
    backends = ["sqlite"]
    if os.environ.get(POSTGRES_URL_ENV):
        server = make_url(os.environ[POSTGRES_URL_ENV]).render_as_string(hide_password=True)
        backends.append("postgresql")
        where = f"PostgreSQL at {server}"
    else:
        where = f"PostgreSQL skipped: set {POSTGRES_URL_ENV} to measure it"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(
        f"[bold]Scale benchmark[/bold]: Python {platform.python_version()}, seed {args.seed}; "
        f"SQLite in a temporary folder; {where}; load average {load:.1f} on "
        f"{os.cpu_count()} CPUs."
    )
    writes: list[Writes] = []
    with tempfile.TemporaryDirectory(prefix="sheer-bench-") as tmp:
        folder = Path(tmp)
        if "writes" in parts:
            writes = [measure_writes(b, n, args.seconds, folder) for b in backends for n in WRITERS]
            console.print(writes_table(writes, args.seconds))
        if "staleness" in parts:
            dag = random_dag(args.assets, args.seed)
            defs = dg.Definitions(assets=define(dag))
            graph = defs.resolve_asset_graph()  # built once, as a running project holds it
            staleness = [
                measure_staleness(b, dag, defs, graph, args.seed, folder)
                for b in reversed(backends)
            ]
            console.print(staleness_table(staleness))
    if "launch" in parts:
        with tempfile.TemporaryDirectory(prefix="sheer-launch-") as tmp:
            launch = measure_launch(args.launch_assets, Path(tmp))
        console.print(launch_table(launch))
    if "postgresql" not in backends:
        console.print(
            f"[yellow]PostgreSQL parts skipped: set {POSTGRES_URL_ENV} "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test).[/yellow]"
        )
    if not all(w.ok for w in writes):
        console.print("[red]Events were lost or duplicated.[/red]")
        return 1
    if "launch" in parts and not launch.success:
        console.print("[red]The launched run did not succeed.[/red]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
