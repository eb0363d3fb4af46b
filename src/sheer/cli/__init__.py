"""The `sheer` command. Each command calls one library function and renders its result.

One error handler turns a `SheerError` into a one-line red message and exit code 1
(`--debug` shows the traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

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
            Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {exc.message}")
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
