"""Execution benchmark: milliseconds per step to materialize many trivial assets.

Each run is `materialize(...)` of every asset on a fresh on-disk SQLite instance
(`Instance.from_url("sqlite:///<tmp>/sheer.db")`) with the default filesystem IO
manager, so a step pays for what a real one does: STEP_START, the function, its value
pickled, its materialization with provenance and STEP_SUCCESS. Two graphs of 500 assets:

- chain: `asset_00000 -> asset_00001 -> ...`, each reading its parent as a data input;
- random: a seeded DAG (the first 1% are roots; every other asset has 1-3 data inputs
  drawn from earlier assets; 30% of non-roots are virtual, with a function).

Every number is the best of 3 runs (`--repeats`), each on a fresh instance; the
in-process executor has a target, the multiprocess one (`max_concurrent=2`) is printed
for information. When
`dagster` is importable, a shorter chain (100 assets) is run, in the same process, with
Dagster's `materialize` on `DagsterInstance.ephemeral()` (in-memory storage; its on-disk
instance is several times slower) and with Sheer on disk and in memory; the ratio is
printed. Wall-clock numbers depend on how busy the machine is, so the load average and
each run's CPU time are printed too. It measures, it does not assert: `--check` makes a
missed target exit 1; `--profile` prints where Sheer's time goes in one in-process run
of the random DAG.

Usage: python benchmarks/bench_execution.py [--check] [--profile] [--seed N] [--repeats N]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import importlib.util
import io
import os
import platform
import pstats
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from bench_graph import Node, random_dag  # the same seeded DAG as every benchmark
from rich.console import Console
from rich.table import Table

SIZE = 500
DAGSTER_SIZE = 100
SEED = 1234
REPEATS = 3
MAX_CONCURRENT = 2
TARGET_MS = 2.0  # per step, in-process, on an on-disk SQLite instance


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    wall: float  # seconds for the whole materialize()
    cpu: float  # CPU seconds of this process (user + system) in that time


@dataclass(frozen=True, slots=True, kw_only=True)
class Measure:
    label: str
    assets: int
    executor: str
    runs: tuple[Timing, ...]

    @property
    def ms_per_step(self) -> float:
        """Wall-clock milliseconds per step of the fastest run."""
        return min(t.wall for t in self.runs) * 1000 / self.assets

    @property
    def cpu_ms_per_step(self) -> float:
        return min(t.cpu for t in self.runs) * 1000 / self.assets


def chain_dag(n: int) -> list[Node]:
    names = [f"asset_{i:05d}" for i in range(n)]
    return [
        Node(name=name, parents=(names[i - 1],) if i else (), is_virtual=False)
        for i, name in enumerate(names)
    ]


def _compute_fn() -> Callable[..., int]:
    # A fresh function per asset, as in a real project; inputs arrive as p0, p1, ...
    def compute(**inputs: Any) -> int:
        return 1 + len(inputs)

    return compute


def _chain_fn() -> Callable[..., int]:
    # Dagster wants named parameters; a chain asset has exactly one input.
    def compute(p0: int) -> int:
        return p0 + 1

    return compute


def _root_fn() -> Callable[[], int]:
    def compute() -> int:
        return 1

    return compute


def define(dg: ModuleType, dag: Sequence[Node], *, virtual: bool = True) -> list[Any]:
    """`@asset` definitions of `dag`, one data input per parent."""
    out = []
    for node in dag:
        ins = {f"p{j}": dg.AssetIn(key=p) for j, p in enumerate(node.parents)}
        if not node.parents:
            fn = _root_fn()
        elif len(node.parents) == 1 and not node.is_virtual:
            fn = _chain_fn()
        else:
            fn = _compute_fn()
        extra = {"is_virtual": True} if node.is_virtual and virtual else {}
        out.append(dg.asset(name=node.name, ins=ins, **extra)(fn))
    return out


def _timed(call: Callable[[], Any]) -> tuple[Any, Timing]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    out = call()
    return out, Timing(wall=time.perf_counter() - wall, cpu=time.process_time() - cpu)


def run_sheer(assets: Sequence[Any], executor: Any, *, on_disk: bool = True) -> Timing:
    """One `materialize` of `assets` on a fresh instance: SQLite on disk, or in memory."""
    import sheer as dg

    with tempfile.TemporaryDirectory(prefix="sheer-bench-") as tmp:
        if on_disk:
            instance = dg.Instance.from_url(f"sqlite:///{tmp}/sheer.db")
        else:
            instance = dg.Instance.ephemeral()
        try:
            result, timing = _timed(
                lambda: dg.materialize(assets, instance=instance, executor=executor)
            )
            done = len(result.get_asset_materialization_events())
        finally:
            instance.dispose()
    if not result.success or done != len(assets):
        raise RuntimeError(f"sheer materialized {done} of {len(assets)} assets")
    return timing


# Dagster prints every event to the console by default; that is terminal time, not
# orchestration, so its console logger is set to errors only.
_DAGSTER_QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def run_dagster(dagster: ModuleType, assets: Sequence[Any]) -> Timing:
    """One Dagster `materialize` of `assets` on a fresh `DagsterInstance.ephemeral()`."""
    instance = dagster.DagsterInstance.ephemeral()
    try:
        result, timing = _timed(
            lambda: dagster.materialize(assets, instance=instance, run_config=_DAGSTER_QUIET)
        )
        done = len(result.get_asset_materialization_events())
    finally:
        instance.dispose()
    if not result.success or done != len(assets):
        raise RuntimeError(f"dagster materialized {done} of {len(assets)} assets")
    return timing


def measure(
    label: str, assets: Sequence[Any], executor: str, run: Callable[[], Timing], repeats: int
) -> Measure:
    runs = tuple(run() for _ in range(repeats))
    return Measure(label=label, assets=len(assets), executor=executor, runs=runs)


def load_dagster() -> ModuleType | None:
    try:
        dagster = importlib.import_module("dagster")
    except ImportError:
        return None
    for name in ("PreviewWarning", "BetaWarning", "SupersessionWarning"):
        category = getattr(dagster, name, None)
        if category is not None:
            warnings.filterwarnings("ignore", category=category)
    return dagster


def profile_sheer(console: Console, assets: Sequence[Any], executor: Any) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    run_sheer(assets, executor)
    profiler.disable()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(25)
        console.print(f"[bold]Profile of one in-process run (random), by {order}[/bold]")
        console.print(out.getvalue(), markup=False, highlight=False, soft_wrap=True)


def _runs(m: Measure) -> str:
    return ", ".join(f"{t.wall:.2f}" for t in m.runs)


def results_table(rows: Sequence[Measure]) -> Table:
    table = Table(
        title="Sheer: ms per step, materialize() on an on-disk SQLite instance",
        caption="ms/step: wall clock of the fastest run / steps; cpu: CPU time of this "
        "process (user + system; without the worker processes for multiprocess); "
        "runs: wall seconds of every run",
    )
    for col in ("graph", "assets", "executor", "ms/step", "cpu ms/step", "runs (s)"):
        table.add_column(col, justify="left" if col in ("graph", "executor") else "right")
    for m in rows:
        table.add_row(
            m.label,
            f"{m.assets:,}",
            m.executor,
            f"{m.ms_per_step:.2f}",
            f"{m.cpu_ms_per_step:.2f}",
            _runs(m),
        )
    return table


def comparison_table(rows: Sequence[Measure], theirs: Measure, version: str) -> Table:
    table = Table(
        title=f"Chain of {theirs.assets} assets, in-process: sheer vs dagster {version}",
        caption="ratio: dagster ms/step / this row's ms/step. Dagster runs on an in-memory "
        "instance with its console logger at ERROR; its default IO manager still pickles "
        "each value to a temporary folder, as Sheer's does.",
    )
    for col in ("library", "instance", "ms/step", "cpu ms/step", "runs (s)", "ratio"):
        table.add_column(col, justify="left" if col in ("library", "instance") else "right")
    for m in (*rows, theirs):
        ratio = "" if m is theirs else f"{theirs.ms_per_step / m.ms_per_step:.1f}x"
        library, instance = m.label.split(": ", 1)
        table.add_row(
            library,
            instance,
            f"{m.ms_per_step:.2f}",
            f"{m.cpu_ms_per_step:.2f}",
            _runs(m),
            f"[bold]{ratio}[/bold]" if ratio else "",
        )
    return table


def targets_table(rows: Sequence[Measure]) -> tuple[Table, bool]:
    table = Table(title=f"Sheer target: in-process, < {TARGET_MS:g} ms per step")
    for col in ("check", "measured", "target", "result"):
        table.add_column(col, justify="left" if col == "check" else "right")
    ok = True
    for m in rows:
        if m.executor != "in_process":
            continue
        passed = m.ms_per_step < TARGET_MS
        ok &= passed
        verdict = "[green]PASS[/green]" if passed else "[red]FAIL[/red]"
        table.add_row(
            f"{m.label}, {m.assets} assets",
            f"{m.ms_per_step:.2f} ms",
            f"< {TARGET_MS:g} ms",
            verdict,
        )
    return table, ok


def _load_note() -> str:
    cpus = os.cpu_count() or 1
    load = os.getloadavg()[0]
    note = f"load average {load:.1f} on {cpus} CPUs"
    if load > cpus / 2:
        note += " [yellow](a busy machine: wall-clock numbers are inflated)[/yellow]"
    return note


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--profile", action="store_true", help="profile one in-process run")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs per measurement")
    parser.add_argument("--full", action="store_true", help="accepted for run_all.py; no effect")
    args = parser.parse_args(argv)
    import sheer as dg

    console = Console()
    dags = {"chain": chain_dag(SIZE), "random": random_dag(SIZE, args.seed)}
    virtual = sum(node.is_virtual for node in dags["random"])
    console.print(
        f"[bold]Execution benchmark[/bold]: Python {platform.python_version()}, seed "
        f"{args.seed}; chain and random DAG of {SIZE} assets ({virtual} virtual in the random "
        f"one); best of {args.repeats} runs, each on a fresh on-disk SQLite instance; "
        f"{_load_note()}."
    )
    executors = {
        "in_process": dg.in_process_executor,
        f"multiprocess({MAX_CONCURRENT})": dg.multiprocess_executor.configured(
            {"max_concurrent": MAX_CONCURRENT}
        ),
    }
    run_sheer(define(dg, chain_dag(20)), dg.in_process_executor)  # warm up lazy imports
    rows = []
    for graph, dag in dags.items():
        assets = define(dg, dag)
        for label, exe in executors.items():
            run = lambda a=assets, e=exe: run_sheer(a, e)  # noqa: E731
            rows.append(measure(graph, assets, label, run, args.repeats))
    console.print(results_table(rows))

    if importlib.util.find_spec("dagster") is None:
        console.print("dagster is not installed: no comparison (`make bench` installs it).")
    else:
        # Sheer's side first: importing Dagster fills the heap, which slows every later
        # garbage collection, Sheer's included.
        chain = define(dg, chain_dag(DAGSTER_SIZE))
        ours = [
            measure(
                f"sheer: {'SQLite on disk' if on_disk else 'in memory'}",
                chain,
                "in_process",
                lambda d=on_disk: run_sheer(chain, dg.in_process_executor, on_disk=d),
                args.repeats,
            )
            for on_disk in (True, False)
        ]
        dagster = load_dagster()
        if dagster is None:
            console.print("dagster is installed but does not import: no comparison.")
        else:
            theirs_assets = define(dagster, chain_dag(DAGSTER_SIZE), virtual=False)
            run_dagster(dagster, define(dagster, chain_dag(5), virtual=False))  # warm up
            theirs = measure(
                "dagster: in memory",
                theirs_assets,
                "in_process",
                lambda: run_dagster(dagster, theirs_assets),
                args.repeats,
            )
            console.print(comparison_table(ours, theirs, dagster.__version__))

    table, ok = targets_table(rows)
    console.print(table)
    if args.profile:
        profile_sheer(console, define(dg, dags["random"]), dg.in_process_executor)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
