"""Graph benchmark: time to define a large project and build its asset graph.

For a seeded random DAG (the first 1% of assets are roots; every other asset has 1-3
parents drawn from earlier assets; 30% of non-roots are virtual) at 1k, 5k and 20k
assets, it times, once with `AssetSpec`s and once with `@asset` functions (one data
input per parent, through `ins=` and a `**kwargs` body):

- define: creating the specs or decorated functions;
- graph: `Definitions(assets=...).resolve_asset_graph()`;
- gc: the part of define + graph spent in Python's cyclic garbage collector;
- ancestors: `graph.non_virtual_ancestors(key)` for every asset (spec graph).

Sheer numbers are the best of 3 runs. When `dagster` is importable, the same DAG is
built with Dagster (once per case; 20k only with `--full`) and the ratio is printed.
It measures, it does not assert: `--check` makes a missed target exit 1.

Usage: python benchmarks/bench_graph.py [--full] [--no-dagster] [--check] [--seed N]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import platform
import random
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

SIZES = (1_000, 5_000, 20_000)
SEED = 1234
ROOT_SHARE = 0.01
VIRTUAL_SHARE = 0.3
SHEER_REPEATS = 3
KINDS = ("spec", "asset")
KIND_LABELS = {"spec": "AssetSpec", "asset": "@asset"}
# Seconds at 20k assets: define + graph for each kind, and every ancestor look-up.
TARGETS = {"spec": 1.0, "asset": 2.0, "ancestors": 0.5}
GROWTH_SLACK = 1.25  # 20k/1k may exceed 20x by this factor and still count as linear


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    name: str
    parents: tuple[str, ...]
    is_virtual: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    define: float
    graph: float
    gc: float  # of define + graph, the time spent in CPython's cyclic garbage collector
    ancestors: float | None

    @property
    def total(self) -> float:
        return self.define + self.graph


@dataclass(frozen=True, slots=True, kw_only=True)
class Library:
    """An orchestrator under test: `sheer` or `dagster`, spoken to with the same API."""

    name: str
    module: ModuleType
    virtual: bool  # whether it accepts is_virtual=True; if not, every asset is built plain
    ancestors: Callable[[Any, Any], Any] | None


def random_dag(n: int, seed: int) -> list[Node]:
    """The benchmark DAG: repeatable for a seed, parents always earlier than children."""
    rng = random.Random(seed)
    roots = max(1, int(n * ROOT_SHARE))
    names = [f"asset_{i:05d}" for i in range(n)]
    nodes = []
    for i, name in enumerate(names):
        if i < roots:
            nodes.append(Node(name=name, parents=(), is_virtual=False))
            continue
        picked = rng.sample(range(i), rng.randint(1, min(3, i)))
        nodes.append(
            Node(
                name=name,
                parents=tuple(names[p] for p in sorted(picked)),
                is_virtual=rng.random() < VIRTUAL_SHARE,
            )
        )
    return nodes


def _compute_fn() -> Callable[..., None]:
    # A fresh function per asset, as in a real project.
    def compute(**kwargs: Any) -> None:
        return None

    return compute


def define(lib: Library, dag: Sequence[Node], kind: str) -> list[Any]:
    """The asset definitions of `dag` as `lib` objects: specs or @asset functions."""
    dg = lib.module
    out = []
    for node in dag:
        extra = {"is_virtual": True} if node.is_virtual and lib.virtual else {}
        if kind == "spec":
            out.append(dg.AssetSpec(node.name, deps=list(node.parents), **extra))
        else:
            ins = {f"p{j}": dg.AssetIn(key=p) for j, p in enumerate(node.parents)}
            out.append(dg.asset(name=node.name, ins=ins, **extra)(_compute_fn()))
    return out


class GcClock:
    """Adds up the time the cyclic garbage collector runs while registered."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start


