"""`sheer backfill`: create a persisted backfill and run it with a progress bar, or
leave it to the daemon; list, show, cancel and resume backfills.

Every command is one library call in `sheer.backfills`; this module parses the options
and renders the records and progress those calls return.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    Progress,
)
from rich.table import Table

from sheer.backfills import (
    BackfillListener,
    BackfillProgress,
    BackfillRecord,
    BackfillStatus,
    RunChunk,
    cancel_backfill,
    create_backfill,
    execute_backfill,
    get_backfill,
    get_backfill_progress,
    resume_backfill,
)
from sheer.backfills.progress import backfill_json, progress_of
from sheer.cli import instance_option, target_options
from sheer.cli.project import load_target, open_instance
from sheer.cli.render import progress_bar
from sheer.cli.run_commands import split_partition_range
from sheer.errors import SheerError
from sheer.execution.run import RunListener
from sheer.instance import Instance

console = Console(highlight=False, soft_wrap=True)

_STATUS_STYLE = {
    BackfillStatus.REQUESTED: "yellow",
    BackfillStatus.COMPLETED: "green",
    BackfillStatus.FAILED: "red",
    BackfillStatus.CANCELED: "dim",
}


def register(main: click.Group) -> None:
    main.add_command(backfill_group)


def parse_backfill_partitions(
    partition_range: str | None, partitions: str | None
) -> tuple[tuple[str, str] | None, list[str] | None]:
    """`--partition-range K1...K2` (both ends included) or `--partitions k1,k2`."""
    if partition_range is not None and partitions is not None:
        raise SheerError(
            "--partition-range and --partitions were both given. Fix: pass one: "
            "--partition-range K1...K2 for a range, or --partitions k1,k2 for a list."
        )
    if partition_range is not None:
        return split_partition_range(partition_range), None
    if partitions is not None:
        keys = [k.strip() for k in partitions.split(",")]
        if not all(keys):
            raise SheerError(
                f"--partitions {partitions!r} has an empty key. Fix: pass keys separated by "
                "commas, e.g. --partitions 2026-01-01,2026-01-03."
            )
        return None, keys
    return None, None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def _counts_line(progress: BackfillProgress) -> str:
    c = progress.total
    return (
        f"done {c.done} / failed {c.failed} / in progress {c.in_progress} / "
        f"to do {c.remaining} (of {c.total})"
    )


class _BarListener(BackfillListener):
    """A progress bar over the backfill's entities, and one line per run."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None

    def backfill_started(self, record: BackfillRecord, progress: BackfillProgress) -> None:
        self.task = self.progress.add_task(
            f"backfill {record.backfill_id}",
            total=progress.total.total,
            completed=progress.total.finished,
        )

    def run_started(self, chunk: RunChunk, run_id: str) -> RunListener | None:
        names = ", ".join(k.to_user_string() for k in chunk.asset_keys)
        first, last = chunk.partition_keys[0], chunk.partition_keys[-1]
        where = "" if first is None else f" [{first}]" if first == last else f" [{first}...{last}]"
        self.progress.update(self.task, description=f"run {run_id[:8]}: {names}{where}")
        return None

    def run_finished(self, chunk: RunChunk, run_id: str, progress: BackfillProgress) -> None:
        failed = f", [red]{progress.total.failed} failed[/]" if progress.total.failed else ""
        self.progress.update(
            self.task,
            completed=progress.total.finished,
            description=f"{progress.total.done} done{failed}",
        )


