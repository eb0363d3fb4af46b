"""The runnable examples run and print what the docs promise."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_demo_prints_the_lineage(tmp_path):
    # Run from elsewhere: the demo must find its files relative to itself.
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart" / "run_demo.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "Lineage: A -> B (virtual) -> C (virtual) -> D" in lines
    assert "Virtual assets (derived on the fly, never materialized alone): ['B', 'C']" in lines
    assert "D's nearest non-virtual ancestors, seen through the views: ['A']" in lines
