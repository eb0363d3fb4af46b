"""The runnable examples run and print what the docs promise."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_quickstart_demo_tells_the_whole_story(tmp_path):
    # Run from elsewhere: the demo must find its files relative to itself.
    env = {**os.environ, "QUICKSTART_HOME": str(tmp_path / "qs"), "COLUMNS": "120"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart" / "run_demo.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert (
        "Lineage: orders -> valid_orders (virtual) -> recent_orders (virtual) -> "
        "daily_revenue (the seed's A -> B -> C -> D)"
    ) in text
    assert (
        "daily_revenue is stale: orders has a new data version (via recent_orders, valid_orders)"
    ) in text
    assert (
        "ordering through virtual assets: orders -> valid_orders -> recent_orders -> daily_revenue"
    ) in text
    assert "total 875.24" in text
    assert "total 1455.24" in text
    assert "sheer dev -f examples/quickstart/warehouse.py" in text
    assert "sheer status -f examples/quickstart/warehouse.py" in text
