"""`benchmarks/bench_partitions.py --quick` runs end to end and prints what it measures.

Only the lines are checked, never the speed: the timings depend on the machine.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_partitions.py"


def _run(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=BENCH.parent,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    # rich wraps long titles and captions: compare with whitespace collapsed.
    return " ".join(out.stdout.split())


def test_quick_mode_prints_every_measure_and_the_targets() -> None:
    with_dagster = importlib.util.find_spec("dagster") is not None
    text = _run() if with_dagster else _run("--no-dagster")
    expected = [
        "Partitions benchmark: Python",
        "side by side at 20 x 30, Sheer alone at 10 x 40, 20 x 40",
        "statuses and root causes from real `materialize` runs at 20 x 12, against the "
        "records written here: the same",
        "Side by side, 20 x 30 daily partitions (600 entities, 6 virtual assets), same run",
        "│ staleness │",
        "│ tick │",
        "Sheer alone: staleness of every entity and one tick, best of 3",
        "│ 10 x 40 │ 400 │",
        "│ 20 x 40 │ 800 │",
        "Targets (issue 14)",
        "staleness growth 20 x 40 / 10 x 40",
        "tick growth 20 x 40 / 10 x 40",
        "│ staleness, tick and peak at 1,000 x 1,000 │ - │ size not run │ not run │",
        "materialize runs give the same statuses and causes │ 1.000 │ >= 1 │ PASS │",
        "benchmark ran in",
    ]
    if with_dagster:
        expected += [
            "has virtual assets: the views are AssetSpec(is_virtual=True, partitions_def=) "
            "on both sides.",
            "Statuses of the non-virtual entities, Sheer against Dagster",
            "staleness: Dagster / Sheer at 20 x 30",
            "tick: Dagster / Sheer at 20 x 30",
        ]
    else:
        expected.append("dagster: skipped (--no-dagster).")
    missing = [line for line in expected if line not in text]
    assert not missing, f"not printed: {missing}\n{text}"


def test_quick_mode_without_dagster_says_so_and_still_measures_sheer() -> None:
    text = _run("--no-dagster", "--sizes", "10x20")
    assert "dagster: skipped (--no-dagster)." in text
    assert "│ staleness │" in text and "│ - │ - │ - │" in text
    assert "│ Dagster / Sheer at 20 x 30 │ - │ dagster not run │ not run │" in text
    assert "│ 10 x 20 │ 200 │" in text
