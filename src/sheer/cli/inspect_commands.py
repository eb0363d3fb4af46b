"""Commands that read: `list defs`, `check defs`, `lineage`, `status`, `runs`."""

from __future__ import annotations

import json

import click
from rich.console import Console

from sheer.cli import instance_option, target_options
from sheer.cli.project import load_target, open_instance
from sheer.cli.render import (
    defs_json,
    defs_table,
    lineage_dot,
    lineage_mermaid,
    lineage_text,
    lineage_tree,
    run_detail,
    runs_table,
    status_json,
    status_table,
)
from sheer.errors import SheerError
from sheer.execution.io_managers import validate_stored_assets
from sheer.graph import AssetGraph
from sheer.keys import AssetKey
from sheer.selection import AssetSelection
from sheer.staleness import StaleStatusResolver

console = Console(highlight=False, soft_wrap=True)


def register(main: click.Group) -> None:
    main.add_command(list_group)
    main.add_command(check_group)
    main.add_command(lineage)
    main.add_command(status)
    main.add_command(runs)


def _keys(graph: AssetGraph, selection: str | None) -> frozenset[AssetKey] | None:
    return AssetSelection.from_string(selection).resolve(graph) if selection else None


@click.group("list")
def list_group() -> None:
    """List what the project defines.

    \b
    Example:
      sheer list defs --json
    """


@list_group.command("defs")
@target_options
@click.option("--assets", "selection", default=None, help="A selection, e.g. '+daily_revenue'.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def list_defs(module: str | None, file: str | None, selection: str | None, as_json: bool) -> None:
    """A table of the assets: key, group, kinds, virtual, deps, code version, automation.

    \b
    Examples:
      sheer list defs
      sheer list defs --assets 'is:virtual' --json
    """
    graph = load_target(module, file).resolve_asset_graph()
    keys = _keys(graph, selection)
    if as_json:
        click.echo(json.dumps(defs_json(graph, keys), indent=2))
    else:
        console.print(defs_table(graph, keys))


@click.group("check")
def check_group() -> None:
    """Validate what the project defines.

    \b
    Example:
      sheer check defs
    """


@check_group.command("defs")
@target_options
def check_defs(module: str | None, file: str | None) -> None:
    """Load and validate the definitions; exit 1 with the problems found.

    \b
    Example:
      sheer check defs -f defs.py
    """
    defs = load_target(module, file)
    graph = defs.resolve_asset_graph()
    validate_stored_assets(graph, defs.resources)  # keys the IO managers cannot store
    console.print(
        f"[green]ok:[/] {len(graph)} assets, {len(graph.virtual_asset_keys)} virtual, "
        f"{len(graph.external_asset_keys)} external"
    )


@click.command("lineage")
@target_options
@click.argument("selection", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["tree", "text", "dot", "mermaid"]),
    default="tree",
    help="tree (default), text edges, Graphviz dot or Mermaid.",
)
@click.option("--plain", is_flag=True, help="Plain text edges (same as --format text).")
def lineage(
    module: str | None, file: str | None, selection: str | None, fmt: str, plain: bool
) -> None:
    """The asset graph in the terminal, virtual assets marked; or exported.

    \b
    Examples:
      sheer lineage
      sheer lineage '+daily_revenue' --format mermaid
      sheer lineage --format dot | dot -Tsvg > lineage.svg
    """
    graph = load_target(module, file).resolve_asset_graph()
    keys = _keys(graph, selection)
    fmt = "text" if plain else fmt
    if fmt == "tree":
        console.print(lineage_tree(graph, keys))
    else:
        render = {"text": lineage_text, "dot": lineage_dot, "mermaid": lineage_mermaid}[fmt]
        click.echo(render(graph, keys))


@click.command("status")
@target_options
@instance_option
@click.argument("selection", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.option(
    "--partition",
    "partition_key",
    default=None,
    help="Show this partition of the partitioned assets: its status and root causes.",
)
def status(
    module: str | None,
    file: str | None,
    instance_url: str | None,
    selection: str | None,
    as_json: bool,
    partition_key: str | None,
) -> None:
    """FRESH / STALE / MISSING for each asset, with the root causes of staleness.

    A partitioned asset shows its counts (fresh 362 / stale 3 / missing 0) and its
    stale partitions; `--partition K` shows partition K's status and causes.

    \b
    Examples:
      sheer status
      sheer status '+daily_revenue' --json
      sheer status daily_revenue --partition 2026-01-02
    """
    defs = load_target(module, file)
    graph = defs.resolve_asset_graph()
    keys = _keys(graph, selection)
    if partition_key is not None:
        chosen = [graph.get(k) for k in (keys if keys is not None else graph.all_asset_keys)]
        if not any(n.spec.partitions_def is not None for n in chosen):
            raise SheerError(
                f"--partition {partition_key} was given, but none of the selected assets is "
                "partitioned. Fix: select a partitioned asset (sheer list defs shows their "
                "partitions), or leave --partition out."
            )
    resolver = StaleStatusResolver(open_instance(instance_url), defs)
    resolver.get_all()
    # A key that is not one of an asset's partitions is a DefinitionError naming it.
    if as_json:
        click.echo(json.dumps(status_json(resolver, keys, partition_key), indent=2))
    else:
        console.print(status_table(resolver, keys, partition_key))


@click.group("runs", invoke_without_command=True)
@instance_option
@click.option("--limit", default=20, show_default=True)
@click.pass_context
def runs(ctx: click.Context, instance_url: str | None, limit: int) -> None:
    """Recent runs with their status and duration; `runs show RUN_ID` for one.

    \b
    Examples:
      sheer runs
      sheer runs show 3f8d056b
    """
    ctx.ensure_object(dict)
    ctx.obj["instance_url"] = instance_url
    if ctx.invoked_subcommand is None:
        console.print(runs_table(open_instance(instance_url).get_runs(limit=limit)))


@runs.command("show")
@click.argument("run_id")
@instance_option
@click.pass_context
def runs_show(ctx: click.Context, run_id: str, instance_url: str | None) -> None:
    """One run: its events, and its error if it failed.

    \b
    Example:
      sheer runs show 3f8d056b
    """
    instance = open_instance(instance_url or ctx.obj.get("instance_url"))
    matches = [r for r in instance.get_runs() if r.run_id.startswith(run_id)]
    if len(matches) != 1:
        what = "no run" if not matches else f"{len(matches)} runs"
        raise SheerError(
            f"{what} with an id starting with {run_id!r}. Fix: copy the id "
            "from `sheer runs` (8 characters are enough)."
        )
    run = matches[0]
    console.print(run_detail(run, instance.get_event_records(run_id=run.run_id)))