def measure(lib: Library, dag: Sequence[Node], kind: str, *, ancestors: bool) -> Timing:
    gc.collect()
    clock = GcClock()
    gc.callbacks.append(clock)
    try:
        start = time.perf_counter()
        assets = define(lib, dag, kind)
        defined = time.perf_counter()
        graph = lib.module.Definitions(assets=assets).resolve_asset_graph()
        built = time.perf_counter()
    finally:
        gc.callbacks.remove(clock)
    elapsed = None
    if ancestors and lib.ancestors is not None:
        keys = sorted(graph.get_all_asset_keys())
        look_up = lib.ancestors
        t0 = time.perf_counter()
        for key in keys:
            look_up(graph, key)
        elapsed = time.perf_counter() - t0
    if len(graph.get_all_asset_keys()) != len(dag):
        raise RuntimeError(f"{lib.name} built {len(graph.get_all_asset_keys())} of {len(dag)}")
    return Timing(define=defined - start, graph=built - defined, gc=clock.total, ancestors=elapsed)


def best_of(runs: Sequence[Timing]) -> Timing:
    fastest = min(runs, key=lambda t: t.total)
    looked = [t.ancestors for t in runs if t.ancestors is not None]
    return Timing(
        define=fastest.define,
        graph=fastest.graph,
        gc=fastest.gc,
        ancestors=min(looked) if looked else None,
    )


def load_sheer() -> Library:
    import sheer

    return Library(
        name="sheer",
        module=sheer,
        virtual=True,
        ancestors=lambda graph, key: graph.non_virtual_ancestors(key),
    )


def load_dagster() -> Library | None:
    try:
        dagster = importlib.import_module("dagster")
    except ImportError:
        return None
    warnings.filterwarnings("ignore", category=dagster.PreviewWarning)
    warnings.filterwarnings("ignore", category=dagster.BetaWarning)
    virtual = True
    try:
        dagster.AssetSpec("probe", is_virtual=True)
        dagster.asset(name="probe", is_virtual=True)(_compute_fn())
    except (TypeError, dagster.DagsterInvalidDefinitionError):
        virtual = False
    look_up = None
    if hasattr(dagster.Definitions().resolve_asset_graph(), "get_non_virtual_ancestor_keys"):
        look_up = lambda graph, key: graph.get_non_virtual_ancestor_keys(key)  # noqa: E731
    return Library(name="dagster", module=dagster, virtual=virtual, ancestors=look_up)


def run(
    lib: Library, dags: dict[int, list[Node]], sizes: Sequence[int], repeats: int
) -> dict[tuple[str, int], Timing]:
    results = {}
    for kind in KINDS:
        # Warm up (lazy imports, first-call caches) so they are not billed to 1k.
        measure(lib, random_dag(20, 0), kind, ancestors=True)
        for n in sizes:
            runs = [measure(lib, dags[n], kind, ancestors=kind == "spec") for _ in range(repeats)]
            results[kind, n] = best_of(runs)
    return results


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.3f}"


def _ratio(theirs: float | None, ours: float | None) -> str:
    if theirs is None or not ours:
        return "-"
    return f"{theirs / ours:.1f}x"


