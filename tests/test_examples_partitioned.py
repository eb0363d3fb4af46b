"""examples/partitioned: a daily table, a daily view on it, a rolling total downstream."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "partitioned"


def test_the_partitioned_demo_stales_exactly_the_days_that_read_the_corrected_one(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "run_demo.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # the first day reads only itself, later days three days of the view
    assert "revenue_3d[2026-01-01] = 111.00" in out
    assert "revenue_3d[2026-01-03] = 366.00" in out
    assert "revenue_3d: fresh 7 / stale 0 / missing 0" in out
    assert "revenue_3d: fresh 4 / stale 3 / missing 0" in out
    for day in ("2026-01-03", "2026-01-04", "2026-01-05"):
        assert (
            f"revenue_3d[{day}] is stale: orders[2026-01-03] has a new data version "
            "(via valid_orders)"
        ) in out
    assert "revenue_3d[2026-01-06] is stale" not in out
    requests = [line for line in out.splitlines() if "automation (eager" in line]
    assert requests == [
        "  automation (eager through the view) requests: nothing",
        "  automation (eager through the view) requests: revenue_3d[2026-01-07]",
    ]


def test_sheer_status_reads_the_partitioned_example(tmp_path):
    env = {**os.environ, "PARTITIONED_ORDERS": str(tmp_path / "orders.json"), "COLUMNS": "200"}
    args = [sys.executable, "-m", "sheer"]
    files = ["-f", str(EXAMPLE / "defs.py")]
    launched = subprocess.run(
        [*args, "launch", *files, "--assets", "orders", "--partition", "2026-01-02"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert launched.returncode == 0, launched.stderr + launched.stdout
    status = subprocess.run(
        [*args, "status", *files],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    text = " ".join(status.stdout.split())
    assert "fresh 0 / stale 0 / missing 7" in text  # revenue_3d: never materialized
    assert "fresh 1 / stale 0 / missing 6" in text  # orders: one day