def _run_here(defs: Any, instance: Instance, record: BackfillRecord, quiet: bool) -> None:
    if quiet:
        final = execute_backfill(defs, instance, record.backfill_id)
    else:
        with progress_bar(console) as bar:
            final = execute_backfill(defs, instance, record.backfill_id, listener=_BarListener(bar))
    progress = get_backfill_progress(instance, final.backfill_id)
    if final.status is BackfillStatus.COMPLETED:
        if not quiet:
            console.print(
                f"[green]backfill {final.backfill_id} COMPLETED[/]: {_counts_line(progress)}"
            )
        return
    console.print(
        f"[{_STATUS_STYLE[final.status]}]backfill {final.backfill_id} {final.status.value}[/]: "
        f"{_counts_line(progress)}"
    )
    if final.error:
        console.print(final.error)
    if final.status is BackfillStatus.CANCELED:
        console.print(f"Resume it with: sheer backfill resume {final.backfill_id}")
    raise SystemExit(1)


@click.group(
    "backfill",
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@target_options
@instance_option
@click.option("--assets", "selection", default=None, help="The assets to backfill (a selection).")
@click.option(
    "--partition-range",
    default=None,
    help="The partitions from K1 to K2, both included: K1...K2.",
)
@click.option("--partitions", default=None, help="These partitions: k1,k2,...")
@click.option("--tag", "tags", multiple=True, help="A tag for the backfill's runs, key=value.")
@click.option(
    "--submit",
    is_flag=True,
    help="Only store the backfill; the automation daemon runs it (sheer automation run).",
)
@click.option("--quiet", is_flag=True, help="No progress bar; print only the backfill id.")
@click.pass_context
def backfill_group(
    ctx: click.Context,
    module: str | None,
    file: str | None,
    instance_url: str | None,
    selection: str | None,
    partition_range: str | None,
    partitions: str | None,
    tags: tuple[str, ...],
    submit: bool,
    quiet: bool,
) -> None:
    """Backfill partitions of assets: runs ordered so that each partition runs after the
    partitions it reads (through views too), split by each asset's BackfillPolicy,
    stored first so that a crash, a failure or a cancel loses nothing.

    Without --submit the backfill runs here with a progress bar (Ctrl-C leaves it to
    resume); with --submit the automation daemon runs it.

    \b
    Examples:
      sheer backfill --assets 'raw report' --partition-range 2026-01-01...2026-01-31
      sheer backfill --assets raw --partitions 2026-01-02,2026-01-05 --submit
      sheer backfill list
      sheer backfill show abcdefgh
      sheer backfill cancel abcdefgh
      sheer backfill resume abcdefgh
    """
    ctx.ensure_object(dict)
    ctx.obj.update(module=module, file=file, instance_url=instance_url)
    if ctx.invoked_subcommand is not None:
        return
    if selection is None:
        raise SheerError(
            "Nothing to backfill. Fix: pass --assets and the partitions, e.g. sheer backfill "
            "--assets raw --partition-range 2026-01-01...2026-01-31."
        )
    key_range, keys = parse_backfill_partitions(partition_range, partitions)
    bad = [t for t in tags if "=" not in t]
    if bad:
        raise SheerError(f"Tag {bad[0]!r} is not key=value. Fix: --tag team=data.")
    defs = load_target(module, file)
    instance = open_instance(instance_url)
    record = create_backfill(
        defs,
        instance,
        selection,
        partition_range=key_range,
        partitions=keys,
        tags=dict(t.split("=", 1) for t in tags),
    )
    if quiet:
        click.echo(record.backfill_id)
    else:
        console.print(
            f"backfill {record.backfill_id}: {_plural(record.num_targets, 'partition')} of "
            f"{_plural(len(record.targets), 'asset')}"
        )
    if submit:
        if not quiet:
            console.print(
                "stored: the automation daemon runs it (sheer automation run); follow it with "
                f"sheer backfill show {record.backfill_id}"
            )
        return
    _run_here(defs, instance, record, quiet)


def _instance(ctx: click.Context, instance_url: str | None) -> Instance:
    """The instance named on the subcommand, else on `sheer backfill` itself."""
    return open_instance(instance_url or ctx.obj.get("instance_url"))


@backfill_group.command("list")
@instance_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.option("--limit", type=int, default=50, show_default=True, help="The newest N.")
@click.pass_context
def backfill_list(ctx: click.Context, instance_url: str | None, as_json: bool, limit: int) -> None:
    """The backfills, newest first, with their progress.

    \b
    Examples:
      sheer backfill list
      sheer backfill list --json --limit 5
    """
    instance = _instance(ctx, instance_url)
    records = instance.backfills.get_backfills(limit=limit)
    counts = instance.backfills.count_entities([r.backfill_id for r in records])
    shown = [(r, progress_of(r, counts[r.backfill_id])) for r in records]
    if as_json:
        click.echo(json.dumps([backfill_json(r, p) for r, p in shown], indent=2))
        return
    if not shown:
        console.print("no backfills in this instance")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("id", "status", "created", "assets", "done", "failed", "to do"):
        table.add_column(column, overflow="fold")
    for record, progress in shown:
        c = progress.total
        table.add_row(
            record.backfill_id,
            f"[{_STATUS_STYLE[record.status]}]{record.status.value}[/]",
            _when(record.created_at),
            " ".join(k.to_user_string() for k in record.asset_selection),
            f"{c.done}/{c.total}",
            str(c.failed),
            str(c.remaining + c.in_progress),
        )
    console.print(table)


@backfill_group.command("show")
@instance_option
@click.argument("backfill_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_context
def backfill_show(
    ctx: click.Context, instance_url: str | None, backfill_id: str, as_json: bool
) -> None:
    """One backfill: its status and its progress per asset.

    \b
    Examples:
      sheer backfill show abcdefgh
      sheer backfill show abcdefgh --json
    """
    instance = _instance(ctx, instance_url)
    record = get_backfill(instance, backfill_id)
    progress = get_backfill_progress(instance, backfill_id)
    if as_json:
        click.echo(json.dumps(backfill_json(record, progress), indent=2))
        return
    style = _STATUS_STYLE[record.status]
    console.print(f"backfill {record.backfill_id} [{style}]{record.status.value}[/]")
    console.print(f"created {_when(record.created_at)}, updated {_when(record.updated_at)}")
    console.print(_counts_line(progress))
    if record.error:
        console.print(f"[red]{record.error}[/]")
    table = Table(box=None, pad_edge=False)
    for column in ("asset", "partitions", "done", "failed", "in progress", "to do"):
        table.add_column(column, overflow="fold")
    for key, c in progress.per_asset.items():
        table.add_row(
            key.to_user_string(),
            str(c.total),
            str(c.done),
            str(c.failed),
            str(c.in_progress),
            str(c.remaining),
        )
    console.print(table)


@backfill_group.command("cancel")
@instance_option
@click.argument("backfill_id")
@click.pass_context
def backfill_cancel(ctx: click.Context, instance_url: str | None, backfill_id: str) -> None:
    """Stop a backfill: no further run starts; a run in progress finishes.

    \b
    Example:
      sheer backfill cancel abcdefgh
    """
    record = cancel_backfill(_instance(ctx, instance_url), backfill_id)
    console.print(f"backfill {record.backfill_id} {record.status.value}")


@backfill_group.command("resume")
@target_options
@instance_option
@click.argument("backfill_id")
@click.option("--submit", is_flag=True, help="Leave it to the automation daemon.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def backfill_resume(
    ctx: click.Context,
    module: str | None,
    file: str | None,
    instance_url: str | None,
    backfill_id: str,
    submit: bool,
    quiet: bool,
) -> None:
    """Run what a failed, canceled or interrupted backfill has not done; what is done
    stays done.

    \b
    Examples:
      sheer backfill resume abcdefgh
      sheer backfill resume abcdefgh --submit
    """
    instance = _instance(ctx, instance_url)
    record = resume_backfill(instance, backfill_id)
    if submit:
        console.print(f"backfill {record.backfill_id} REQUESTED: the automation daemon runs it")
        return
    defs = load_target(module or ctx.obj.get("module"), file or ctx.obj.get("file"))
    _run_here(defs, instance, record, quiet)
