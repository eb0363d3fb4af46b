"""Commands that run things: `launch`, `automation tick`, `automation run`."""

from __future__ import annotations

import functools
import os
import re
import time
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    Progress,
)
from rich.table import Table

from sheer.automation.daemon import LEASE_NAME, AutomationDaemon, TickOutcome
from sheer.cli import instance_option, target_options
from sheer.cli.project import load_target, open_instance, target_args
from sheer.cli.render import progress_bar
from sheer.errors import RunNotQueuedError, SheerError
from sheer.events import RunStatus
from sheer.execution.plan import ExecutionPlan, Step
from sheer.execution.run import RunListener, execute_selection, plan_selection
from sheer.execution.step import StepOutcome

console = Console(highlight=False, soft_wrap=True)


def register(main: click.Group) -> None:
    main.add_command(launch)
    main.add_command(automation_group)


class ProgressListener(RunListener):
    """A live display of a run: steps done / running / failed, and elapsed time."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None
        self.running: list[str] = []
        self.failed: list[str] = []
        self.skipped = 0

    def run_started(self, run_id: str, plan: ExecutionPlan) -> None:
        self.task = self.progress.add_task(f"run {run_id[:8]}", total=len(plan.steps))

    def _describe(self) -> None:
        parts = []
        if self.running:
            parts.append(f"running: {', '.join(self.running[:4])}")
        if self.failed:
            parts.append(f"[red]failed: {', '.join(self.failed)}[/]")
        if self.skipped:
            parts.append(f"skipped: {self.skipped}")
        self.progress.update(self.task, description=" | ".join(parts) or "done")

    def step_started(self, step: Step) -> None:
        self.running.append(step.key)
        self._describe()

    def step_finished(self, step: Step, outcome: StepOutcome) -> None:
        self.running.remove(step.key)
        if not outcome.success:
            self.failed.append(step.key)
        self.progress.advance(self.task)
        self._describe()

    def step_skipped(self, step: Step) -> None:
        self.skipped += 1
        self.progress.advance(self.task)
        self._describe()


@click.command("launch")
@target_options
@instance_option
@click.option(
    "--assets",
    "selection",
    default=None,
    help="What to materialize: a selection such as '*', '+daily_revenue', 'a d' "
    "(with --run-id of a queued run: the run's own assets when omitted).",
)
@click.option(
    "--executor",
    type=click.Choice(["in_process", "multiprocess", "dask"]),
    default=None,
    help="in_process (default), multiprocess, or dask ($DASK_SCHEDULER_ADDRESS or a LocalCluster).",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the plan (with ordering through virtual assets)."
)
@click.option(
    "--run-id",
    default=None,
    help="Start this queued run (used by the daemon): its assets are read from storage; "
    "a run already started or finished is left alone. Else the id of the new run.",
)
@click.option("--tag", "tags", multiple=True, help="A run tag, key=value (repeatable).")
@click.option("--partition", default=None, help="Materialize this partition of each asset.")
@click.option(
    "--partition-range",
    default=None,
    help="Materialize the partitions from K1 to K2, both included, in one run: K1...K2.",
)
@click.option("--quiet", is_flag=True, help="No progress display; print nothing on success.")
def launch(
    module: str | None,
    file: str | None,
    instance_url: str | None,
    selection: str | None,
    executor: str | None,
    dry_run: bool,
    run_id: str | None,
    tags: tuple[str, ...],
    partition: str | None,
    partition_range: str | None,
    quiet: bool,
) -> None:
    """Materialize a selection with a live progress display; exit 1 if the run fails.

    \b
    Examples:
      sheer launch --assets '*'
      sheer launch --assets 'orders daily_revenue'
      sheer launch --assets '+daily_revenue' --executor multiprocess --dry-run
      sheer launch --assets orders --partition 2026-01-02
      sheer launch --assets orders --partition-range 2026-01-01...2026-01-31
    """
    partition_tags = parse_partition_options(partition, partition_range)
    instance = open_instance(instance_url) if run_id is not None and selection is None else None
    queued = None
    if instance is not None:
        assert run_id is not None
        queued = instance.get_run(run_id)
        if queued is None:
            raise SheerError(
                f"Run {run_id} does not exist, and --assets was not given. Fix: pass "
                "--assets to start a new run with this id, or give the id of a queued run."
            )
        if queued.status is not RunStatus.QUEUED:
            # Launching a queued run twice (a daemon restarted mid-launch) is harmless.
            if not quiet:
                console.print(
                    f"run {run_id[:8]} is {queued.status.value}, not QUEUED: nothing to launch"
                )
            return
    if selection is None and queued is None:
        raise SheerError(
            "Nothing to launch. Fix: pass --assets (e.g. --assets '*'), or --run-id of a "
            "queued run."
        )
    defs = load_target(module, file)
    chosen: Any = list(queued.asset_selection) if queued is not None else selection
    if queued is not None and not tags:
        tags = tuple(f"{k}={v}" for k, v in queued.tags.items())
    if dry_run:
        for line in plan_selection(defs, chosen).describe():
            console.print(line)
        return
    bad = [t for t in tags if "=" not in t]
    if bad:
        raise SheerError(f"Tag {bad[0]!r} is not key=value. Fix: --tag team=data.")
    tag_map = {**dict(t.split("=", 1) for t in tags), **partition_tags}
    instance = instance or open_instance(instance_url)
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    if executor == "dask" and address:
        from sheer.execution.dask_executor import dask_executor

        executor = dask_executor.configured({"address": address})  # type: ignore[assignment]
    started = time.time()
    run = functools.partial(
        execute_selection,
        defs,
        chosen,
        instance=instance,
        executor=executor,
        raise_on_error=False,
        tags=tag_map,
        run_id=run_id,
    )
    try:
        if quiet:
            result = run()
        else:
            with progress_bar(console) as progress:
                result = run(listener=ProgressListener(progress))
    except RunNotQueuedError:
        if queued is None:
            raise
        # Another launcher of the same queued run claimed it first: it runs there.
        if not quiet:
            console.print(
                f"run {queued.run_id[:8]} was started by another launcher: nothing to launch"
            )
        return
    _summary(result, time.time() - started, quiet)


def _summary(result: Any, elapsed: float, quiet: bool) -> None:
    events = result.get_asset_materialization_events()
    failures = result.get_step_failure_events()
    skipped = result.get_step_skipped_events()
    if not quiet or not result.success:
        names = ", ".join(e.asset_key.to_user_string() for e in events if e.asset_key)
        word = "[green]succeeded[/]" if result.success else "[red]failed[/]"
        console.print(
            f"run {result.run_id[:8]} {word} in {elapsed:.2f}s: "
            f"{len(events)} materialized ({names}), {len(failures)} failed, "
            f"{len(skipped)} skipped"
        )
    if not result.success:
        message = failures[0].message if failures else "the run failed"
        error = failures[0].error if failures else None
        if error and error.get("traceback"):
            Console(stderr=True, highlight=False, soft_wrap=True).print(
                error["traceback"].rstrip(), markup=False
            )
        first = message.splitlines()[0].rstrip(".") if message else "the run failed"
        raise SheerError(
            f"Run {result.run_id[:8]} failed. {first}. Fix the asset, then run "
            f"`sheer runs show {result.run_id[:8]}` for details."
        )


PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def parse_partition_options(partition: str | None, partition_range: str | None) -> dict[str, str]:
    """The run tags for `--partition K` or `--partition-range K1...K2` (Dagster's tags and
    spelling; both ends of a range included)."""
    if partition is not None and partition_range is not None:
        raise SheerError(
            "--partition and --partition-range were both given. Fix: pass one: --partition K "
            "for one partition, or --partition-range K1...K2 for a range."
        )
    if partition is not None:
        if not partition:
            raise SheerError("--partition is empty. Fix: pass a partition key, e.g. 2026-01-02.")
        return {PARTITION_TAG: partition}
    if partition_range is None:
        return {}
    first, last = split_partition_range(partition_range)
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def split_partition_range(text: str) -> tuple[str, str]:
    """`--partition-range K1...K2` as (K1, K2), both ends included (Dagster's spelling)."""
    ends = text.split("...")
    if len(ends) != 2 or not all(ends):
        raise SheerError(
            f"--partition-range {text!r} is not two partition keys joined by '...'. "
            "Fix: pass e.g. --partition-range 2026-01-01...2026-01-31 (both ends included)."
        )
    return ends[0], ends[1]


def parse_interval(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise click.BadParameter(f"{text!r} is not a duration; use e.g. 30s, 500ms, 2m")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2) or "s"]