def timings_table(
    sheer: dict[tuple[str, int], Timing], dagster: dict[tuple[str, int], Timing] | None
) -> Table:
    table = Table(
        title="Seconds: define the assets, build the graph, total",
        caption="gc: part of sheer's total spent in Python's garbage collector. "
        "ancestors: non_virtual_ancestors(key) for every asset of the AssetSpec graph"
        + (" (dagster: get_non_virtual_ancestor_keys)" if dagster is not None else ""),
    )
    for col in ("case", "assets", "define", "graph", "gc", "sheer"):
        table.add_column(col, justify="left" if col == "case" else "right")
    if dagster is not None:
        table.add_column("dagster", justify="right")
        table.add_column("ratio", justify="right")
    for (kind, n), ours in sheer.items():
        theirs = (dagster or {}).get((kind, n))
        row = [KIND_LABELS[kind], f"{n:,}", _s(ours.define), _s(ours.graph), _s(ours.gc)]
        row.append(_s(ours.total))
        if dagster is not None:
            total = theirs.total if theirs else None
            row += [_s(total), _ratio(total, ours.total)]
        table.add_row(*row)
    for n in SIZES:
        ours = sheer.get(("spec", n))
        if ours is None or ours.ancestors is None:
            continue
        row = ["ancestors", f"{n:,}", "", "", "", _s(ours.ancestors)]
        if dagster is not None:
            theirs = dagster.get(("spec", n))
            look = theirs.ancestors if theirs else None
            row += [_s(look), _ratio(look, ours.ancestors)]
        table.add_row(*row)
    return table


def targets_table(sheer: dict[tuple[str, int], Timing]) -> tuple[Table, bool]:
    big, small = SIZES[-1], SIZES[0]
    table = Table(title=f"Sheer targets at {big:,} assets")
    for col in ("check", "measured", "target", "result"):
        table.add_column(col, justify="left" if col == "check" else "right")
    ok = True

    def add(check: str, measured: float, target: float, unit: str) -> None:
        nonlocal ok
        passed = measured < target
        ok &= passed
        verdict = "[green]PASS[/green]" if passed else "[red]FAIL[/red]"
        table.add_row(check, f"{measured:.3f}{unit}", f"< {target:g}{unit}", verdict)

    for kind in KINDS:
        label = KIND_LABELS[kind]
        add(f"{label}: define + graph", sheer[kind, big].total, TARGETS[kind], " s")
        growth = sheer[kind, big].total / sheer[kind, small].total
        add(
            f"{label}: growth {big:,}/{small:,} (linear = {big / small:g}x)",
            growth,
            big / small * GROWTH_SLACK,
            "x",
        )
    look = sheer["spec", big].ancestors
    if look is not None:
        add("non_virtual_ancestors for every asset", look, TARGETS["ancestors"], " s")
    return table, ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also run Dagster at 20k assets")
    parser.add_argument(
        "--no-dagster", action="store_true", help="time Sheer only, even if dagster is installed"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    console = Console()
    dags = {n: random_dag(n, args.seed) for n in SIZES}
    virtual = {n: sum(node.is_virtual for node in dags[n]) for n in SIZES}
    console.print(
        f"[bold]Graph benchmark[/bold]: Python {platform.python_version()}, seed {args.seed}, "
        f"DAG sizes {', '.join(f'{n:,} ({virtual[n]:,} virtual)' for n in SIZES)}; "
        f"sheer best of {SHEER_REPEATS}, dagster once."
    )
    # Sheer first, so Dagster's import and garbage do not slow Sheer's runs.
    sheer = run(load_sheer(), dags, SIZES, SHEER_REPEATS)
    dagster = None if args.no_dagster else load_dagster()
    theirs = None
    if args.no_dagster:
        console.print("--no-dagster: no comparison.")
    elif dagster is None:
        console.print("dagster is not installed: no comparison (`make bench` installs it).")
    else:
        sizes = SIZES if args.full else SIZES[:-1]
        note = "" if args.full else f" ({SIZES[-1]:,} only with --full)"
        console.print(
            f"dagster {dagster.module.__version__}: sizes {', '.join(f'{n:,}' for n in sizes)}"
            f"{note}; is_virtual {'accepted (a Dagster preview)' if dagster.virtual else 'absent'}"
            "; ratio = dagster / sheer."
        )
        if not dagster.virtual:
            console.print(
                "[yellow]This dagster has no is_virtual: its assets are all built "
                "non-virtual.[/yellow]"
            )
        theirs = run(dagster, dags, sizes, 1)
    console.print(timings_table(sheer, theirs))
    table, ok = targets_table(sheer)
    console.print(table)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
