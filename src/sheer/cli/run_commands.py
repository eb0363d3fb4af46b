"""`sheer launch` and `sheer automation ...`: thin commands over execution and automation."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from sheer.automation.daemon import AutomationDaemon, TickOutcome
from sheer.errors import SheerError
from sheer.execution.run import execute_selection
from sheer.instance import Instance

console = Console(highlight=False)


def open_instance(url: str | None) -> Instance:
    """`--instance URL`, else `$SHEER_INSTANCE`, else the project's default instance."""
    if url:
        return Instance.from_url(url)
    return Instance.get()


def target_args(module: str | None, file: str | None) -> list[str]:
    """How a subprocess finds the same definitions."""
    if module:
        return ["-m", module]
    if file:
        return ["-f", str(Path(file).resolve())]
    return []


def parse_interval(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise click.BadParameter(f"{text!r} is not a duration; use e.g. 30s, 500ms, 2m")
    value, unit = float(m.group(1)), m.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def launch(defs, selection: str, instance_url: str | None, executor: str | None,  # type: ignore[no-untyped-def]
           run_id: str | None, tags: tuple[str, ...], quiet: bool) -> None:
    instance = open_instance(instance_url)
    tag_map = dict(t.split("=", 1) for t in tags)
    result = execute_selection(defs, selection, instance=instance, executor=executor,
                               raise_on_error=False, tags=tag_map, run_id=run_id)
    events = result.get_asset_materialization_events()
    if not quiet:
        names = ", ".join(e.asset_key.to_user_string() for e in events if e.asset_key)
        console.print(f"Run {result.run_id[:8]}: materialized {len(events)} assets: {names}")
    if not result.success:
        failures = result.get_step_failure_events()
        message = failures[0].message if failures else "the run failed"
        raise SheerError(f"Run {result.run_id[:8]} failed. {message}")


def print_tick(outcome: TickOutcome) -> None:
    if outcome.result is None:
        console.print(f"[yellow]tick skipped:[/] {outcome.skipped_reason}")
        return
    result = outcome.result
    table = Table(title=f"tick {outcome.tick_id}: {result.total_requested} requested")
    for column in ("asset", "true", "requested", "why"):
        table.add_column(column)
    for key, evaluation in sorted(result.results.items()):
        why = evaluation.error or _true_parts(evaluation.tree)
        table.add_row(key.to_user_string(), "yes" if evaluation.value else "",
                      "yes" if evaluation.requested else "", why)
    console.print(table)
    if outcome.run_ids:
        console.print(f"launched run {', '.join(r[:8] for r in outcome.run_ids)}")


def _true_parts(tree) -> str:  # type: ignore[no-untyped-def]
    if tree is None:
        return ""
    parts = [c.label for c in tree.children if c.value] if tree.children else []
    return ", ".join(parts) if tree.value else "not: " + ", ".join(
        c.label for c in tree.children if not c.value)


def make_daemon(defs, instance_url: str | None, module: str | None,  # type: ignore[no-untyped-def]
                file: str | None) -> AutomationDaemon:
    return AutomationDaemon(defs, open_instance(instance_url),
                            launch_args=target_args(module, file), cwd=os.getcwd())