def print_tick(outcome: TickOutcome) -> None:
    if outcome.result is None:
        console.print(f"[yellow]tick skipped:[/] {outcome.skipped_reason}")
        return
    result = outcome.result
    table = Table(title=f"tick {outcome.tick_id}: {result.total_requested} requested")
    for column in ("asset", "true", "requested", "why"):
        table.add_column(column)
    for key, evaluation in sorted(result.results.items()):
        tree = evaluation.tree
        if evaluation.error or tree is None:
            why = evaluation.error or ""
        elif tree.value:
            why = ", ".join(c.label for c in tree.children if c.value) or tree.label
        else:
            why = "not: " + (", ".join(c.label for c in tree.children if not c.value) or tree.label)
        table.add_row(
            key.to_user_string(),
            "yes" if evaluation.value else "",
            "yes" if evaluation.requested else "",
            why,
        )
    console.print(table)
    if outcome.run_ids:
        console.print(f"launched run {', '.join(r[:8] for r in outcome.run_ids)}")


def _daemon(module: str | None, file: str | None, instance_url: str | None) -> AutomationDaemon:
    return AutomationDaemon(
        load_target(module, file),
        open_instance(instance_url),
        launch_args=target_args(module, file),
        cwd=os.getcwd(),
    )


@click.group("automation")
def automation_group() -> None:
    """Declarative automation: evaluate conditions and launch what they request.

    \b
    Examples:
      sheer automation tick
      sheer automation run --interval 30s
    """


@automation_group.command("tick")
@target_options
@instance_option
def automation_tick(module: str | None, file: str | None, instance_url: str | None) -> None:
    """Run one tick: print what was requested and why, launch it, wait for it.

    \b
    Example:
      sheer automation tick
    """
    daemon = _daemon(module, file, instance_url)
    try:
        print_tick(daemon.tick())
        daemon.wait_for_children()
    finally:
        daemon.store.release_lease(LEASE_NAME, daemon.owner)


@automation_group.command("run")
@target_options
@instance_option
@click.option(
    "--interval", default="30s", show_default=True, help="Time between ticks, e.g. 30s, 500ms, 2m."
)
@click.option("--max-ticks", type=int, default=None, help="Stop after this many ticks.")
def automation_run(
    module: str | None,
    file: str | None,
    instance_url: str | None,
    interval: str,
    max_ticks: int | None,
) -> None:
    """Tick every --interval until stopped (Ctrl-C).

    \b
    Example:
      sheer automation run --interval 30s
    """
    seconds = parse_interval(interval)
    daemon = _daemon(module, file, instance_url)
    console.print(
        f"automation daemon {daemon.owner} ticking every {seconds:g}s on {daemon.instance.url}"
    )
    try:
        daemon.run_forever(seconds, max_ticks=max_ticks, on_tick=print_tick)
    except KeyboardInterrupt:
        console.print("stopped")
