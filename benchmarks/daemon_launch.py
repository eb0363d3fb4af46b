"""The daemon's time to launch one large request, end to end, as `bench_scale.py` prints it.

A project of one root `A` and N eager assets downstream of it, on an on-disk SQLite
instance (or the PostgreSQL one given). The daemon ticks once (the first evaluation),
`A` is materialized, and the timed tick requests all N assets in one run and launches
its process (`sheer launch --run-id`, which reads the run's assets from storage):

- tick: the daemon's tick that requests and launches the run (evaluation, recording
  the evaluations, the run row and cursor in one transaction, the process started);
- started: from the tick's start until the launched process has claimed the run
  (it loaded the definitions and planned N assets);
- finished: until the run succeeded, every asset materialized.

Usage: python benchmarks/daemon_launch.py [--assets N] [--url URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sheer as dg
from sheer.automation import AutomationDaemon

ASSETS = 50_000
TIMEOUT = 1_800.0  # seconds: fail rather than hang

PROJECT = """
import sheer as dg


@dg.asset
def A():
    return 1


def leaf(i):
    @dg.asset(name=f"d{{i}}", deps=[A], automation_condition=dg.AutomationCondition.eager())
    def d():
        return i

    return d


defs = dg.Definitions(assets=[A, *(leaf(i) for i in range(N))])
""".replace("N)", "{n})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Launch:
    assets: int
    tick: float
    started: float
    finished: float
    success: bool


def measure_launch(assets: int, folder: Path, url: str | None = None) -> Launch:
    defs_file = folder / "wide_project.py"
    defs_file.write_text(PROJECT.format(n=assets))
    instance = dg.Instance.from_url(url or f"sqlite:///{folder / 'launch.db'}")
    defs = dg.load_definitions(defs_file)
    daemon = AutomationDaemon(defs, instance, launch_args=["-f", str(defs_file)], cwd=str(folder))
    daemon.tick()
    defs.materialize(["A"], instance=instance)
    t0 = time.perf_counter()
    outcome = daemon.tick()
    tick = time.perf_counter() - t0
    if len(outcome.requested) != assets or len(outcome.run_ids) != 1:
        raise RuntimeError(f"the tick requested {len(outcome.requested)} of {assets} assets")
    (run_id,) = outcome.run_ids
    started = finished = float("nan")
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        run = instance.get_run(run_id)
        assert run is not None
        if started != started and run.status is not dg.RunStatus.QUEUED:
            started = time.perf_counter() - t0
        if run.is_finished:
            finished = time.perf_counter() - t0
            break
        time.sleep(0.05)
    daemon.wait_for_children()
    run = instance.get_run(run_id)
    instance.dispose()
    return Launch(
        assets=assets,
        tick=tick,
        started=started,
        finished=finished,
        success=run is not None and run.status is dg.RunStatus.SUCCESS,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=ASSETS)
    parser.add_argument("--url", default=None, help="an instance URL (default: a SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sheer-launch-") as tmp:
        print(measure_launch(args.assets, Path(tmp), args.url))


if __name__ == "__main__":
    main()
