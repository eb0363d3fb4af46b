"""The `sheer` command. Each command calls one library function and renders its result.

One error handler turns a `SheerError` into a one-line red message and exit code 1
(`--debug` shows the traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from sheer.cli.render import lineage_tree, lineage_text, defs_table
from sheer.definitions.definitions import Definitions
from sheer.definitions.loading import load_definitions, load_from_defs_folder
from sheer.errors import SheerError
from sheer.selection import AssetSelection

console = Console(highlight=False)


def load_target(module: str | None, file: str | None) -> Definitions:
    """The definitions named by -m / -f, else the defs folder of the current project."""
    if module and file:
        raise click.UsageError("pass -m MODULE or -f FILE, not both")
    if module:
        return load_definitions(module)
    if file:
        return load_definitions(Path(file))
    return load_from_defs_folder(Path.cwd())


def _target_options(fn):  # type: ignore[no-untyped-def]
    fn = click.option("-f", "--file", "file", help="A Python file with definitions.")(fn)
    fn = click.option("-m", "--module", "module", help="A module with definitions.")(fn)
    return fn


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SheerError as exc:
            if ctx.params.get("debug"):
                raise
            err = Console(stderr=True, highlight=False, soft_wrap=True)
            err.print(f"[bold red]error:[/] {escape(exc.message)}")
            sys.exit(1)


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
def main(debug: bool) -> None:
    """Sheer: assets, virtual assets, and the runs that keep them fresh."""


@main.group("list")
def list_group() -> None:
    """List what the project defines."""


@list_group.command("defs")
@_target_options
@click.option("--assets", "selection", default=None, help="A selection, e.g. '+daily_revenue'.")
def list_defs(module: str | None, file: str | None, selection: str | None) -> None:
    """A table of the assets: key, group, kinds, virtual, deps, code version."""
    defs = load_target(module, file)
    graph = defs.resolve_asset_graph()
    keys = AssetSelection.from_string(selection).resolve(graph) if selection else None
    console.print(defs_table(graph, keys))


@main.command("lineage")
@_target_options
@click.argument("selection", required=False)
@click.option("--plain", is_flag=True, help="Plain text edges, one per line.")
def lineage(module: str | None, file: str | None, selection: str | None, plain: bool) -> None:
    """The asset graph in the terminal, virtual assets marked."""
    graph = load_target(module, file).resolve_asset_graph()
    keys = AssetSelection.from_string(selection).resolve(graph) if selection else None
    console.print(lineage_text(graph, keys) if plain else lineage_tree(graph, keys))


def _instance_option(fn):  # type: ignore[no-untyped-def]
    return click.option("--instance", "instance_url", envvar="SHEER_INSTANCE",
                        help="Instance URL (default: $SHEER_INSTANCE, else .sheer/ in the project).")(fn)


@main.command("launch")
@_target_options
@_instance_option
@click.option("--assets", "selection", required=True, help="What to materialize, e.g. '+daily_revenue'.")
@click.option("--executor", type=click.Choice(["in_process", "multiprocess"]), default=None)
@click.option("--run-id", default=None, help="Start this queued run (used by the daemon).")
@click.option("--tag", "tags", multiple=True, help="A run tag, key=value (repeatable).")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
def launch_command(module: str | None, file: str | None, instance_url: str | None, selection: str,
                   executor: str | None, run_id: str | None, tags: tuple[str, ...],
                   quiet: bool) -> None:
    """Materialize a selection; exits non-zero if the run fails."""
    from sheer.cli.run_commands import launch

    launch(load_target(module, file), selection, instance_url, executor, run_id, tags, quiet)


@main.group("automation")
def automation_group() -> None:
    """Declarative automation: evaluate conditions and launch what they request."""


@automation_group.command("tick")
@_target_options
@_instance_option
def automation_tick(module: str | None, file: str | None, instance_url: str | None) -> None:
    """Run one tick: print what was requested and why, and launch it."""
    from sheer.cli.run_commands import make_daemon, print_tick

    daemon = make_daemon(load_target(module, file), instance_url, module, file)
    try:
        print_tick(daemon.tick())
        daemon.wait_for_children()
    finally:
        from sheer.automation.daemon import LEASE_NAME

        daemon.store.release_lease(LEASE_NAME, daemon.owner)


@automation_group.command("run")
@_target_options
@_instance_option
@click.option("--interval", default="30s", help="Time between ticks, e.g. 30s, 500ms, 2m.")
@click.option("--max-ticks", type=int, default=None, help="Stop after this many ticks.")
def automation_run(module: str | None, file: str | None, instance_url: str | None,
                   interval: str, max_ticks: int | None) -> None:
    """Tick every --interval until stopped (Ctrl-C)."""
    from sheer.cli.run_commands import make_daemon, parse_interval, print_tick

    seconds = parse_interval(interval)
    daemon = make_daemon(load_target(module, file), instance_url, module, file)
    console.print(f"automation daemon {daemon.owner} ticking every {seconds:g}s on {daemon.instance.url}")
    try:
        daemon.run_forever(seconds, max_ticks=max_ticks, on_tick=print_tick)
    except KeyboardInterrupt:
        console.print("stopped")
