"""Run every `benchmarks/bench_*.py` in turn, each in its own process (`make bench`).

Each benchmark prints its own results; arguments given here (e.g. `--full`) are passed
to every benchmark. Exits non-zero when a benchmark fails.

Usage: python benchmarks/run_all.py [--full] [--check]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    console = Console()
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        console.rule(f"[bold]{script.name}[/bold]")
        start = time.perf_counter()
        # Output is inherited, not captured: it streams, and rich sees the terminal.
        code = subprocess.run([sys.executable, str(script), *argv], check=False).returncode
        elapsed = time.perf_counter() - start
        status = "[green]ok[/green]" if code == 0 else f"[red]exit {code}[/red]"
        console.print(f"{script.name}: {status} in {elapsed:.1f} s")
        if code != 0:
            failed.append(script.name)
    if failed:
        console.print(f"[red]Failed: {', '.join(failed)}[/red]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
